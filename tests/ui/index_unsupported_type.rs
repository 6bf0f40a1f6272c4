use rapyer::{Id, Model};

#[derive(Model)]
struct User {
    id: Id,
    #[rapyer(index)]
    scores: std::collections::HashMap<String, i64>,
}

fn main() {}
