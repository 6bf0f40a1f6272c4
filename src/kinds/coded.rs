//! `Coded<T, C>` (`Json<T>`, …) as a root field: one root hash field holding the value in
//! codec `C`, like a `#[rapyer(blob)]` field in that codec, with its atomic `set`.

use std::sync::Arc;

use crate::codec::{Codec, Coded, Decoder, Encoder, FieldPath};
use crate::error::{Error, Result};
use crate::exec::{DocRef, Mirror, Pending, Target, mirror, mirror_apply};
use crate::field::Field;
use crate::schema::{FieldKind, FieldSchema};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Atomic handle on a [`Coded`] root field (`model.atomic().profile`): replaces it.
pub struct CodedRef<'a, T, C> {
    doc: Arc<DocRef>,
    path: String,
    local: Mirror<'a, Coded<T, C>>,
}

impl<T, C> std::fmt::Debug for CodedRef<'_, T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CodedRef({} `{}`.{})",
            self.doc.schema.name, self.doc.id, self.path
        )
    }
}

impl<'a, T, C> CodedRef<'a, T, C>
where
    T: Serialize + DeserializeOwned + Send + 'a,
    C: Codec,
{
    /// Stores `value` in codec `C` (one round trip; a value `C` cannot encode is
    /// [`Error::Encode`], nothing sent).
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let value = Coded::<T, C>::new(value);
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        match value.to_bytes() {
            Ok(bytes) => Pending::new(&doc, "set", Target::Root(path), vec![bytes], move |_| {
                mirror_apply(local, |local| *local = value);
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

impl<T, C> Field for Coded<T, C>
where
    T: Serialize + DeserializeOwned + Send,
    C: Codec,
{
    type Path = FieldPath<Self>;
    type Atomic<'a>
        = CodedRef<'a, T, C>
    where
        Self: 'a;

    fn atomic<'a>(
        local: Option<&'a mut Self>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> Self::Atomic<'a> {
        CodedRef {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }
    fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
        FieldPath::in_model(path, model)
    }
    fn describe(path: &str, out: &mut Vec<FieldSchema>) {
        out.push(FieldSchema::new(path, FieldKind::Blob));
    }
    fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
        let bytes = self.to_bytes().map_err(|e| enc.error(path, e))?;
        enc.root_field(path, bytes);
        Ok(())
    }
    fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
        match dec.take_root(path) {
            Some(bytes) => Self::from_bytes(&bytes).map_err(|r| dec.error(path, r)),
            None => Err(dec.error(path, "field is missing from the stored document")),
        }
    }
}
