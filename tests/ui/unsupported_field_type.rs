use rapyer::{Id, Model};

struct Opaque;

#[derive(Model)]
struct User {
    id: Id,
    name: String,
    started: std::time::Instant,
    secret: Opaque,
}

fn main() {}
