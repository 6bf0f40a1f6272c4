//! Lists (`Vec`, `VecDeque`): their atomic handle (`ListRef`) and its operations.

use std::sync::Arc;

use redis::Value;

use crate::codec::Element;
use crate::error::{Error, Result, unexpected};
use crate::exec::{DocRef, Mirror, Pending, Target, bytes, decode_elem, decode_elems, int, mirror};
use crate::exec::{map_pending, mirror_apply};
use crate::schema::FieldKind;
use std::collections::VecDeque;

// ---- lists ---------------------------------------------------------------------------------

/// A list-like container (`Vec<T>`, `VecDeque<T>`) whose local copy can be mirrored.
pub trait ListLike<T>: Send {
    #[doc(hidden)]
    fn list_len(&self) -> usize;
    #[doc(hidden)]
    fn list_push_back(&mut self, items: Vec<T>);
    #[doc(hidden)]
    fn list_push_front(&mut self, items: Vec<T>);
    #[doc(hidden)]
    fn list_pop_back(&mut self);
    #[doc(hidden)]
    fn list_pop_front(&mut self);
    #[doc(hidden)]
    fn list_replace(&mut self, items: Vec<T>);
    #[doc(hidden)]
    fn list_set(&mut self, index: usize, item: T);
}

impl<T: Send> ListLike<T> for Vec<T> {
    fn list_len(&self) -> usize {
        self.len()
    }
    fn list_push_back(&mut self, items: Vec<T>) {
        self.extend(items);
    }
    fn list_push_front(&mut self, items: Vec<T>) {
        self.splice(0..0, items);
    }
    fn list_pop_back(&mut self) {
        self.pop();
    }
    fn list_pop_front(&mut self) {
        if !self.is_empty() {
            self.remove(0);
        }
    }
    fn list_replace(&mut self, items: Vec<T>) {
        *self = items;
    }
    fn list_set(&mut self, index: usize, item: T) {
        if let Some(slot) = self.get_mut(index) {
            *slot = item;
        }
    }
}

impl<T: Send> ListLike<T> for VecDeque<T> {
    fn list_len(&self) -> usize {
        self.len()
    }
    fn list_push_back(&mut self, items: Vec<T>) {
        self.extend(items);
    }
    fn list_push_front(&mut self, items: Vec<T>) {
        for item in items.into_iter().rev() {
            self.push_front(item);
        }
    }
    fn list_pop_back(&mut self) {
        self.pop_back();
    }
    fn list_pop_front(&mut self) {
        self.pop_front();
    }
    fn list_replace(&mut self, items: Vec<T>) {
        *self = items.into();
    }
    fn list_set(&mut self, index: usize, item: T) {
        if let Some(slot) = self.get_mut(index) {
            *slot = item;
        }
    }
}

/// Handle on a list field (`Vec<T>`, `VecDeque<T>`).
pub struct ListRef<'a, C, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, C>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

impl<'a, C: ListLike<T> + 'a, T: Element + Clone + Send + 'a> ListRef<'a, C, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut C>, doc: &Arc<DocRef>, path: String) -> Self {
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

    fn client_len(&self) -> Vec<u8> {
        // "-": a remote handle has no local copy to keep in step
        self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().list_len().to_string().into_bytes(),
        )
    }

    fn encode(&self, items: &[T]) -> Result<Vec<Vec<u8>>> {
        items
            .iter()
            .map(|v| {
                v.encode_element().map_err(|reason| Error::Encode {
                    model: self.doc.schema.name,
                    field: self.path.clone(),
                    reason,
                })
            })
            .collect()
    }

    /// Mirrors a mutator's reply into the local copy.
    fn mirror(
        doc: &DocRef,
        path: &str,
        local: Mirror<'_, C>,
        reply: &ListReply,
        apply: impl FnOnce(&mut C),
    ) -> Result<()> {
        if let Some(local) = local {
            let mut guard = local.lock();
            let local: &mut _ = &mut **guard;
            match &reply.whole {
                Some(all) => {
                    let items = all
                        .iter()
                        .map(|b| decode_elem(doc, path, b))
                        .collect::<Result<Vec<T>>>()?;
                    local.list_replace(items);
                }
                None => apply(local),
            }
        }
        Ok(())
    }

    fn push_op(&self, code: &'static str, items: Vec<T>) -> Pending<'a, usize> {
        let mut args = vec![self.client_len()];
        match self.encode(&items) {
            Ok(encoded) => args.extend(encoded),
            Err(e) => {
                let target = self.target();
                return Pending::rejected(&self.doc, target, e);
            }
        }
        if items.is_empty() {
            let target = self.target();
            return Pending::rejected(
                &self.doc,
                target,
                Error::InvalidInput(format!("{}: nothing to push", self.path)),
            );
        }
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            args,
            move |v| {
                let reply = list_reply(v)?;
                Self::mirror(&d, &path, local, &reply, |l| {
                    if code == "rpush" {
                        l.list_push_back(items)
                    } else {
                        l.list_push_front(items)
                    }
                })?;
                Ok(reply.len)
            },
        )
        .yields(1, None)
    }

    /// Appends `item`; returns the new length.
    pub fn push(&self, item: T) -> Pending<'a, usize> {
        self.push_op("rpush", vec![item])
    }

    /// Appends every item, in order; returns the new length.
    pub fn extend(&self, items: impl IntoIterator<Item = T>) -> Pending<'a, usize> {
        self.push_op("rpush", items.into_iter().collect())
    }

    /// Prepends `item`; returns the new length.
    pub fn push_front(&self, item: T) -> Pending<'a, usize> {
        self.push_op("lpush", vec![item])
    }

    fn pop_op(&self, code: &'static str) -> Pending<'a, T> {
        let args = vec![self.client_len()];
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            args,
            move |v| {
                let reply = list_reply(v)?;
                let raw = reply
                    .popped
                    .clone()
                    .ok_or_else(|| unexpected(code, &Value::Nil))?;
                let item: T = decode_elem(&d, &path, &raw)?;
                Self::mirror(&d, &path, local, &reply, |l| {
                    if code == "rpop" {
                        l.list_pop_back()
                    } else {
                        l.list_pop_front()
                    }
                })?;
                Ok(item)
            },
        )
        .yields(2, None)
    }

    /// Removes and returns the last item ([`Error::Rejected`] on an empty list).
    pub fn pop(&self) -> Pending<'a, T> {
        self.pop_op("rpop")
    }

    /// Removes and returns the first item ([`Error::Rejected`] on an empty list).
    pub fn pop_front(&self) -> Pending<'a, T> {
        self.pop_op("lpop")
    }

    /// A mutator whose local mirror is the whole list as the server holds it afterwards
    /// (client length -1 never matches, so the script always sends it; a remote handle
    /// sends "-" and gets no list).
    pub(crate) fn rewrite(&self, code: &'static str, args: Vec<Vec<u8>>) -> Pending<'a, i64> {
        let mut all = vec![if self.local.is_some() {
            b"-1".to_vec()
        } else {
            b"-".to_vec()
        }];
        all.extend(args);
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            all,
            move |v| {
                let reply = list_reply(v)?;
                let extra = reply
                    .popped
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).parse::<i64>().unwrap_or(0))
                    .unwrap_or(0);
                Self::mirror(&d, &path, local, &reply, |_| {})?;
                Ok(extra)
            },
        )
    }

    /// Inserts `item` before position `index` (negative counts from the end; past the
    /// end appends), like `Vec::insert` without the panic.
    pub fn insert(&self, index: isize, item: T) -> Pending<'a, ()> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("linsert", vec![index.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |_| Ok(()))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes occurrences of `item`: `count > 0` the first `count` from the head,
    /// `count < 0` from the tail, `0` all. Returns how many were removed.
    pub fn remove(&self, item: T, count: i64) -> Pending<'a, usize> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("lrem", vec![count.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |n| Ok(n.max(0) as usize))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Replaces the item at `index` (negative counts from the end); [`Error::Rejected`]
    /// when out of range.
    pub fn set(&self, index: isize, item: T) -> Pending<'a, ()> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("lset", vec![index.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |_| Ok(()))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Keeps only positions `start..=stop` (Redis `LTRIM` semantics, negative from the end).
    pub fn trim(&self, start: isize, stop: isize) -> Pending<'a, ()> {
        let p = self.rewrite(
            "ltrim",
            vec![
                start.to_string().into_bytes(),
                stop.to_string().into_bytes(),
            ],
        );
        map_pending(p, |_| Ok(()))
    }

    /// The item at `index` (negative counts from the end), `None` when out of range.
    pub fn get(&self, index: isize) -> Pending<'a, Option<T>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(
            &doc,
            "lindex",
            self.target(),
            vec![index.to_string().into_bytes()],
            move |v| match v {
                Value::Nil => Ok(None),
                v => decode_elem(&d, &path, &bytes(v, "lindex")?).map(Some),
            },
        )
    }

    /// Items at positions `start..=stop` (Redis `LRANGE` semantics, negative from the end).
    pub fn range(&self, start: isize, stop: isize) -> Pending<'a, Vec<T>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        let args = vec![
            start.to_string().into_bytes(),
            stop.to_string().into_bytes(),
        ];
        Pending::new(&doc, "lrange", self.target(), args, move |v| {
            decode_elems(&d, &path, v, "lrange")
        })
    }

    /// Number of stored items.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "llen", self.target(), vec![], |v| {
            Ok(int(v, "llen")?.max(0) as usize)
        })
        .yields(0, None)
    }

    /// Every stored item (and refreshes the local copy).
    pub fn get_all(&self) -> Pending<'a, Vec<T>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "lrange",
            Target::Collection(path.clone()),
            vec![b"0".to_vec(), b"-1".to_vec()],
            move |v| {
                let items: Vec<T> = decode_elems(&d, &path, v, "lrange")?;
                mirror_apply(local, |local| {
                    local.list_replace(items.clone());
                });
                Ok(items)
            },
        )
    }

    /// Removes every item (the list key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.list_replace(Vec::new());
            });
            Ok(())
        })
    }
}

// ---- the Field impls of lists ---------------------------------------------------------------

crate::kinds::collection::member_field!(FieldKind::List, ListRef, [T: Element], Vec<T>, T, relations);
crate::kinds::collection::member_field!(FieldKind::List, ListRef, [T: Element], VecDeque<T>, T, relations);

// ---- the reply of list mutators -------------------------------------------------------------

/// Reads a list mutator's reply `{new_len, popped_or_nil, [whole list when stale]}`.
pub(crate) struct ListReply {
    pub(crate) len: usize,
    pub(crate) popped: Option<Vec<u8>>,
    pub(crate) whole: Option<Vec<Vec<u8>>>,
}

pub(crate) fn list_reply(v: Value) -> Result<ListReply> {
    let mut items = match v {
        Value::Array(items) => items.into_iter(),
        other => return Err(unexpected("list operation", &other)),
    };
    let len = int(items.next().unwrap_or(Value::Nil), "list length")?.max(0) as usize;
    let popped = match items.next() {
        None | Some(Value::Nil) => None,
        Some(v) => Some(bytes(v, "popped element")?),
    };
    let whole = match items.next() {
        Some(Value::Array(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "list"))
                .collect::<Result<_>>()?,
        ),
        None | Some(Value::Nil) => None,
        Some(other) => return Err(unexpected("list operation", &other)),
    };
    Ok(ListReply { len, popped, whole })
}

// ---- maps and sets -------------------------------------------------------------------------
