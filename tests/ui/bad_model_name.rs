use rapyer::{Id, Model};

#[derive(Model)]
#[rapyer(name = "Us{er}")]
struct User {
    id: Id,
}

#[derive(Model)]
#[rapyer(name = "", shards = 0)]
struct Other {
    id: Id,
}

fn main() {}

#[derive(Model)]
#[rapyer(colocate = "bank:eu")]
struct Colocated {
    id: Id,
}

#[derive(Model)]
#[rapyer(name = "rapyer.named")]
struct Reserved {
    id: Id,
}
