//! Every derive diagnostic, as a compile-fail test with its expected `.stderr`.
#![allow(missing_docs)]

#[test]
fn derive_diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
