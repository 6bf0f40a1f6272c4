//! `#[derive(Embedded)]`.

use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::DeriveInput;

use crate::attr::*;
use crate::errors::Errors;
use crate::fields::*;

pub(crate) fn expand_embedded(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
    let mut errors = Errors::default();
    parse_container(input, Kind::Embedded, &mut errors);
    let fields = parse_fields(input, Kind::Embedded, &mut errors);
    errors.finish()?;

    let ident = &input.ident;
    let vis = &input.vis;
    let paths_ident = format_ident!("{}Fields", ident);
    let mut describe = Vec::new();
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    let mut path_fields = Vec::new();
    let mut path_ctors = Vec::new();
    let mut asserts = Vec::new();
    let mut atomic_fields = Vec::new();
    let mut atomic_local = Vec::new();
    let mut atomic_remote = Vec::new();
    let mut failures = Vec::new();
    let mut accepts = Vec::new();
    let mut relations = Vec::new();
    for f in &fields {
        let name = &f.name;
        let path = quote!(::rapyer::__private::join(path, #name));
        let code = field_code(f, &path, None);
        let fid = &f.ident;
        let apath = quote!(::rapyer::__private::join(&path, #name));
        let (aty, local_ctor) = atomic_code(
            f,
            &quote!(::core::option::Option::Some(&mut local.#fid)),
            &apath,
        );
        let (_, remote_ctor) = atomic_code(f, &quote!(::core::option::Option::None), &apath);
        atomic_fields.push(quote! { pub #fid: #aty });
        atomic_local.push(local_ctor);
        atomic_remote.push(remote_ctor);
        let pty = code.path_ty;
        path_fields.push(quote! { pub #fid: #pty });
        path_ctors.push(path_ctor(
            f,
            &quote!(::rapyer::__private::join(&path, #name)),
        ));
        describe.push(code.describe);
        encode.push(code.encode);
        decode.push(code.decode);
        asserts.push(code.assert);
        failures.push(code.failures);
        accepts.push(code.accept);
        relations.push(code.relations);
    }
    let doc = format!("Typed paths to the stored fields of the embedded [`{ident}`].");
    let atomic_ident = format_ident!("{}Atomic", ident);
    let atomic_doc = format!("Atomic operations on the fields of an embedded [`{ident}`].");
    Ok(quote! {
        #[doc = #doc]
        #[allow(missing_docs)]
        #vis struct #paths_ident {
            #(#path_fields,)*
        }

        #[doc = #atomic_doc]
        #[allow(missing_docs)]
        #vis struct #atomic_ident<'a> {
            #(#atomic_fields,)*
            #[doc(hidden)]
            pub _marker: ::core::marker::PhantomData<&'a mut ()>,
        }

        const _: () = {
            #[automatically_derived]
            impl ::rapyer::Field for #ident {
                type Path = #paths_ident;
                type Atomic<'a> = #atomic_ident<'a> where Self: 'a;

                fn atomic<'a>(
                    local: ::core::option::Option<&'a mut Self>,
                    doc: &::std::sync::Arc<::rapyer::__private::DocRef>,
                    path: ::std::string::String,
                ) -> #atomic_ident<'a> {
                    let doc = doc.clone();
                    match local {
                        ::core::option::Option::Some(local) => #atomic_ident {
                            #(#atomic_local,)*
                            _marker: ::core::marker::PhantomData,
                        },
                        ::core::option::Option::None => #atomic_ident {
                            #(#atomic_remote,)*
                            _marker: ::core::marker::PhantomData,
                        },
                    }
                }

                fn path(path: ::std::string::String, model: &'static ::rapyer::__private::ModelSchema) -> #paths_ident {
                    #paths_ident { #(#path_ctors,)* }
                }

                fn describe(path: &str, out: &mut ::std::vec::Vec<::rapyer::__private::FieldSchema>) {
                    #(#describe)*
                }

                fn encode(&self, path: &str, enc: &mut ::rapyer::__private::Encoder) -> ::rapyer::Result<()> {
                    #(#encode)*
                    ::core::result::Result::Ok(())
                }

                fn decode(path: &str, dec: &mut ::rapyer::__private::Decoder) -> ::rapyer::Result<Self> {
                    ::core::result::Result::Ok(Self { #(#decode,)* })
                }

                fn failures(&self, out: &mut ::std::vec::Vec<::rapyer::FieldFailure>) {
                    #(#failures)*
                    let _ = out;
                }

                fn accept_fallback(&mut self) {
                    #(#accepts)*
                }

                fn __relations(&mut self, path: &str, out: &mut ::rapyer::__private::Visit<'_>) {
                    #(#relations)*
                    let _ = (path, out);
                }
            }

            #[allow(dead_code)]
            fn __rapyer_assert_storable() {
                #(#asserts)*
            }
        };
    })
}
