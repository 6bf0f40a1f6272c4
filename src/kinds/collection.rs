//! What the collection kinds share: the `Field` impl of lists and sets (their members
//! stored one per item), and for maps and sets the reply of their mutators and the
//! mirror of the local copy.

use std::sync::Arc;

use redis::Value;

use crate::error::{Result, unexpected};
use crate::exec::{DocRef, Mirror, Pending, Target, bytes};

/// Reads a map/set mutator's reply `{new_len, extra_or_nil, [whole content when stale]}`.
pub(crate) struct CollReply {
    pub(crate) extra: Value,
    pub(crate) whole: Option<Vec<Vec<u8>>>,
}

pub(crate) fn coll_reply(v: Value) -> Result<CollReply> {
    let mut items = match v {
        Value::Array(items) => items.into_iter(),
        other => return Err(unexpected("collection operation", &other)),
    };
    let _len = items.next();
    let extra = items.next().unwrap_or(Value::Nil);
    let whole = match items.next() {
        Some(Value::Array(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        Some(Value::Map(all)) => Some(
            all.into_iter()
                .flat_map(|(k, v)| [k, v])
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        Some(Value::Set(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        None | Some(Value::Nil) => None,
        Some(other) => return Err(unexpected("collection operation", &other)),
    };
    Ok(CollReply { extra, whole })
}

/// A map or set mutator: sends `client_len` and `args`, reads the reply with `finish`,
/// and mirrors into the local copy: `replace` from the whole content when the copy was
/// stale, else `apply`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn coll_mutate<'a, C: Send + 'a, R: Send + 'a>(
    doc: &Arc<DocRef>,
    path: &str,
    local: Mirror<'a, C>,
    client_len: Vec<u8>,
    code: &'static str,
    args: Vec<Vec<u8>>,
    finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
    apply: impl FnOnce(&mut C, &R) + Send + 'a,
    replace: impl FnOnce(&DocRef, &str, &[Vec<u8>], &mut C) -> Result<()> + Send + 'a,
) -> Pending<'a, R> {
    let mut all = vec![client_len];
    all.extend(args);
    let (d, p) = (doc.clone(), path.to_owned());
    Pending::new(
        doc,
        code,
        Target::Collection(path.to_owned()),
        all,
        move |v| {
            let reply = coll_reply(v)?;
            let out = finish(&d, &p, reply.extra)?;
            if let Some(local) = local {
                let mut guard = local.lock();
                match &reply.whole {
                    Some(whole) => replace(&d, &p, whole, &mut guard)?,
                    None => apply(&mut guard, &out),
                }
            }
            Ok(out)
        },
    )
}

/// `Field` for a collection stored as one member per item (lists and sets): `$kind` the
/// stored kind, `$handle` the atomic handle, `[$gen]` the impl's generics, `$ty` the
/// collection type, `$elem` its item type.
macro_rules! member_field {
    ($kind:expr, $handle:ident, [$($gen:tt)*], $ty:ty, $elem:ty, set_relations) => {
        // a set cannot hand out its members mutably: one holding foreign keys is taken
        // apart and rebuilt (members compare by id, which a loaded target leaves as is)
        $crate::kinds::collection::member_field!(@impl $kind, $handle, [$($gen)*], $ty, $elem, |this, path, out| {
            if <$elem as $crate::codec::Element>::__target().is_some() {
                let mut items: Vec<$elem> = std::mem::take(this).into_iter().collect();
                $crate::kinds::collection::list_relations(items.iter_mut(), path, out);
                this.extend(items);
            }
        });
    };
    ($kind:expr, $handle:ident, [$($gen:tt)*], $ty:ty, $elem:ty, relations) => {
        $crate::kinds::collection::member_field!(@impl $kind, $handle, [$($gen)*], $ty, $elem, |this, path, out| {
            $crate::kinds::collection::list_relations(this.iter_mut(), path, out)
        });
    };
    (@impl $kind:expr, $handle:ident, [$($gen:tt)*], $ty:ty, $elem:ty, |$this:ident, $p:ident, $out:ident| $rel:block) => {
        impl<$($gen)*> $crate::field::Field for $ty {
            type Path = $crate::codec::FieldPath<$ty>;
            type Atomic<'a> = $handle<'a, $ty, $elem> where Self: 'a;
            fn atomic<'a>(
                local: Option<&'a mut Self>,
                doc: &std::sync::Arc<$crate::exec::DocRef>,
                path: String,
            ) -> Self::Atomic<'a> {
                $handle {
                    doc: doc.clone(),
                    path,
                    local: $crate::exec::mirror(local),
                    _t: std::marker::PhantomData,
                }
            }
            fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
                $crate::codec::FieldPath::in_model(path, model)
            }
            fn describe(path: &str, out: &mut Vec<$crate::schema::FieldSchema>) {
                let elem = Box::new(<$elem as $crate::codec::Element>::shape());
                let shape = if $kind == $crate::schema::FieldKind::Set {
                    $crate::schema::Shape::Set(elem)
                } else {
                    $crate::schema::Shape::Seq(elem)
                };
                let field = $crate::schema::FieldSchema::new(path, $kind).with_shape(shape);
                out.push($crate::schema::mark_relation(field, <$elem as $crate::codec::Element>::__target(), true));
            }
            fn __relations(&mut self, path: &str, out: &mut $crate::links::Visit<'_>) {
                let ($this, $p, $out) = (self, path, out);
                $rel
            }
            fn encode(&self, path: &str, enc: &mut $crate::codec::Encoder) -> $crate::error::Result<()> {
                let items = $crate::codec::encode_items(path, enc, self.iter())?;
                enc.collection(path, $kind, items);
                Ok(())
            }
            fn decode(path: &str, dec: &mut $crate::codec::Decoder) -> $crate::error::Result<Self> {
                Ok($crate::codec::decode_items::<$elem>(path, dec)?.into_iter().collect())
            }
            fn decode_salvage(
                path: &str,
                dec: &mut $crate::codec::Decoder,
                bad: &mut Vec<String>,
            ) -> $crate::error::Result<Self> {
                Ok($crate::codec::salvage_items::<$elem>(path, dec, bad).into_iter().collect())
            }
        }
    };
}
pub(crate) use member_field;

/// Hands the foreign keys among `items` to `out` (lists of `ForeignKey`).
pub(crate) fn list_relations<'i, T: crate::codec::Element + 'i>(
    items: impl Iterator<Item = &'i mut T>,
    path: &str,
    out: &mut crate::links::Visit<'_>,
) {
    for r in items.filter_map(crate::codec::Element::__relation) {
        out(path, r);
    }
}
