//! The one error type of rapyer.

mod bulk;

pub use bulk::BulkError;

/// `Result` with rapyer's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in rapyer.
///
/// Every variant names the model and, where there is one, the Redis key and the field
/// involved, so that the message alone tells what to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned by `get`, `reload` and other operations that require a document, when no
    /// document with that id exists (or it expired).
    #[error("{model} `{id}` not found (key `{key}`)")]
    NotFound {
        /// Model name as used in keys.
        model: &'static str,
        /// The id that was looked up.
        id: String,
        /// The root key that was read.
        key: String,
    },

    /// Returned by `get_many` when some ids have no document; lists all of them. Nothing
    /// is returned for the others (use `bulk_get_existing` or `skip_missing` to skip missing ids).
    #[error("{model}: no document for ids {ids:?}")]
    Missing {
        /// Model name as used in keys.
        model: &'static str,
        /// Every id without a document, in the order asked.
        ids: Vec<String>,
    },

    /// Returned by `insert` (and `duplicate`) when a document with that id already exists.
    /// Nothing was written.
    #[error("{model} `{id}` already exists (key `{key}`); use save() to overwrite")]
    AlreadyExists {
        /// Model name as used in keys.
        model: &'static str,
        /// The id that was written.
        id: String,
        /// The root key that exists.
        key: String,
    },

    /// Stored data could not be decoded into the field's Rust type. The whole load fails
    /// (no value is invented); `field` is the dotted field path (`address.city`).
    #[error("cannot decode {model} field `{field}` stored at key `{key}`: {reason}")]
    Decode {
        /// Model name as used in keys.
        model: &'static str,
        /// The Redis key holding the bad data.
        key: String,
        /// Dotted path of the field (`address.city`, `tags`).
        field: String,
        /// What was wrong with the bytes.
        reason: String,
    },

    /// The server refused an atomic operation: integer overflow of the field's type,
    /// a stored value that is not a number, a pop from an empty collection, division by
    /// zero, a key of the wrong Redis type. Nothing was applied (for a pipeline: nothing
    /// of the whole pipeline).
    #[error("{model} field `{field}` ({key}): {op} refused: {reason}")]
    Rejected {
        /// Model name as used in keys.
        model: &'static str,
        /// The key the operation addressed.
        key: String,
        /// Dotted path of the field.
        field: String,
        /// The operation (`incr`, `rpop`, …).
        op: &'static str,
        /// Why the server refused it.
        reason: String,
    },

    /// A query met a shard whose indexes were built for another set of indexed fields (an
    /// index was added, removed or changed while documents existed). Run the model's
    /// `reindex` (blocking: `sync_reindex`); nothing was returned.
    #[error(
        "{model}: stale indexes (manifest `{key}` {}, the model has `{expected}`); run {model}::reindex()",
        if found.is_empty() { "is missing".to_owned() } else { format!("says `{found}`") }
    )]
    StaleIndex {
        /// Model name as used in keys.
        model: &'static str,
        /// The shard's manifest key.
        key: String,
        /// The manifest found ("" when none).
        found: String,
        /// The model's index fingerprint.
        expected: String,
    },

    /// A lock could not be taken within the wait limit (`LockOptions::timeout`);
    /// nothing ran.
    #[error("{model} `{id}`: lock `{action}` still held by another holder after {waited:?}")]
    LockTimeout {
        /// Model name as used in keys.
        model: &'static str,
        /// The document id.
        id: String,
        /// The lock's action name.
        action: String,
        /// How long it waited.
        waited: std::time::Duration,
    },

    /// A write that required a condition found it false; nothing was written. For locks:
    /// the lease ran out (and another holder may have the lock) before the save.
    #[error("{model} `{key}`: conflict: {reason}")]
    Conflict {
        /// Model name as used in keys.
        model: &'static str,
        /// The key involved.
        key: String,
        /// What was in the way.
        reason: String,
    },

    /// A value could not be encoded for storage (for example a blob whose `Serialize`
    /// implementation failed). Nothing was sent to Redis.
    #[error("cannot encode {model} field `{field}`: {reason}")]
    Encode {
        /// Model name as used in keys.
        model: &'static str,
        /// Dotted path of the field.
        field: String,
        /// What the encoder reported.
        reason: String,
    },

    /// A pipeline on a Redis Cluster addresses documents in more than one slot, so it
    /// cannot be one atomic script. Nothing was sent. Put the documents in one slot, or
    /// run it with [`crate::Pipeline::per_slot`] (atomic per slot, not as a whole).
    #[error("a pipeline on a cluster must stay in one slot: {} are in {slots} slots (nothing was sent; see Pipeline::per_slot)", docs.join(", "))]
    CrossSlot {
        /// The documents, as `Model \`id\``, in pipeline order.
        docs: Vec<String>,
        /// How many slots they fall in.
        slots: usize,
    },

    /// Input was rejected before anything was sent: an empty or over-long id, a namespace
    /// containing `{` or `}`, an unparsable id for the model's key type, and so on.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The environment name is not registered, or no default environment was configured
    /// (call [`crate::init`] or [`crate::register_environment`] first).
    #[error("unknown rapyer environment `{name}`{hint}")]
    UnknownEnvironment {
        /// The name that was asked for.
        name: String,
        /// A hint on how to fix it (may be empty).
        hint: &'static str,
    },

    /// No connection to the environment's server could be had within
    /// [`EnvironmentConfig::connection_timeout`](crate::EnvironmentConfig::connection_timeout)
    /// (server down, unreachable, refusing, or the blocking pool exhausted). Nothing was
    /// sent.
    #[error("environment `{env}`: cannot get a connection: {reason}")]
    Connection {
        /// Environment name.
        env: String,
        /// What the pool reported.
        reason: String,
    },

    /// No reply came within the environment's bounds
    /// ([`EnvironmentConfig::connection_timeout`](crate::EnvironmentConfig::connection_timeout)
    /// to get a connection, then
    /// [`response_timeout`](crate::EnvironmentConfig::response_timeout) for the reply).
    /// When `may_have_applied` is true the request was a write that may have reached the
    /// server: it may have been applied (read the document to find out); a read never
    /// changes anything.
    #[error(
        "environment `{env}`: no reply from Redis within {waited:?}{}",
        if *may_have_applied { " (a write: it may have been applied)" } else { "" }
    )]
    Timeout {
        /// Environment name.
        env: String,
        /// How long the call waited.
        waited: std::time::Duration,
        /// Whether the request was a write that may have been applied.
        may_have_applied: bool,
    },

    /// Redis answered with something rapyer did not expect for this command (a key of
    /// the wrong Redis type, say, written by another program).
    #[error("unexpected reply from Redis for {context}: {reply}")]
    UnexpectedReply {
        /// What rapyer was doing.
        context: String,
        /// The reply, abbreviated.
        reply: String,
    },

    /// Returned by a bulk write or delete that did not apply every document: existing ids
    /// refused an insert chunk, or an error stopped the call. The report says exactly
    /// which ids were applied, refused, not applied or in doubt.
    #[error("{0}")]
    Bulk(Box<BulkError>),

    /// A key rapyer reads or writes holds another Redis type than the one rapyer keeps
    /// there (another program wrote it, or a key was renamed over it). Writes check every
    /// key they will touch before the first change, so nothing was written; a load fails
    /// with this error, except that a [`Safe`](crate::Safe) field takes its fallback.
    /// Repair: remove or rename that key (`DEL`); when it was an index key (`what` is
    /// "index"), run the model's `reindex` afterwards.
    #[error(
        "{model}{}: key `{key}` ({what}) holds {} where rapyer keeps a Redis {expected}; nothing was written. Remove or rename the key{}",
        if field.is_empty() { String::new() } else { format!(" field `{field}`") },
        if *found == "other" { "another Redis type".to_owned() } else { format!("a Redis {found}") },
        if *what == "index" { format!(", then run {model}::reindex()") } else { String::new() }
    )]
    WrongType {
        /// Model name as used in keys.
        model: String,
        /// The key of the wrong type.
        key: String,
        /// Dotted path of the field it holds ("" for the root hash, the id index, the
        /// manifest and locks).
        field: String,
        /// What rapyer keeps there: "document", "collection", "index", "id index",
        /// "index manifest", "lock" or "rate limiter" (a keyed limiter's key; `field`
        /// is then the limiter's key and `model` names the limiter).
        what: &'static str,
        /// The Redis type found (`string`, `list`, `hash`, `set`, `zset`, `stream`;
        /// "other" for a module's type or when a read could not tell).
        found: &'static str,
        /// The Redis type rapyer keeps there.
        expected: &'static str,
    },

    /// A named structure was opened as another kind than it was created as (its stored
    /// type tag differs: `PriorityQueue::named("jobs")` for a name created as a
    /// `CircularBuffer`, or with another priority type). Nothing was changed.
    #[error("structure `{name}` ({key}) is a {}, not a {expected}; nothing was changed", if found.is_empty() { "key without a type tag" } else { found })]
    WrongKind {
        /// The structure's name.
        name: String,
        /// Its root key (holding the tag).
        key: String,
        /// The tag of the kind it was opened as.
        expected: String,
        /// The stored tag ("" when the root holds none).
        found: String,
    },

    /// A [`crate::ForeignKey`]'s target was asked for (`loaded()`) but is not held: load
    /// the document with `.depth(..)`/`.include(..)`, or `fetch` the reference.
    #[error("{model} `{id}` is not loaded: load it with .depth()/.include(), or fetch() it")]
    NotLoaded {
        /// The model referred to.
        model: &'static str,
        /// The id referred to.
        id: String,
    },

    /// A graph load met references whose target document does not exist (deleted or
    /// expired): every one of them, by referring model and field. Nothing was returned;
    /// `skip_missing()` leaves such references unloaded instead.
    #[error("{model} field `{field}` refers to {target} ids {ids:?} that have no document")]
    Dangling {
        /// The referring model.
        model: &'static str,
        /// The foreign-key field's path.
        field: String,
        /// The model referred to.
        target: &'static str,
        /// The ids without a document.
        ids: Vec<String>,
    },

    /// A delete refused by a `Restrict` relation ([`crate::OnDelete::Restrict`]):
    /// documents still refer to the one to delete. Nothing was deleted.
    #[error(
        "cannot delete {model} `{id}`: {total} {referring} document(s) refer to it through `{relation}` (restrict), such as {ids:?}"
    )]
    RelationViolation {
        /// The model of the document the delete was refused for.
        model: &'static str,
        /// Its id.
        id: String,
        /// The relation's name (its declared inverse, or `Model.field`).
        relation: String,
        /// The referring model.
        referring: &'static str,
        /// Up to 10 referring ids.
        ids: Vec<String>,
        /// How many documents refer to it.
        total: usize,
    },

    /// Documents of a model refer to documents that do not exist: every such reference
    /// (from [`crate::RelationReport::into_result`]).
    #[error("{model}: {} reference(s) to missing documents, such as {}", refs.len(), refs.first().map(|r| format!("{} `{}`.{} -> {} `{}`", r.model, r.id, r.field, r.target, r.target_id)).unwrap_or_default())]
    DanglingReferences {
        /// The referring model.
        model: &'static str,
        /// Every dangling reference.
        refs: Vec<DanglingRef>,
    },

    /// An error from the Redis client or server (I/O, authentication, …).
    #[error("redis: {0}")]
    Redis(#[source] redis::RedisError),
}

/// [`Error::UnexpectedReply`] for reply `v` to `context` (abbreviated).
pub(crate) fn unexpected(context: &str, v: &redis::Value) -> Error {
    let mut reply = format!("{v:?}");
    if reply.len() > 120 {
        let mut cut = 120;
        while !reply.is_char_boundary(cut) {
            cut -= 1;
        }
        reply.truncate(cut);
        reply.push('…');
    }
    Error::UnexpectedReply {
        context: context.to_owned(),
        reply,
    }
}

/// A reference to a document that does not exist (deleted or expired).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct DanglingRef {
    /// The referring model.
    pub model: &'static str,
    /// The referring document.
    pub id: String,
    /// Its foreign-key field.
    pub field: String,
    /// The model referred to.
    pub target: &'static str,
    /// The id referred to, which has no document.
    pub target_id: String,
}
