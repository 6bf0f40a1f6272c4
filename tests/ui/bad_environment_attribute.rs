const NAME: &str = "staging";

#[rapyer::environment(NAME)]
fn not_a_literal() -> rapyer::Result<()> {
    Ok(())
}

#[rapyer::environment("has space")]
fn not_identifier_like() -> rapyer::Result<()> {
    Ok(())
}

#[rapyer::environment("staging")]
fn returns_nothing() {}

#[rapyer::environment("staging")]
fn returns_no_result() -> u8 {
    1
}

#[rapyer::environment("staging")]
struct NotAFunction;

fn main() {
    let _ = NAME;
}
