use rapyer::{Id, Model};

#[derive(Model)]
#[rapyer(name = "A", name = "B")]
#[rapyer(shards = 2)]
#[rapyer(shards = 4)]
struct User {
    id: Id,
    #[rapyer(blob, blob)]
    data: Vec<u8>,
}

fn main() {}
