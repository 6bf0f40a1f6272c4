//! Ops taking a value the server computes in the same program ([`Computed`]: an earlier
//! op's result, a loop's element) instead of a constant: pipeline context.

use super::list::{ListLike, ListRef};
use super::map::{MapLike, MapRef};
use super::scalar::ScalarRef;
use super::set::{SetLike, SetRef};
use crate::codec::{Element, MapKey, Scalar};
use crate::exec::{Computed, Pending, Target, bytes, decode_as, int, map_pending, mirror_apply};

impl<'a, C: ListLike<T> + 'a, T: Element + Clone + Send + 'a> ListRef<'a, C, T> {
    /// Appends `value` (computed on the server: `job.value()`, `item.value()`), in the same
    /// atomic step; skipped when the value is absent. A local copy gets the whole list
    /// from the reply.
    pub fn push_value(&self, value: &Computed<T>) -> Pending<'a, ()> {
        let mut p = self.rewrite("rpush", vec![Vec::new()]);
        value.bind(&mut p, 1);
        map_pending(p, |_| Ok(()))
    }

    /// Prepends `value` (computed on the server); skipped when it is absent.
    pub fn push_front_value(&self, value: &Computed<T>) -> Pending<'a, ()> {
        let mut p = self.rewrite("lpush", vec![Vec::new()]);
        value.bind(&mut p, 1);
        map_pending(p, |_| Ok(()))
    }
}

impl<'a, T: Scalar + Send + 'a> ScalarRef<'a, T> {
    /// Stores `value` (computed on the server: `n.value()`, `item.value()`), in the same
    /// atomic step; skipped when the value is absent. The local copy gets the stored value.
    pub fn set_value(&self, value: &Computed<T>) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        let mut p = Pending::new(
            &doc,
            "setv",
            Target::Root(path.clone()),
            vec![Vec::new()],
            move |v| {
                let v: T = decode_as(&d, &path, &bytes(v, "setv")?)?;
                mirror_apply(local, |local| *local = v);
                Ok(())
            },
        );
        value.bind(&mut p, 0);
        p
    }
}

impl<T> Computed<Option<T>> {
    /// The value inside an optional one (`pipe.add(p.scores.get(k)).value().some()`):
    /// absent when it is `None`, so ops taking it are skipped.
    pub fn some(&self) -> Computed<T> {
        Computed::new(self.doc.clone(), self.src.clone())
    }
}

/// A mutator taking a computed value: its local mirror is the whole collection as the
/// server holds it afterwards (client length -1 never matches, so the script sends it).
fn whole_reply<R>(mut p: Pending<'_, R>, local: bool) -> Pending<'_, R> {
    if local {
        p.op.args[0] = b"-1".to_vec();
    }
    p
}

impl<'a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a> SetRef<'a, S, T> {
    /// Adds `value` (computed on the server: `item.value()`, a pop's result); skipped when
    /// it is absent; whether it was new. A local copy gets the whole set from the reply.
    pub fn add_value(&self, value: &Computed<T>) -> Pending<'a, bool> {
        let p = self.mutate(
            "sadd",
            vec![Vec::new()],
            |_, _, v| Ok(int(v, "sadd")? > 0),
            |_, _| {},
        );
        let mut p = whole_reply(p, self.local.is_some());
        value.bind(&mut p, 1);
        p
    }
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: MapKey + Clone + Send + Sync + 'a,
    V: Element + Clone + Send + 'a,
{
    /// Sets entry `key` to `value` (computed on the server); skipped when it is absent. A
    /// local copy gets the whole map from the reply.
    pub fn insert_value(&self, key: K, value: &Computed<V>) -> Pending<'a, ()> {
        let p = self.mutate(
            "hset",
            vec![key.encode_scalar(), Vec::new()],
            |_, _, _| Ok(()),
            |_, _| {},
        );
        let mut p = whole_reply(p, self.local.is_some());
        value.bind(&mut p, 2);
        p
    }
}
