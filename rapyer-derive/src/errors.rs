//! Every mistake at once, each at its token (as serde_derive does).

use proc_macro2::{Span, TokenStream as TokenStream2};

/// Collects errors so the user sees every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        let e = syn::Error::new(span, msg);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub(crate) fn push_err(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub(crate) fn finish(self) -> Result<(), TokenStream2> {
        match self.0 {
            Some(e) => Err(e.to_compile_error()),
            None => Ok(()),
        }
    }
}
