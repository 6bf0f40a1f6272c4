//! `Lazy<T>`: a field decoded on first access, saved from its original bytes until then.

use std::fmt;
use std::sync::OnceLock;

use super::*;
use crate::codec::{Decoder, Encoder, RawParts};
use crate::error::{Error, Result};
use crate::field::{Field, FieldFailure};
use crate::schema::OnError;

// ---- Lazy<T> --------------------------------------------------------------------------------

/// The outcome of decoding a `Lazy` field's bytes.
#[derive(Clone)]
pub(crate) enum Decoded<T> {
    Value(T),
    /// The policy's fallback (or the members that decoded), and why.
    Fallback(T, FieldFailure),
    /// Policy `defer`: every access returns this failure.
    Failed(FieldFailure),
}

/// What a loaded `Lazy` field keeps: the stored bytes and how to decode them.
pub(crate) struct LazyRaw<T> {
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

    pub(crate) fn encode_with(
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

    pub(crate) fn push_failure(&self, out: &mut Vec<FieldFailure>) {
        if let Some(f) = self.failure() {
            out.push(f.clone());
        }
    }

    pub(crate) fn accept(&mut self) {
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
    pub(crate) fn mirror_target(local: Option<&mut Self>) -> Option<&mut T> {
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
