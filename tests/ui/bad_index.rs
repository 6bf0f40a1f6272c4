use rapyer::{Id, Model};

#[derive(Model)]
struct User {
    #[rapyer(index)]
    id: Id,
    #[rapyer(index, blob)]
    profile: Vec<u8>,
}

fn main() {}
