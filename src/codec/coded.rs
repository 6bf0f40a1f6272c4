//! Pluggable serialization: the `Codec` trait, the built-in `MsgpackCodec` and
//! `JsonCodec`, and `Coded<T, C>` (aliases `Json<T>`, `Msgpack<T>`): a serde value stored
//! with codec `C`, as a collection element, a structure's element and a root field.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Element;

/// How serde values become stored bytes and back: for elements of lists, sets, maps and
/// structures, and for root fields, chosen per field by type ([`Coded`]).
///
/// A codec of your own is a unit type implementing this trait:
///
/// ```
/// use rapyer::{Codec, Coded};
///
/// /// Compact JSON with a one-byte version prefix.
/// pub struct VersionedJson;
///
/// impl Codec for VersionedJson {
///     const NAME: &'static str = "versioned-json";
///     fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
///         let mut out = vec![1u8];
///         serde_json::to_writer(&mut out, value).map_err(|e| e.to_string())?;
///         Ok(out)
///     }
///     fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
///         match bytes.split_first() {
///             Some((1, rest)) => serde_json::from_slice(rest).map_err(|e| e.to_string()),
///             _ => Err("unknown version".into()),
///         }
///     }
/// }
///
/// type Tagged = Coded<Vec<String>, VersionedJson>;
/// let bytes = rapyer::Element::encode_element(&Tagged::new(vec!["a".into()])).unwrap();
/// assert_eq!(bytes, b"\x01[\"a\"]");
/// ```
pub trait Codec: Send + Sync + 'static {
    /// The codec's name, in decode errors (`json: expected value at line 1 column 1`).
    const NAME: &'static str;
    /// The stored bytes of `value`; `Err` is a reason (the write is refused, nothing sent).
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String>;
    /// The value from stored bytes; `Err` is a reason (a decode error naming key, field
    /// and this codec).
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String>;
}

/// msgpack with named fields (rmp-serde): what `#[derive(Element)]` and
/// `#[rapyer(blob)]` store, and what run-time paths walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MsgpackCodec;

impl Codec for MsgpackCodec {
    const NAME: &'static str = "msgpack";
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
        super::to_msgpack(value)
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// JSON (serde_json): readable with `redis-cli`, shareable with other languages'
/// clients; larger and slower than msgpack, and integers beyond what the reader's JSON
/// numbers hold may not survive other readers (rapyer's reads are exact for `i64`/`u64`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    const NAME: &'static str = "json";
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
        serde_json::to_vec(value).map_err(|e| e.to_string())
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// A serde value stored with codec `C`: as a list, set or map element
/// (`Vec<Json<Task>>`), a structure's element (`PriorityQueue<Json<Task>, i64>`, named
/// ones too), or a root field of its own (`profile: Json<Profile>`, like a
/// `#[rapyer(blob)]` field in that codec). It derefs to the value.
///
/// Decode errors name the key, the field and the codec (`json: …`). Run-time paths see
/// such an element as its stored bytes (`Value::Bytes`); typed paths do not reach into it.
pub struct Coded<T, C> {
    value: T,
    _codec: PhantomData<fn() -> C>,
}

/// A value stored as JSON ([`JsonCodec`]).
pub type Json<T> = Coded<T, JsonCodec>;
/// A value stored as msgpack with named fields ([`MsgpackCodec`]), the default codec
/// spelled out.
pub type Msgpack<T> = Coded<T, MsgpackCodec>;

impl<T, C> Coded<T, C> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self {
            value,
            _codec: PhantomData,
        }
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Serialize + DeserializeOwned, C: Codec> Coded<T, C> {
    /// The stored bytes.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, String> {
        C::encode(&self.value).map_err(|e| format!("{}: {e}", C::NAME))
    }

    /// The value from stored bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        C::decode(bytes)
            .map(Self::new)
            .map_err(|e| format!("{}: {e}", C::NAME))
    }
}

impl<T, C> std::ops::Deref for Coded<T, C> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, C> std::ops::DerefMut for Coded<T, C> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T, C> From<T> for Coded<T, C> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Clone, C> Clone for Coded<T, C> {
    fn clone(&self) -> Self {
        Self::new(self.value.clone())
    }
}

impl<T: Default, C> Default for Coded<T, C> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: fmt::Debug, C: Codec> fmt::Debug for Coded<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", C::NAME)?;
        self.value.fmt(f)?;
        f.write_str(")")
    }
}

impl<T: PartialEq, C> PartialEq for Coded<T, C> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq, C> Eq for Coded<T, C> {}
impl<T: PartialOrd, C> PartialOrd for Coded<T, C> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord, C> Ord for Coded<T, C> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: std::hash::Hash, C> std::hash::Hash for Coded<T, C> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

/// Serializes as the value (so a `Coded` inside a blob or another element is the value
/// in the outer codec).
impl<T: Serialize, C> Serialize for Coded<T, C> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: serde::Deserialize<'de>, C> serde::Deserialize<'de> for Coded<T, C> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::new)
    }
}

impl<T: Serialize + DeserializeOwned, C: Codec> Element for Coded<T, C> {
    fn encode_element(&self) -> Result<Vec<u8>, String> {
        self.to_bytes()
    }
    fn decode_element(bytes: &[u8]) -> Result<Self, String> {
        Self::from_bytes(bytes)
    }
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Bytes
    }
}
