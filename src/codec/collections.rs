//! Encoding and decoding the members of stored lists, sets and maps.

use super::{Decoder, Element, Encoder, MapKey, show};
use crate::error::Result;
use crate::schema::FieldKind;

pub(crate) fn encode_items<'a, T: Element + 'a>(
    path: &str,
    enc: &Encoder,
    items: impl Iterator<Item = &'a T>,
) -> Result<Vec<Vec<u8>>> {
    items
        .enumerate()
        .map(|(i, v)| {
            v.encode_element()
                .map_err(|e| enc.error(&format!("{path}[{i}]"), e))
        })
        .collect()
}

pub(crate) fn decode_items<T: Element>(path: &str, dec: &mut Decoder) -> Result<Vec<T>> {
    let raw = dec.take_items(path)?;
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            T::decode_element(b).map_err(|reason| dec.error(path, format!("element {i}: {reason}")))
        })
        .collect()
}

/// The members that decode; each one that does not is described in `bad`.
pub(crate) fn salvage_items<T: Element>(
    path: &str,
    dec: &mut Decoder,
    bad: &mut Vec<String>,
) -> Vec<T> {
    let raw = dec.take_items(path).unwrap_or_else(|e| {
        bad.push(e.to_string());
        Vec::new()
    });
    let mut out = Vec::with_capacity(raw.len());
    for (i, b) in raw.iter().enumerate() {
        match T::decode_element(b) {
            Ok(v) => out.push(v),
            Err(reason) => bad.push(format!("element {i}: {reason}")),
        }
    }
    out
}

pub(crate) fn encode_map<'a, K: MapKey + 'a, V: Element + 'a>(
    path: &str,
    enc: &mut Encoder,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> Result<()> {
    let mut items = Vec::new();
    for (k, v) in entries {
        let key = k.encode_scalar();
        let value = v
            .encode_element()
            .map_err(|e| enc.error(&format!("{path}[{}]", String::from_utf8_lossy(&key)), e))?;
        items.push(key);
        items.push(value);
    }
    enc.collection(path, FieldKind::Map, items);
    Ok(())
}

pub(crate) fn decode_map<K: MapKey, V: Element>(
    path: &str,
    dec: &mut Decoder,
) -> Result<Vec<(K, V)>> {
    let raw = dec.take_items(path)?;
    if !raw.len().is_multiple_of(2) {
        return Err(dec.error(path, "map reply has an odd number of items"));
    }
    raw.chunks_exact(2)
        .map(|pair| {
            let k =
                K::decode_scalar(&pair[0]).map_err(|r| dec.error(path, format!("map key: {r}")))?;
            let v = V::decode_element(&pair[1])
                .map_err(|r| dec.error(path, format!("value of {}: {r}", show(&pair[0]))))?;
            Ok((k, v))
        })
        .collect()
}

/// The entries that decode; each one that does not is described in `bad`.
pub(crate) fn salvage_map<K: MapKey, V: Element>(
    path: &str,
    dec: &mut Decoder,
    bad: &mut Vec<String>,
) -> Vec<(K, V)> {
    let raw = dec.take_items(path).unwrap_or_else(|e| {
        bad.push(e.to_string());
        Vec::new()
    });
    if !raw.len().is_multiple_of(2) {
        bad.push("map reply has an odd number of items".into());
    }
    let mut out = Vec::with_capacity(raw.len() / 2);
    for pair in raw.chunks_exact(2) {
        match (K::decode_scalar(&pair[0]), V::decode_element(&pair[1])) {
            (Ok(k), Ok(v)) => out.push((k, v)),
            (Err(r), _) => bad.push(format!("map key {}: {r}", show(&pair[0]))),
            (_, Err(r)) => bad.push(format!("value of {}: {r}", show(&pair[0]))),
        }
    }
    out
}
