//! The static description of a model that the derive emits and the runtime interprets.

/// How one stored field is laid out in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// One field of the root hash holding the scalar's text or bytes.
    Scalar,
    /// One field of the root hash holding msgpack (`#[rapyer(blob)]`).
    Blob,
    /// Its own Redis LIST key (`Vec`, `VecDeque`).
    List,
    /// Its own Redis HASH key (`HashMap`, `BTreeMap`).
    Map,
    /// Its own Redis SET key (`HashSet`, `BTreeSet`).
    Set,
    /// Its own Redis STRING key (a [`crate::Structure`] with [`crate::Storage::Bytes`]).
    StringKey,
    /// Its own Redis sorted set key (a [`crate::Structure`] with
    /// [`crate::Storage::SortedSet`]).
    SortedSet,
}

impl FieldKind {
    /// True for the kinds that live in a key of their own (collections and structures).
    pub fn is_collection(self) -> bool {
        matches!(
            self,
            Self::List | Self::Map | Self::Set | Self::StringKey | Self::SortedSet
        )
    }

    /// The Redis type of the key a field of this kind lives in (root fields: the hash).
    pub(crate) fn redis_type(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Map => "hash",
            Self::Set => "set",
            Self::StringKey => "string",
            Self::SortedSet => "zset",
            Self::Scalar | Self::Blob => "hash",
        }
    }

    /// The letter the scripts use for the kind of a field's own key: "l" list, "h" hash
    /// (map), "s" set, "t" string, "z" sorted set.
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Self::List => "l",
            Self::Map => "h",
            Self::StringKey => "t",
            Self::SortedSet => "z",
            Self::Set | Self::Scalar | Self::Blob => "s",
        }
    }
}

/// One stored field: its dotted path (`address.city`) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSchema {
    /// Dotted path from the model root; embedded structs are flattened.
    pub path: String,
    /// Storage kind.
    pub kind: FieldKind,
    /// The secondary index on this field (`#[rapyer(index)]`), if any.
    pub index: Option<IndexKind>,
    /// A key of its own that a save of an existing document leaves as stored (a
    /// [`crate::Structure`] with `KEEP_ON_SAVE`, such as [`crate::Counter`]).
    pub keep: bool,
    /// What the stored values look like inside (the element shape of a collection, the
    /// scalar type of a root field), for run-time paths (`extract_fields`).
    pub shape: Shape,
    /// The model a [`crate::ForeignKey`] field refers to (`None` for other fields).
    pub relation: Option<RelationInfo>,
}

/// What a stored value looks like, as far as run-time paths (`Model::extract_fields`)
/// need to know: which steps it takes and how its bytes decode into a [`crate::Value`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shape {
    /// An integer of `bits` bits, signed or not.
    Int {
        /// Signed.
        signed: bool,
        /// Width in bits (8 to 64).
        bits: u8,
    },
    /// A float of `bits` bits (32, 64).
    Float {
        /// Width in bits.
        bits: u8,
    },
    /// A bool.
    Bool,
    /// Text (`String`, `char`, `Uuid`, enums stored by variant name).
    Str,
    /// Raw bytes.
    Bytes,
    /// An optional value.
    Option(Box<Shape>),
    /// A sequence (inside a msgpack element: an array), reached by `[index]`.
    Seq(Box<Shape>),
    /// A set (read whole; membership through the typed `has`).
    Set(Box<Shape>),
    /// A map from keys of the first shape to values of the second, reached by
    /// `["key"]` or `[integer key]`.
    Map(Box<Shape>, Box<Shape>),
    /// A struct stored as msgpack with named fields: `(stored name, shape)` per field,
    /// reached by `.name`.
    Struct(Vec<(&'static str, Shape)>),
    /// Anything else: read whole, no steps inside.
    Opaque,
}

impl FieldSchema {
    /// How the scripts read this field's index: `n` numeric root field, `s` string root
    /// field, `l` list of strings, `e` set of strings.
    pub(crate) fn index_letter(&self) -> &'static str {
        match (self.index, self.kind) {
            (Some(IndexKind::Numeric), _) => "n",
            (_, FieldKind::List) => "l",
            (_, FieldKind::Set) => "e",
            _ => "s",
        }
    }

    /// The same field with the shape of its values.
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// An unindexed field.
    pub fn new(path: impl Into<String>, kind: FieldKind) -> Self {
        Self {
            path: path.into(),
            kind,
            index: None,
            keep: false,
            shape: Shape::Opaque,
            relation: None,
        }
    }
}

/// How an indexed field is indexed (DESIGN §8). Both live in one sorted set per field in
/// the document's shard: `{Model:shard}:i:<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexKind {
    /// Numbers, date-times, bools: member = id, score = the value. Values beyond ±2^53 are
    /// approximate in the score; query results are re-checked against documents.
    Numeric,
    /// Strings: score 0, member = `escaped value \0\0 id \0 len(id)` (each NUL of the
    /// value escaped as `\0\1`, so members sort bytewise by value), so equality, prefixes,
    /// ranges and order come from one key, and a member splits back into value and id
    /// whatever bytes they hold.
    Lex,
}

/// When a model's TTL is pushed back by use (`#[rapyer(ttl_refresh = "…")]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TtlRefresh {
    /// Only `save`/`insert` (which write the whole document) set the TTL.
    #[default]
    Never,
    /// Loads and atomic reads refresh it too.
    Read,
    /// Atomic writes refresh it too.
    Write,
    /// Every read and write refreshes it.
    Both,
}

impl TtlRefresh {
    /// Whether an operation of this kind (`write` or read) refreshes the TTL.
    pub fn applies(self, write: bool) -> bool {
        match self {
            Self::Never => false,
            Self::Read => !write,
            Self::Write => write,
            Self::Both => true,
        }
    }
}

/// What a model's `Lazy`, `Safe` and `#[rapyer(safe)]` fields do with stored bytes that
/// cannot be decoded (`#[rapyer(on_error = "defer" | "ignore" | "log")]`). Other fields
/// always fail the load with [`crate::Error::Decode`].
///
/// | policy | `Lazy<T>` on first access | `Safe<T>` / `#[rapyer(safe)]` at load |
/// |---|---|---|
/// | `Defer` (default) | returns `Error::Decode` (key, field) | fallback, recorded, warn log |
/// | `Ignore` | fallback, recorded | fallback, recorded |
/// | `Log` | fallback, recorded, warn log | fallback, recorded, warn log |
///
/// Recorded failures are listed by [`crate::Model::failed_fields`]; the stored bytes are
/// quarantined (saves write them back unchanged) until the field is assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnError {
    /// `Lazy` fields return the decode error when accessed.
    #[default]
    Defer,
    /// Fall back silently (the failure is still recorded).
    Ignore,
    /// Fall back and log a `tracing` warning.
    Log,
}

/// The schema of a model, built once per model type.
#[derive(Debug, Clone)]
pub struct ModelSchema {
    /// Model name used in keys (`#[rapyer(name = "…")]`, default: the struct name).
    pub name: &'static str,
    /// Number of shards `S` (`#[rapyer(shards = N)]`, default 1).
    pub shards: u32,
    /// Pinned environment (`#[rapyer(env = "…")]`), if any.
    pub env: Option<&'static str>,
    /// Co-location group (`#[rapyer(colocate = "…")]`): every model of the group keeps
    /// all its keys under the one hash tag `{group}`, so in one Redis Cluster slot, and
    /// pipelines across its documents stay atomic on a cluster.
    pub colocate: Option<&'static str>,
    /// Name of the key field.
    pub key_field: &'static str,
    /// Time to live of every key of a document, in milliseconds (`#[rapyer(ttl = secs)]`).
    pub ttl_ms: Option<u64>,
    /// When use pushes the TTL back.
    pub ttl_refresh: TtlRefresh,
    /// A refresh happens at most once per this many milliseconds
    /// (`#[rapyer(ttl_refresh_interval = secs)]`; 0: not set).
    pub ttl_refresh_interval_ms: u64,
    /// A refresh happens whenever less than this many milliseconds are left
    /// (`#[rapyer(ttl_grace = secs)]`; 0: not set).
    pub ttl_grace_ms: u64,
    /// Every stored field, flattened, in declaration order.
    pub fields: Vec<FieldSchema>,
    /// What a `Lazy`/`Safe`/`#[rapyer(safe)]` field does with stored bytes it cannot
    /// decode (`#[rapyer(on_error = "…")]`, default `defer`).
    pub on_error: OnError,
    /// Relations referring to this model, named on this side
    /// (`#[rapyer(inverse(books = "Book.author"))]`): `(name, "<Model>.<field>")`.
    pub inverses: Vec<(&'static str, &'static str)>,
}

impl ModelSchema {
    /// The index manifest: which fields are indexed and how (`path:n,path:s2`). Stored
    /// per shard; when it differs from the stored one, the shard needs a reindex. String
    /// indexes carry their member encoding's version ("2": NUL-escaped values, which sort
    /// bytewise; shards written with version 1 ask for a reindex).
    pub fn index_fingerprint(&self) -> String {
        self.indexes()
            .map(|f| match f.index_letter() {
                "n" => format!("{}:n", f.path),
                lex => format!("{}:{lex}2", f.path),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The TTL refresh an operation (`write` or read) carries to its script
    /// (`refresh.lua`): `None` when it refreshes nothing, else the TTL in ms, with the
    /// interval and grace period when set (`ttl:interval:grace`). The script decides from
    /// the document's `PTTL` whether the refresh is due.
    pub(crate) fn refresh_spec(&self, write: bool) -> Option<String> {
        let ttl = self.ttl_ms.filter(|_| self.ttl_refresh.applies(write))?;
        Some(
            if self.ttl_refresh_interval_ms == 0 && self.ttl_grace_ms == 0 {
                ttl.to_string()
            } else {
                format!(
                    "{ttl}:{}:{}",
                    self.ttl_refresh_interval_ms, self.ttl_grace_ms
                )
            },
        )
    }

    /// The indexed fields, in declaration order.
    pub fn indexes(&self) -> impl Iterator<Item = &FieldSchema> {
        self.fields.iter().filter(|f| f.index.is_some())
    }

    /// The fields stored under keys of their own, in declaration order.
    pub fn collections(&self) -> impl Iterator<Item = &FieldSchema> {
        self.fields.iter().filter(|f| f.kind.is_collection())
    }
}

/// A model's schema function (derive support).
#[doc(hidden)]
pub type TargetFn = fn() -> &'static ModelSchema;

/// The relation a [`ForeignKey`](crate::ForeignKey) field declares, in its [`FieldSchema`]: the model it
/// refers to, whether the field holds one reference or many, and the field's relation
/// attributes (`#[rapyer(inverse = "…", on_delete = "…", lazy, one_to_one, one_to_many,
/// inherit_ttl, must_exist)]`).
#[derive(Clone, Copy)]
pub struct RelationInfo {
    target: TargetFn,
    many: bool,
    pub(crate) inverse: Option<&'static str>,
    pub(crate) on_delete: Option<OnDelete>,
    pub(crate) lazy: bool,
    pub(crate) cardinality: Option<Cardinality>,
    pub(crate) inherit_ttl: bool,
    pub(crate) must_exist: bool,
}

impl RelationInfo {
    /// The schema of the model referred to.
    pub fn target(&self) -> &'static ModelSchema {
        (self.target)()
    }

    /// Whether the field holds many references (`Vec<ForeignKey<T>>`, sets of them).
    pub fn is_many(&self) -> bool {
        self.many
    }

    /// The name of this relation seen from the target (`#[rapyer(inverse = "books")]` on
    /// `Book.author`: `Author`'s `books`), when declared. Every relation is also known
    /// to its target by `"<Model>.<field>"` (`"Book.author"`).
    pub fn inverse(&self) -> Option<&'static str> {
        self.inverse
    }

    /// What deleting the target does to the referring documents when the delete does
    /// not say (`#[rapyer(on_delete = "…")]`; [`OnDelete::Restrict`] when not declared).
    pub fn on_delete(&self) -> OnDelete {
        self.on_delete.unwrap_or(OnDelete::Restrict)
    }

    /// `#[rapyer(lazy)]`: a graph load follows it only when `include` names it
    /// (`ForeignKey::fetch` loads it on its own).
    pub fn is_lazy(&self) -> bool {
        self.lazy
    }

    /// `#[rapyer(inherit_ttl)]`: a save of the referring document (of a model with a
    /// TTL) gives the documents this field refers to the same TTL.
    pub fn inherits_ttl(&self) -> bool {
        self.inherit_ttl
    }

    /// `#[rapyer(must_exist)]`: a save or insert of the referring document is refused
    /// ([`crate::Error::Dangling`], nothing written) when a document the field refers to
    /// does not exist, checked in the same script as the write.
    pub fn must_exist(&self) -> bool {
        self.must_exist
    }

    /// How many documents are on each side: a single key is many-to-one unless
    /// `#[rapyer(one_to_one)]`; a list or set is many-to-many unless
    /// `#[rapyer(one_to_many)]`. Metadata for callers (not enforced on writes).
    pub fn cardinality(&self) -> Cardinality {
        match (self.cardinality, self.many) {
            (Some(c), _) => c,
            (None, false) => Cardinality::ManyToOne,
            (None, true) => Cardinality::ManyToMany,
        }
    }
}

/// How many documents sit on each side of a relation (see
/// [`RelationInfo::cardinality`]), named from the referring side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cardinality {
    /// One referring document per target (`#[rapyer(one_to_one)]`).
    OneToOne,
    /// Many referring documents per target (a single `ForeignKey`).
    ManyToOne,
    /// The referring document holds many targets, each held by one
    /// (`#[rapyer(one_to_many)]` on a list or set).
    OneToMany,
    /// Many on both sides (a list or set of foreign keys).
    ManyToMany,
}

/// What deleting a document does to the documents that refer to it through one relation
/// (per relation in a [`crate::Cascade`], or declared on the field:
/// `#[rapyer(on_delete = "restrict" | "nullify" | "delete")]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnDelete {
    /// Refuse the delete while a document refers to it
    /// ([`crate::Error::RelationViolation`], nothing deleted). The default.
    Restrict,
    /// Remove the references: an `Option<ForeignKey<_>>` becomes `None`, lists and sets
    /// lose the id. A required `ForeignKey<_>` cannot be nullified (an
    /// [`crate::Error::InvalidInput`] before anything is sent).
    Nullify,
    /// Delete the referring documents too, each as its own relations say.
    Delete,
}

impl std::fmt::Debug for RelationInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelationInfo")
            .field("target", &self.target().name)
            .field("many", &self.many)
            .field("inverse", &self.inverse)
            .field("on_delete", &self.on_delete())
            .field("lazy", &self.lazy)
            .field("cardinality", &self.cardinality())
            .field("inherit_ttl", &self.inherit_ttl)
            .field("must_exist", &self.must_exist)
            .finish()
    }
}

impl PartialEq for RelationInfo {
    fn eq(&self, other: &Self) -> bool {
        self.many == other.many
            && self.target().name == other.target().name
            && self.inverse == other.inverse
            && self.on_delete == other.on_delete
            && self.lazy == other.lazy
            && self.cardinality == other.cardinality
            && self.inherit_ttl == other.inherit_ttl
            && self.must_exist == other.must_exist
    }
}

impl Eq for RelationInfo {}

/// `field` as a relation to `target` when there is one: every foreign-key field is
/// indexed (the string index), so "who refers to X" is an index read, never a scan.
pub(crate) fn mark_relation(
    field: FieldSchema,
    target: Option<TargetFn>,
    many: bool,
) -> FieldSchema {
    match target {
        None => field,
        Some(target) => FieldSchema {
            index: Some(IndexKind::Lex),
            relation: Some(RelationInfo {
                target,
                many,
                inverse: None,
                on_delete: None,
                lazy: false,
                cardinality: None,
                inherit_ttl: false,
                must_exist: false,
            }),
            ..field
        },
    }
}
