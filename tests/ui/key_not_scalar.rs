use rapyer::Model;

#[derive(Model)]
struct Account {
    #[rapyer(key)]
    emails: Vec<String>,
    name: String,
}

fn main() {}
