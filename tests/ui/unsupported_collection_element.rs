use rapyer::{Id, Model};

struct Item {
    sku: String,
}

#[derive(Model)]
struct Order {
    id: Id,
    items: Vec<Item>,
}

fn main() {}
