//! `Field` and `BlobField` for the `Safe` and `Lazy` wrappers.

use std::sync::Arc;

use super::{Lazy, Safe};
use crate::codec::{Decoder, Encoder};
use crate::error::Result;
use crate::exec::DocRef;
use crate::field::{Field, FieldFailure};
use crate::kinds::blob::{BlobField, BlobRef, encode_blob};
use crate::schema::FieldSchema;

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
            fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
                T::path(path, model)
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
