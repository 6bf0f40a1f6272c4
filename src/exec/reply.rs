//! The reply protocol of `exec.lua`: reply values and the decoding of what the server
//! produced for a field (each kind reads its own mutators' replies).

use redis::Value;

use super::DocRef;
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
