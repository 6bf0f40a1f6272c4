//! Derive macros for [rapyer](https://docs.rs/rapyer): `Model`, `Embedded`, `Element`.
//!
//! Thin macro, fat runtime: the derives parse attributes (collecting every error with its
//! span, as serde_derive does), emit a schema builder, the field codec calls and typed
//! paths, and reach the runtime through `::rapyer::__private`.
use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

mod attr;
mod check;
mod element;
mod embedded;
mod enums;
mod environment;
mod errors;
mod fields;
mod model;

/// Derives `rapyer::Model`. See the rapyer crate documentation.
#[proc_macro_derive(Model, attributes(rapyer))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::expand_model(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

/// Derives `rapyer::Field` for a struct stored flattened into its parent model.
#[proc_macro_derive(Embedded, attributes(rapyer))]
pub fn derive_embedded(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match embedded::expand_embedded(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

/// Derives `rapyer::Element` (msgpack, named fields) for a serde type, and typed paths
/// into its fields (`rapyer::Nested`; a field marked `#[rapyer(opaque)]` is reached only
/// whole).
#[proc_macro_derive(Element, attributes(rapyer))]
pub fn derive_element(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    element::expand_element(&input).into()
}

/// Derives rapyer's scalar traits for a fieldless enum, stored as its variant name.
#[proc_macro_derive(Enum)]
pub fn derive_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match enums::expand_enum(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

/// Runs the whole body of a function or method (sync or async) in the named
/// environment, as `rapyer::use_environment` (sync) or
/// `rapyer::asynchronous::with_environment` (async) would. See the rapyer crate
/// documentation.
#[proc_macro_attribute]
pub fn environment(attr: TokenStream, item: TokenStream) -> TokenStream {
    match environment::expand(attr.into(), item.into()) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}
