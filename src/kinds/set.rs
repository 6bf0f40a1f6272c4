//! Sets (`HashSet`, `BTreeSet`): their atomic handle (`SetRef`) and its operations.

use std::sync::Arc;

use redis::Value;

use crate::codec::Element;
use crate::error::{Error, Result};
use crate::exec::mirror_apply;
use crate::exec::{DocRef, Mirror, Pending, Target, bytes, decode_elem, decode_elems, int, mirror};
use crate::kinds::collection::coll_mutate;
use crate::schema::FieldKind;
use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hash};

/// A set container whose local copy can be mirrored.
pub trait SetLike<T>: Send {
    #[doc(hidden)]
    fn set_len(&self) -> usize;
    #[doc(hidden)]
    fn set_insert(&mut self, v: T);
    #[doc(hidden)]
    fn set_remove(&mut self, v: &T);
    #[doc(hidden)]
    fn set_replace(&mut self, items: Vec<T>);
}

impl<T: std::hash::Hash + Eq + Send, S: std::hash::BuildHasher + Default + Send> SetLike<T>
    for std::collections::HashSet<T, S>
{
    fn set_len(&self) -> usize {
        self.len()
    }
    fn set_insert(&mut self, v: T) {
        self.insert(v);
    }
    fn set_remove(&mut self, v: &T) {
        self.remove(v);
    }
    fn set_replace(&mut self, items: Vec<T>) {
        *self = items.into_iter().collect();
    }
}

impl<T: Ord + Send> SetLike<T> for std::collections::BTreeSet<T> {
    fn set_len(&self) -> usize {
        self.len()
    }
    fn set_insert(&mut self, v: T) {
        self.insert(v);
    }
    fn set_remove(&mut self, v: &T) {
        self.remove(v);
    }
    fn set_replace(&mut self, items: Vec<T>) {
        *self = items.into_iter().collect();
    }
}

/// Handle on a set field (`HashSet`, `BTreeSet`).
pub struct SetRef<'a, S, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, S>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

#[allow(clippy::should_implement_trait)]
impl<'a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a> SetRef<'a, S, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut S>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _t: std::marker::PhantomData,
        }
    }

    fn target(&self) -> Target {
        Target::Collection(self.path.clone())
    }

    fn encode(&self, v: &T) -> Result<Vec<u8>> {
        v.encode_element().map_err(|reason| Error::Encode {
            model: self.doc.schema.name,
            field: self.path.clone(),
            reason,
        })
    }

    pub(crate) fn mutate<R: Send + 'a>(
        &self,
        code: &'static str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
        apply: impl FnOnce(&mut S, &R) + Send + 'a,
    ) -> Pending<'a, R> {
        let client = self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().set_len().to_string().into_bytes(),
        );
        let replace = |d: &DocRef, p: &str, whole: &[Vec<u8>], set: &mut S| {
            set.set_replace(
                whole
                    .iter()
                    .map(|b| decode_elem(d, p, b))
                    .collect::<Result<_>>()?,
            );
            Ok(())
        };
        coll_mutate(
            &self.doc,
            &self.path,
            self.local.clone(),
            client,
            code,
            args,
            finish,
            apply,
            replace,
        )
    }

    /// Adds `item`; returns whether it was new.
    pub fn add(&self, item: T) -> Pending<'a, bool> {
        match self.encode(&item) {
            Ok(b) => self.mutate(
                "sadd",
                vec![b],
                |_, _, v| Ok(int(v, "sadd")? > 0),
                move |s, _| s.set_insert(item),
            ),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes `item`; returns whether it was there.
    pub fn remove(&self, item: T) -> Pending<'a, bool> {
        match self.encode(&item) {
            Ok(b) => self.mutate(
                "srem",
                vec![b],
                |_, _, v| Ok(int(v, "srem")? > 0),
                move |s, _| s.set_remove(&item),
            ),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes and returns an arbitrary member ([`Error::Rejected`] on an empty set).
    pub fn pop(&self) -> Pending<'a, T> {
        self.mutate(
            "spop",
            vec![],
            |d, p, v| decode_elem(d, p, &bytes(v, "spop")?),
            |s, v| s.set_remove(v),
        )
        .yields(2, None)
    }

    /// Whether `item` is a member.
    pub fn contains(&self, item: T) -> Pending<'a, bool> {
        let doc = self.doc.clone();
        match self.encode(&item) {
            Ok(b) => Pending::new(&doc, "sismember", self.target(), vec![b], |v| {
                Ok(int(v, "sismember")? == 1)
            }),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&doc, t, e)
            }
        }
    }

    /// Number of members.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "scard", self.target(), vec![], |v| {
            Ok(int(v, "scard")?.max(0) as usize)
        })
        .yields(0, None)
    }

    /// Every member (and refreshes the local copy).
    pub fn members(&self) -> Pending<'a, Vec<T>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "smembers",
            Target::Collection(path.clone()),
            vec![],
            move |v| {
                let items: Vec<T> = decode_elems(&d, &path, v, "smembers")?;
                mirror_apply(local, |local| {
                    local.set_replace(items.clone());
                });
                Ok(items)
            },
        )
    }

    /// Removes every member (the set key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.set_replace(Vec::new());
            });
            Ok(())
        })
    }
}

// ---- the Field impls of sets ----------------------------------------------------------------

crate::kinds::collection::member_field!(FieldKind::Set, SetRef, [T: Element + Eq + Hash, S: BuildHasher + Default], HashSet<T, S>, T, set_relations);
crate::kinds::collection::member_field!(FieldKind::Set, SetRef, [T: Element + Ord], BTreeSet<T>, T, set_relations);
