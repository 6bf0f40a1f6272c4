use rapyer::{Embedded, Id, Model};

#[derive(Model)]
#[rapyer(table = "users")]
struct User {
    id: Id,
    #[rapyer(indexed)]
    name: String,
    #[rapyer(default = "x")]
    nick: String,
}

#[derive(Embedded)]
struct Address {
    #[rapyer(key)]
    city: String,
}

fn main() {}
