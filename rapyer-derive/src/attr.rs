//! Attribute parsing: `#[rapyer(...)]` on the container and on each field.

use quote::quote;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitInt, LitStr, Type};

use crate::errors::Errors;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Model,
    Embedded,
}

pub(crate) struct FieldInfo {
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) key: bool,
    pub(crate) blob: bool,
    pub(crate) index: bool,
    /// `#[rapyer(safe)]` / `#[rapyer(safe(default = path))]`.
    pub(crate) safe: bool,
    pub(crate) safe_default: Option<syn::Path>,
    /// `#[rapyer(state)]`: the model's `LoadState`, not stored.
    pub(crate) state: bool,
    /// `Safe` or `Lazy` when the type is written `Safe<…>` / `Lazy<…>`.
    pub(crate) wrapper: Option<String>,
    /// `#[rapyer(codec = "json" | "msgpack" | path::ToCodec)]`: the field is one value
    /// in that codec (a blob in it); the codec type.
    pub(crate) codec: Option<proc_macro2::TokenStream>,
    /// Foreign-key options: `inverse = "…"`, `on_delete = "…"` (checked), `lazy`,
    /// `one_to_one`, `one_to_many`, `inherit_ttl`, `must_exist`.
    pub(crate) relation: RelationAttrs,
}

#[derive(Default)]
pub(crate) struct RelationAttrs {
    pub(crate) inverse: Option<LitStr>,
    pub(crate) on_delete: Option<proc_macro2::TokenStream>,
    pub(crate) lazy: bool,
    pub(crate) one_to_one: bool,
    pub(crate) one_to_many: bool,
    pub(crate) inherit_ttl: bool,
    pub(crate) must_exist: bool,
}

impl RelationAttrs {
    pub(crate) fn any(&self) -> bool {
        self.inverse.is_some()
            || self.on_delete.is_some()
            || self.lazy
            || self.one_to_one
            || self.one_to_many
            || self.inherit_ttl
            || self.must_exist
    }
}

/// `Safe` / `Lazy` when `ty` is written as that wrapper (last path segment).
pub(crate) fn wrapper_of(ty: &Type) -> Option<String> {
    let Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    let name = last.ident.to_string();
    let generic = matches!(last.arguments, syn::PathArguments::AngleBracketed(_));
    (generic && (name == "Safe" || name == "Lazy")).then_some(name)
}

#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) shards: Option<LitInt>,
    pub(crate) env: Option<LitStr>,
    pub(crate) colocate: Option<LitStr>,
    pub(crate) ttl: Option<LitInt>,
    pub(crate) ttl_refresh: Option<LitStr>,
    pub(crate) ttl_refresh_interval: Option<LitInt>,
    pub(crate) ttl_grace: Option<LitInt>,
    pub(crate) on_error: Option<LitStr>,
    pub(crate) safe_all: bool,
    /// `inverse(books = "Book.author", …)`: relations named on the target side.
    pub(crate) inverses: Vec<(String, LitStr)>,
}

/// Skips an attribute's value (`= expr` or `(…)`) so parsing can go on after an error.
pub(crate) fn skip_value(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

pub(crate) fn meta_name(meta: &syn::meta::ParseNestedMeta) -> String {
    let path = &meta.path;
    path.get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| quote!(#path).to_string().replace(' ', ""))
}

pub(crate) fn parse_container(input: &DeriveInput, kind: Kind, errors: &mut Errors) -> ModelAttrs {
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
                "colocate" if kind == Kind::Model => once!(attrs.colocate, LitStr),
                "ttl" if kind == Kind::Model => once!(attrs.ttl, LitInt),
                "ttl_refresh" if kind == Kind::Model => once!(attrs.ttl_refresh, LitStr),
                "ttl_refresh_interval" if kind == Kind::Model => {
                    once!(attrs.ttl_refresh_interval, LitInt)
                }
                "ttl_grace" if kind == Kind::Model => once!(attrs.ttl_grace, LitInt),
                "on_error" if kind == Kind::Model => once!(attrs.on_error, LitStr),
                "inverse" if kind == Kind::Model && meta.input.peek(syn::token::Paren) => {
                    meta.parse_nested_meta(|inner| {
                        let key = meta_name(&inner);
                        let lit: LitStr = inner.value()?.parse()?;
                        let v = lit.value();
                        match v.split_once('.') {
                            Some((m, f)) if !m.is_empty() && !f.is_empty() => {}
                            _ => errors.push(
                                lit.span(),
                                format!("inverse `{key}` names the referring field as \"<Model>.<field>\" (such as \"Book.author\"), not {v:?}"),
                            ),
                        }
                        if attrs.inverses.iter().any(|(k, _)| *k == key) {
                            errors.push(inner.path.span(), format!("duplicate inverse `{key}`"));
                        }
                        attrs.inverses.push((key, lit));
                        Ok(())
                    })?;
                }
                "safe_all" if kind == Kind::Model => {
                    if attrs.safe_all {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `safe_all`");
                    }
                    attrs.safe_all = true;
                }
                _ => {
                    let valid = match kind {
                        Kind::Model => {
                            "`name`, `shards`, `env`, `colocate`, `ttl`, `ttl_refresh`, `ttl_refresh_interval`, `ttl_grace`, `on_error`, `safe_all`, `inverse(name = \"Model.field\")`"
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
    crate::check::container(&attrs, errors);
    attrs
}

pub(crate) fn parse_fields(input: &DeriveInput, kind: Kind, errors: &mut Errors) -> Vec<FieldInfo> {
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
            codec: None,
            relation: RelationAttrs::default(),
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
                if name == "codec" {
                    if info.codec.is_some() {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `codec`");
                    }
                    let value = meta.value()?;
                    let codec = if value.peek(LitStr) {
                        let lit: LitStr = value.parse()?;
                        match lit.value().as_str() {
                            "json" => quote!(::rapyer::JsonCodec),
                            "msgpack" => quote!(::rapyer::MsgpackCodec),
                            other => {
                                errors.push(
                                    lit.span(),
                                    format!("unknown codec \"{other}\" (built in: \"json\", \"msgpack\"; or a path to a type implementing rapyer::Codec)"),
                                );
                                quote!(::rapyer::MsgpackCodec)
                            }
                        }
                    } else {
                        let path: syn::Path = value.parse()?;
                        quote!(#path)
                    };
                    info.codec = Some(codec);
                    info.blob = true;
                    return Ok(());
                }
                if name == "inverse" && kind == Kind::Model {
                    if info.relation.inverse.is_some() {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `inverse`");
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() || lit.value().contains(['.', ':']) {
                        errors.push(lit.span(), "an inverse name is a plain name (`books`): not empty, no `.` or `:`");
                    }
                    info.relation.inverse = Some(lit);
                    return Ok(());
                }
                if name == "on_delete" && kind == Kind::Model {
                    if info.relation.on_delete.is_some() {
                        errors.push(meta.path.span(), "duplicate rapyer attribute `on_delete`");
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    let strategy = match lit.value().as_str() {
                        "restrict" => quote!(::rapyer::OnDelete::Restrict),
                        "nullify" => quote!(::rapyer::OnDelete::Nullify),
                        "delete" => quote!(::rapyer::OnDelete::Delete),
                        other => {
                            errors.push(
                                lit.span(),
                                format!("unknown on_delete \"{other}\" (valid: \"restrict\", \"nullify\", \"delete\")"),
                            );
                            quote!(::rapyer::OnDelete::Restrict)
                        }
                    };
                    info.relation.on_delete = Some(strategy);
                    return Ok(());
                }
                let slot = match name.as_str() {
                    "key" if kind == Kind::Model => Some(&mut info.key),
                    "lazy" if kind == Kind::Model => Some(&mut info.relation.lazy),
                    "one_to_one" if kind == Kind::Model => Some(&mut info.relation.one_to_one),
                    "one_to_many" if kind == Kind::Model => Some(&mut info.relation.one_to_many),
                    "inherit_ttl" if kind == Kind::Model => Some(&mut info.relation.inherit_ttl),
                    "must_exist" if kind == Kind::Model => Some(&mut info.relation.must_exist),
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
                            Kind::Model => "`key`, `blob`, `codec`, `index`, `safe`, `state`; on foreign keys `inverse`, `on_delete`, `lazy`, `one_to_one`, `one_to_many`, `inherit_ttl`, `must_exist`",
                            Kind::Embedded => "`blob`, `codec`, `index`, `safe`",
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
        if info.codec.is_some() && (info.safe || info.wrapper.is_some()) {
            errors.push(
                info.ident.span(),
                "a `codec` field cannot be `safe`, `Safe` or `Lazy` (it is one value in its codec; decode errors name the codec)",
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
        if info.relation.one_to_one && info.relation.one_to_many {
            errors.push(
                info.ident.span(),
                "a relation is `one_to_one` or `one_to_many`, not both",
            );
        }
        if info.relation.any() && (info.key || info.blob || info.state || info.safe) {
            errors.push(
                info.ident.span(),
                "relation options go on a foreign-key field (`ForeignKey<T>`, `Option<…>`, `Vec<…>`, a set of them), which is not `key`, `blob`, `codec`, `safe` or `state`",
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
