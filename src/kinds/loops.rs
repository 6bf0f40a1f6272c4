//! Loops of conditional pipelines on the kinds' handles (`Pipeline::for_each` over a
//! list, set or map): the element the loop is at ([`Each`], for a map [`Entry`]), with
//! conditions on it and on its fields, its removal, its value for other ops, and writes
//! to its fields in place; and conditions on typed paths (`p.items.at(0).qty.gt(3)`).

use std::any::Any;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::list::ListRef;
use super::map::MapRef;
use super::nested::{At, Container, Loc, LoopKind, Nested, OnDoc, leaf};
use super::set::SetRef;
use crate::codec::{Element, MapKey, Scalar};
use crate::exec::{Computed, Cond, DocRef, PathSpec, Pending, Src, Target};
use crate::schema::Shape;

fn numeric<T: Scalar>() -> bool {
    matches!(T::shape(), Shape::Int { .. } | Shape::Float { .. })
}

/// The element a loop is at ([`Pipeline::for_each`](crate::Pipeline::for_each) over a
/// list, a set, or, as the value of an [`Entry`], a map): conditions on it
/// (`item.eq(..)`, and on a `#[derive(Element)]` struct's fields through deref:
/// `item.expired.eq(true)`), [`remove`](Self::remove), writes to its fields in place
/// (`item.qty.incr(1)`, lists and maps), and [`value`](Self::value) for other ops (move it
/// to another collection). What it compares and yields is the element as last seen in
/// this iteration: re-read when the iteration starts and after each op on it.
pub struct Each<T> {
    doc: Arc<DocRef>,
    path: String,
    kind: LoopKind,
    nested: OnceLock<Box<dyn Any + Send + Sync>>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Each<T> {
    fn clone(&self) -> Self {
        Self::new(self.doc.clone(), self.path.clone(), self.kind)
    }
}

impl<T> std::fmt::Debug for Each<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Each({}.{}[item])", self.doc.schema.name, self.path)
    }
}

impl<T> Each<T> {
    fn new(doc: Arc<DocRef>, path: String, kind: LoopKind) -> Self {
        Self {
            doc,
            path,
            kind,
            nested: OnceLock::new(),
            _t: PhantomData,
        }
    }

    /// The element's value, for other ops of the loop's body
    /// (`b.add(archive.items.push_value(&item.value()))`) and conditions.
    pub fn value(&self) -> Computed<T> {
        Computed::new(self.doc.clone(), Src::Elem)
    }

    /// The position of a list's element the loop is at, as it is now (the loop's
    /// removals before it shift it); absent for sets and maps.
    pub fn index(&self) -> Computed<u64> {
        Computed::new(self.doc.clone(), Src::LoopPos)
    }

    /// Removes this element: a list's at its position (not another equal one), a set's
    /// member, a map's entry. No result, nothing mirrored (it runs once per element).
    /// After it, the element's value is still the removed one (`item.value()` moves it
    /// elsewhere), and writes to it are refused.
    pub fn remove(&self) -> Pending<'static, ()> {
        let (code, src) = match self.kind {
            LoopKind::List => ("lrem_at", Src::LoopPos),
            LoopKind::Set => ("srem", Src::Elem),
            LoopKind::Map => ("hdel", Src::LoopKey),
        };
        let args = vec![b"-".to_vec(), Vec::new()];
        crate::exec::with_value(
            &self.doc,
            code,
            Target::Collection(self.path.clone()),
            args,
            1,
            &Computed::<T>::new(self.doc.clone(), src),
            |_| Ok(()),
        )
    }
}

macro_rules! elem_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, value: T) -> Cond {
            self.cond($op, vec![value.encode_scalar()])
        }
    )*};
}

impl<T: Scalar> Each<T> {
    fn cond(&self, op: &str, values: Vec<Vec<u8>>) -> Cond {
        let numeric = numeric::<T>();
        if numeric && values.iter().any(|v| v.as_slice() == b"NaN") {
            return Cond::invalid(&self.doc, "a condition cannot compare with NaN".into());
        }
        Cond::computed(&self.doc, &Src::Elem, numeric, op, values)
    }

    elem_cmp! {
        eq => "eq", "The element equals `value`.";
        ne => "ne", "The element differs from `value`.";
        gt => "gt", "The element is greater than `value`.";
        ge => "ge", "The element is at least `value`.";
        lt => "lt", "The element is less than `value`.";
        le => "le", "The element is at most `value`.";
    }

    /// The element is from `lo` to `hi` (inclusive).
    pub fn between(&self, lo: T, hi: T) -> Cond {
        self.cond("bw", vec![lo.encode_scalar(), hi.encode_scalar()])
    }

    /// The element is one of `values`.
    pub fn is_in(&self, values: impl IntoIterator<Item = T>) -> Cond {
        self.cond(
            "in",
            values.into_iter().map(|v| v.encode_scalar()).collect(),
        )
    }
}

impl Each<String> {
    /// The element starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> Cond {
        self.cond("sw", vec![prefix.as_bytes().to_vec()])
    }

    /// The element contains `part`.
    pub fn contains(&self, part: &str) -> Cond {
        self.cond("ct", vec![part.as_bytes().to_vec()])
    }
}

/// The element's typed path (`item.qty`, `item.tags.at(0)`): conditions on its fields,
/// and on a list's or map's element writes in place (`set`, `incr`, `push`, `remove`).
impl<T> Deref for Each<T>
where
    T: Element + Nested + 'static,
    T::Path<OnDoc<'static>>: Send + Sync + 'static,
{
    type Target = T::Path<OnDoc<'static>>;
    fn deref(&self) -> &Self::Target {
        let path = self.nested.get_or_init(|| {
            let loc = Loc::new(
                Some(self.doc.schema),
                &self.path,
                Container::Loop(self.kind),
            );
            let mode = OnDoc {
                doc: self.doc.clone(),
                local: None,
            };
            Box::new(T::nested(leaf(
                loc,
                mode,
                T::decode_element,
                T::encode_element,
            )))
        });
        match path.downcast_ref::<Self::Target>() {
            Some(p) => p,
            // the box holds what the closure above built, of exactly this type
            None => unreachable!("an element path of another type"),
        }
    }
}

/// The entry a loop over a map is at: its [`key`](Self::key), and (by deref) its value
/// as an [`Each`] (conditions, fields, `remove()` of the entry).
pub struct Entry<K, V> {
    key: Computed<K>,
    value: Each<V>,
}

impl<K, V> std::fmt::Debug for Entry<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({:?})", self.value)
    }
}

impl<K, V> Entry<K, V> {
    /// The entry's key (conditions: `e.key().starts_with("tmp:")`; as a value for other
    /// ops).
    pub fn key(&self) -> Computed<K> {
        self.key.clone()
    }
}

impl<K, V> Deref for Entry<K, V> {
    type Target = Each<V>;
    fn deref(&self) -> &Each<V> {
        &self.value
    }
}

impl<C, T: Element> crate::exec::LoopOver for ListRef<'_, C, T> {
    type Item = Each<T>;
    fn loop_target(&self) -> (Arc<DocRef>, String) {
        (self.doc.clone(), self.path.clone())
    }
    fn loop_item(&self) -> Each<T> {
        Each::new(self.doc.clone(), self.path.clone(), LoopKind::List)
    }
}

impl<S, T: Element> crate::exec::LoopOver for SetRef<'_, S, T> {
    type Item = Each<T>;
    fn loop_target(&self) -> (Arc<DocRef>, String) {
        (self.doc.clone(), self.path.clone())
    }
    fn loop_item(&self) -> Each<T> {
        Each::new(self.doc.clone(), self.path.clone(), LoopKind::Set)
    }
}

impl<M, K: MapKey, V: Element> crate::exec::LoopOver for MapRef<'_, M, K, V> {
    type Item = Entry<K, V>;
    fn loop_target(&self) -> (Arc<DocRef>, String) {
        (self.doc.clone(), self.path.clone())
    }
    fn loop_item(&self) -> Entry<K, V> {
        Entry {
            key: Computed::new(self.doc.clone(), Src::LoopKey),
            value: Each::new(self.doc.clone(), self.path.clone(), LoopKind::Map),
        }
    }
}

// ---- conditions on typed paths --------------------------------------------------------------

macro_rules! path_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, value: T) -> Cond {
            self.cond($op, &[value])
        }
    )*};
}

/// Conditions on the value at a path, evaluated by the server on what it stores when the
/// pipeline runs (`p.items.at(0).qty.gt(3)`, `item.price.le(10.0)` in a loop): numbers
/// as numbers (integers exactly, also beyond 2^53 inside msgpack), text and bytes
/// bytewise; an absent element, key or field satisfies only `ne`. A stored value of
/// another shape than the path's refuses the pipeline (`Rejected`, nothing applied).
impl<T: Scalar> At<T, OnDoc<'_>> {
    fn cond(&self, op: &str, values: &[T]) -> Cond {
        let doc = &self.mode.doc;
        let numeric = numeric::<T>();
        let mut encoded = Vec::with_capacity(values.len());
        for v in values {
            if numeric && v.encode_scalar() == b"NaN" {
                return Cond::invalid(doc, "a condition cannot compare with NaN".into());
            }
            match (self.encode)(v) {
                Ok(b) => encoded.push(b),
                Err(e) => return Cond::invalid(doc, format!("`{}`: {e}", self.loc.display)),
            }
        }
        self.cond_encoded(numeric, op, encoded)
    }

    path_cmp! {
        eq => "eq", "The value at the path equals `value`.";
        ne => "ne", "The value at the path differs from `value` (or is absent).";
        gt => "gt", "The value at the path is greater than `value`.";
        ge => "ge", "The value at the path is at least `value`.";
        lt => "lt", "The value at the path is less than `value`.";
        le => "le", "The value at the path is at most `value`.";
    }

    /// The value at the path is from `lo` to `hi` (inclusive).
    pub fn between(&self, lo: T, hi: T) -> Cond {
        self.cond("bw", &[lo, hi])
    }

    /// The value at the path is one of `values`.
    pub fn is_in(&self, values: impl IntoIterator<Item = T>) -> Cond {
        self.cond("in", &values.into_iter().collect::<Vec<_>>())
    }
}

impl<T> At<T, OnDoc<'_>> {
    /// The element, key or field the path addresses exists.
    pub fn exists(&self) -> Cond {
        self.cond_encoded(false, "ex", Vec::new())
    }

    fn cond_encoded(&self, numeric: bool, op: &str, values: Vec<Vec<u8>>) -> Cond {
        Cond::path(&self.mode.doc, &self.spec(), numeric, op, values)
    }

    /// Where a condition on this path reads.
    fn spec(&self) -> PathSpec {
        let loc = &self.loc;
        let container = match &loc.container {
            Container::Root | Container::Loop(_) => None,
            Container::List(i) => Some((true, i.to_string().into_bytes())),
            Container::Map(k) => Some((false, k.clone())),
        };
        PathSpec {
            loop_elem: matches!(loc.container, Container::Loop(_)),
            field: loc.field.clone(),
            container,
            steps: loc.steps.clone(),
        }
    }
}

macro_rules! path_path_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, other: &At<T, OnDoc<'_>>) -> Cond {
            let (doc, other_doc) = (&self.mode.doc, &other.mode.doc);
            Cond::paths(doc, &self.spec(), numeric::<T>(), $op, other_doc, &other.spec())
        }
    )*};
}

/// Conditions comparing the values at two paths of one type, of this document or another
/// one of the pipeline, or a loop's element (either absent satisfies only `ne_at`).
impl<T: Scalar> At<T, OnDoc<'_>> {
    path_path_cmp! {
        eq_at => "eq", "The value at the path equals the one at `other`.";
        ne_at => "ne", "The value at the path differs from the one at `other` (or either is absent).";
        gt_at => "gt", "The value at the path is greater than the one at `other`.";
        ge_at => "ge", "The value at the path is at least the one at `other`.";
        lt_at => "lt", "The value at the path is less than the one at `other`.";
        le_at => "le", "The value at the path is at most the one at `other`.";
    }
}

impl Computed<String> {
    /// The value starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> Cond {
        Cond::computed(
            &self.doc,
            &self.src,
            false,
            "sw",
            vec![prefix.as_bytes().to_vec()],
        )
    }

    /// The value contains `part`.
    pub fn contains(&self, part: &str) -> Cond {
        Cond::computed(
            &self.doc,
            &self.src,
            false,
            "ct",
            vec![part.as_bytes().to_vec()],
        )
    }
}
