#![cfg_attr(all(feature = "blocking", feature = "tokio"), doc = include_str!("../README.md"))]
#![cfg_attr(
    not(all(feature = "blocking", feature = "tokio")),
    doc = "rapyer: a typed Redis ORM for plain Redis. See the README."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "blocking", feature = "tokio")))]
compile_error!(
    "rapyer needs at least one API: enable the `blocking` feature, the `tokio` feature, or both (the default)"
);

// bottom: no I/O, nothing above
mod codec;
mod error;
mod id;
mod keys;
mod schema;
// environments, scripts, the executor
mod context;
mod env;
mod exec;
mod failure;
mod scripts;
// fields and their kinds
mod field;
mod kinds;
// documents and the sans-IO builders
mod across;
mod bulk;
mod events;
mod extract;
mod graph;
mod links;
mod lock;
mod model;
mod plan;
mod query;
mod registry;
mod relation;
mod reshard;
mod text;
mod update;

extern crate self as rapyer;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod asynchronous;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod sync;

pub use across::Across;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use asynchronous::{delete_structure, pipeline, search, search_all_environments, structures};
pub use bulk::{Bulk, BulkError, BulkProgress, DEFAULT_CHUNK};
pub use codec::{AutoKey, Element, FieldPath, Key, MapKey, Scalar, Value};
pub use codec::{Codec, Coded, Json, JsonCodec, Msgpack, MsgpackCodec};
pub use env::{
    DEFAULT_CONNECTION_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, Environment, EnvironmentConfig,
    EnvironmentGuard, Stats, current_environment, environment, init, init_from_env, init_from_vars,
    register_environment, set_default_environment, use_environment,
};
pub use error::{Error, Result};
pub use events::{ListenerId, TtlCause, TtlEvent, on_ttl_extended, remove_ttl_listener};
pub use exec::{Branch, Computed, Cond, Length, LoopOver, Pending, Pipeline, Slot, When};
pub use field::{Field, FieldFailure, Indexable, IndexableScalar};
pub use graph::GraphLoad;
pub use id::Id;
pub use keys::MAX_ID_LEN;
pub use kinds::CodedRef;
pub use kinds::safe::{Lazy, LoadState, Safe};
pub use kinds::{
    ApproxWindow, Decision, KeyedLimiter, Limit, LimitCall, RateLimitRef, RateLimiter,
    SlidingWindow, TokenBucket,
};
pub use kinds::{At, ById, DictPath, MemberPath, Nested, OnDoc, PathMode, PathNumber, SeqPath};
pub use kinds::{
    AtomicInt, AtomicNumber, BlobRef, BloomFilter, BloomRef, CircularBuffer, CircularRef, Counter,
    CounterRef, ListLike, ListRef, MapLike, MapRef, OptionRef, ScalarRef, SetLike, SetRef, Storage,
    Stored, Structure, StructureCmd, StructureRef, StructureReply,
};
pub use kinds::{
    BlockingPop, MaxFirst, MinFirst, Priority, PriorityQueue, PriorityRef, QueueOrder,
};
pub use kinds::{Each, Entry};
pub use kinds::{KindInfo, NAMED_MODEL, Named, NamedStructure, kinds, register_kind};
pub use lock::LockOptions;
pub use model::Model;
pub use query::{Expr, Order, Query, QueryArg, QueryField, ReindexCursor, ReindexProgress};
pub use registry::model_names;
pub use relation::audit::{
    DanglingRef, OrphanCleanup, OrphanProgress, OrphanReport, RelationAudit, RelationReport,
};
pub use relation::cascade::{Cascade, CascadeDelete, CascadeReport};
pub use relation::copy::{Copied, GraphCopy};
pub use relation::inverse::Inverse;
pub use relation::ttl::{TtlCascade, TtlReport};
pub use relation::update::UpdateCascade;
pub use relation::{ForeignKey, ManyRelation, RelationField, SingleRelation};
pub use reshard::ReshardProgress;
pub use schema::{
    Cardinality, FieldKind, FieldSchema, IndexKind, ModelSchema, OnDelete, OnError, RelationInfo,
    Shape, TtlRefresh,
};
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub use sync::{
    sync_delete_structure, sync_pipeline, sync_search, sync_search_all_environments,
    sync_structures,
};
pub use update::{Branches, UpdateReport};

/// Derives [`Element`] for a serde type, so it can be a member of a stored list, set or
/// map (stored as msgpack with named fields).
pub use rapyer_derive::Element;
/// Derives [`Field`] for a struct flattened into its parent's root hash (`address.city`).
pub use rapyer_derive::Embedded;
/// Derives [`Scalar`], [`Field`], [`Element`] and [`IndexableScalar`] for a fieldless
/// enum, stored as its variant name (so it can be a field, a collection element, and
/// `#[rapyer(index)]`ed).
pub use rapyer_derive::Enum;
/// Derives [`Model`] for a struct with named fields. See the crate docs for attributes.
pub use rapyer_derive::Model;
/// `#[rapyer::environment("name")]` on a function or method, sync or async: its whole
/// body runs in that environment (nesting with guards and scopes like
/// [`use_environment`] and `asynchronous::with_environment`). The function returns
/// `rapyer::Result<_>` (or a `Result` whose error converts from [`Error`]); an unknown
/// name is [`Error::UnknownEnvironment`] when it is called.
pub use rapyer_derive::environment;

/// Not public API: what the derive's generated code calls.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "tokio")]
    pub use crate::asynchronous::in_environment;
    pub use crate::codec::{Decoder, Encoder, from_msgpack, join, to_msgpack};
    pub use crate::env::{EnvironmentResult, enter_environment};
    pub use crate::exec::DocRef;
    pub use crate::field::{
        FieldFailure, mark_indexed, scalar_decode, scalar_describe, scalar_encode,
    };
    pub use crate::kinds::blob::{
        BlobField, BlobRef, CodecBlob, decode_blob, describe_blob, encode_blob,
    };
    pub use crate::kinds::safe::{
        LoadState, blob_fns, encode_plain, field_fns, load_plain, plain_failures,
    };
    pub use crate::kinds::scalar::scalar_atomic;
    pub use crate::links::Visit;
    pub use crate::registry::ModelEntry;
    pub use crate::relation::walk::GraphOutput;
    pub use crate::relation::{assert_many_relation, assert_single_relation, relation_options};

    /// The executor script as sent to Redis (tests read its op table).
    pub fn exec_source() -> &'static str {
        crate::scripts::EXEC.source
    }
    pub use crate::schema::{FieldKind, FieldSchema, ModelSchema, OnError, Shape, TtlRefresh};
    pub use inventory;
    pub use once_cell::sync::OnceCell;

    /// Compile-time check that a field type is storable (spanned at the field's type).
    pub fn assert_field<T: crate::Field>() {}
    /// Compile-time check that a collection field's members are elements.
    pub fn assert_element<T: crate::Element>() {}
    /// Compile-time check that a map field's keys are map keys.
    pub fn assert_map_key<T: crate::MapKey>() {}
    /// Compile-time check that a key field's type is a key.
    pub fn assert_key<T: crate::Key>() {}
    /// Compile-time check that a blob field's type is serde-serializable (or `Safe`/`Lazy`
    /// of such a type).
    pub fn assert_blob<T: crate::kinds::blob::BlobField>() {}
}
