//! Blob fields (`#[rapyer(blob)]`, msgpack; `#[rapyer(codec = …)]`, any codec): their
//! atomic handle (`BlobRef`).

use std::marker::PhantomData;
use std::sync::Arc;

use crate::codec::{Codec, Decoder, Encoder, MsgpackCodec, from_msgpack, to_msgpack};
use crate::error::{Error, Result};
use crate::exec::mirror_apply;
use crate::exec::{DocRef, Mirror, Pending, Target, mirror};
use crate::field::FieldFailure;
use crate::schema::{FieldKind, FieldSchema};

// ---- blobs ---------------------------------------------------------------------------------

/// Handle on a `#[rapyer(blob)]` field (codec `C`: msgpack, or the field's
/// `#[rapyer(codec = …)]`): atomic replacement.
pub struct BlobRef<'a, T, C = MsgpackCodec> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, T>,
    _codec: PhantomData<fn() -> C>,
}

impl<'a, T: serde::Serialize + Send + 'a, C: Codec> BlobRef<'a, T, C> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut T>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _codec: PhantomData,
        }
    }

    /// Stores `value` (in msgpack, or the field's codec).
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        match C::encode(&value).map_err(|e| format!("{}: {e}", C::NAME)) {
            Ok(bytes) => Pending::new(&doc, "set", Target::Root(path), vec![bytes], move |_| {
                mirror_apply(local, |local| {
                    *local = value;
                });
                Ok(())
            }),
            Err(reason) => {
                let err = Error::Encode {
                    model: doc.schema.name,
                    field: path.clone(),
                    reason,
                };
                Pending::rejected(&doc, Target::Root(path), err)
            }
        }
    }
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

/// A `#[rapyer(codec = …)]` field of type `T` in codec `C`: one root hash field (derive
/// support).
#[doc(hidden)]
pub struct CodecBlob<T, C>(PhantomData<fn() -> (T, C)>);

impl<T: serde::Serialize + serde::de::DeserializeOwned + Send, C: Codec> CodecBlob<T, C> {
    pub fn assert() {}
    pub fn encode(value: &T, path: &str, enc: &mut Encoder) -> Result<()> {
        let bytes = C::encode(value).map_err(|e| enc.error(path, format!("{}: {e}", C::NAME)))?;
        enc.root_field(path, bytes);
        Ok(())
    }
    pub fn decode(path: &str, dec: &mut Decoder) -> Result<T> {
        match dec.take_root(path) {
            Some(bytes) => {
                C::decode(&bytes).map_err(|e| dec.error(path, format!("{}: {e}", C::NAME)))
            }
            None => Err(dec.error(path, "field is missing from the stored document")),
        }
    }
    pub fn atomic<'a>(
        local: Option<&'a mut T>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> BlobRef<'a, T, C>
    where
        T: 'a,
    {
        BlobRef::new(local, doc, path)
    }
}

/// Schema entry of a `#[rapyer(blob)]` field.
pub fn describe_blob(path: &str, out: &mut Vec<FieldSchema>) {
    out.push(FieldSchema::new(path, FieldKind::Blob));
}

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
