//! Loading that survives corrupt stored data (DESIGN §7): [`Safe<T>`], [`Lazy<T>`], and
//! plain fields marked `#[rapyer(safe)]` (with a [`LoadState`] field on the model).
//!
//! A field that cannot be decoded is **quarantined**: the model keeps the bytes exactly as
//! they were read, and every save writes them back unchanged until the field is assigned
//! (or [`crate::Model::accept_fallbacks`] is called). Nothing a load could not read is
//! ever lost by a later save.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use crate::atomic::{BlobRef, DocRef};
use crate::codec::{Decoder, Encoder, Field, decode_blob, describe_blob, encode_blob};
use crate::error::{Error, Result};
use crate::schema::{FieldKind, FieldSchema, OnError};

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
    fn into_error(self) -> Error {
        Error::Decode {
            model: self.model,
            key: self.key,
            field: self.field,
            reason: self.error,
        }
    }
}

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
    fn emit(&self, enc: &mut Encoder) {
        for (path, bytes) in &self.root {
            enc.root_field(path, bytes.clone());
        }
        for (path, _, kind, items) in &self.collections {
            enc.collection(path, *kind, items.clone());
        }
    }

    /// A decoder over these parts only.
    fn decoder(&self, policy: OnError) -> Decoder {
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

    fn size(&self) -> usize {
        let root: usize = self.root.iter().map(|(_, b)| b.len()).sum();
        let colls: usize = self
            .collections
            .iter()
            .flat_map(|(_, _, _, items)| items.iter().map(Vec::len))
            .sum();
        root + colls
    }
}

/// How one field is stored: its layout, strict and salvaging decoders.
struct Codec<T> {
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

fn field_codec<T: Field>() -> Codec<T> {
    Codec {
        describe: T::describe,
        decode: T::decode,
        salvage: T::decode_salvage,
    }
}

fn blob_salvage<T: serde::de::DeserializeOwned>(
    path: &str,
    dec: &mut Decoder,
    _: &mut Vec<String>,
) -> Result<T> {
    decode_blob(path, dec)
}

fn blob_codec<T: serde::de::DeserializeOwned>() -> Codec<T> {
    Codec {
        describe: describe_blob,
        decode: decode_blob::<T>,
        salvage: blob_salvage::<T>,
    }
}

fn reason(e: Error) -> String {
    match e {
        Error::Decode { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn failure(dec: &Decoder, path: &str, error: String) -> FieldFailure {
    FieldFailure {
        model: dec.model(),
        key: dec.key_of(path),
        field: path.to_owned(),
        error,
    }
}

fn warn(failure: &FieldFailure) {
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
fn salvage<T>(
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

// ---- Lazy<T> --------------------------------------------------------------------------------

/// The outcome of decoding a `Lazy` field's bytes.
#[derive(Clone)]
enum Decoded<T> {
    Value(T),
    /// The policy's fallback (or the members that decoded), and why.
    Fallback(T, FieldFailure),
    /// Policy `defer`: every access returns this failure.
    Failed(FieldFailure),
}

/// What a loaded `Lazy` field keeps: the stored bytes and how to decode them.
struct LazyRaw<T> {
    parts: RawParts,
    path: String,
    policy: OnError,
    codec: Codec<T>,
    fallback: fn() -> T,
}

impl<T> Clone for LazyRaw<T> {
    fn clone(&self) -> Self {
        Self {
            parts: self.parts.clone(),
            path: self.path.clone(),
            policy: self.policy,
            codec: self.codec,
            fallback: self.fallback,
        }
    }
}

/// A field decoded on first access. Loading the model keeps the field's stored bytes
/// without decoding them; [`Lazy::get`] decodes once and caches the value.
///
/// When the bytes cannot be decoded, the model's policy decides
/// (`#[rapyer(on_error = "…")]`, [`OnError`]): `defer` (default) returns
/// [`Error::Decode`] naming key and field from every access; `ignore` and `log` give the
/// fallback (`Default`, or `#[rapyer(safe(default = path))]`; for collections the
/// members that decode) and record the failure ([`crate::Model::failed_fields`]), `log`
/// also warns.
///
/// Saving a model whose `Lazy` field was not assigned or mutably borrowed writes the
/// original bytes back unchanged, with no decoding. [`Lazy::set`] and [`Lazy::get_mut`]
/// make the next save write the value.
///
/// ```
/// use rapyer::{Lazy, Model};
///
/// #[derive(Model, Debug, Clone)]
/// struct Page {
///     id: rapyer::Id,
///     title: String,
///     body: Lazy<Vec<String>>,   // read only when needed
/// }
///
/// let mut page = Page { id: rapyer::Id::new(), title: "t".into(), body: Lazy::new(vec![]) };
/// page.body.get_mut()?.push("hello".into());
/// assert_eq!(page.body.get()?.len(), 1);
/// # Ok::<(), rapyer::Error>(())
/// ```
pub struct Lazy<T> {
    raw: Option<Box<LazyRaw<T>>>,
    decoded: OnceLock<Decoded<T>>,
    /// Assigned or mutably borrowed: saves encode the value, not the stored bytes.
    touched: bool,
}

impl<T> Lazy<T> {
    /// A field holding `value` (saves write it).
    pub fn new(value: T) -> Self {
        Self {
            raw: None,
            decoded: OnceLock::from(Decoded::Value(value)),
            touched: true,
        }
    }

    /// The value, decoding the stored bytes on first access. With policy `defer`, bytes
    /// that cannot be decoded are [`Error::Decode`] (key, field), on every access.
    pub fn get(&self) -> Result<&T> {
        match self.decoded.get_or_init(|| self.decode_raw()) {
            Decoded::Value(v) | Decoded::Fallback(v, _) => Ok(v),
            Decoded::Failed(f) => Err(f.clone().into_error()),
        }
    }

    /// The value, mutably: decodes as [`Lazy::get`], and the next save writes the value.
    pub fn get_mut(&mut self) -> Result<&mut T> {
        self.get()?;
        self.touched = true;
        match self.decoded.get_mut() {
            Some(Decoded::Value(v) | Decoded::Fallback(v, _)) => Ok(v),
            Some(Decoded::Failed(f)) => Err(f.clone().into_error()),
            None => Err(Error::InvalidInput("lazy field was not decoded".into())),
        }
    }

    /// Assigns `value`: the next save writes it, over the stored bytes.
    pub fn set(&mut self, value: T) {
        self.decoded = OnceLock::from(Decoded::Value(value));
        self.touched = true;
    }

    /// The value, decoding if needed.
    pub fn into_inner(self) -> Result<T> {
        self.get()?;
        match self.decoded.into_inner() {
            Some(Decoded::Value(v) | Decoded::Fallback(v, _)) => Ok(v),
            Some(Decoded::Failed(f)) => Err(f.into_error()),
            None => Err(Error::InvalidInput("lazy field was not decoded".into())),
        }
    }

    /// Whether the stored bytes have been decoded (or the field holds an assigned value).
    pub fn is_decoded(&self) -> bool {
        self.decoded.get().is_some()
    }

    /// Size of the stored bytes kept from the load (0 for an assigned value).
    pub fn stored_len(&self) -> usize {
        self.raw.as_ref().map_or(0, |r| r.parts.size())
    }

    /// The decode failure, once an access met one (and until the field is assigned).
    pub fn failure(&self) -> Option<&FieldFailure> {
        if self.touched {
            return None;
        }
        match self.decoded.get() {
            Some(Decoded::Fallback(_, f) | Decoded::Failed(f)) => Some(f),
            _ => None,
        }
    }

    fn decode_raw(&self) -> Decoded<T> {
        let Some(raw) = &self.raw else {
            // unreachable by construction: a Lazy without stored bytes holds a value
            return Decoded::Failed(FieldFailure {
                model: "",
                key: String::new(),
                field: String::new(),
                error: "lazy field holds neither a value nor stored bytes".into(),
            });
        };
        let mut dec = raw.parts.decoder(raw.policy);
        let path = raw.path.as_str();
        if raw.policy == OnError::Defer {
            return match (raw.codec.decode)(path, &mut dec) {
                Ok(v) => Decoded::Value(v),
                Err(e) => Decoded::Failed(failure(&dec, path, reason(e))),
            };
        }
        let (value, failed) = salvage(path, &mut dec, raw.codec, raw.fallback);
        match failed {
            None => Decoded::Value(value),
            Some((failure, _)) => Decoded::Fallback(value, failure),
        }
    }

    fn load(path: &str, dec: &mut Decoder, codec: Codec<T>, fallback: fn() -> T) -> Self {
        let parts = dec.raw_parts(path, codec.describe, true);
        Self {
            raw: Some(Box::new(LazyRaw {
                parts,
                path: path.to_owned(),
                policy: dec.on_error(),
                codec,
                fallback,
            })),
            decoded: OnceLock::new(),
            touched: false,
        }
    }

    fn encode_with(
        &self,
        path: &str,
        enc: &mut Encoder,
        encode: impl FnOnce(&T, &str, &mut Encoder) -> Result<()>,
    ) -> Result<()> {
        if let (false, Some(raw)) = (self.touched, &self.raw) {
            raw.parts.emit(enc);
            return Ok(());
        }
        match self.decoded.get() {
            Some(Decoded::Value(v) | Decoded::Fallback(v, _)) => encode(v, path, enc),
            _ => Err(enc.error(path, "lazy field holds no value")),
        }
    }

    fn push_failure(&self, out: &mut Vec<FieldFailure>) {
        if let Some(f) = self.failure() {
            out.push(f.clone());
        }
    }

    fn accept(&mut self) {
        if self.touched {
            return;
        }
        match self.decoded.get() {
            Some(Decoded::Fallback(..)) => self.touched = true,
            Some(Decoded::Failed(_)) => {
                if let Some(raw) = &self.raw {
                    let fallback = (raw.fallback)();
                    self.set(fallback);
                }
            }
            _ => {}
        }
    }

    /// The value to mirror atomic operations into: only a cleanly decoded one (which the
    /// next save then writes); otherwise the local copy stays as loaded.
    fn mirror_target(local: Option<&mut Self>) -> Option<&mut T> {
        let this = local?;
        if !matches!(this.decoded.get(), Some(Decoded::Value(_))) {
            return None;
        }
        this.touched = true;
        match this.decoded.get_mut() {
            Some(Decoded::Value(v)) => Some(v),
            _ => None,
        }
    }
}

impl<T: Field> Lazy<T> {
    /// Derive support: loads with `fallback` (`#[rapyer(safe(default = path))]`).
    #[doc(hidden)]
    pub fn __load_field(path: &str, dec: &mut Decoder, fallback: fn() -> T) -> Result<Self> {
        Ok(Self::load(path, dec, field_codec::<T>(), fallback))
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Lazy<T> {
    /// Derive support: loads a `#[rapyer(blob)]` field with `fallback`.
    #[doc(hidden)]
    pub fn __load_blob(path: &str, dec: &mut Decoder, fallback: fn() -> T) -> Result<Self> {
        Ok(Self::load(path, dec, blob_codec::<T>(), fallback))
    }
}

impl<T> From<T> for Lazy<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Default> Default for Lazy<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            decoded: self.decoded.clone(),
            touched: self.touched,
        }
    }
}

/// Equal when both decode to equal values; otherwise when both hold the same stored bytes.
impl<T: PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.get(), other.get()) {
            (Ok(a), Ok(b)) => a == b,
            _ => match (&self.raw, &other.raw) {
                (Some(a), Some(b)) => a.parts == b.parts,
                _ => false,
            },
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decoded.get() {
            Some(Decoded::Value(v)) => f.debug_tuple("Lazy").field(v).finish(),
            Some(Decoded::Fallback(v, e)) => f
                .debug_struct("Lazy")
                .field("fallback", v)
                .field("failure", &e.error)
                .finish(),
            Some(Decoded::Failed(e)) => f.debug_struct("Lazy").field("failure", &e.error).finish(),
            None => f
                .debug_struct("Lazy")
                .field("stored_bytes", &self.stored_len())
                .finish(),
        }
    }
}

// ---- blobs ----------------------------------------------------------------------------------

/// How a `#[rapyer(blob)]` field's type is stored: any serde type as msgpack, and
/// `Safe`/`Lazy` of one. Derive support.
#[doc(hidden)]
pub trait BlobField: Sized {
    /// The atomic handle (`BlobRef` of the value type).
    type Atomic<'a>
    where
        Self: 'a;
    fn blob_atomic<'a>(
        local: Option<&'a mut Self>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> Self::Atomic<'a>;
    fn blob_encode(&self, path: &str, enc: &mut Encoder) -> Result<()>;
    fn blob_decode(path: &str, dec: &mut Decoder) -> Result<Self>;
    fn blob_failures(&self, out: &mut Vec<FieldFailure>) {
        let _ = out;
    }
    fn blob_accept_fallback(&mut self) {}
}

impl<T: serde::Serialize + serde::de::DeserializeOwned + Send> BlobField for T {
    type Atomic<'a>
        = BlobRef<'a, T>
    where
        Self: 'a;
    fn blob_atomic<'a>(
        local: Option<&'a mut Self>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> Self::Atomic<'a> {
        BlobRef::new(local, doc, path)
    }
    fn blob_encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
        encode_blob(self, path, enc)
    }
    fn blob_decode(path: &str, dec: &mut Decoder) -> Result<Self> {
        decode_blob(path, dec)
    }
}

/// `Field` (the wrapped type's storage) and `BlobField` (under `#[rapyer(blob)]`) for a
/// wrapper with `encode_with`, `__load_field`/`__load_blob`, `push_failure`, `accept` and
/// `mirror_target`.
macro_rules! wrapper_impls {
    ($wrapper:ident) => {
        impl<T: Field + Default> Field for $wrapper<T> {
            type Path = T::Path;
            type Atomic<'a>
                = T::Atomic<'a>
            where
                Self: 'a;

            fn atomic<'a>(
                local: Option<&'a mut Self>,
                doc: &Arc<DocRef>,
                path: String,
            ) -> Self::Atomic<'a> {
                T::atomic(Self::mirror_target(local), doc, path)
            }
            fn path(path: String) -> Self::Path {
                T::path(path)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                T::describe(path, out)
            }
            fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                self.encode_with(path, enc, T::encode)
            }
            fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                Self::__load_field(path, dec, T::default)
            }
            fn failures(&self, out: &mut Vec<FieldFailure>) {
                self.push_failure(out)
            }
            fn accept_fallback(&mut self) {
                self.accept()
            }
        }

        impl<T: serde::Serialize + serde::de::DeserializeOwned + Default + Send> BlobField
            for $wrapper<T>
        {
            type Atomic<'a>
                = BlobRef<'a, T>
            where
                Self: 'a;
            fn blob_atomic<'a>(
                local: Option<&'a mut Self>,
                doc: &Arc<DocRef>,
                path: String,
            ) -> Self::Atomic<'a> {
                BlobRef::new(Self::mirror_target(local), doc, path)
            }
            fn blob_encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                self.encode_with(path, enc, |v, p, e| encode_blob(v, p, e))
            }
            fn blob_decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                Self::__load_blob(path, dec, T::default)
            }
            fn blob_failures(&self, out: &mut Vec<FieldFailure>) {
                self.push_failure(out)
            }
            fn blob_accept_fallback(&mut self) {
                self.accept()
            }
        }
    };
}

wrapper_impls!(Safe);
wrapper_impls!(Lazy);

// ---- #[rapyer(safe)] on plain fields ---------------------------------------------------------

type EncodedParts = (
    Vec<(String, Vec<u8>)>,
    Vec<(String, FieldKind, Vec<Vec<u8>>)>,
);

fn encode_parts<T>(
    value: &T,
    path: &str,
    scratch: &mut Encoder,
    encode: fn(&T, &str, &mut Encoder) -> Result<()>,
) -> Option<EncodedParts> {
    encode(value, path, scratch).ok()?;
    Some((
        std::mem::take(&mut scratch.root),
        std::mem::take(&mut scratch.collections),
    ))
}

#[derive(Debug, Clone, PartialEq)]
struct Slot {
    failure: FieldFailure,
    raw: RawParts,
    /// The encoding of the value the load put in the field (its fallback): while the
    /// field still encodes to this, it has not been assigned.
    loaded: Option<EncodedParts>,
    released: bool,
}

/// The load record of a model's plain `#[rapyer(safe)]` fields (and every field under
/// `#[rapyer(safe_all)]`): declare one field `#[rapyer(state)] load: rapyer::LoadState`
/// on the model. It is not stored.
///
/// A plain safe field counts as assigned once its value differs from the fallback the
/// load gave it; to write a value equal to the fallback over the quarantined bytes,
/// [`LoadState::release`] the field (or call [`crate::Model::accept_fallbacks`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadState {
    slots: Vec<Slot>,
}

impl LoadState {
    /// Lets the next save write field `path`'s current value over its quarantined bytes.
    /// Returns whether the field was quarantined.
    pub fn release(&mut self, path: &str) -> bool {
        let mut found = false;
        for s in self.slots.iter_mut().filter(|s| s.failure.field == path) {
            found |= !s.released;
            s.released = true;
        }
        found
    }

    /// Releases every field.
    pub fn release_all(&mut self) {
        for s in &mut self.slots {
            s.released = true;
        }
    }

    /// The recorded failures of fields that are still quarantined.
    pub fn failures(&self) -> impl Iterator<Item = &FieldFailure> {
        self.slots
            .iter()
            .filter(|s| !s.released)
            .map(|s| &s.failure)
    }

    fn quarantined(&self, path: &str) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| !s.released && s.failure.field == path)
    }
}

/// Whether plain safe field `value` at `path` is still quarantined (not assigned since
/// the load, not released).
fn still_quarantined<'s, T>(
    value: &T,
    path: &str,
    state: &'s LoadState,
    scratch: &mut Encoder,
    encode: fn(&T, &str, &mut Encoder) -> Result<()>,
) -> Option<&'s Slot> {
    let slot = state.quarantined(path)?;
    match (&slot.loaded, encode_parts(value, path, scratch, encode)) {
        (Some(loaded), Some(now)) if *loaded != now => None,
        _ => Some(slot),
    }
}

/// A field type's codec as function pointers: layout, strict decode, salvaging decode,
/// encode (derive support: [`field_fns`], [`blob_fns`]).
#[doc(hidden)]
pub type Fns<T> = (
    fn(&str, &mut Vec<FieldSchema>),
    fn(&str, &mut Decoder) -> Result<T>,
    fn(&str, &mut Decoder, &mut Vec<String>) -> Result<T>,
    fn(&T, &str, &mut Encoder) -> Result<()>,
);

/// Derive support: the codec of a `Field` type.
#[doc(hidden)]
pub fn field_fns<T: Field>() -> Fns<T> {
    (T::describe, T::decode, T::decode_salvage, T::encode)
}

/// Derive support: the codec of a `#[rapyer(blob)]` type.
#[doc(hidden)]
pub fn blob_fns<T: serde::Serialize + serde::de::DeserializeOwned>() -> Fns<T> {
    (
        describe_blob,
        decode_blob::<T>,
        blob_salvage::<T>,
        encode_blob::<T>,
    )
}

/// Derive support: loads a plain `#[rapyer(safe)]` field.
#[doc(hidden)]
pub fn load_plain<T>(
    path: &str,
    dec: &mut Decoder,
    state: &mut LoadState,
    fns: Fns<T>,
    fallback: fn() -> T,
) -> Result<T> {
    let codec = Codec {
        describe: fns.0,
        decode: fns.1,
        salvage: fns.2,
    };
    let (value, failed) = salvage(path, dec, codec, fallback);
    if let Some((failure, raw)) = failed {
        let mut scratch = Encoder::new(dec.model());
        let loaded = encode_parts(&value, path, &mut scratch, fns.3);
        state.slots.push(Slot {
            failure,
            raw,
            loaded,
            released: false,
        });
    }
    Ok(value)
}

/// Derive support: encodes a plain `#[rapyer(safe)]` field (its stored bytes while it is
/// quarantined).
#[doc(hidden)]
pub fn encode_plain<T>(
    value: &T,
    path: &str,
    enc: &mut Encoder,
    state: &LoadState,
    fns: Fns<T>,
) -> Result<()> {
    let mut scratch = enc.scratch();
    match still_quarantined(value, path, state, &mut scratch, fns.3) {
        Some(slot) => {
            slot.raw.emit(enc);
            Ok(())
        }
        None => (fns.3)(value, path, enc),
    }
}

/// Derive support: the failure of a plain `#[rapyer(safe)]` field, while quarantined.
#[doc(hidden)]
pub fn plain_failures<T>(
    value: &T,
    path: &str,
    state: &LoadState,
    fns: Fns<T>,
    out: &mut Vec<FieldFailure>,
) {
    let mut scratch = Encoder::new("");
    if let Some(slot) = still_quarantined(value, path, state, &mut scratch, fns.3) {
        out.push(slot.failure.clone());
    }
}
