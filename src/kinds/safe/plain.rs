//! `#[rapyer(safe)]` on plain fields: derive support, recording into a `LoadState`.

use super::*;
use crate::codec::{Decoder, Encoder, RawParts};
use crate::error::Result;
use crate::field::{Field, FieldFailure};
use crate::kinds::blob::{decode_blob, describe_blob, encode_blob};
use crate::schema::{FieldKind, FieldSchema};

// ---- #[rapyer(safe)] on plain fields ---------------------------------------------------------

pub(crate) type EncodedParts = (
    Vec<(String, Vec<u8>)>,
    Vec<(String, FieldKind, Vec<Vec<u8>>)>,
);

pub(crate) fn encode_parts<T>(
    value: &T,
    path: &str,
    scratch: &mut Encoder,
    encode: fn(&T, &str, &mut Encoder) -> Result<()>,
) -> Option<EncodedParts> {
    encode(value, path, scratch).ok()?;
    Some((
        std::mem::take(&mut scratch.root),
        std::mem::take(&mut scratch.collections),
    ))
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    failure: FieldFailure,
    raw: RawParts,
    /// The encoding of the value the load put in the field (its fallback): while the
    /// field still encodes to this, it has not been assigned.
    loaded: Option<EncodedParts>,
    released: bool,
}

/// The load record of a model's plain `#[rapyer(safe)]` fields (and every field under
/// `#[rapyer(safe_all)]`): declare one field `#[rapyer(state)] load: rapyer::LoadState`
/// on the model. It is not stored.
///
/// A plain safe field counts as assigned once its value differs from the fallback the
/// load gave it; to write a value equal to the fallback over the quarantined bytes,
/// [`LoadState::release`] the field (or call [`crate::Model::accept_fallbacks`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadState {
    slots: Vec<Slot>,
}

impl LoadState {
    /// Lets the next save write field `path`'s current value over its quarantined bytes.
    /// Returns whether the field was quarantined.
    pub fn release(&mut self, path: &str) -> bool {
        let mut found = false;
        for s in self.slots.iter_mut().filter(|s| s.failure.field == path) {
            found |= !s.released;
            s.released = true;
        }
        found
    }

    /// Releases every field.
    pub fn release_all(&mut self) {
        for s in &mut self.slots {
            s.released = true;
        }
    }

    /// The recorded failures of fields that are still quarantined.
    pub fn failures(&self) -> impl Iterator<Item = &FieldFailure> {
        self.slots
            .iter()
            .filter(|s| !s.released)
            .map(|s| &s.failure)
    }

    fn quarantined(&self, path: &str) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| !s.released && s.failure.field == path)
    }
}

/// Whether plain safe field `value` at `path` is still quarantined (not assigned since
/// the load, not released).
pub(crate) fn still_quarantined<'s, T>(
    value: &T,
    path: &str,
    state: &'s LoadState,
    scratch: &mut Encoder,
    encode: fn(&T, &str, &mut Encoder) -> Result<()>,
) -> Option<&'s Slot> {
    let slot = state.quarantined(path)?;
    match (&slot.loaded, encode_parts(value, path, scratch, encode)) {
        (Some(loaded), Some(now)) if *loaded != now => None,
        _ => Some(slot),
    }
}

/// A field type's codec as function pointers: layout, strict decode, salvaging decode,
/// encode (derive support: [`field_fns`], [`blob_fns`]).
#[doc(hidden)]
pub type Fns<T> = (
    fn(&str, &mut Vec<FieldSchema>),
    fn(&str, &mut Decoder) -> Result<T>,
    fn(&str, &mut Decoder, &mut Vec<String>) -> Result<T>,
    fn(&T, &str, &mut Encoder) -> Result<()>,
);

/// Derive support: the codec of a `Field` type.
#[doc(hidden)]
pub fn field_fns<T: Field>() -> Fns<T> {
    (T::describe, T::decode, T::decode_salvage, T::encode)
}

/// Derive support: the codec of a `#[rapyer(blob)]` type.
#[doc(hidden)]
pub fn blob_fns<T: serde::Serialize + serde::de::DeserializeOwned>() -> Fns<T> {
    (
        describe_blob,
        decode_blob::<T>,
        blob_salvage::<T>,
        encode_blob::<T>,
    )
}

/// Derive support: loads a plain `#[rapyer(safe)]` field.
#[doc(hidden)]
pub fn load_plain<T>(
    path: &str,
    dec: &mut Decoder,
    state: &mut LoadState,
    fns: Fns<T>,
    fallback: fn() -> T,
) -> Result<T> {
    let codec = Codec {
        describe: fns.0,
        decode: fns.1,
        salvage: fns.2,
    };
    let (value, failed) = salvage(path, dec, codec, fallback);
    if let Some((failure, raw)) = failed {
        let mut scratch = Encoder::new(dec.model());
        let loaded = encode_parts(&value, path, &mut scratch, fns.3);
        state.slots.push(Slot {
            failure,
            raw,
            loaded,
            released: false,
        });
    }
    Ok(value)
}

/// Derive support: encodes a plain `#[rapyer(safe)]` field (its stored bytes while it is
/// quarantined).
#[doc(hidden)]
pub fn encode_plain<T>(
    value: &T,
    path: &str,
    enc: &mut Encoder,
    state: &LoadState,
    fns: Fns<T>,
) -> Result<()> {
    let mut scratch = enc.scratch();
    match still_quarantined(value, path, state, &mut scratch, fns.3) {
        Some(slot) => {
            slot.raw.emit(enc);
            Ok(())
        }
        None => (fns.3)(value, path, enc),
    }
}

/// Derive support: the failure of a plain `#[rapyer(safe)]` field, while quarantined.
#[doc(hidden)]
pub fn plain_failures<T>(
    value: &T,
    path: &str,
    state: &LoadState,
    fns: Fns<T>,
    out: &mut Vec<FieldFailure>,
) {
    let mut scratch = Encoder::new("");
    if let Some(slot) = still_quarantined(value, path, state, &mut scratch, fns.3) {
        out.push(slot.failure.clone());
    }
}
