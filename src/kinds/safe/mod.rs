//! Loading that survives corrupt stored data (DESIGN §7): [`Safe<T>`], [`Lazy<T>`], and
//! plain fields marked `#[rapyer(safe)]` (with a [`LoadState`] field on the model).
//!
//! A field that cannot be decoded is **quarantined**: the model keeps the bytes exactly as
//! they were read, and every save writes them back unchanged until the field is assigned
//! (or [`crate::Model::accept_fallbacks`] is called). Nothing a load could not read is
//! ever lost by a later save.
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::codec::{Decoder, Encoder, RawParts};
use crate::error::{Error, Result};
use crate::field::{Field, FieldFailure};
use crate::kinds::blob::{decode_blob, describe_blob};
use crate::schema::{FieldSchema, OnError};

mod lazy;
mod plain;
mod wrappers;

pub use lazy::Lazy;
pub use plain::{LoadState, blob_fns, encode_plain, field_fns, load_plain, plain_failures};

/// How one field is stored: its layout, strict and salvaging decoders.
pub(crate) struct Codec<T> {
    describe: fn(&str, &mut Vec<FieldSchema>),
    decode: fn(&str, &mut Decoder) -> Result<T>,
    salvage: fn(&str, &mut Decoder, &mut Vec<String>) -> Result<T>,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Codec<T> {}

pub(crate) fn field_codec<T: Field>() -> Codec<T> {
    Codec {
        describe: T::describe,
        decode: T::decode,
        salvage: T::decode_salvage,
    }
}

pub(crate) fn blob_salvage<T: serde::de::DeserializeOwned>(
    path: &str,
    dec: &mut Decoder,
    _: &mut Vec<String>,
) -> Result<T> {
    decode_blob(path, dec)
}

pub(crate) fn blob_codec<T: serde::de::DeserializeOwned>() -> Codec<T> {
    Codec {
        describe: describe_blob,
        decode: decode_blob::<T>,
        salvage: blob_salvage::<T>,
    }
}

pub(crate) fn reason(e: Error) -> String {
    match e {
        Error::Decode { reason, .. } => reason,
        other => other.to_string(),
    }
}

pub(crate) fn failure(dec: &Decoder, path: &str, error: String) -> FieldFailure {
    FieldFailure {
        model: dec.model(),
        key: dec.key_of(path),
        field: path.to_owned(),
        error,
    }
}

pub(crate) fn warn(failure: &FieldFailure) {
    tracing::warn!(
        model = failure.model,
        key = %failure.key,
        field = %failure.field,
        error = %failure.error,
        "rapyer: stored field cannot be decoded; using its fallback and keeping the stored bytes"
    );
}

/// Decodes what can be decoded of the field at `path`; on failure the fallback (or the
/// members that decoded), the failure and a copy of the stored bytes.
pub(crate) fn salvage<T>(
    path: &str,
    dec: &mut Decoder,
    codec: Codec<T>,
    fallback: impl FnOnce() -> T,
) -> (T, Option<(FieldFailure, RawParts)>) {
    let raw = dec.raw_parts(path, codec.describe, false);
    let mut bad = Vec::new();
    let (value, error) = match (codec.salvage)(path, dec, &mut bad) {
        Ok(v) if bad.is_empty() => return (v, None),
        Ok(v) => (v, bad.join("; ")),
        // nothing stored (a field added to the model since): the fallback, with no
        // bytes to protect, is simply the value
        Err(_) if raw.root.is_empty() && raw.collections.iter().all(|c| c.3.is_empty()) => {
            return (fallback(), None);
        }
        Err(e) => (fallback(), reason(e)),
    };
    let failure = failure(dec, path, error);
    if dec.on_error() != OnError::Ignore {
        warn(&failure);
    }
    (value, Some((failure, raw)))
}

// ---- Safe<T> --------------------------------------------------------------------------------

/// A field that never fails a load: when its stored bytes cannot be decoded (garbage, an
/// older schema, a changed type) the model still loads, the field holds its fallback
/// (`Default`, or `#[rapyer(safe(default = path))]`) — for a list, set or map: the
/// members that could be decoded — and the failure is recorded
/// ([`crate::Model::failed_fields`]) and logged at warn level (unless the model's policy
/// is [`OnError::Ignore`]).
///
/// The stored bytes are **quarantined**: saving the model writes them back unchanged
/// until the field is assigned — through `*field = …`, [`Safe::set`], or any other
/// mutable access (`DerefMut`) — or [`crate::Model::accept_fallbacks`] is called.
///
/// ```
/// use rapyer::{Model, Safe};
///
/// #[derive(Model, Debug, Clone, PartialEq)]
/// struct Profile {
///     id: rapyer::Id,
///     name: String,
///     visits: Safe<u32>,          // reads as 0 if the stored text is not a u32
///     badges: Safe<Vec<String>>,  // keeps the members that decode
/// }
///
/// let mut p = Profile { id: rapyer::Id::new(), name: "ann".into(), visits: Safe::new(3), badges: Safe::default() };
/// *p.visits += 1;                 // reads and writes like the value itself
/// assert_eq!(*p.visits, 4);
/// assert!(p.failed_fields().is_empty());
/// ```
pub struct Safe<T> {
    value: T,
    /// The load failure and the stored bytes, while quarantined.
    quarantine: Option<Box<(FieldFailure, RawParts)>>,
}

impl<T> Safe<T> {
    /// A field holding `value` (nothing quarantined).
    pub fn new(value: T) -> Self {
        Self {
            value,
            quarantine: None,
        }
    }

    /// Assigns `value`: the next save writes it, over any quarantined bytes.
    pub fn set(&mut self, value: T) {
        self.value = value;
        self.quarantine = None;
    }

    /// The value (the fallback if the load failed).
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The load failure, while the stored bytes are quarantined.
    pub fn failure(&self) -> Option<&FieldFailure> {
        self.quarantine.as_ref().map(|q| &q.0)
    }

    /// Whether saves write the stored bytes back instead of the value.
    pub fn is_quarantined(&self) -> bool {
        self.quarantine.is_some()
    }

    fn load(path: &str, dec: &mut Decoder, codec: Codec<T>, fallback: impl FnOnce() -> T) -> Self {
        let (value, failed) = salvage(path, dec, codec, fallback);
        Self {
            value,
            quarantine: failed.map(Box::new),
        }
    }

    fn encode_with(
        &self,
        path: &str,
        enc: &mut Encoder,
        encode: impl FnOnce(&T, &str, &mut Encoder) -> Result<()>,
    ) -> Result<()> {
        match &self.quarantine {
            Some(q) => {
                q.1.emit(enc);
                Ok(())
            }
            None => encode(&self.value, path, enc),
        }
    }

    fn push_failure(&self, out: &mut Vec<FieldFailure>) {
        if let Some(f) = self.failure() {
            out.push(f.clone());
        }
    }

    fn accept(&mut self) {
        self.quarantine = None;
    }

    /// The value to mirror atomic operations into: only when nothing is quarantined (a
    /// quarantined field's local copy stays as loaded).
    fn mirror_target(local: Option<&mut Self>) -> Option<&mut T> {
        local.and_then(|s| {
            if s.quarantine.is_none() {
                Some(&mut s.value)
            } else {
                None
            }
        })
    }
}

impl<T: Field> Safe<T> {
    /// Derive support: loads with `fallback` (`#[rapyer(safe(default = path))]`).
    #[doc(hidden)]
    pub fn __load_field(path: &str, dec: &mut Decoder, fallback: fn() -> T) -> Result<Self> {
        Ok(Self::load(path, dec, field_codec::<T>(), fallback))
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Safe<T> {
    /// Derive support: loads a `#[rapyer(blob)]` field with `fallback`.
    #[doc(hidden)]
    pub fn __load_blob(path: &str, dec: &mut Decoder, fallback: fn() -> T) -> Result<Self> {
        Ok(Self::load(path, dec, blob_codec::<T>(), fallback))
    }
}

impl<T> Deref for Safe<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A mutable borrow counts as assigning the field: it leaves quarantine.
impl<T> DerefMut for Safe<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.quarantine = None;
        &mut self.value
    }
}

impl<T> From<T> for Safe<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Default> Default for Safe<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Clone> Clone for Safe<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            quarantine: self.quarantine.clone(),
        }
    }
}

/// Compares the values only (a quarantined field equals a clean one holding the same
/// fallback).
impl<T: PartialEq> PartialEq for Safe<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Safe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.quarantine {
            None => self.value.fmt(f),
            Some(q) => f
                .debug_struct("Safe")
                .field("fallback", &self.value)
                .field("failure", &q.0.error)
                .finish(),
        }
    }
}
