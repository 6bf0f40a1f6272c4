//! Standalone structures, opened by name in the current environment
//! (`PriorityQueue::<Task, i64>::named("jobs")`), their type tags, and the registry of
//! structure kinds (`rapyer::kinds()`, `rapyer::register_kind`).
//!
//! A named structure is a document of one internal model, `rapyer.named`, whose id is
//! the name: its root hash holds the type tag (`kind`), its one field `value` is the
//! structure's key, and the id index lists the names. Every operation of the structure's
//! atomic handle runs through the executor as for a field, with two differences the plan
//! asks for (`exec.lua`): a write creates the root (tag and id index entry) when the name
//! is new, and any operation on an existing name first compares its tag, refusing a
//! structure opened as another kind ([`Error::WrongKind`]) before anything is changed; a
//! read of a name never written reads the absent key (an empty structure).

use std::sync::Arc;

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use super::structure::{Storage, Structure, StructureRef};
use crate::exec::DocRef;
use crate::schema::{FieldKind, FieldSchema, ModelSchema, OnError, TtlRefresh};

/// The internal model of named structures (model name `rapyer.named`, 16 shards so that
/// names spread over 16 Cluster slots).
pub(crate) static NAMED: Lazy<ModelSchema> = Lazy::new(|| ModelSchema {
    name: NAMED_MODEL,
    shards: 16,
    env: None,
    colocate: None,
    key_field: "name",
    ttl_ms: None,
    ttl_refresh: TtlRefresh::default(),
    ttl_refresh_interval_ms: 0,
    ttl_grace_ms: 0,
    fields: vec![FieldSchema::new(VALUE_FIELD, FieldKind::StringKey)],
    on_error: OnError::default(),
    inverses: Vec::new(),
});

/// The model name of named structures in keys (`{rapyer.named:<shard>}:…`): a `.`
/// cannot occur in a Rust struct name, so no model of yours shares it.
pub const NAMED_MODEL: &str = "rapyer.named";
/// The root hash field holding a named structure's type tag.
pub(crate) const KIND_FIELD: &str = "kind";
/// The field path of a named structure's key.
pub(crate) const VALUE_FIELD: &str = "value";

/// Standalone structures: every [`Structure`] kind, opened by name in the current
/// environment (resolved when an operation runs), with the atomic handle a field of
/// that kind has: `Tally::named("visits").add(1)`. The built-in kinds also have it as
/// an inherent function (`PriorityQueue::<Task, i64>::named("jobs")`, no import needed).
///
/// A write that leaves the structure's key in place creates the name (tagged with
/// [`Structure::tag`], in the same atomic step); opening a name created as another
/// kind is [`crate::Error::WrongKind`] at the first operation, with nothing changed; a
/// name never written reads as empty. Names are 1 to 1,024 bytes; list them with
/// `rapyer::structures()` (`sync_structures`), delete with `delete_structure`.
pub trait Named: Structure + 'static {
    /// The structure of this kind named `name`.
    fn named(name: impl Into<String>) -> Self::Atomic<'static> {
        let doc = Arc::new(DocRef::named(&NAMED, name.into(), Self::tag()));
        Self::atomic(StructureRef::detached(doc, VALUE_FIELD.to_owned()))
    }
}

impl<S: Structure + 'static> Named for S {}

/// A kind of structure: its name (the part of type tags before any `(`), the Redis type
/// of its key, and a line about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind's name (`PriorityQueue`, or your type's [`Structure::tag`]).
    pub name: String,
    /// The Redis type of its key.
    pub storage: Storage,
    /// What it is (built-in kinds; "" for registered ones).
    pub about: &'static str,
}

const BUILT_IN: [(&str, Storage, &str); 5] = [
    (
        "BloomFilter",
        Storage::Bytes,
        "bitmap Bloom filter, sized from capacity and error rate",
    ),
    ("CircularBuffer", Storage::List, "the latest N items"),
    ("Counter", Storage::Bytes, "exact i64 counter"),
    (
        "PriorityQueue",
        Storage::SortedSet,
        "values by priority, ties first in first out",
    ),
    (
        "RateLimiter",
        Storage::Map,
        "token bucket or sliding window on the server's clock (exact windows: a sorted set)",
    ),
];

static REGISTERED: Mutex<Vec<KindInfo>> = Mutex::new(Vec::new());

/// Registers the structure kind `S` (a type of yours implementing [`Structure`]) so that
/// [`kinds`] lists it and listings of named structures know its tag. Registering a kind
/// twice is harmless. Opening and using a structure needs no registration.
pub fn register_kind<S: Structure>() {
    let tag = S::tag();
    let name = tag.split('(').next().unwrap_or(&tag).to_owned();
    let mut all = REGISTERED.lock();
    if !all.iter().any(|k| k.name == name) {
        all.push(KindInfo {
            name,
            storage: S::STORAGE,
            about: "",
        });
    }
}

/// Every structure kind this program knows: the built-in ones and those registered with
/// [`register_kind`], by name.
pub fn kinds() -> Vec<KindInfo> {
    let mut all: Vec<KindInfo> = BUILT_IN
        .iter()
        .map(|&(name, storage, about)| KindInfo {
            name: name.to_owned(),
            storage,
            about,
        })
        .collect();
    for k in REGISTERED.lock().iter() {
        if !all.iter().any(|b| b.name == k.name) {
            all.push(k.clone());
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// A named structure of an environment, as a listing finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedStructure {
    /// Its name.
    pub name: String,
    /// Its type tag (`PriorityQueue(i64,min)`, `Counter`, …): what it was created as.
    pub tag: String,
    /// The kind the tag names, when this program knows it ([`kinds`]).
    pub kind: Option<KindInfo>,
}

impl NamedStructure {
    pub(crate) fn new(name: String, tag: String) -> Self {
        let family = tag.split('(').next().unwrap_or(&tag).to_owned();
        let kind = kinds().into_iter().find(|k| k.name == family);
        Self { name, tag, kind }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_type_names_drop_module_paths() {
        use crate::kinds::structure::short_type_name;
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(
            short_type_name::<Vec<std::collections::BTreeMap<u8, String>>>(),
            "Vec<BTreeMap<u8, String>>"
        );
    }
}
