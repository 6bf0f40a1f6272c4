use rapyer::{ForeignKey, Id, Model};

#[derive(Model, Debug, Clone)]
struct Author {
    id: Id,
    name: String,
}

#[derive(Model, Debug, Clone)]
struct NotAKey {
    id: Id,
    // relation options go on foreign keys only
    #[rapyer(on_delete = "nullify")]
    name: String,
}

#[derive(Model, Debug, Clone)]
struct BadStrategy {
    id: Id,
    #[rapyer(on_delete = "cascade")]
    author: ForeignKey<Author>,
}

#[derive(Model, Debug, Clone)]
struct BadInverse {
    id: Id,
    #[rapyer(inverse = "Author.books")]
    author: ForeignKey<Author>,
}

#[derive(Model, Debug, Clone)]
#[rapyer(inverse(books = "books"))]
struct BadTargetSide {
    id: Id,
}

fn main() {}
