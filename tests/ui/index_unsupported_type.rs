use rapyer::{Id, Model};

#[derive(Model)]
struct User {
    id: Id,
    #[rapyer(index)]
    tags: Vec<String>,
}

fn main() {}
