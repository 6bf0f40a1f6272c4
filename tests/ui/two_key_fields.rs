use rapyer::Model;

#[derive(Model)]
struct Account {
    #[rapyer(key)]
    email: String,
    #[rapyer(key)]
    handle: String,
}

fn main() {}
