use rapyer::{Id, Model};

#[derive(Model)]
#[rapyer(ttl = 60, ttl_grace = 10)]
struct GraceWithoutRefresh {
    id: Id,
}

#[derive(Model)]
#[rapyer(ttl = 60, ttl_refresh = "read", ttl_refresh_interval = 60)]
struct IntervalNotBelowTtl {
    id: Id,
}

#[derive(Model)]
#[rapyer(ttl = 60, ttl_refresh = "both", ttl_grace = 0)]
struct ZeroGrace {
    id: Id,
}

fn main() {}
