use rapyer::{Model, Safe};

#[derive(Model)]
struct Codecs {
    id: rapyer::Id,
    #[rapyer(codec = "yaml")]
    unknown: String,
    #[rapyer(codec = "json", safe)]
    safe: String,
    #[rapyer(codec = "json")]
    wrapped: Safe<String>,
    #[rapyer(codec = "json", codec = "msgpack")]
    twice: String,
}

/// A codec that is no `rapyer::Codec`.
struct NotACodec;

#[derive(Model)]
struct NoCodec {
    id: rapyer::Id,
    #[rapyer(codec = NotACodec)]
    field: String,
}

fn main() {}
