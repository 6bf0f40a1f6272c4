use rapyer::{Id, Model};

#[derive(Model)]
struct User {
    id: Id,
    #[rapyer(index)]
    age: i64,
    #[rapyer(index)]
    name: String,
}

fn main() {
    let f = User::fields();
    let _ = User::find(f.age.eq("twenty"));
    let _ = User::find(f.name.gt(3));
}
