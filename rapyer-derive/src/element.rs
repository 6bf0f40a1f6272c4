//! `#[derive(Element)]`: msgpack (named fields) storage, and typed paths into the
//! struct's fields (`Nested`), so `Model::fields().items.at(0).qty` reaches one field of
//! a stored element.

use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, LitStr};

/// A field's stored name and whether paths reach into it.
struct PathField<'a> {
    ident: &'a syn::Ident,
    ty: &'a syn::Type,
    name: String,
    opaque: bool,
}

/// What `#[serde(...)]` on a field says that paths must follow: its stored name, or that
/// it is not stored under a name of its own (`skip`, `flatten`, split renames).
fn serde_name(field: &syn::Field, ident: &syn::Ident) -> Option<String> {
    let mut name = Some(ident.to_string().trim_start_matches("r#").to_owned());
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if meta.input.peek(syn::Token![=]) {
                    let lit: LitStr = meta.value()?.parse()?;
                    if name.is_some() {
                        name = Some(lit.value());
                    }
                } else {
                    name = None;
                }
            } else if ["skip", "skip_serializing", "skip_deserializing", "flatten"]
                .iter()
                .any(|k| meta.path.is_ident(k))
            {
                name = None;
            }
            // consume whatever else the attribute holds
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.parse_nested_meta(|m| {
                    if m.input.peek(syn::Token![=]) {
                        let _: syn::Expr = m.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            Ok(())
        });
    }
    name
}

fn is_opaque(field: &syn::Field) -> syn::Result<bool> {
    let mut opaque = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("rapyer")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("opaque") {
                opaque = true;
                Ok(())
            } else {
                Err(meta.error("unknown rapyer attribute on an Element field (expected `opaque`)"))
            }
        })?;
    }
    Ok(opaque)
}

/// A container attribute of serde that renames fields (paths then treat the struct as
/// one opaque value).
fn renames_fields(input: &DeriveInput) -> bool {
    input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .any(|a| {
            let mut found = false;
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") || meta.path.is_ident("rename_all_fields") {
                    found = true;
                }
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _ = meta.parse_nested_meta(|m| {
                        if m.input.peek(syn::Token![=]) {
                            let _: syn::Expr = m.value()?.parse()?;
                        }
                        Ok(())
                    });
                }
                Ok(())
            });
            found
        })
}

pub(crate) fn expand_element(input: &DeriveInput) -> TokenStream2 {
    let ident = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let element = quote! {
        #[automatically_derived]
        impl #impl_g ::rapyer::Element for #ident #ty_g #where_g {
            fn encode_element(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                ::rapyer::__private::to_msgpack(self)
            }
            fn decode_element(bytes: &[u8]) -> ::core::result::Result<Self, ::std::string::String> {
                ::rapyer::__private::from_msgpack(bytes)
            }
            fn shape() -> ::rapyer::__private::Shape {
                <Self as ::rapyer::Nested>::nested_shape()
            }
        }
    };
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => Some(f),
            _ => None,
        },
        _ => None,
    };
    // generic types, enums, tuple structs and structs whose fields serde renames as a
    // whole are one value to paths (read and written whole)
    let Some(named) = named.filter(|_| input.generics.params.is_empty() && !renames_fields(input))
    else {
        return quote! {
            #element
            #[automatically_derived]
            impl #impl_g ::rapyer::Nested for #ident #ty_g #where_g {
                type Path<B: ::rapyer::PathMode> = ::rapyer::At<Self, B>;
                fn nested<B: ::rapyer::PathMode>(at: ::rapyer::At<Self, B>) -> ::rapyer::At<Self, B> { at }
                fn nested_shape() -> ::rapyer::__private::Shape { ::rapyer::__private::Shape::Opaque }
            }
        };
    };
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    for f in &named.named {
        let Some(fid) = f.ident.as_ref() else {
            continue;
        };
        let opaque = match is_opaque(f) {
            Ok(o) => o,
            Err(e) => {
                errors.push(e.to_compile_error());
                false
            }
        };
        if let Some(name) = serde_name(f, fid) {
            fields.push(PathField {
                ident: fid,
                ty: &f.ty,
                name,
                opaque,
            });
        }
    }
    let vis = &input.vis;
    let path_ident = format_ident!("{}Path", ident);
    let doc = format!(
        "Typed paths to the fields of a stored [`{ident}`] (inside a list or map): read \
         one field without loading the element; on an atomic handle, write or `incr` it."
    );
    let decls = fields.iter().map(|f| {
        let (fid, ty) = (f.ident, f.ty);
        if f.opaque {
            quote! { pub #fid: ::rapyer::At<#ty, B> }
        } else {
            quote! { pub #fid: <#ty as ::rapyer::Nested>::Path<B> }
        }
    });
    let ctors = fields.iter().map(|f| {
        let (fid, ty, name) = (f.ident, f.ty, &f.name);
        if f.opaque {
            quote! { #fid: at.__opaque::<#ty>(#name) }
        } else {
            quote! { #fid: at.__field::<#ty>(#name) }
        }
    });
    let shapes = fields.iter().map(|f| {
        let (ty, name) = (f.ty, &f.name);
        if f.opaque {
            quote! { (#name, ::rapyer::__private::Shape::Opaque) }
        } else {
            quote! { (#name, <#ty as ::rapyer::Nested>::nested_shape()) }
        }
    });
    quote! {
        #(#errors)*
        #element

        #[doc = #doc]
        #[allow(missing_docs)]
        #vis struct #path_ident<B: ::rapyer::PathMode> {
            #(#decls,)*
            #[doc(hidden)]
            pub __at: ::rapyer::At<#ident, B>,
        }

        #[automatically_derived]
        impl<B: ::rapyer::PathMode> ::core::ops::Deref for #path_ident<B> {
            type Target = ::rapyer::At<#ident, B>;
            fn deref(&self) -> &::rapyer::At<#ident, B> {
                &self.__at
            }
        }

        #[automatically_derived]
        impl ::rapyer::Nested for #ident {
            type Path<B: ::rapyer::PathMode> = #path_ident<B>;
            fn nested<B: ::rapyer::PathMode>(at: ::rapyer::At<Self, B>) -> #path_ident<B> {
                #path_ident { #(#ctors,)* __at: at }
            }
            fn nested_shape() -> ::rapyer::__private::Shape {
                ::rapyer::__private::Shape::Struct(::std::vec![#(#shapes),*])
            }
        }
    }
}
