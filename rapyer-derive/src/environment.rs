//! `#[rapyer::environment("name")]`: runs a function's whole body in a named environment.

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, ReturnType};

/// Whether `name` is a name the attribute accepts: 1 to 64 ASCII letters, digits, `_`,
/// `-` or `.`.
fn identifier_like(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub(crate) fn expand(attr: TokenStream2, item: TokenStream2) -> Result<TokenStream2, TokenStream2> {
    let name: LitStr = syn::parse2(attr.clone()).map_err(|_| {
        let span = if attr.is_empty() {
            proc_macro2::Span::call_site()
        } else {
            attr.span()
        };
        quote_spanned! {span=>
            ::core::compile_error!("`#[rapyer::environment(..)]` takes the environment's name as a string literal: `#[rapyer::environment(\"staging\")]`");
        }
    })?;
    if !identifier_like(&name.value()) {
        return Err(quote_spanned! {name.span()=>
            ::core::compile_error!("an environment name here is 1 to 64 ASCII letters, digits, `_`, `-` or `.` (register other names with rapyer::register_environment and enter them with rapyer::use_environment)");
        });
    }
    let mut func: ItemFn = syn::parse2(item).map_err(|e| {
        let msg = format!(
            "`#[rapyer::environment(..)]` goes on a function or method (sync or async): {e}"
        );
        quote_spanned! {e.span()=> ::core::compile_error!(#msg); }
    })?;
    let ret = match &func.sig.output {
        ReturnType::Default => {
            return Err(quote_spanned! {func.sig.span()=>
                ::core::compile_error!("a function under `#[rapyer::environment(..)]` returns `rapyer::Result<_>` (or a `Result` whose error converts from `rapyer::Error`): an unknown environment is reported as `Error::UnknownEnvironment` at the call");
            });
        }
        ReturnType::Type(_, ty) => ty.clone(),
    };
    let body = &func.block;
    let new_body = if func.sig.asyncness.is_some() {
        quote! {{
            ::rapyer::__private::in_environment::<#ret, _>(#name, async move #body).await
        }}
    } else {
        quote! {{
            let __rapyer_environment = match ::rapyer::__private::enter_environment(#name) {
                ::core::result::Result::Ok(guard) => guard,
                ::core::result::Result::Err(e) => {
                    return <#ret as ::rapyer::__private::EnvironmentResult>::from_environment_error(e);
                }
            };
            #body
        }}
    };
    func.block = syn::parse2(new_body).map_err(|e| e.to_compile_error())?;
    Ok(quote!(#func))
}
