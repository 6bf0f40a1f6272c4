//! Field values <-> Redis bytes, per field kind (DESIGN §5). Sans-IO.
//!
//! Four traits describe what a Rust type can be:
//! - [`Scalar`]: one value as bytes (ints and floats as text, strings as UTF-8, …);
//! - [`Element`]: a member of a list, set or map (scalars, tagged `Option`s, and types
//!   that `#[derive(Element)]`, stored as msgpack);
//! - [`MapKey`]: a map key (strings, integers, `char`, `uuid::Uuid`);
//! - [`Field`]: a struct field, which decides where it lives (root hash field, own key,
//!   or flattened sub-fields for embedded structs).

use crate::error::{Error, Result};
use crate::schema::{FieldKind, FieldSchema, OnError};

#[cfg(feature = "chrono")]
mod chrono_impls;
mod coded;
mod paths;
mod value;

pub use coded::{Codec, Coded, Json, JsonCodec, Msgpack, MsgpackCodec};
pub use paths::FieldPath;
pub use value::Value;

/// Everything the encoder collected for one document: root hash pairs and collections.
#[derive(Debug)]
pub struct Encoder {
    model: &'static str,
    pub(crate) root: Vec<(String, Vec<u8>)>,
    pub(crate) collections: Vec<(String, FieldKind, Vec<Vec<u8>>)>,
}

impl Encoder {
    pub(crate) fn new(model: &'static str) -> Self {
        Self {
            model,
            root: Vec::new(),
            collections: Vec::new(),
        }
    }

    /// Stores `bytes` in the root hash field `path`.
    pub fn root_field(&mut self, path: &str, bytes: Vec<u8>) {
        self.root.push((path.to_owned(), bytes));
    }

    /// Stores a collection under its own key. Empty collections are stored as absent keys.
    /// For maps, `items` alternates field and value.
    pub fn collection(&mut self, path: &str, kind: FieldKind, items: Vec<Vec<u8>>) {
        if !items.is_empty() {
            self.collections.push((path.to_owned(), kind, items));
        }
    }

    /// An empty encoder for the same model (to encode one field on the side).
    pub(crate) fn scratch(&self) -> Self {
        Self::new(self.model)
    }

    /// An [`Error::Encode`] for the field at `path`.
    pub fn error(&self, path: &str, reason: impl Into<String>) -> Error {
        Error::Encode {
            model: self.model,
            field: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The raw data of one loaded document, consumed field by field.
#[derive(Debug)]
pub struct Decoder {
    model: &'static str,
    id: String,
    root_key: String,
    /// Root hash `(field, value)` pairs, as stored (usually in the order the derive
    /// takes them, so a lookup finds its field first).
    root: Vec<(Vec<u8>, Vec<u8>)>,
    /// `(path, key, items)` per collection.
    collections: Vec<(String, String, Vec<Vec<u8>>)>,
    /// What `Lazy`/`Safe` fields do with bytes they cannot decode.
    policy: OnError,
    /// `(path, error)` of each collection whose key holds another Redis type.
    wrong: Vec<(String, Error)>,
}

impl Decoder {
    pub(crate) fn new(
        model: &'static str,
        id: String,
        root_key: String,
        root: Vec<(Vec<u8>, Vec<u8>)>,
        collections: Vec<(String, String, Vec<Vec<u8>>)>,
    ) -> Self {
        Self {
            model,
            id,
            root_key,
            root,
            collections,
            policy: OnError::default(),
            wrong: Vec::new(),
        }
    }

    /// Records that the collection at `path` could not be read: its key holds another
    /// Redis type (`error`, an [`Error::WrongType`]). Its decode fails with that error;
    /// a `Safe` field takes its fallback.
    pub(crate) fn wrong_type(mut self, path: String, error: Error) -> Self {
        self.wrong.push((path, error));
        self
    }

    /// The items of the collection at `path`, moved out; the [`Error::WrongType`] when its
    /// key holds another Redis type.
    pub(crate) fn take_items(&mut self, path: &str) -> Result<Vec<Vec<u8>>> {
        if let Some(at) = self.wrong.iter().position(|(p, _)| p == path) {
            return Err(self.wrong.remove(at).1);
        }
        Ok(self.take_collection(path))
    }

    /// Sets the model's decode-error policy (from its schema).
    pub(crate) fn policy(mut self, policy: OnError) -> Self {
        self.policy = policy;
        self
    }

    /// The model's decode-error policy.
    pub(crate) fn on_error(&self) -> OnError {
        self.policy
    }

    /// The model name.
    pub(crate) fn model(&self) -> &'static str {
        self.model
    }

    /// The key holding the field at `path` (its collection key, or the root hash).
    pub(crate) fn key_of(&self, path: &str) -> String {
        self.collections
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, k, _)| k.clone())
            .unwrap_or_else(|| self.root_key.clone())
    }

    /// The stored data of the fields `describe` lays out at `path`: moved out of the
    /// decoder (`take`) or copied, leaving it for the field's own decode.
    pub(crate) fn raw_parts(
        &mut self,
        path: &str,
        describe: fn(&str, &mut Vec<FieldSchema>),
        take: bool,
    ) -> RawParts {
        let mut layout = Vec::new();
        describe(path, &mut layout);
        let mut raw = RawParts {
            model: self.model,
            id: self.id.clone(),
            root_key: self.root_key.clone(),
            root: Vec::new(),
            collections: Vec::new(),
        };
        for f in layout {
            if f.kind.is_collection() {
                let key = self.key_of(&f.path);
                let items = match self.collections.iter_mut().find(|(p, _, _)| *p == f.path) {
                    Some((_, _, items)) if take => std::mem::take(items),
                    Some((_, _, items)) => items.clone(),
                    None => Vec::new(),
                };
                raw.collections.push((f.path, key, f.kind, items));
            } else if let Some(at) = self.root.iter().position(|(p, _)| *p == f.path.as_bytes()) {
                let bytes = if take {
                    self.root.remove(at).1
                } else {
                    self.root[at].1.clone()
                };
                raw.root.push((f.path, bytes));
            }
        }
        raw
    }

    /// The document's id, as stored in its key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes the root hash field `path` (None when absent).
    pub fn take_root(&mut self, path: &str) -> Option<Vec<u8>> {
        let at = self.root.iter().position(|(f, _)| f == path.as_bytes())?;
        Some(self.root.remove(at).1)
    }

    /// Takes the items of the collection at `path` (empty when the key is absent).
    pub fn take_collection(&mut self, path: &str) -> Vec<Vec<u8>> {
        self.collections
            .iter_mut()
            .find(|(p, _, _)| p == path)
            .map(|(_, _, items)| std::mem::take(items))
            .unwrap_or_default()
    }

    /// An [`Error::Decode`] naming the key that holds `path` and the field.
    pub fn error(&self, path: &str, reason: impl Into<String>) -> Error {
        Error::Decode {
            model: self.model,
            key: self.key_of(path),
            field: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A short, printable rendering of stored bytes for error messages.
pub(crate) fn show(bytes: &[u8]) -> String {
    const MAX: usize = 48;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    let more = if bytes.len() > MAX { "…" } else { "" };
    format!("{text:?}{more}")
}

/// A value stored as one string of bytes (a root hash field or a collection member).
pub trait Scalar: Sized {
    /// The stored bytes.
    fn encode_scalar(&self) -> Vec<u8>;
    /// Parses stored bytes; the error says what was expected.
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String>;
    /// What the value looks like to run-time paths (`extract_fields`).
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Opaque
    }
    /// The model this value refers to (a [`crate::ForeignKey`]'s target).
    #[doc(hidden)]
    fn __target() -> Option<crate::schema::TargetFn> {
        None
    }
    /// This value as a relation to load ([`crate::ForeignKey`]).
    #[doc(hidden)]
    fn __relation(&mut self) -> Option<&mut dyn crate::links::Relation> {
        None
    }
}

/// A value that can be a member of a stored list, set or map.
///
/// Implemented for every scalar, for `Option` of a scalar, and for your own types with
/// `#[derive(rapyer::Element)]` (stored as msgpack with named fields).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an element of a stored collection",
    label = "not a rapyer collection element",
    note = "add `#[derive(rapyer::Element)]` (with serde's Serialize + Deserialize) to `{Self}`, or mark the field `#[rapyer(blob)]`"
)]
pub trait Element: Sized {
    /// The stored bytes.
    fn encode_element(&self) -> std::result::Result<Vec<u8>, String>;
    /// Parses stored bytes.
    fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String>;
    /// What the element looks like to run-time paths (`extract_fields`);
    /// `#[derive(Element)]` describes a struct's fields.
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Opaque
    }
    /// The model this element refers to (a [`crate::ForeignKey`]'s target).
    #[doc(hidden)]
    fn __target() -> Option<crate::schema::TargetFn> {
        None
    }
    /// This element as a relation to load ([`crate::ForeignKey`]).
    #[doc(hidden)]
    fn __relation(&mut self) -> Option<&mut dyn crate::links::Relation> {
        None
    }
}

/// A value that can be a key of a stored map.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of a stored map",
    note = "map keys are strings, integers, `char` or `uuid::Uuid`"
)]
pub trait MapKey: Scalar {}

/// A type that can be a model's key (`#[rapyer(key)]`, or the `id` field).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a rapyer key",
    label = "key fields must be scalar",
    note = "a key is a `String`, an integer, a `uuid::Uuid` or `rapyer::Id` (auto UUID v7)"
)]
pub trait Key: Sized {
    /// The id text used in keys.
    fn to_key(&self) -> String;
    /// Parses an id read from the id index.
    fn from_key(id: &str) -> std::result::Result<Self, String>;
}

/// A key type that generates fresh values (models with an auto id).
pub trait AutoKey: Key {
    /// A new, unique key.
    fn generate() -> Self;
}

fn utf8(bytes: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| format!("invalid UTF-8 {}", show(bytes)))
}

// ---- blobs and msgpack elements ------------------------------------------------------------

/// Msgpack with named fields, the encoding of blobs and derived elements.
pub fn to_msgpack<T: serde::Serialize + ?Sized>(value: &T) -> std::result::Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(value).map_err(|e| e.to_string())
}

/// Inverse of [`to_msgpack`].
pub fn from_msgpack<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> std::result::Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| format!("invalid msgpack ({e})"))
}

/// Joins a parent path and a field name (`address` + `city` = `address.city`).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

mod collections;
mod scalars;

/// The stored data of one field as read: its root hash fields and collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawParts {
    pub model: &'static str,
    pub id: String,
    pub root_key: String,
    /// `(path, bytes)` of the root hash fields that were present.
    pub root: Vec<(String, Vec<u8>)>,
    /// `(path, key, kind, items)` per collection (maps: field, value alternating).
    pub collections: Vec<(String, String, FieldKind, Vec<Vec<u8>>)>,
}

impl RawParts {
    /// Writes the bytes back as they were read.
    pub(crate) fn emit(&self, enc: &mut Encoder) {
        for (path, bytes) in &self.root {
            enc.root_field(path, bytes.clone());
        }
        for (path, _, kind, items) in &self.collections {
            enc.collection(path, *kind, items.clone());
        }
    }

    /// A decoder over these parts only.
    pub(crate) fn decoder(&self, policy: OnError) -> Decoder {
        Decoder::new(
            self.model,
            self.id.clone(),
            self.root_key.clone(),
            self.root
                .iter()
                .map(|(p, b)| (p.clone().into_bytes(), b.clone()))
                .collect(),
            self.collections
                .iter()
                .map(|(p, k, _, items)| (p.clone(), k.clone(), items.clone()))
                .collect(),
        )
        .policy(policy)
    }

    pub(crate) fn size(&self) -> usize {
        let root: usize = self.root.iter().map(|(_, b)| b.len()).sum();
        let colls: usize = self
            .collections
            .iter()
            .flat_map(|(_, _, _, items)| items.iter().map(Vec::len))
            .sum();
        root + colls
    }
}

pub(crate) use collections::*;

#[cfg(test)]
mod tests;
