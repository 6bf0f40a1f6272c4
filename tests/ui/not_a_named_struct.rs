use rapyer::{Embedded, Model};

#[derive(Model)]
struct Tuple(String, i64);

#[derive(Model)]
enum Status {
    Active,
}

#[derive(Embedded)]
struct Generic<T> {
    value: T,
}

fn main() {}
