//! `#[derive(Enum)]`.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident};

use crate::errors::Errors;

pub(crate) fn expand_enum(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
    let mut errors = Errors::default();
    let variants = match &input.data {
        Data::Enum(e) => e.variants.iter().collect::<Vec<_>>(),
        _ => {
            errors.push(input.ident.span(), "#[derive(Enum)] needs a fieldless enum");
            Vec::new()
        }
    };
    for v in &variants {
        if !matches!(v.fields, Fields::Unit) {
            errors.push(
                v.span(),
                "#[derive(Enum)] needs a fieldless enum: this variant has fields",
            );
        }
    }
    if !input.generics.params.is_empty() {
        errors.push(
            input.generics.span(),
            "#[derive(Enum)] does not support generic enums",
        );
    }
    errors.finish()?;
    let ident = &input.ident;
    let names: Vec<String> = variants
        .iter()
        .map(|v| v.ident.unraw().to_string())
        .collect();
    let idents: Vec<&Ident> = variants.iter().map(|v| &v.ident).collect();
    let expected = names.join(", ");
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl ::rapyer::Scalar for #ident {
                fn encode_scalar(&self) -> ::std::vec::Vec<u8> {
                    match self { #(Self::#idents => #names.as_bytes().to_vec(),)* }
                }
                fn decode_scalar(bytes: &[u8]) -> ::core::result::Result<Self, ::std::string::String> {
                    match bytes {
                        #(b if b == #names.as_bytes() => ::core::result::Result::Ok(Self::#idents),)*
                        other => ::core::result::Result::Err(::std::format!(
                            "expected one of {}, found {:?}",
                            #expected,
                            ::std::string::String::from_utf8_lossy(other)
                        )),
                    }
                }
            }

            #[automatically_derived]
            impl ::rapyer::Element for #ident {
                fn encode_element(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    ::core::result::Result::Ok(::rapyer::Scalar::encode_scalar(self))
                }
                fn decode_element(bytes: &[u8]) -> ::core::result::Result<Self, ::std::string::String> {
                    <Self as ::rapyer::Scalar>::decode_scalar(bytes)
                }
            }

            #[automatically_derived]
            impl ::rapyer::IndexableScalar for #ident {
                const INDEX: ::rapyer::IndexKind = ::rapyer::IndexKind::Lex;
            }

            #[automatically_derived]
            impl ::rapyer::Field for #ident {
                type Path = ::rapyer::FieldPath<#ident>;
                type Atomic<'a> = ::rapyer::ScalarRef<'a, #ident>;
                fn atomic<'a>(
                    local: ::core::option::Option<&'a mut Self>,
                    doc: &::std::sync::Arc<::rapyer::__private::DocRef>,
                    path: ::std::string::String,
                ) -> Self::Atomic<'a> {
                    ::rapyer::__private::scalar_atomic(local, doc, path)
                }
                fn path(path: ::std::string::String, model: &'static ::rapyer::__private::ModelSchema) -> Self::Path {
                    ::rapyer::FieldPath::in_model(path, model)
                }
                fn describe(path: &str, out: &mut ::std::vec::Vec<::rapyer::__private::FieldSchema>) {
                    ::rapyer::__private::scalar_describe(path, out)
                }
                fn encode(&self, path: &str, enc: &mut ::rapyer::__private::Encoder) -> ::rapyer::Result<()> {
                    ::rapyer::__private::scalar_encode(self, path, enc)
                }
                fn decode(path: &str, dec: &mut ::rapyer::__private::Decoder) -> ::rapyer::Result<Self> {
                    ::rapyer::__private::scalar_decode(path, dec)
                }
            }
        };
    })
}
