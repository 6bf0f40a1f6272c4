//! The `Field` trait: what a struct field type must say so that rapyer can store it
//! (its stored layout, encoding, decoding, typed path and atomic handle), and the
//! index capability (`Indexable`). Every kind in `crate::kinds` implements it.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::codec::{Decoder, Encoder, Scalar};
use crate::error::{Error, Result};
use crate::exec::DocRef;
use crate::schema::{FieldKind, FieldSchema};

/// A struct field that rapyer knows how to store.
///
/// Implemented for scalars, `Option` of a scalar, lists, maps and sets of elements, and
/// embedded structs (`#[derive(rapyer::Embedded)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a rapyer field",
    label = "unsupported field type",
    note = "derive `rapyer::Embedded` for it, or mark the field `#[rapyer(blob)]` to store it as msgpack",
    note = "a list, set or map field needs elements that are `rapyer::Element` (`#[derive(rapyer::Element)]`); a type of your own in a key of its own implements `rapyer::Structure`"
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
    fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path;
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
    /// Hands every foreign key this field holds to `out`, with the field's path.
    #[doc(hidden)]
    fn __relations(&mut self, path: &str, out: &mut crate::links::Visit<'_>) {
        let _ = (path, out);
    }
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
    out.push(FieldSchema::new(path, FieldKind::Scalar).with_shape(crate::schema::Shape::Str));
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

/// Marks the field `describe` just added as indexed (derive support).
#[doc(hidden)]
pub fn mark_indexed<T: Indexable>(out: &mut [FieldSchema]) {
    if let Some(last) = out.last_mut() {
        last.index = Some(T::INDEX);
    }
}

/// A stored field that could not be decoded (see [`crate::Model::failed_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldFailure {
    /// Model name as used in keys.
    pub model: &'static str,
    /// The Redis key holding the bad data (the root hash, or the collection's own key).
    pub key: String,
    /// Dotted path of the field (`address.city`, `tags`).
    pub field: String,
    /// What was wrong with the bytes (for collections: every member that failed).
    pub error: String,
}

impl fmt::Display for FieldFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} field `{}` at key `{}`: {}",
            self.model, self.field, self.key, self.error
        )
    }
}

impl FieldFailure {
    pub(crate) fn into_error(self) -> Error {
        Error::Decode {
            model: self.model,
            key: self.key,
            field: self.field,
            reason: self.error,
        }
    }
}
