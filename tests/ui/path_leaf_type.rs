use rapyer::{Element, Id, Model};
use serde::{Deserialize, Serialize};

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Line {
    qty: u32,
    sku: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
struct Order {
    id: Id,
    lines: Vec<Line>,
}

fn main() {
    let id = Id::new();
    // the leaf's type is the field's type: `qty` is a u32, not a String
    let _qty: Option<String> = Order::fields().lines.at(0).qty.sync_get(&id).unwrap();
    // a struct field that does not exist is no path
    let _ = Order::fields().lines.at(0).price;
    // an element field is written with its own type
    let _ = Order::at(&id).lines.at(0).sku.set(5);
}
