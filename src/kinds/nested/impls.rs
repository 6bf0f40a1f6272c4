//! `Nested` for the standard types, the step types (`SeqPath`, `DictPath`,
//! `MemberPath`), and where paths start: `at(i)` / `key(k)` / `has(v)` on the typed
//! paths of `Model::fields()` and on the atomic handles of lists, maps and sets.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::ops::Deref;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{At, ById, Container, Loc, LocalCopy, Nested, OnDoc, PathMode, Phantom, count, leaf};
use crate::codec::{Element, FieldPath, MapKey, Scalar, to_msgpack};
use crate::error::{Error, Result};
use crate::exec::{DocRef, Mirror, Pending, int, map_pending};
use crate::kinds::list::{ListLike, ListRef};
use crate::kinds::map::{MapLike, MapRef};
use crate::kinds::set::{SetLike, SetRef};
use crate::schema::Shape;

// ---- leaves ---------------------------------------------------------------------------------

macro_rules! leaves {
    ($($t:ty),*) => {$(
        impl Nested for $t {
            type Path<B: PathMode> = At<$t, B>;
            fn nested<B: PathMode>(at: At<Self, B>) -> At<Self, B> { at }
            fn nested_shape() -> Shape { <$t as Scalar>::shape() }
        }
    )*};
}
leaves!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    isize,
    usize,
    f32,
    f64,
    bool,
    String,
    char,
    uuid::Uuid
);

impl<T: Nested> Nested for Option<T> {
    type Path<B: PathMode> = At<Option<T>, B>;
    fn nested<B: PathMode>(at: At<Self, B>) -> At<Self, B> {
        at
    }
    fn nested_shape() -> Shape {
        Shape::Option(Box::new(T::nested_shape()))
    }
}

macro_rules! set_leaves {
    ([$($g:tt)*] $t:ty) => {
        impl<$($g)*> Nested for $t {
            type Path<B: PathMode> = At<$t, B>;
            fn nested<B: PathMode>(at: At<Self, B>) -> At<Self, B> { at }
            fn nested_shape() -> Shape { Shape::Set(Box::new(T::nested_shape())) }
        }
    };
}
set_leaves!([T: Nested + Eq + Hash, S: BuildHasher] HashSet<T, S>);
set_leaves!([T: Nested + Ord] BTreeSet<T>);

// ---- sequences inside a value ----------------------------------------------------------------

/// A path to a sequence stored inside a value (a msgpack array): `at(i)` steps to an
/// item (negative from the end); derefs to [`At`] for the whole sequence; on an atomic
/// handle `push` and `remove` change it in place.
pub struct SeqPath<C, T, B> {
    at: At<C, B>,
    _t: Phantom<T>,
}

impl<C, T, B> Deref for SeqPath<C, T, B> {
    type Target = At<C, B>;
    fn deref(&self) -> &At<C, B> {
        &self.at
    }
}

impl<C, T, B> fmt::Debug for SeqPath<C, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqPath({})", self.at.loc.display)
    }
}

impl<C, T: Nested + Serialize + DeserializeOwned, B: PathMode> SeqPath<C, T, B> {
    /// The item at `index` (negative: from the end).
    pub fn at(&self, index: i64) -> T::Path<B> {
        let display = format!("{}[{index}]", self.at.loc.display);
        self.at.step::<T>(format!("i{index}").into_bytes(), display)
    }
}

impl<'a, C: Send + 'a, T: Serialize + Send + 'a> SeqPath<C, T, OnDoc<'a>> {
    fn item_op(&self, code: &'static str, item: &T) -> Pending<'a, usize> {
        match to_msgpack(item) {
            Ok(b) => map_pending(self.at.write(code, vec![b]), move |v| count(v, code)),
            Err(reason) => {
                let doc = self.at.mode.doc.clone();
                let err = Error::Encode {
                    model: doc.schema.name,
                    field: self.at.loc.display.clone(),
                    reason,
                };
                Pending::rejected(&doc, self.at.loc.target(), err)
            }
        }
    }

    /// Appends `item` to the sequence; returns its new length (atomic, one round trip).
    pub fn push(&self, item: T) -> Pending<'a, usize> {
        self.item_op("path_push", &item)
    }

    /// Removes every item equal to `item` (compared by stored bytes); returns how many.
    pub fn remove(&self, item: T) -> Pending<'a, usize> {
        self.item_op("path_remove", &item)
    }
}

macro_rules! seqs {
    ($($t:ident),*) => {$(
        impl<T: Nested + Serialize + DeserializeOwned> Nested for $t<T> {
            type Path<B: PathMode> = SeqPath<$t<T>, T, B>;
            fn nested<B: PathMode>(at: At<Self, B>) -> Self::Path<B> {
                SeqPath { at, _t: Default::default() }
            }
            fn nested_shape() -> Shape { Shape::Seq(Box::new(T::nested_shape())) }
        }
    )*};
}
seqs!(Vec, VecDeque);

// ---- maps inside a value ------------------------------------------------------------------------

/// A path to a map stored inside a value: `key(k)` steps to a value; derefs to [`At`]
/// for the whole map.
pub struct DictPath<M, K, V, B> {
    at: At<M, B>,
    _kv: Phantom<(K, V)>,
}

impl<M, K, V, B> Deref for DictPath<M, K, V, B> {
    type Target = At<M, B>;
    fn deref(&self) -> &At<M, B> {
        &self.at
    }
}

impl<M, K, V, B> fmt::Debug for DictPath<M, K, V, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DictPath({})", self.at.loc.display)
    }
}

impl<M, K: Serialize + fmt::Debug, V: Nested + Serialize + DeserializeOwned, B: PathMode>
    DictPath<M, K, V, B>
{
    /// The value under `key`.
    pub fn key(&self, key: K) -> V::Path<B> {
        let mut step = b"k".to_vec();
        step.extend(to_msgpack(&key).unwrap_or_default());
        let display = format!("{}[{key:?}]", self.at.loc.display);
        self.at.step::<V>(step, display)
    }
}

macro_rules! dicts {
    ($([$($g:tt)*] $t:ty),*) => {$(
        impl<$($g)*> Nested for $t {
            type Path<B: PathMode> = DictPath<$t, K, V, B>;
            fn nested<B: PathMode>(at: At<Self, B>) -> Self::Path<B> {
                DictPath { at, _kv: Default::default() }
            }
            fn nested_shape() -> Shape {
                Shape::Map(Box::new(K::nested_shape()), Box::new(V::nested_shape()))
            }
        }
    )*};
}
dicts!(
    [K: Nested + Eq + Hash + Serialize + DeserializeOwned, V: Nested + Serialize + DeserializeOwned, S: BuildHasher + Default] HashMap<K, V, S>,
    [K: Nested + Ord + Serialize + DeserializeOwned, V: Nested + Serialize + DeserializeOwned] BTreeMap<K, V>
);

// ---- where paths start ---------------------------------------------------------------------------

fn element_path<T: Element + Nested, B: PathMode>(loc: Loc, mode: B) -> T::Path<B> {
    T::nested(leaf(loc, mode, T::decode_element, T::encode_element))
}

macro_rules! list_starts {
    ($($t:ident),*) => {$(
        impl<T: Element + Nested> FieldPath<$t<T>> {
            /// The element at `index` (negative: from the end), to read by path:
            /// `Model::fields().items.at(0).qty.get(&id)`.
            pub fn at(&self, index: i64) -> T::Path<ById> {
                element_path::<T, _>(Loc::new(self.model(), self.path(), Container::List(index)), ById)
            }
        }
    )*};
}
list_starts!(Vec, VecDeque);

impl<K: MapKey, V: Element + Nested, S> FieldPath<HashMap<K, V, S>> {
    /// The value under `key`, to read by path.
    pub fn key(&self, key: K) -> V::Path<ById> {
        let loc = Loc::new(
            self.model(),
            self.path(),
            Container::Map(key.encode_scalar()),
        );
        element_path::<V, _>(loc, ById)
    }
}

impl<K: MapKey, V: Element + Nested> FieldPath<BTreeMap<K, V>> {
    /// The value under `key`, to read by path.
    pub fn key(&self, key: K) -> V::Path<ById> {
        let loc = Loc::new(
            self.model(),
            self.path(),
            Container::Map(key.encode_scalar()),
        );
        element_path::<V, _>(loc, ById)
    }
}

/// Membership of one value in a stored set, read by path: `get(id)` (or, on an atomic
/// handle, [`SetRef::contains`]).
#[derive(Debug, Clone)]
pub struct MemberPath<T> {
    loc: Loc,
    member: std::result::Result<Vec<u8>, String>,
    _t: Phantom<T>,
}

impl<T> MemberPath<T> {
    /// Whether document `id`'s set holds the value (`false` when the document does not
    /// exist). One round trip.
    pub fn get(&self, id: impl fmt::Display) -> Pending<'static, bool> {
        let doc = DocRef::new(self.loc.model.unwrap_or(&super::UNBOUND), id.to_string());
        if self.loc.model.is_none() {
            return super::unbound(&doc, &self.loc);
        }
        let member = match &self.member {
            Ok(b) => b.clone(),
            Err(reason) => {
                let err = Error::Encode {
                    model: doc.schema.name,
                    field: self.loc.field.clone(),
                    reason: reason.clone(),
                };
                return Pending::rejected(&doc, self.loc.target(), err);
            }
        };
        let target = crate::exec::Target::Collection(self.loc.field.clone());
        let p = Pending::new(&doc, "sismember", target, vec![member], |v| {
            Ok(int(v, "sismember")? == 1)
        });
        map_pending(p.if_exists(), |v| Ok(v.unwrap_or(false)))
    }
}

macro_rules! set_starts {
    ($([$($g:tt)*] $t:ty),*) => {$(
        impl<$($g)*> FieldPath<$t> {
            /// Whether the set holds `item`, to read by path (`has`, because `contains`
            /// on an indexed string set is the query predicate).
            pub fn has(&self, item: T) -> MemberPath<T> {
                MemberPath {
                    loc: Loc::new(self.model(), self.path(), Container::Root),
                    member: item.encode_element(),
                    _t: Default::default(),
                }
            }
        }
    )*};
}
set_starts!([T: Element, S] HashSet<T, S>, [T: Element] BTreeSet<T>);

/// Root fields (scalars, embedded scalars) read by path: `Model::fields().address.city.get(&id)`.
macro_rules! root_reads {
    ($($t:ty),*) => {$(
        impl FieldPath<$t> {
            /// Reads this root field of document `id` (`None` when the document is
            /// absent). One round trip; only the field travels.
            pub fn get(&self, id: impl fmt::Display) -> Pending<'static, Option<$t>> {
                let loc = Loc::new(self.model(), self.path(), Container::Root);
                leaf(loc, ById, <$t as Scalar>::decode_scalar, |v: &$t| Ok(v.encode_scalar())).get(id)
            }

            /// Blocking [`get`](Self::get): reads it now (one round trip).
            #[cfg(feature = "blocking")]
            pub fn sync_get(&self, id: impl fmt::Display) -> Result<Option<$t>> {
                self.get(id).sync_run()
            }
        }
    )*};
}
root_reads!(
    i8,
    i16,
    i32,
    i64,
    i128,
    u8,
    u16,
    u32,
    u64,
    u128,
    isize,
    usize,
    f32,
    f64,
    bool,
    String,
    char,
    Vec<u8>,
    uuid::Uuid
);

impl<T: Scalar + Send + 'static> FieldPath<Option<T>> {
    /// Reads this optional root field of document `id` (`None` when the document or the
    /// value is absent). One round trip.
    pub fn get(&self, id: impl fmt::Display) -> Pending<'static, Option<T>> {
        let loc = Loc::new(self.model(), self.path(), Container::Root);
        leaf(loc, ById, T::decode_scalar, |v: &T| Ok(v.encode_scalar())).get(id)
    }

    /// Blocking [`get`](Self::get): reads it now (one round trip).
    #[cfg(feature = "blocking")]
    pub fn sync_get(&self, id: impl fmt::Display) -> Result<Option<T>> {
        self.get(id).sync_run()
    }
}

// ---- on atomic handles: paths mirrored into the local copy ---------------------------------------

struct ListLocal<'a, C, T> {
    doc: Arc<DocRef>,
    path: String,
    local: Mirror<'a, C>,
    index: i64,
    _t: Phantom<T>,
}

impl<C: ListLike<T>, T: Element + Send> LocalCopy for ListLocal<'_, C, T> {
    fn len(&self) -> Option<usize> {
        self.local.as_ref().map(|l| l.lock().list_len())
    }
    fn apply(&self, container: &[u8], whole: Option<Vec<Vec<u8>>>) -> Result<()> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        let mut local = local.lock();
        match whole {
            Some(all) => {
                let items = all
                    .iter()
                    .map(|raw| crate::exec::decode_elem::<T>(&self.doc, &self.path, raw))
                    .collect::<Result<Vec<_>>>()?;
                local.list_replace(items);
            }
            None => {
                let len = local.list_len() as i64;
                let i = if self.index < 0 {
                    len + self.index
                } else {
                    self.index
                };
                let item = crate::exec::decode_elem::<T>(&self.doc, &self.path, container)?;
                if (0..len).contains(&i) {
                    local.list_set(i as usize, item);
                }
            }
        }
        Ok(())
    }
}

struct MapLocal<'a, M, K, V> {
    doc: Arc<DocRef>,
    path: String,
    local: Mirror<'a, M>,
    key: K,
    _v: Phantom<V>,
}

impl<M: MapLike<K, V>, K: Clone + Send + Sync, V: Element + Send> LocalCopy
    for MapLocal<'_, M, K, V>
{
    fn len(&self) -> Option<usize> {
        None
    }
    fn apply(&self, container: &[u8], _whole: Option<Vec<Vec<u8>>>) -> Result<()> {
        if let Some(local) = &self.local {
            let v = crate::exec::decode_elem::<V>(&self.doc, &self.path, container)?;
            local.lock().map_insert(self.key.clone(), v);
        }
        Ok(())
    }
}

impl<'a, C: ListLike<T> + 'a, T: Element + Nested + Clone + Send + 'a> ListRef<'a, C, T> {
    /// The element at `index` (negative: from the end) as a path: read it or one of its
    /// fields, write or `incr` them in place (`user.atomic().items.at(0).qty.incr(1)`),
    /// mirrored into the local copy.
    pub fn at(&self, index: i64) -> T::Path<OnDoc<'a>> {
        let local: Arc<dyn LocalCopy + 'a> = Arc::new(ListLocal {
            doc: self.doc.clone(),
            path: self.path.clone(),
            local: self.local.clone(),
            index,
            _t: Default::default(),
        });
        let mode = OnDoc {
            doc: self.doc.clone(),
            local: Some(local),
        };
        let loc = Loc::new(Some(self.doc.schema), &self.path, Container::List(index));
        element_path::<T, _>(loc, mode)
    }
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: MapKey + Clone + Send + Sync + 'a,
    V: Element + Nested + Clone + Send + 'a,
{
    /// The value under `key` as a path (read, write, `incr` in place), mirrored into the
    /// local copy.
    pub fn key(&self, key: K) -> V::Path<OnDoc<'a>> {
        let loc = Loc::new(
            Some(self.doc.schema),
            &self.path,
            Container::Map(key.encode_scalar()),
        );
        let local: Arc<dyn LocalCopy + 'a> = Arc::new(MapLocal {
            doc: self.doc.clone(),
            path: self.path.clone(),
            local: self.local.clone(),
            key,
            _v: Default::default(),
        });
        let mode = OnDoc {
            doc: self.doc.clone(),
            local: Some(local),
        };
        element_path::<V, _>(loc, mode)
    }
}

impl<'a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a> SetRef<'a, S, T> {
    /// Whether the set holds `item` (the same as [`contains`](Self::contains), named as
    /// on `Model::fields()` paths).
    pub fn has(&self, item: T) -> Pending<'a, bool> {
        self.contains(item)
    }
}
