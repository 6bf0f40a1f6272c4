use rapyer::{ForeignKey, Id, Model};

#[derive(Model, Debug, Clone)]
struct Author {
    id: Id,
}

// one_to_one goes on a single key: a list of them is a compile error
#[derive(Model, Debug, Clone)]
struct ManyAsOne {
    id: Id,
    #[rapyer(one_to_one)]
    authors: Vec<ForeignKey<Author>>,
}

fn main() {}
