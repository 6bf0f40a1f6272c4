//! `#[derive(Model)]`.

use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitInt, LitStr};

use crate::attr::*;
use crate::errors::Errors;
use crate::fields::*;

pub(crate) fn expand_model(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
    let mut errors = Errors::default();
    let attrs = parse_container(input, Kind::Model, &mut errors);
    let fields = parse_fields(input, Kind::Model, &mut errors);

    let keys: Vec<&FieldInfo> = fields.iter().filter(|f| f.key).collect();
    if keys.len() > 1 {
        for k in &keys[1..] {
            errors.push(
                k.ident.span(),
                format!(
                    "two key fields: `{}` is already the key; a model has one `#[rapyer(key)]`",
                    keys[0].name
                ),
            );
        }
    }
    let key = keys
        .first()
        .copied()
        .or_else(|| fields.iter().find(|f| f.name == "id"));
    if key.is_none() && !fields.is_empty() {
        errors.push(
            input.ident.span(),
            format!(
                "model `{}` has no key: mark a field `#[rapyer(key)]`, or add a field `id: rapyer::Id` for auto UUID v7 ids",
                input.ident
            ),
        );
    }
    if key.is_some_and(|k| k.blob) && keys.is_empty() {
        errors.push(
            key.unwrap().ident.span(),
            "the `id` key field cannot be `blob`",
        );
    }
    if let Some(k) = key.filter(|k| k.index) {
        errors.push(
            k.ident.span(),
            "the key cannot be `index`ed: listing and lookups by id use the id index already",
        );
    }
    let states: Vec<&FieldInfo> = fields.iter().filter(|f| f.state).collect();
    for extra in states.iter().skip(1) {
        errors.push(
            extra.ident.span(),
            "two `state` fields: a model has one `#[rapyer(state)]` LoadState",
        );
    }
    let state = states.first().map(|f| &f.ident);
    // plain fields decoded with a fallback: marked `safe`, or every eligible field under
    // `safe_all` (not the key, the state, indexed fields, or `Safe`/`Lazy` wrappers)
    let plain_safe = |f: &FieldInfo| {
        key.is_some_and(|k| k.ident != f.ident)
            && !f.state
            && f.wrapper.is_none()
            && (f.safe || (attrs.safe_all && !f.index))
    };
    if state.is_none()
        && let Some(f) = fields.iter().find(|f| plain_safe(f))
    {
        errors.push(
            f.ident.span(),
                format!(
                    "`{}` is decoded safely (`safe`/`safe_all`) and needs a place to record its load: add a field `#[rapyer(state)] load: rapyer::LoadState` to the model, or make the field `rapyer::Safe<…>`",
                    f.name
                ),
            );
    }
    errors.finish()?;
    let key = key.expect("checked above");

    let ident = &input.ident;
    let vis = &input.vis;
    let fields_ident = format_ident!("{}Fields", ident);
    let model_name = attrs
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| ident.to_string());
    let shards: u32 = attrs
        .shards
        .as_ref()
        .and_then(|l| l.base10_parse().ok())
        .unwrap_or(1);
    let env = match &attrs.env {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    };
    let colocate = match &attrs.colocate {
        Some(g) => quote!(::core::option::Option::Some(#g)),
        None => quote!(::core::option::Option::None),
    };
    let ttl = match attrs
        .ttl
        .as_ref()
        .and_then(|l| l.base10_parse::<u64>().ok())
    {
        Some(secs) => {
            let ms = secs * 1000;
            quote!(::core::option::Option::Some(#ms))
        }
        None => quote!(::core::option::Option::None),
    };
    let secs_ms = |lit: &Option<LitInt>| -> u64 {
        lit.as_ref()
            .and_then(|l| l.base10_parse::<u64>().ok())
            .map_or(0, |s| s.saturating_mul(1000))
    };
    let ttl_refresh_interval_ms = secs_ms(&attrs.ttl_refresh_interval);
    let ttl_grace_ms = secs_ms(&attrs.ttl_grace);
    let on_error = match attrs.on_error.as_ref().map(LitStr::value).as_deref() {
        Some("ignore") => quote!(::rapyer::__private::OnError::Ignore),
        Some("log") => quote!(::rapyer::__private::OnError::Log),
        _ => quote!(::rapyer::__private::OnError::Defer),
    };
    let ttl_refresh = match attrs.ttl_refresh.as_ref().map(LitStr::value).as_deref() {
        Some("read") => quote!(::rapyer::__private::TtlRefresh::Read),
        Some("write") => quote!(::rapyer::__private::TtlRefresh::Write),
        Some("both") => quote!(::rapyer::__private::TtlRefresh::Both),
        _ => quote!(::rapyer::__private::TtlRefresh::Never),
    };
    let key_ident = &key.ident;
    let key_ty = &key.ty;
    let key_name = &key.name;

    let inverse_names: Vec<&String> = attrs.inverses.iter().map(|(k, _)| k).collect();
    let inverse_sources: Vec<&LitStr> = attrs.inverses.iter().map(|(_, v)| v).collect();
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
        let fid = &f.ident;
        if f.state {
            // decoded last: the other fields record into `__state` first
            accepts.push(quote! { self.#fid.release_all(); });
            continue;
        }
        let path = quote!(::std::string::String::from(#name));
        let code = field_code(f, &path, state.filter(|_| plain_safe(f)));
        if f.ident != *key_ident {
            let fid = &f.ident;
            let (aty, local_ctor) = atomic_code(
                f,
                &quote!(::core::option::Option::Some(&mut self.#fid)),
                &path,
            );
            let (_, remote_ctor) = atomic_code(f, &quote!(::core::option::Option::None), &path);
            atomic_fields.push(quote! { pub #fid: #aty });
            atomic_local.push(local_ctor);
            atomic_remote.push(remote_ctor);
        }
        let fid = &f.ident;
        if f.ident == *key_ident {
            let ty = &f.ty;
            path_fields.push(quote! { pub #fid: ::rapyer::FieldPath<#ty> });
            path_ctors.push(quote! { #fid: ::rapyer::FieldPath::in_model(#path, model) });
            asserts.push(quote_spanned! {ty.span()=> ::rapyer::__private::assert_key::<#ty>(); });
            decode.push(quote! {
                #fid: <#key_ty as ::rapyer::Key>::from_key(dec.id())
                    .map_err(|reason| dec.error(#key_name, reason))?
            });
            continue;
        }
        let pty = code.path_ty;
        path_fields.push(quote! { pub #fid: #pty });
        path_ctors.push(path_ctor(f, &path));
        describe.push(code.describe);
        encode.push(code.encode);
        decode.push(code.decode);
        asserts.push(code.assert);
        failures.push(code.failures);
        accepts.push(code.accept);
        relations.push(code.relations);
    }
    let state_init = if let Some(state) = state {
        decode.push(quote! { #state: __state });
        quote! { let mut __state = ::rapyer::__private::LoadState::default(); }
    } else {
        quote!()
    };

    let doc =
        format!("Typed paths to the stored fields of [`{ident}`] (from `{ident}::fields()`).");
    let atomic_ident = format_ident!("{}Atomic", ident);
    let atomic_doc = format!(
        "Atomic operations on the fields of one [`{ident}`] document (from `{ident}::atomic()` / `{ident}::at(id)`)."
    );
    // the model registry (rapyer::search by name); a generic model has no one schema
    let register = if input.generics.params.is_empty() {
        quote! {
            ::rapyer::__private::inventory::submit! {
                ::rapyer::__private::ModelEntry {
                    schema: <#ident as ::rapyer::Model>::schema,
                }
            }
        }
    } else {
        quote! {}
    };
    Ok(quote! {
        #[doc = #doc]
        #[allow(missing_docs)]
        #vis struct #fields_ident {
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
            impl ::rapyer::Model for #ident {
                type Key = #key_ty;
                type Fields = #fields_ident;
                type Atomic<'a> = #atomic_ident<'a>;

                fn atomic(&mut self) -> #atomic_ident<'_> {
                    let doc = ::rapyer::__private::DocRef::new(
                        <Self as ::rapyer::Model>::schema(),
                        ::rapyer::Key::to_key(&self.#key_ident),
                    );
                    #atomic_ident {
                        #(#atomic_local,)*
                        _marker: ::core::marker::PhantomData,
                    }
                }

                fn at(id: impl ::core::fmt::Display) -> #atomic_ident<'static> {
                    let doc = ::rapyer::__private::DocRef::new(
                        <Self as ::rapyer::Model>::schema(),
                        ::std::string::ToString::to_string(&id),
                    );
                    #atomic_ident {
                        #(#atomic_remote,)*
                        _marker: ::core::marker::PhantomData,
                    }
                }

                fn key(&self) -> &#key_ty {
                    &self.#key_ident
                }

                fn fields() -> #fields_ident {
                    let model = <Self as ::rapyer::Model>::schema();
                    #fields_ident { #(#path_ctors,)* }
                }

                fn schema() -> &'static ::rapyer::__private::ModelSchema {
                    static SCHEMA: ::rapyer::__private::OnceCell<::rapyer::__private::ModelSchema> =
                        ::rapyer::__private::OnceCell::new();
                    SCHEMA.get_or_init(|| {
                        let mut fields = ::std::vec::Vec::new();
                        let out = &mut fields;
                        #(#describe)*
                        ::rapyer::__private::ModelSchema {
                            name: #model_name,
                            shards: #shards,
                            env: #env,
                            colocate: #colocate,
                            key_field: #key_name,
                            ttl_ms: #ttl,
                            ttl_refresh: #ttl_refresh,
                            ttl_refresh_interval_ms: #ttl_refresh_interval_ms,
                            ttl_grace_ms: #ttl_grace_ms,
                            fields,
                            on_error: #on_error,
                            inverses: ::std::vec![#((#inverse_names, #inverse_sources)),*],
                        }
                    })
                }

                fn __set_key(&mut self, key: #key_ty) {
                    self.#key_ident = key;
                }

                fn __encode(&self, enc: &mut ::rapyer::__private::Encoder) -> ::rapyer::Result<()> {
                    #(#encode)*
                    ::core::result::Result::Ok(())
                }

                fn __decode(dec: &mut ::rapyer::__private::Decoder) -> ::rapyer::Result<Self> {
                    #state_init
                    ::core::result::Result::Ok(Self { #(#decode,)* })
                }

                fn failed_fields(&self) -> ::std::vec::Vec<::rapyer::FieldFailure> {
                    let mut failed = ::std::vec::Vec::new();
                    let out = &mut failed;
                    #(#failures)*
                    let _ = out;
                    failed
                }

                fn accept_fallbacks(&mut self) {
                    #(#accepts)*
                }

                fn __relations(&mut self, out: &mut ::rapyer::__private::Visit<'_>) {
                    #(#relations)*
                    let _ = out;
                }
            }

            #[allow(dead_code)]
            fn __rapyer_assert_storable() {
                #(#asserts)*
            }

            #register
        };
    })
}
