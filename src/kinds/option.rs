//! `Option` fields: their atomic handle (`OptionRef`).

use std::sync::Arc;

use redis::Value;

use crate::codec::Scalar;
use crate::codec::{Decoder, Encoder, FieldPath};
use crate::error::Result;
use crate::exec::mirror_apply;
use crate::exec::{DocRef, Mirror, Pending, Target, bytes, decode_as, mirror};
use crate::field::Field;
use crate::schema::{FieldKind, FieldSchema};

// ---- Option fields -------------------------------------------------------------------------

/// Handle on an `Option<T>` field (absent field = `None`).
pub struct OptionRef<'a, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, Option<T>>,
}

impl<'a, T: Scalar + Send + 'a> OptionRef<'a, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut Option<T>>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }

    /// Stores `value` (`None` removes the field).
    pub fn set(&self, value: Option<T>) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let (code, args) = match &value {
            Some(v) => ("set", vec![v.encode_scalar()]),
            None => ("clear", vec![]),
        };
        Pending::new(&doc, code, Target::Root(path), args, move |_| {
            mirror_apply(local, |local| {
                *local = value;
            });
            Ok(())
        })
    }

    /// Removes the field (`None`).
    pub fn clear(&self) -> Pending<'a, ()> {
        self.set(None)
    }

    /// Reads the stored value.
    pub fn get(&self) -> Pending<'a, Option<T>>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, "get", Target::Root(path.clone()), vec![], move |v| {
            let value = match v {
                Value::Nil => None,
                v => Some(decode_as::<T>(&d, &path, &bytes(v, "get")?)?),
            };
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
        .yields(0, None)
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
            local: crate::exec::mirror(local),
        }
    }
    fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
        FieldPath::in_model(path, model)
    }
    fn describe(path: &str, out: &mut Vec<FieldSchema>) {
        let shape = crate::schema::Shape::Option(Box::new(T::shape()));
        let field = FieldSchema::new(path, FieldKind::Scalar).with_shape(shape);
        out.push(crate::schema::mark_relation(field, T::__target(), false));
    }
    fn __relations(&mut self, path: &str, out: &mut crate::links::Visit<'_>) {
        if let Some(r) = self.as_mut().and_then(Scalar::__relation) {
            out(path, r);
        }
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
