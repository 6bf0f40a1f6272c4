use rapyer::Model;

#[derive(Model)]
struct Account {
    email: String,
}

fn main() {}
