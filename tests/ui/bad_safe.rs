use rapyer::{Model, Safe};

#[derive(Model)]
#[rapyer(on_error = "explode")]
struct KeySafe {
    #[rapyer(key, safe)]
    code: String,
    #[rapyer(index, safe)]
    rank: i64,
    #[rapyer(index)]
    level: Safe<i64>,
    #[rapyer(safe)]
    note: String,
}

#[derive(Model)]
#[rapyer(safe_all)]
struct NoState {
    id: rapyer::Id,
    name: String,
}

fn main() {}
