//! Field values <-> Redis bytes, per field kind (DESIGN §5). Sans-IO.
//!
//! Four traits describe what a Rust type can be:
//! - [`Scalar`]: one value as bytes (ints and floats as text, strings as UTF-8, …);
//! - [`Element`]: a member of a list, set or map (scalars, tagged `Option`s, and types
//!   that `#[derive(Element)]`, stored as msgpack);
//! - [`MapKey`]: a map key (strings, integers, `char`, `uuid::Uuid`);
//! - [`Field`]: a struct field, which decides where it lives (root hash field, own key,
//!   or flattened sub-fields for embedded structs).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};

use std::sync::Arc;

use crate::atomic::{DocRef, ListRef, MapRef, OptionRef, SetRef};
use crate::error::{Error, Result};
use crate::safe::{FieldFailure, RawParts};
use crate::schema::{FieldKind, FieldSchema, OnError};

#[cfg(feature = "chrono")]
mod chrono_impls;
mod paths;

pub use paths::FieldPath;

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
}

/// A value that can be a key of a stored map.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of a stored map",
    note = "map keys are strings, integers, `char` or `uuid::Uuid`"
)]
pub trait MapKey: Scalar {}

/// A struct field that rapyer knows how to store.
///
/// Implemented for scalars, `Option` of a scalar, lists, maps and sets of elements, and
/// embedded structs (`#[derive(rapyer::Embedded)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a rapyer field",
    label = "unsupported field type",
    note = "derive `rapyer::Embedded` for it, or mark the field `#[rapyer(blob)]` to store it as msgpack"
)]
pub trait Field: Sized {
    /// The typed path handle for this field (see [`crate::Model::fields`]).
    type Path;
    /// The atomic-operations handle for this field (see [`crate::Model::atomic`]).
    type Atomic<'a>
    where
        Self: 'a;
    /// Builds the atomic handle for the field at `path` of document `doc`, mirroring
    /// into `local` when there is a local copy.
    #[doc(hidden)]
    fn atomic<'a>(local: Option<&'a mut Self>, doc: &Arc<DocRef>, path: String)
    -> Self::Atomic<'a>;
    /// Builds the typed path handle for the field at `path`.
    fn path(path: String) -> Self::Path;
    /// Appends this field's stored layout (flattened) to `out`.
    fn describe(path: &str, out: &mut Vec<FieldSchema>);
    /// Encodes the value for storage.
    fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()>;
    /// Decodes the value from a loaded document.
    fn decode(path: &str, dec: &mut Decoder) -> Result<Self>;
    /// Decodes what can be decoded: collections skip members that cannot be decoded and
    /// describe each in `bad` (a `Safe` field's salvage); other types decode as usual.
    #[doc(hidden)]
    fn decode_salvage(path: &str, dec: &mut Decoder, bad: &mut Vec<String>) -> Result<Self> {
        let _ = bad;
        Self::decode(path, dec)
    }
    /// Appends the load failures this field records (`Safe`, `Lazy`, embedded structs
    /// holding them) to `out`.
    #[doc(hidden)]
    fn failures(&self, out: &mut Vec<FieldFailure>) {
        let _ = out;
    }
    /// Lets the next save write this field's fallback over quarantined stored bytes.
    #[doc(hidden)]
    fn accept_fallback(&mut self) {}
}

/// A field type that can carry `#[rapyer(index)]`: numbers, bools, date-times (numeric
/// index), strings, `char`, `uuid::Uuid` (lexicographic index), and `Option` of those
/// (`None` is not in the index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be indexed",
    label = "`#[rapyer(index)]` on an unsupported type",
    note = "indexes exist for integers up to 64 bits, floats, bool, String, char, uuid::Uuid, chrono date-times, `#[derive(Enum)]` enums, Option of those, and lists and sets of String"
)]
pub trait Indexable: Field {
    /// The index structure this type uses.
    const INDEX: crate::schema::IndexKind;
}

/// A scalar whose values can be indexed (numbers, bools, date-times: numeric index;
/// strings, `char`, `Uuid`, `#[derive(Enum)]` enums: string index).
pub trait IndexableScalar: Scalar {
    /// The index structure for this type.
    const INDEX: crate::schema::IndexKind;
}

impl<T: IndexableScalar + Field> Indexable for T {
    const INDEX: crate::schema::IndexKind = <T as IndexableScalar>::INDEX;
}

impl<T: IndexableScalar> Indexable for Option<T> {
    const INDEX: crate::schema::IndexKind = <T as IndexableScalar>::INDEX;
}

/// String collections are indexed element by element (`contains` queries).
macro_rules! indexable_collections {
    ($($t:ty),*) => {$(
        impl Indexable for $t {
            const INDEX: crate::schema::IndexKind = crate::schema::IndexKind::Lex;
        }
    )*};
}
indexable_collections!(Vec<String>, VecDeque<String>, BTreeSet<String>);
impl<S: BuildHasher + Default> Indexable for HashSet<String, S> {
    const INDEX: crate::schema::IndexKind = crate::schema::IndexKind::Lex;
}

macro_rules! indexable {
    ($kind:ident: $($t:ty),*) => {$(
        impl IndexableScalar for $t {
            const INDEX: crate::schema::IndexKind = crate::schema::IndexKind::$kind;
        }
    )*};
}
indexable!(Numeric: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool);
indexable!(Lex: String, char, uuid::Uuid);
#[cfg(feature = "chrono")]
indexable!(Numeric: chrono::DateTime<chrono::Utc>, chrono::NaiveDateTime, chrono::NaiveDate);

// Field support for scalar types defined outside this crate (`#[derive(Enum)]`).

#[doc(hidden)]
pub fn scalar_describe(path: &str, out: &mut Vec<FieldSchema>) {
    out.push(FieldSchema::new(path, FieldKind::Scalar));
}

#[doc(hidden)]
pub fn scalar_encode<T: Scalar>(v: &T, path: &str, enc: &mut Encoder) -> Result<()> {
    enc.root_field(path, v.encode_scalar());
    Ok(())
}

#[doc(hidden)]
pub fn scalar_decode<T: Scalar>(path: &str, dec: &mut Decoder) -> Result<T> {
    match dec.take_root(path) {
        Some(bytes) => T::decode_scalar(&bytes).map_err(|reason| dec.error(path, reason)),
        None => Err(dec.error(path, "field is missing from the stored document")),
    }
}

#[doc(hidden)]
pub fn scalar_atomic<'a, T>(
    local: Option<&'a mut T>,
    doc: &Arc<DocRef>,
    path: String,
) -> crate::atomic::ScalarRef<'a, T> {
    crate::atomic::ScalarRef {
        doc: doc.clone(),
        path,
        local: crate::atomic::mirror(local),
    }
}

/// Marks the field `describe` just added as indexed (derive support).
#[doc(hidden)]
pub fn mark_indexed<T: Indexable>(out: &mut [FieldSchema]) {
    if let Some(last) = out.last_mut() {
        last.index = Some(T::INDEX);
    }
}

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

// ---- scalars -------------------------------------------------------------------------------

macro_rules! int_scalars {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn encode_scalar(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
            fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
                utf8(bytes)?.parse::<$t>().map_err(|e| {
                    format!("expected {} ({e}), found {}", stringify!($t), show(bytes))
                })
            }
        }
        impl MapKey for $t {}
        impl Key for $t {
            fn to_key(&self) -> String { self.to_string() }
            fn from_key(id: &str) -> std::result::Result<Self, String> {
                <$t as Scalar>::decode_scalar(id.as_bytes())
            }
        }
    )*};
}
int_scalars!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

macro_rules! float_scalars {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            // `Debug` is the shortest text that parses back to the same value, with an
            // exponent for very large/small magnitudes, and `NaN`/`inf`/`-inf` for the rest;
            // Redis' HINCRBYFLOAT accepts the finite forms.
            fn encode_scalar(&self) -> Vec<u8> {
                format!("{self:?}").into_bytes()
            }
            fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
                utf8(bytes)?.parse::<$t>().map_err(|_| {
                    format!("expected {}, found {}", stringify!($t), show(bytes))
                })
            }
        }
    )*};
}
float_scalars!(f32, f64);

impl Scalar for bool {
    fn encode_scalar(&self) -> Vec<u8> {
        vec![if *self { b'1' } else { b'0' }]
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        match bytes {
            b"1" | b"true" => Ok(true),
            b"0" | b"false" => Ok(false),
            _ => Err(format!("expected a bool (1/0), found {}", show(bytes))),
        }
    }
}

impl Scalar for String {
    fn encode_scalar(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        utf8(bytes).map(str::to_owned)
    }
}
impl MapKey for String {}
impl Key for String {
    fn to_key(&self) -> String {
        self.clone()
    }
    fn from_key(id: &str) -> std::result::Result<Self, String> {
        Ok(id.to_owned())
    }
}

impl Scalar for char {
    fn encode_scalar(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        let s = utf8(bytes)?;
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(format!("expected one char, found {}", show(bytes))),
        }
    }
}
impl MapKey for char {}

/// Raw bytes, stored as they are.
impl Scalar for Vec<u8> {
    fn encode_scalar(&self) -> Vec<u8> {
        self.clone()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

impl Scalar for uuid::Uuid {
    fn encode_scalar(&self) -> Vec<u8> {
        self.hyphenated().to_string().into_bytes()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        uuid::Uuid::parse_str(utf8(bytes)?)
            .map_err(|e| format!("expected a UUID ({e}), found {}", show(bytes)))
    }
}
impl MapKey for uuid::Uuid {}
impl Key for uuid::Uuid {
    fn to_key(&self) -> String {
        self.hyphenated().to_string()
    }
    fn from_key(id: &str) -> std::result::Result<Self, String> {
        <Self as Scalar>::decode_scalar(id.as_bytes())
    }
}

/// `Option` nested in a scalar position (`Option<Option<T>>`, `Vec<Option<T>>`) is tagged:
/// `0x00` for `None`, `0x01` followed by the value for `Some`, so that `Some(None)` and
/// `Some(Some(""))` stay distinct.
impl<T: Scalar> Scalar for Option<T> {
    fn encode_scalar(&self) -> Vec<u8> {
        match self {
            None => vec![0],
            Some(v) => {
                let inner = v.encode_scalar();
                let mut out = Vec::with_capacity(inner.len() + 1);
                out.push(1);
                out.extend_from_slice(&inner);
                out
            }
        }
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        match bytes.split_first() {
            Some((0, [])) => Ok(None),
            Some((1, rest)) => T::decode_scalar(rest).map(Some),
            _ => Err(format!("expected a tagged option, found {}", show(bytes))),
        }
    }
}

/// Implements [`Element`] for scalar types.
macro_rules! scalar_elements {
    ($($t:ty),* $(,)?) => {$(
        impl Element for $t {
            fn encode_element(&self) -> std::result::Result<Vec<u8>, String> {
                Ok(self.encode_scalar())
            }
            fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String> {
                <$t as Scalar>::decode_scalar(bytes)
            }
        }
    )*};
}
// chrono_impls.rs implements its types with it
#[cfg(feature = "chrono")]
pub(crate) use scalar_elements;

/// Implements [`Field`] (one root hash field) for scalar types.
macro_rules! scalar_fields {
    ($($t:ty),* $(,)?) => {$(
        impl Field for $t {
            type Path = FieldPath<$t>;
            type Atomic<'a> = $crate::atomic::ScalarRef<'a, $t>;
            fn atomic<'a>(
                local: Option<&'a mut Self>,
                doc: &std::sync::Arc<$crate::atomic::DocRef>,
                path: String,
            ) -> Self::Atomic<'a> {
                $crate::atomic::ScalarRef { doc: doc.clone(), path, local: $crate::atomic::mirror(local) }
            }
            fn path(path: String) -> Self::Path {
                FieldPath::new(path)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                out.push(FieldSchema::new(path, FieldKind::Scalar));
            }
            fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                enc.root_field(path, self.encode_scalar());
                Ok(())
            }
            fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                match dec.take_root(path) {
                    Some(bytes) => <$t as Scalar>::decode_scalar(&bytes)
                        .map_err(|reason| dec.error(path, reason)),
                    None => Err(dec.error(path, "field is missing from the stored document")),
                }
            }
        }
    )*};
}
// chrono_impls.rs implements its types with it
#[cfg(feature = "chrono")]
pub(crate) use scalar_fields;

scalar_fields!(
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    bool,
    String,
    char,
    Vec<u8>,
    uuid::Uuid,
);

// `u8` is deliberately not an element: `Vec<u8>` is bytes (one root field), not a list.
scalar_elements!(
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    bool,
    String,
    char,
    Vec<u8>,
    uuid::Uuid,
);

impl<T: Scalar> Element for Option<T> {
    fn encode_element(&self) -> std::result::Result<Vec<u8>, String> {
        Ok(self.encode_scalar())
    }
    fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String> {
        <Self as Scalar>::decode_scalar(bytes)
    }
}

/// A top-level `Option` is an absent root hash field when `None`.
impl<T: Scalar> Field for Option<T> {
    type Path = FieldPath<Option<T>>;
    type Atomic<'a>
        = OptionRef<'a, T>
    where
        T: 'a;
    fn atomic<'a>(
        local: Option<&'a mut Self>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> Self::Atomic<'a> {
        OptionRef {
            doc: doc.clone(),
            path,
            local: crate::atomic::mirror(local),
        }
    }
    fn path(path: String) -> Self::Path {
        FieldPath::new(path)
    }
    fn describe(path: &str, out: &mut Vec<FieldSchema>) {
        out.push(FieldSchema::new(path, FieldKind::Scalar));
    }
    fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
        if let Some(v) = self {
            enc.root_field(path, v.encode_scalar());
        }
        Ok(())
    }
    fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
        match dec.take_root(path) {
            None => Ok(None),
            Some(bytes) => T::decode_scalar(&bytes)
                .map(Some)
                .map_err(|reason| dec.error(path, reason)),
        }
    }
}

// ---- collections ---------------------------------------------------------------------------

fn encode_items<'a, T: Element + 'a>(
    path: &str,
    enc: &Encoder,
    items: impl Iterator<Item = &'a T>,
) -> Result<Vec<Vec<u8>>> {
    items
        .enumerate()
        .map(|(i, v)| {
            v.encode_element()
                .map_err(|e| enc.error(&format!("{path}[{i}]"), e))
        })
        .collect()
}

fn decode_items<T: Element>(path: &str, dec: &mut Decoder) -> Result<Vec<T>> {
    let raw = dec.take_items(path)?;
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            T::decode_element(b).map_err(|reason| dec.error(path, format!("element {i}: {reason}")))
        })
        .collect()
}

/// The members that decode; each one that does not is described in `bad`.
fn salvage_items<T: Element>(path: &str, dec: &mut Decoder, bad: &mut Vec<String>) -> Vec<T> {
    let raw = dec.take_items(path).unwrap_or_else(|e| {
        bad.push(e.to_string());
        Vec::new()
    });
    let mut out = Vec::with_capacity(raw.len());
    for (i, b) in raw.iter().enumerate() {
        match T::decode_element(b) {
            Ok(v) => out.push(v),
            Err(reason) => bad.push(format!("element {i}: {reason}")),
        }
    }
    out
}

macro_rules! collection_field {
    ($kind:expr, $handle:ident, [$($gen:tt)*], $ty:ty, $elem:ty) => {
        impl<$($gen)*> Field for $ty {
            type Path = FieldPath<$ty>;
            type Atomic<'a> = $handle<'a, $ty, $elem> where Self: 'a;
            fn atomic<'a>(local: Option<&'a mut Self>, doc: &Arc<DocRef>, path: String) -> Self::Atomic<'a> {
                $handle { doc: doc.clone(), path, local: crate::atomic::mirror(local), _t: std::marker::PhantomData }
            }
            fn path(path: String) -> Self::Path {
                FieldPath::new(path)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                out.push(FieldSchema::new(path, $kind));
            }
            fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                let items = encode_items(path, enc, self.iter())?;
                enc.collection(path, $kind, items);
                Ok(())
            }
            fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                Ok(decode_items::<$elem>(path, dec)?.into_iter().collect())
            }
            fn decode_salvage(path: &str, dec: &mut Decoder, bad: &mut Vec<String>) -> Result<Self> {
                Ok(salvage_items::<$elem>(path, dec, bad).into_iter().collect())
            }
        }
    };
}

collection_field!(FieldKind::List, ListRef, [T: Element], Vec<T>, T);
collection_field!(FieldKind::List, ListRef, [T: Element], VecDeque<T>, T);
collection_field!(FieldKind::Set, SetRef, [T: Element + Eq + Hash, S: BuildHasher + Default], HashSet<T, S>, T);
collection_field!(FieldKind::Set, SetRef, [T: Element + Ord], BTreeSet<T>, T);

fn encode_map<'a, K: MapKey + 'a, V: Element + 'a>(
    path: &str,
    enc: &mut Encoder,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> Result<()> {
    let mut items = Vec::new();
    for (k, v) in entries {
        let key = k.encode_scalar();
        let value = v
            .encode_element()
            .map_err(|e| enc.error(&format!("{path}[{}]", String::from_utf8_lossy(&key)), e))?;
        items.push(key);
        items.push(value);
    }
    enc.collection(path, FieldKind::Map, items);
    Ok(())
}

fn decode_map<K: MapKey, V: Element>(path: &str, dec: &mut Decoder) -> Result<Vec<(K, V)>> {
    let raw = dec.take_items(path)?;
    if !raw.len().is_multiple_of(2) {
        return Err(dec.error(path, "map reply has an odd number of items"));
    }
    raw.chunks_exact(2)
        .map(|pair| {
            let k =
                K::decode_scalar(&pair[0]).map_err(|r| dec.error(path, format!("map key: {r}")))?;
            let v = V::decode_element(&pair[1])
                .map_err(|r| dec.error(path, format!("value of {}: {r}", show(&pair[0]))))?;
            Ok((k, v))
        })
        .collect()
}

/// The entries that decode; each one that does not is described in `bad`.
fn salvage_map<K: MapKey, V: Element>(
    path: &str,
    dec: &mut Decoder,
    bad: &mut Vec<String>,
) -> Vec<(K, V)> {
    let raw = dec.take_items(path).unwrap_or_else(|e| {
        bad.push(e.to_string());
        Vec::new()
    });
    if !raw.len().is_multiple_of(2) {
        bad.push("map reply has an odd number of items".into());
    }
    let mut out = Vec::with_capacity(raw.len() / 2);
    for pair in raw.chunks_exact(2) {
        match (K::decode_scalar(&pair[0]), V::decode_element(&pair[1])) {
            (Ok(k), Ok(v)) => out.push((k, v)),
            (Err(r), _) => bad.push(format!("map key {}: {r}", show(&pair[0]))),
            (_, Err(r)) => bad.push(format!("value of {}: {r}", show(&pair[0]))),
        }
    }
    out
}

macro_rules! map_field {
    ([$($gen:tt)*], $ty:ty) => {
        impl<$($gen)*> Field for $ty {
            type Path = FieldPath<$ty>;
            type Atomic<'a> = MapRef<'a, $ty, K, V> where Self: 'a;
            fn atomic<'a>(local: Option<&'a mut Self>, doc: &Arc<DocRef>, path: String) -> Self::Atomic<'a> {
                MapRef { doc: doc.clone(), path, local: crate::atomic::mirror(local), _kv: std::marker::PhantomData }
            }
            fn path(path: String) -> Self::Path {
                FieldPath::new(path)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                out.push(FieldSchema::new(path, FieldKind::Map));
            }
            fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                encode_map(path, enc, self.iter())
            }
            fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                Ok(decode_map(path, dec)?.into_iter().collect())
            }
            fn decode_salvage(path: &str, dec: &mut Decoder, bad: &mut Vec<String>) -> Result<Self> {
                Ok(salvage_map(path, dec, bad).into_iter().collect())
            }
        }
    };
}

map_field!([K: MapKey + Eq + Hash, V: Element, S: BuildHasher + Default], HashMap<K, V, S>);
map_field!([K: MapKey + Ord, V: Element], BTreeMap<K, V>);

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

/// Encodes a `#[rapyer(blob)]` field.
pub fn encode_blob<T: serde::Serialize>(value: &T, path: &str, enc: &mut Encoder) -> Result<()> {
    let bytes = to_msgpack(value).map_err(|e| enc.error(path, e))?;
    enc.root_field(path, bytes);
    Ok(())
}

/// Decodes a `#[rapyer(blob)]` field.
pub fn decode_blob<T: serde::de::DeserializeOwned>(path: &str, dec: &mut Decoder) -> Result<T> {
    match dec.take_root(path) {
        Some(bytes) => from_msgpack(&bytes).map_err(|r| dec.error(path, r)),
        None => Err(dec.error(path, "field is missing from the stored document")),
    }
}

/// Schema entry of a `#[rapyer(blob)]` field.
pub fn describe_blob(path: &str, out: &mut Vec<FieldSchema>) {
    out.push(FieldSchema::new(path, FieldKind::Blob));
}

/// Joins a parent path and a field name (`address` + `city` = `address.city`).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

#[cfg(test)]
mod tests;
