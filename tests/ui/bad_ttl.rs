use rapyer::{Id, Model};

#[derive(Model)]
#[rapyer(ttl = 0)]
struct Zero {
    id: Id,
}

#[derive(Model)]
#[rapyer(ttl = 60, ttl_refresh = "sometimes")]
struct Sometimes {
    id: Id,
}

#[derive(Model)]
#[rapyer(ttl_refresh = "read")]
struct RefreshWithoutTtl {
    id: Id,
}

fn main() {}
