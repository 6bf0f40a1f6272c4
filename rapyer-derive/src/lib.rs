//! Derive macros for [rapyer](https://docs.rs/rapyer): `Model`, `Embedded`, `Element`.
//!
//! Thin macro, fat runtime: the derives parse attributes (collecting every error with its
//! span, as serde_derive does), emit a schema builder, the field codec calls and typed
//! paths, and reach the runtime through `::rapyer::__private`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitInt, LitStr, Type, parse_macro_input};

/// Collects errors so the user sees every mistake at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        let e = syn::Error::new(span, msg);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn push_err(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn finish(self) -> Result<(), TokenStream2> {
        match self.0 {
            Some(e) => Err(e.to_compile_error()),
            None => Ok(()),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Model,
    Embedded,
}

struct FieldInfo {
    ident: Ident,
    name: String,
    ty: Type,
    key: bool,
    blob: bool,
    index: bool,
    /// `#[rapyer(safe)]` / `#[rapyer(safe(default = path))]`.
    safe: bool,
    safe_default: Option<syn::Path>,
    /// `#[rapyer(state)]`: the model's `LoadState`, not stored.
    state: bool,
    /// `Safe` or `Lazy` when the type is written `Safe<…>` / `Lazy<…>`.
    wrapper: Option<String>,
}

/// `Safe` / `Lazy` when `ty` is written as that wrapper (last path segment).
fn wrapper_of(ty: &Type) -> Option<String> {
    let Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    let name = last.ident.to_string();
    let generic = matches!(last.arguments, syn::PathArguments::AngleBracketed(_));
    (generic && (name == "Safe" || name == "Lazy")).then_some(name)
}

#[derive(Default)]
struct ModelAttrs {
    name: Option<LitStr>,
    shards: Option<LitInt>,
    env: Option<LitStr>,
    ttl: Option<LitInt>,
    ttl_refresh: Option<LitStr>,
    ttl_refresh_interval: Option<LitInt>,
    ttl_grace: Option<LitInt>,
    on_error: Option<LitStr>,
    safe_all: bool,
}

/// Skips an attribute's value (`= expr` or `(…)`) so parsing can go on after an error.
fn skip_value(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

fn meta_name(meta: &syn::meta::ParseNestedMeta) -> String {
    let path = &meta.path;
    path.get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| quote!(#path).to_string().replace(' ', ""))
}

fn parse_container(input: &DeriveInput, kind: Kind, errors: &mut Errors) -> ModelAttrs {
    let mut attrs = ModelAttrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("rapyer")) {
        let res = attr.parse_nested_meta(|meta| {
            let name = meta_name(&meta);
            macro_rules! once {
                ($slot:expr, $ty:ty) => {{
                    let v: $ty = meta.value()?.parse()?;
                    if $slot.is_some() {
                        errors.push(
                            meta.path.span(),
                            format!("duplicate rapyer attribute `{name}`"),
                        );
                    } else {
                        $slot = Some(v);
                    }
                }};
            }
            match name.as_str() {
                "name" if kind == Kind::Model => once!(attrs.name, LitStr),
                "shards" if kind == Kind::Model => once!(attrs.shards, LitInt),
                "env" if kind == Kind::Model => once!(attrs.env, LitStr),
                "ttl" if kind == Kind::Model => once!(attrs.ttl, LitInt),
                "ttl_refresh" if kind == Kind::Model => once!(attrs.ttl_refresh, LitStr),
                "ttl_refresh_interval" if kind == Kind::Model => {
                    once!(attrs.ttl_refresh_interval, LitInt)
                }
                "ttl_grace" if kind == Kind::Model => once!(attrs.ttl_grace, LitInt),
                "on_error" if kind == Kind::Model => once!(attrs.on_error, LitStr),
                "safe_all" if kind == Kind::Model => {
                    if attrs.safe_all {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `safe_all`");
                    }
                    attrs.safe_all = true;
                }
                _ => {
                    let valid = match kind {
                        Kind::Model => {
                            "`name`, `shards`, `env`, `ttl`, `ttl_refresh`, `ttl_refresh_interval`, `ttl_grace`, `on_error`, `safe_all`"
                        }
                        Kind::Embedded => "none on an embedded struct",
                    };
                    errors.push(
                        meta.path.span(),
                        format!("unknown rapyer attribute `{name}` (valid here: {valid})"),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(e) = res {
            errors.push_err(e);
        }
    }
    if let Some(lit) = &attrs.name {
        let v = lit.value();
        if v.is_empty() || v.contains(['{', '}']) {
            errors.push(
                lit.span(),
                "model name must be non-empty and must not contain `{` or `}` (they would change the Redis Cluster hash tag)",
            );
        }
    }
    if let Some(lit) = &attrs.shards {
        match lit.base10_parse::<u32>() {
            Ok(0) | Err(_) => errors.push(
                lit.span(),
                "`shards` must be an integer from 1 to 4294967295",
            ),
            Ok(_) => {}
        }
    }
    if let Some(lit) = &attrs.ttl {
        match lit.base10_parse::<u64>() {
            Ok(n) if n > 0 && n <= u64::MAX / 1000 => {}
            _ => errors.push(lit.span(), "`ttl` is a number of seconds, at least 1"),
        }
    }
    if let Some(lit) = &attrs.ttl_refresh {
        if !matches!(lit.value().as_str(), "never" | "read" | "write" | "both") {
            errors.push(
                lit.span(),
                "`ttl_refresh` is one of \"never\", \"read\", \"write\", \"both\"",
            );
        } else if attrs.ttl.is_none() {
            errors.push(
                lit.span(),
                "`ttl_refresh` needs `ttl = <seconds>` on the model",
            );
        }
    }
    let ttl_secs = attrs
        .ttl
        .as_ref()
        .and_then(|l| l.base10_parse::<u64>().ok());
    let refreshes = attrs
        .ttl_refresh
        .as_ref()
        .is_some_and(|l| l.value() != "never");
    for (name, lit) in [
        ("ttl_refresh_interval", &attrs.ttl_refresh_interval),
        ("ttl_grace", &attrs.ttl_grace),
    ] {
        let Some(lit) = lit else { continue };
        match (lit.base10_parse::<u64>(), ttl_secs) {
            (Ok(n), Some(ttl)) if n >= 1 && n < ttl && refreshes => {}
            (Ok(_), _) if !refreshes => errors.push(
                lit.span(),
                format!("`{name}` needs `ttl = <seconds>` and `ttl_refresh = \"read\" | \"write\" | \"both\"` on the model"),
            ),
            _ => errors.push(
                lit.span(),
                format!("`{name}` is a number of seconds, at least 1 and less than `ttl`"),
            ),
        }
    }
    if let Some(lit) = &attrs.on_error
        && !matches!(lit.value().as_str(), "defer" | "ignore" | "log")
    {
        errors.push(
            lit.span(),
            "`on_error` is one of \"defer\", \"ignore\", \"log\"",
        );
    }
    if let Some(lit) = attrs.env.as_ref().filter(|l| l.value().is_empty()) {
        errors.push(lit.span(), "`env` must name an environment");
    }
    attrs
}

fn parse_fields(input: &DeriveInput, kind: Kind, errors: &mut Errors) -> Vec<FieldInfo> {
    let what = match kind {
        Kind::Model => "Model",
        Kind::Embedded => "Embedded",
    };
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => &n.named,
            other => {
                errors.push(
                    other.span(),
                    format!("#[derive({what})] needs a struct with named fields"),
                );
                return Vec::new();
            }
        },
        _ => {
            errors.push(
                input.ident.span(),
                format!("#[derive({what})] needs a struct with named fields"),
            );
            return Vec::new();
        }
    };
    if !input.generics.params.is_empty() {
        errors.push(
            input.generics.span(),
            format!("#[derive({what})] does not support generic structs"),
        );
    }
    let mut out = Vec::new();
    for f in named {
        let ident = f.ident.clone().expect("named field");
        let mut info = FieldInfo {
            name: ident.unraw().to_string(),
            ident,
            ty: f.ty.clone(),
            key: false,
            blob: false,
            index: false,
            safe: false,
            safe_default: None,
            state: false,
            wrapper: wrapper_of(&f.ty),
        };
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("rapyer")) {
            let res = attr.parse_nested_meta(|meta| {
                let name = meta_name(&meta);
                if name == "safe" && meta.input.peek(syn::token::Paren) {
                    if info.safe {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `safe`");
                    }
                    info.safe = true;
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("default") {
                            info.safe_default = Some(inner.value()?.parse()?);
                        } else {
                            errors.push(
                                inner.path.span(),
                                "unknown `safe` option (valid: `default = path::to::fn`)",
                            );
                            skip_value(&inner)?;
                        }
                        Ok(())
                    })?;
                    return Ok(());
                }
                let slot = match name.as_str() {
                    "key" if kind == Kind::Model => Some(&mut info.key),
                    "blob" => Some(&mut info.blob),
                    "index" => Some(&mut info.index),
                    "safe" => Some(&mut info.safe),
                    "state" if kind == Kind::Model => Some(&mut info.state),
                    _ => None,
                };
                match slot {
                    Some(flag) if *flag => errors.push(
                        meta.path.span(),
                        format!("duplicate rapyer attribute `{name}`"),
                    ),
                    Some(flag) => *flag = true,
                    None => {
                        let valid = match kind {
                            Kind::Model => "`key`, `blob`, `index`, `safe`, `state`",
                            Kind::Embedded => "`blob`, `index`, `safe`",
                        };
                        errors.push(
                            meta.path.span(),
                            format!(
                                "unknown rapyer attribute `{name}` (valid on a field here: {valid})"
                            ),
                        );
                        skip_value(&meta)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = res {
                errors.push_err(e);
            }
        }
        if info.key && info.blob {
            errors.push(
                info.ident.span(),
                "a key field cannot be `blob`: keys are scalars",
            );
        }
        if info.index && info.blob {
            errors.push(
                info.ident.span(),
                "`index` and `blob` do not mix: a blob is opaque msgpack",
            );
        }
        if info.key && info.safe {
            errors.push(
                info.ident.span(),
                "the key is never `safe`: a corrupt id is always an error",
            );
        }
        if info.index && (info.safe || info.wrapper.is_some()) {
            errors.push(
                info.ident.span(),
                "an indexed field cannot be `safe`, `Safe` or `Lazy`: indexes and queries need its value",
            );
        }
        if info.state && (info.key || info.blob || info.index || info.safe) {
            errors.push(
                info.ident.span(),
                "the `state` field holds the load record only; it takes no other rapyer attribute",
            );
        }
        if kind == Kind::Embedded && info.safe && info.wrapper.is_none() {
            errors.push(
                info.ident.span(),
                "in an embedded struct, make the field `rapyer::Safe<…>` (a plain `safe` field records its failure in the model's `#[rapyer(state)]` field)",
            );
        }
        out.push(info);
    }
    out
}

/// Per-field generated code, shared by `Model` (paths from the root) and `Embedded`
/// (paths under a prefix).
struct FieldCode {
    describe: TokenStream2,
    encode: TokenStream2,
    decode: TokenStream2,
    path_ty: TokenStream2,
    assert: TokenStream2,
    /// Appends the field's load failures to `out`.
    failures: TokenStream2,
    /// Lifts the field's quarantine.
    accept: TokenStream2,
}

/// `state`: the model's `LoadState` field when this field is a plain safe field.
fn field_code(f: &FieldInfo, path: &TokenStream2, state: Option<&Ident>) -> FieldCode {
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
        quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::describe(&#path, out); #mark }
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
        }
    } else {
        FieldCode {
            describe,
            encode: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::encode(&self.#ident, &#path, enc)?; },
            decode: custom_load.unwrap_or_else(
                || quote_spanned! {ty.span()=> #ident: <#ty as ::rapyer::Field>::decode(&#path, dec)? },
            ),
            path_ty: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::Path },
            assert: quote_spanned! {ty.span()=> ::rapyer::__private::assert_field::<#ty>(); },
            failures: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::failures(&self.#ident, out); },
            accept: quote_spanned! {ty.span()=> <#ty as ::rapyer::Field>::accept_fallback(&mut self.#ident); },
        }
    }
}

/// The atomic handle type of a field, and its constructor from `local` (an
/// `Option<&mut FieldType>` expression).
fn atomic_code(
    f: &FieldInfo,
    local: &TokenStream2,
    path: &TokenStream2,
) -> (TokenStream2, TokenStream2) {
    let ty = &f.ty;
    let ident = &f.ident;
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

fn path_ctor(f: &FieldInfo, path: &TokenStream2) -> TokenStream2 {
    let ty = &f.ty;
    let ident = &f.ident;
    if f.blob || f.key {
        quote! { #ident: ::rapyer::FieldPath::new(#path) }
    } else {
        quote_spanned! {ty.span()=> #ident: <#ty as ::rapyer::Field>::path(#path) }
    }
}

/// Derives `rapyer::Model`. See the rapyer crate documentation.
#[proc_macro_derive(Model, attributes(rapyer))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_model(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

fn expand_model(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
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
            path_ctors.push(quote! { #fid: ::rapyer::FieldPath::new(#path) });
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
                            key_field: #key_name,
                            ttl_ms: #ttl,
                            ttl_refresh: #ttl_refresh,
                            ttl_refresh_interval_ms: #ttl_refresh_interval_ms,
                            ttl_grace_ms: #ttl_grace_ms,
                            fields,
                            on_error: #on_error,
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
            }

            #[allow(dead_code)]
            fn __rapyer_assert_storable() {
                #(#asserts)*
            }
        };
    })
}

/// Derives `rapyer::Field` for a struct stored flattened into its parent model.
#[proc_macro_derive(Embedded, attributes(rapyer))]
pub fn derive_embedded(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_embedded(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

fn expand_embedded(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
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

                fn path(path: ::std::string::String) -> #paths_ident {
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
            }

            #[allow(dead_code)]
            fn __rapyer_assert_storable() {
                #(#asserts)*
            }
        };
    })
}

/// Derives `rapyer::Element` (msgpack, named fields) for a serde type.
#[proc_macro_derive(Element)]
pub fn derive_element(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_g ::rapyer::Element for #ident #ty_g #where_g {
            fn encode_element(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                ::rapyer::__private::to_msgpack(self)
            }
            fn decode_element(bytes: &[u8]) -> ::core::result::Result<Self, ::std::string::String> {
                ::rapyer::__private::from_msgpack(bytes)
            }
        }
    }
    .into()
}

/// Derives rapyer's scalar traits for a fieldless enum, stored as its variant name.
#[proc_macro_derive(Enum)]
pub fn derive_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_enum(&input) {
        Ok(ts) | Err(ts) => ts.into(),
    }
}

fn expand_enum(input: &DeriveInput) -> Result<TokenStream2, TokenStream2> {
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
                fn path(path: ::std::string::String) -> Self::Path {
                    ::rapyer::FieldPath::new(path)
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
