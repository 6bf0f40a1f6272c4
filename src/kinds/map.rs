//! Maps (`HashMap`, `BTreeMap`): their atomic handle (`MapRef`) and its operations.

use std::sync::Arc;

use redis::Value;

use crate::codec::Element;
use crate::codec::{Decoder, Encoder, FieldPath, MapKey, decode_map, encode_map, salvage_map};
use crate::error::{Error, Result, unexpected};
use crate::exec::mirror_apply;
use crate::exec::{DocRef, Mirror, Pending, Target, bytes, decode_as, decode_elem, int, mirror};
use crate::field::Field;
use crate::kinds::collection::coll_mutate;
use crate::kinds::scalar::AtomicInt;
use crate::schema::{FieldKind, FieldSchema};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

/// A map container whose local copy can be mirrored.
pub trait MapLike<K, V>: Send {
    #[doc(hidden)]
    fn map_len(&self) -> usize;
    #[doc(hidden)]
    fn map_insert(&mut self, k: K, v: V);
    #[doc(hidden)]
    fn map_remove(&mut self, k: &K);
    #[doc(hidden)]
    fn map_replace(&mut self, entries: Vec<(K, V)>);
}

impl<K: std::hash::Hash + Eq + Send, V: Send, S: std::hash::BuildHasher + Default + Send>
    MapLike<K, V> for std::collections::HashMap<K, V, S>
{
    fn map_len(&self) -> usize {
        self.len()
    }
    fn map_insert(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
    fn map_remove(&mut self, k: &K) {
        self.remove(k);
    }
    fn map_replace(&mut self, entries: Vec<(K, V)>) {
        *self = entries.into_iter().collect();
    }
}

impl<K: Ord + Send, V: Send> MapLike<K, V> for std::collections::BTreeMap<K, V> {
    fn map_len(&self) -> usize {
        self.len()
    }
    fn map_insert(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
    fn map_remove(&mut self, k: &K) {
        self.remove(k);
    }
    fn map_replace(&mut self, entries: Vec<(K, V)>) {
        *self = entries.into_iter().collect();
    }
}

/// Handle on a map field (`HashMap`, `BTreeMap`).
pub struct MapRef<'a, M, K, V> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, M>,
    pub(crate) _kv: std::marker::PhantomData<fn() -> (K, V)>,
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: crate::codec::MapKey + Clone + Send + 'a,
    V: Element + Clone + Send + 'a,
{
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut M>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _kv: std::marker::PhantomData,
        }
    }

    fn target(&self) -> Target {
        Target::Collection(self.path.clone())
    }

    fn client_len(&self) -> Vec<u8> {
        self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().map_len().to_string().into_bytes(),
        )
    }

    fn encode_value(&self, v: &V) -> Result<Vec<u8>> {
        v.encode_element().map_err(|reason| Error::Encode {
            model: self.doc.schema.name,
            field: self.path.clone(),
            reason,
        })
    }

    fn decode_whole(doc: &DocRef, path: &str, whole: &[Vec<u8>]) -> Result<Vec<(K, V)>> {
        whole
            .chunks_exact(2)
            .map(|kv| {
                Ok((
                    decode_as::<K>(doc, path, &kv[0])?,
                    decode_elem::<V>(doc, path, &kv[1])?,
                ))
            })
            .collect()
    }

    /// Runs a mutator and mirrors it: from the whole content when the local copy was
    /// stale, else by `apply`.
    pub(crate) fn mutate<R: Send + 'a>(
        &self,
        code: &'static str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
        apply: impl FnOnce(&mut M, &R) + Send + 'a,
    ) -> Pending<'a, R> {
        let replace = |d: &DocRef, p: &str, whole: &[Vec<u8>], m: &mut M| {
            m.map_replace(Self::decode_whole(d, p, whole)?);
            Ok(())
        };
        coll_mutate(
            &self.doc,
            &self.path,
            self.local.clone(),
            self.client_len(),
            code,
            args,
            finish,
            apply,
            replace,
        )
    }

    /// Sets entry `key` to `value`.
    pub fn set(&self, key: K, value: V) -> Pending<'a, ()> {
        self.update([(key, value)])
    }

    /// Sets every entry of `entries`.
    pub fn update(&self, entries: impl IntoIterator<Item = (K, V)>) -> Pending<'a, ()> {
        let entries: Vec<(K, V)> = entries.into_iter().collect();
        if entries.is_empty() {
            let t = self.target();
            return Pending::rejected(
                &self.doc,
                t,
                Error::InvalidInput(format!("{}: nothing to update", self.path)),
            );
        }
        let mut args = Vec::with_capacity(entries.len() * 2);
        for (k, v) in &entries {
            match self.encode_value(v) {
                Ok(b) => {
                    args.push(k.encode_scalar());
                    args.push(b);
                }
                Err(e) => {
                    let t = self.target();
                    return Pending::rejected(&self.doc, t, e);
                }
            }
        }
        self.mutate(
            "hset",
            args,
            |_, _, _| Ok(()),
            move |m, _| {
                for (k, v) in entries {
                    m.map_insert(k, v);
                }
            },
        )
    }

    /// Removes entry `key`; returns whether it existed.
    pub fn remove(&self, key: K) -> Pending<'a, bool> {
        let arg = key.encode_scalar();
        self.mutate(
            "hdel",
            vec![arg],
            |_, _, v| Ok(int(v, "hdel")? > 0),
            move |m, _| m.map_remove(&key),
        )
    }

    /// Removes entry `key` and returns its value ([`Error::Rejected`] when absent).
    pub fn pop(&self, key: K) -> Pending<'a, V> {
        let arg = key.encode_scalar();
        self.mutate(
            "hpop",
            vec![arg],
            |d, p, v| decode_elem(d, p, &bytes(v, "hpop")?),
            move |m, _| m.map_remove(&key),
        )
        .yields(2, None)
    }

    /// Removes and returns an arbitrary entry ([`Error::Rejected`] on an empty map).
    pub fn popitem(&self) -> Pending<'a, (K, V)> {
        self.mutate(
            "hpopitem",
            vec![],
            |d, p, v| match v {
                Value::Array(mut kv) if kv.len() == 2 => {
                    let val = bytes(kv.pop().unwrap_or(Value::Nil), "hpopitem")?;
                    let key = bytes(kv.pop().unwrap_or(Value::Nil), "hpopitem")?;
                    Ok((decode_as::<K>(d, p, &key)?, decode_elem::<V>(d, p, &val)?))
                }
                other => Err(unexpected("hpopitem", &other)),
            },
            |m, (k, _)| m.map_remove(k),
        )
    }

    /// Value of entry `key`, if any.
    pub fn get(&self, key: K) -> Pending<'a, Option<V>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(
            &doc,
            "hget",
            self.target(),
            vec![key.encode_scalar()],
            move |v| match v {
                Value::Nil => Ok(None),
                v => decode_elem(&d, &path, &bytes(v, "hget")?).map(Some),
            },
        )
        .yields(0, None)
    }

    /// Every key.
    pub fn keys(&self) -> Pending<'a, Vec<K>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(&doc, "hkeys", self.target(), vec![], move |v| match v {
            Value::Array(items) => items
                .into_iter()
                .map(|v| decode_as(&d, &path, &bytes(v, "hkeys")?))
                .collect(),
            other => Err(unexpected("hkeys", &other)),
        })
    }

    /// Number of entries.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "hlen", self.target(), vec![], |v| {
            Ok(int(v, "hlen")?.max(0) as usize)
        })
        .yields(0, None)
    }

    /// Every entry (and refreshes the local copy).
    pub fn get_all(&self) -> Pending<'a, Vec<(K, V)>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "hgetall",
            Target::Collection(path.clone()),
            vec![],
            move |v| {
                let flat: Vec<Vec<u8>> = match v {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| bytes(v, "hgetall"))
                        .collect::<Result<_>>()?,
                    Value::Map(items) => items
                        .into_iter()
                        .flat_map(|(k, v)| [k, v])
                        .map(|v| bytes(v, "hgetall"))
                        .collect::<Result<_>>()?,
                    other => return Err(unexpected("hgetall", &other)),
                };
                let entries = Self::decode_whole(&d, &path, &flat)?;
                mirror_apply(local, |local| {
                    local.map_replace(entries.clone());
                });
                Ok(entries)
            },
        )
    }

    /// Removes every entry (the hash key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.map_replace(Vec::new());
            });
            Ok(())
        })
    }
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: crate::codec::MapKey + Clone + Send + 'a,
    V: AtomicInt + Element,
{
    /// Adds `by` to the integer value of entry `key` (created at 0); returns the new value.
    pub fn incr(&self, key: K, by: i64) -> Pending<'a, V> {
        let (min, max) = V::BOUNDS;
        let k = key.clone();
        self.mutate(
            "hincr",
            vec![
                k.encode_scalar(),
                by.to_string().into_bytes(),
                min.into(),
                max.into(),
            ],
            |d, p, v| decode_elem(d, p, &bytes(v, "hincr")?),
            move |m, v| m.map_insert(key, *v),
        )
    }
}

// ---- the Field impls of maps ----------------------------------------------------------------

macro_rules! map_field {
    ([$($gen:tt)*], $ty:ty) => {
        impl<$($gen)*> Field for $ty {
            type Path = FieldPath<$ty>;
            type Atomic<'a> = MapRef<'a, $ty, K, V> where Self: 'a;
            fn atomic<'a>(local: Option<&'a mut Self>, doc: &Arc<DocRef>, path: String) -> Self::Atomic<'a> {
                MapRef { doc: doc.clone(), path, local: crate::exec::mirror(local), _kv: std::marker::PhantomData }
            }
            fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
                FieldPath::in_model(path, model)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                let shape = crate::schema::Shape::Map(Box::new(K::shape()), Box::new(V::shape()));
                out.push(FieldSchema::new(path, FieldKind::Map).with_shape(shape));
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
