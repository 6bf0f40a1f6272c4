//! The reply protocol of `exec.lua`: values, list and collection mutator replies, and
//! the decoding of what the server produced for a field.

use std::sync::Arc;

use redis::Value;

use super::{DocRef, Mirror, Pending, Target};
use crate::codec::{Element, Scalar, show};
use crate::error::{Error, Result, unexpected};

pub(crate) fn bytes(v: Value, what: &str) -> Result<Vec<u8>> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        Value::Int(n) => Ok(n.to_string().into_bytes()),
        other => Err(unexpected(what, &other)),
    }
}

pub(crate) fn int(v: Value, what: &str) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(what, &other)),
    }
}

/// Decodes a value the server produced for field `path` of `doc`.
pub(crate) fn decode_as<T: Scalar>(doc: &DocRef, path: &str, raw: &[u8]) -> Result<T> {
    T::decode_scalar(raw).map_err(|reason| Error::Decode {
        model: doc.schema.name,
        key: format!("{} `{}`", doc.schema.name, doc.id),
        field: path.to_owned(),
        reason,
    })
}

/// Decodes a multi-bulk reply of elements (a list range, set members).
pub(crate) fn decode_elems<T: Element>(
    doc: &DocRef,
    path: &str,
    v: Value,
    what: &str,
) -> Result<Vec<T>> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .map(|v| decode_elem(doc, path, &bytes(v, what)?))
            .collect(),
        other => Err(unexpected(what, &other)),
    }
}

pub(crate) fn decode_elem<T: Element>(doc: &DocRef, path: &str, raw: &[u8]) -> Result<T> {
    T::decode_element(raw).map_err(|reason| Error::Decode {
        model: doc.schema.name,
        key: format!("{} `{}`", doc.schema.name, doc.id),
        field: path.to_owned(),
        reason: format!("element {}: {reason}", show(raw)),
    })
}

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
