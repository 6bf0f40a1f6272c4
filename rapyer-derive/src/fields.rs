//! The code each field contributes (schema, codec calls, typed path, atomic handle),
//! shared by `Model` and `Embedded`.

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::attr::FieldInfo;

/// Per-field generated code, shared by `Model` (paths from the root) and `Embedded`
/// (paths under a prefix).
pub(crate) struct FieldCode {
    pub(crate) describe: TokenStream2,
    pub(crate) encode: TokenStream2,
    pub(crate) decode: TokenStream2,
    pub(crate) path_ty: TokenStream2,
    pub(crate) assert: TokenStream2,
    /// Appends the field's load failures to `out`.
    pub(crate) failures: TokenStream2,
    /// Lifts the field's quarantine.
    pub(crate) accept: TokenStream2,
    /// Hands the field's foreign keys to `out` (nothing for blobs and codec fields).
    pub(crate) relations: TokenStream2,
}

/// `state`: the model's `LoadState` field when this field is a plain safe field.
pub(crate) fn field_code(f: &FieldInfo, path: &TokenStream2, state: Option<&Ident>) -> FieldCode {
    let ty = &f.ty;
    let ident = &f.ident;
    let describe = if f.blob {
        quote! { ::rapyer::__private::describe_blob(&#path, out); }
    } else {
        let mark = if f.index {
            quote_spanned! {ty.span()=> ::rapyer::__private::mark_indexed::<#ty>(out); }
        } else {
            quote!()
        };
        let rel = relation_marks(f);
        quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::describe(&#path, out); #mark #rel }
    };
    let fns = if f.blob {
        quote_spanned! {ty.span()=> ::rapyer::__private::blob_fns::<#ty>() }
    } else {
        quote_spanned! {ty.span()=> ::rapyer::__private::field_fns::<#ty>() }
    };
    if let Some(state) = state {
        let fallback = match &f.safe_default {
            Some(p) => quote!(#p),
            None => quote_spanned! {ty.span()=> <#ty as ::core::default::Default>::default },
        };
        return FieldCode {
            describe,
            encode: quote! {
                ::rapyer::__private::encode_plain::<#ty>(&self.#ident, &#path, enc, &self.#state, #fns)?;
            },
            decode: quote! {
                #ident: ::rapyer::__private::load_plain::<#ty>(&#path, dec, &mut __state, #fns, #fallback)?
            },
            path_ty: if f.blob {
                quote! { ::rapyer::FieldPath<#ty> }
            } else {
                quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::Path }
            },
            assert: if f.blob {
                quote_spanned! {ty.span()=> ::rapyer::__private::assert_blob::<#ty>(); }
            } else {
                quote_spanned! {ty.span()=> ::rapyer::__private::assert_field::<#ty>(); }
            },
            failures: quote! {
                ::rapyer::__private::plain_failures::<#ty>(&self.#ident, &#path, &self.#state, #fns, out);
            },
            accept: quote!(),
            relations: if f.blob {
                quote!()
            } else {
                quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::__relations(&mut self.#ident, &#path, out); }
            },
        };
    }
    // a `Safe<…>`/`Lazy<…>` field with its own fallback
    let custom_load = f
        .safe_default
        .as_ref()
        .filter(|_| f.wrapper.is_some())
        .map(|d| {
            if f.blob {
                quote_spanned! {ty.span()=> #ident: <#ty>::__load_blob(&#path, dec, #d)? }
            } else {
                quote_spanned! {ty.span()=> #ident: <#ty>::__load_field(&#path, dec, #d)? }
            }
        });
    if let Some(codec) = &f.codec {
        let cb = quote_spanned! {ty.span()=> ::rapyer::__private::CodecBlob::<#ty, #codec> };
        return FieldCode {
            describe,
            encode: quote! { #cb::encode(&self.#ident, &#path, enc)?; },
            decode: quote! { #ident: #cb::decode(&#path, dec)? },
            path_ty: quote! { ::rapyer::FieldPath<#ty> },
            assert: quote_spanned! {ty.span()=> #cb::assert(); },
            failures: quote!(),
            accept: quote!(),
            relations: quote!(),
        };
    }
    if f.blob {
        let bf = quote!(::rapyer::__private::BlobField);
        FieldCode {
            describe,
            encode: quote! { <#ty as #bf>::blob_encode(&self.#ident, &#path, enc)?; },
            decode: custom_load
                .unwrap_or_else(|| quote! { #ident: <#ty as #bf>::blob_decode(&#path, dec)? }),
            path_ty: quote! { ::rapyer::FieldPath<#ty> },
            assert: quote_spanned! {ty.span()=> ::rapyer::__private::assert_blob::<#ty>(); },
            failures: quote! { <#ty as #bf>::blob_failures(&self.#ident, out); },
            accept: quote! { <#ty as #bf>::blob_accept_fallback(&mut self.#ident); },
            relations: quote!(),
        }
    } else {
        FieldCode {
            describe,
            encode: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::encode(&self.#ident, &#path, enc)?; },
            decode: custom_load.unwrap_or_else(
                || quote_spanned! {ty.span()=> #ident: <#ty as ::rapyer::Field>::decode(&#path, dec)? },
            ),
            path_ty: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::Path },
            assert: {
                let members = member_asserts(ty);
                quote_spanned! {ty.span()=> #members ::rapyer::__private::assert_field::<#ty>(); }
            },
            failures: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::failures(&self.#ident, out); },
            accept: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::accept_fallback(&mut self.#ident); },
            relations: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::__relations(&mut self.#ident, &#path, out); },
        }
    }
}

/// The atomic handle type of a field, and its constructor from `local` (an
/// `Option<&mut FieldType>` expression).
pub(crate) fn atomic_code(
    f: &FieldInfo,
    local: &TokenStream2,
    path: &TokenStream2,
) -> (TokenStream2, TokenStream2) {
    let ty = &f.ty;
    let ident = &f.ident;
    if let Some(codec) = &f.codec {
        return (
            quote! { ::rapyer::BlobRef<'a, #ty, #codec> },
            quote! { #ident: ::rapyer::__private::CodecBlob::<#ty, #codec>::atomic(#local, &doc, #path) },
        );
    }
    if f.blob {
        (
            quote! { <#ty as ::rapyer::__private::BlobField>::Atomic<'a> },
            quote! { #ident: <#ty as ::rapyer::__private::BlobField>::blob_atomic(#local, &doc, #path) },
        )
    } else {
        (
            quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::Atomic<'a> },
            quote_spanned! {ty.span()=> #ident: <#ty as ::rapyer::Field>::atomic(#local, &doc, #path) },
        )
    }
}

pub(crate) fn path_ctor(f: &FieldInfo, path: &TokenStream2) -> TokenStream2 {
    let ty = &f.ty;
    let ident = &f.ident;
    if f.blob || f.key {
        quote! { #ident: ::rapyer::FieldPath::in_model(#path, model) }
    } else {
        quote_spanned! {ty.span()=> #ident: <#ty as ::rapyer::Field>::path(#path, model) }
    }
}

/// For a field spelled as a standard collection (`Vec<T>`, `VecDeque<T>`, `HashSet<T>`,
/// `BTreeSet<T>`, `HashMap<K, V>`, `BTreeMap<K, V>`): checks that its members are
/// elements (and its keys map keys), spanned at each one, so that a collection of a type
/// that is no element says so at that type (before the field's own `Field` check).
fn member_asserts(ty: &syn::Type) -> TokenStream2 {
    let syn::Type::Path(tp) = ty else {
        return quote!();
    };
    let Some(last) = tp.path.segments.last() else {
        return quote!();
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return quote!();
    };
    let types: Vec<&syn::Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    let is_u8 = |t: &syn::Type| matches!(t, syn::Type::Path(p) if p.path.is_ident("u8"));
    match (last.ident.to_string().as_str(), types.as_slice()) {
        ("Vec", [t]) if is_u8(t) => quote!(),
        ("Vec" | "VecDeque" | "HashSet" | "BTreeSet", [t, ..]) => {
            quote_spanned! {t.span()=> ::rapyer::__private::assert_element::<#t>(); }
        }
        ("HashMap" | "BTreeMap", [k, v, ..]) => {
            let k = quote_spanned! {k.span()=> ::rapyer::__private::assert_map_key::<#k>(); };
            let v = quote_spanned! {v.span()=> ::rapyer::__private::assert_element::<#v>(); };
            quote!(#k #v)
        }
        _ => quote!(),
    }
}

/// The relation options of a foreign-key field, applied after its `describe` (the
/// bounds of the calls are the compile-time check that the type is one).
fn relation_marks(f: &FieldInfo) -> TokenStream2 {
    let r = &f.relation;
    if !r.any() {
        return quote!();
    }
    let ty = &f.ty;
    let inverse = match &r.inverse {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let on_delete = match &r.on_delete {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let lazy = r.lazy;
    let inherit = r.inherit_ttl;
    let must_exist = r.must_exist;
    let (check, cardinality) = if r.one_to_one {
        (
            quote_spanned! {ty.span()=> ::rapyer::__private::assert_single_relation::<#ty>(); },
            quote!(::core::option::Option::Some(
                ::rapyer::Cardinality::OneToOne
            )),
        )
    } else if r.one_to_many {
        (
            quote_spanned! {ty.span()=> ::rapyer::__private::assert_many_relation::<#ty>(); },
            quote!(::core::option::Option::Some(
                ::rapyer::Cardinality::OneToMany
            )),
        )
    } else {
        (quote!(), quote!(::core::option::Option::None))
    };
    quote_spanned! {ty.span()=>
        #check
        ::rapyer::__private::relation_options::<#ty>(out, #inverse, #on_delete, #lazy, #cardinality, #inherit, #must_exist);
    }
}
