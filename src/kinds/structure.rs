//! Plug-in kinds: the public `Structure` trait (documented there) and its `Field` impl.

use std::fmt;
use std::sync::Arc;

use redis::{ToRedisArgs, Value};

use crate::codec::{Decoder, Encoder, FieldPath};
use crate::error::{Error, Result};
use crate::exec::{DocRef, Mirror, Pending, Target, mirror};
use crate::field::Field;
use crate::schema::{FieldKind, FieldSchema};

/// The Redis type of a [`Structure`]'s own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Storage {
    /// A STRING key (one value of any bytes).
    Bytes,
    /// A LIST key.
    List,
    /// A HASH key.
    Map,
    /// A SET key.
    Set,
    /// A sorted set (ZSET) key.
    SortedSet,
}

impl Storage {
    /// The layout the schema records for this storage.
    pub fn kind(self) -> FieldKind {
        match self {
            Self::Bytes => FieldKind::StringKey,
            Self::List => FieldKind::List,
            Self::Map => FieldKind::Map,
            Self::Set => FieldKind::Set,
            Self::SortedSet => FieldKind::SortedSet,
        }
    }

    /// The name `TYPE` gives this Redis type (`string`, `list`, `hash`, `set`, `zset`).
    pub fn redis_type(self) -> &'static str {
        self.kind().redis_type()
    }
}

/// What a [`Structure`]'s key holds, as one load reads it and one save writes it. An
/// empty collection (or `Bytes(None)`) is an absent key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Stored {
    /// A STRING key's value (`None`: no key).
    Bytes(Option<Vec<u8>>),
    /// A LIST key's items, head first.
    List(Vec<Vec<u8>>),
    /// A HASH key's field, value pairs.
    Map(Vec<(Vec<u8>, Vec<u8>)>),
    /// A SET key's members.
    Set(Vec<Vec<u8>>),
    /// A sorted set's member, score pairs (loads give them in score order). Scores are
    /// doubles, as in Redis; NaN cannot be stored.
    SortedSet(Vec<(Vec<u8>, f64)>),
}

impl Stored {
    /// The storage this value belongs to.
    pub fn storage(&self) -> Storage {
        match self {
            Self::Bytes(_) => Storage::Bytes,
            Self::List(_) => Storage::List,
            Self::Map(_) => Storage::Map,
            Self::Set(_) => Storage::Set,
            Self::SortedSet(_) => Storage::SortedSet,
        }
    }

    /// The items the save scripts write (`doc.lua`): hash items alternate field and
    /// value, sorted set items member and score, a string is one item.
    fn into_items(self, want: Storage) -> std::result::Result<Vec<Vec<u8>>, String> {
        if self.storage() != want {
            return Err(format!(
                "`store` gave a {:?} value for a structure stored as {:?}",
                self.storage(),
                want
            ));
        }
        Ok(match self {
            Self::Bytes(v) => v.into_iter().collect(),
            Self::List(items) | Self::Set(items) => items,
            Self::Map(pairs) => pairs.into_iter().flat_map(|(f, v)| [f, v]).collect(),
            Self::SortedSet(pairs) => {
                let mut out = Vec::with_capacity(pairs.len() * 2);
                for (member, score) in pairs {
                    if score.is_nan() {
                        return Err(format!(
                            "NaN score for member {} (a sorted set cannot hold it)",
                            crate::codec::show(&member)
                        ));
                    }
                    out.push(member);
                    out.push(score_text(score).into_bytes());
                }
                out
            }
        })
    }

    /// The value of a loaded key of storage `storage` from its items (as `into_items`
    /// lays them out; loads read sorted sets `WITHSCORES`).
    fn from_items(storage: Storage, items: Vec<Vec<u8>>) -> std::result::Result<Self, String> {
        Ok(match storage {
            Storage::Bytes => match items.len() {
                0 => Self::Bytes(None),
                1 => Self::Bytes(items.into_iter().next()),
                n => return Err(format!("a string key gave {n} values")),
            },
            Storage::List => Self::List(items),
            Storage::Set => Self::Set(items),
            Storage::Map => Self::Map(pairs_of(items, "a hash")?),
            Storage::SortedSet => {
                let mut pairs = Vec::new();
                for (member, score) in pairs_of(items, "a sorted set")? {
                    let text = String::from_utf8_lossy(&score);
                    let score: f64 = text.parse().map_err(|_| {
                        format!(
                            "score {text:?} of member {} is not a number",
                            crate::codec::show(&member)
                        )
                    })?;
                    pairs.push((member, score));
                }
                Self::SortedSet(pairs)
            }
        })
    }
}

type BytePair = (Vec<u8>, Vec<u8>);

/// `std::any::type_name` without module paths (`a::b::Tally<c::D>` → `Tally<D>`).
pub(crate) fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}

/// Items as the pairs they alternate (`what`: the key's kind, for the error).
fn pairs_of(items: Vec<Vec<u8>>, what: &str) -> std::result::Result<Vec<BytePair>, String> {
    if !items.len().is_multiple_of(2) {
        return Err(format!("{what} key gave an odd number of items"));
    }
    let mut it = items.into_iter();
    Ok(std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect())
}

/// A score as `ZADD` reads it: exact (shortest round-trip digits), `inf`/`-inf`.
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        if score > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{score:e}")
    }
}

/// Plug-in kinds: a type of your own that lives in a Redis key of its own, next to the
/// document's other keys.
///
/// Implement [`Structure`] for a type and it is a [`Field`]: a model can hold it, and
/// rapyer handles its key like a built-in collection's. The key is named after the
/// document (`{Model:shard}:c:<field>:<id>`, so it shares the document's hash tag and
/// slot); `save`/`insert`/bulk writes replace it with what [`Structure::store`] gives;
/// every load (get, bulk get, queries, locks, `Safe`/`Lazy` salvage) reads it in the
/// same snapshot as the rest of the document and hands it to [`Structure::load`]; the
/// document's TTL covers it (set, refreshed, removed with the others); `delete` removes
/// it; `duplicate` copies it; a key of another Redis type is refused before anything is
/// written ([`crate::Error::WrongType`]), and bytes `load` cannot read are
/// [`crate::Error::Decode`] naming the key and field.
///
/// Its atomic operations are Redis commands on its key, built with a [`StructureRef`]:
/// each one checks that the document exists, applies the TTL policy, mirrors into the
/// local copy, and can join a [`crate::Pipeline`] (atomic with the other operations).
///
/// # Example: a tally stored as a Redis string
///
/// (The example uses the blocking API; with the tokio API only, `.sync_run()` is `.await`.)
///
#[cfg_attr(feature = "blocking", doc = "```no_run")]
#[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
/// use rapyer::sync::prelude::*;
/// use rapyer::{Pending, Storage, Stored, Structure, StructureRef};
///
/// /// A count kept in a STRING key of its own (`INCRBY`, `GET`).
/// #[derive(Debug, Clone, Default, PartialEq)]
/// pub struct Tally(pub i64);
///
/// pub struct TallyRef<'a>(StructureRef<'a, Tally>);
///
/// impl<'a> TallyRef<'a> {
///     /// Adds `n` on the server; returns the new count (and updates the local copy).
///     pub fn add(&self, n: i64) -> Pending<'a, i64> {
///         self.0.write("INCRBY").arg(n).finish(|reply, local| {
///             let total: i64 = reply.parse()?;
///             if let Some(local) = local {
///                 local.0 = total;
///             }
///             Ok(total)
///         })
///     }
///
///     /// The stored count (0 when the key is absent).
///     pub fn get(&self) -> Pending<'a, i64> {
///         self.0.read("GET").finish(|reply, _| Ok(reply.parse::<Option<i64>>()?.unwrap_or(0)))
///     }
/// }
///
/// impl Structure for Tally {
///     const STORAGE: Storage = Storage::Bytes;
///     type Atomic<'a> = TallyRef<'a>;
///
///     fn atomic(handle: StructureRef<'_, Self>) -> TallyRef<'_> {
///         TallyRef(handle)
///     }
///     fn store(&self) -> Result<Stored, String> {
///         Ok(Stored::Bytes((self.0 != 0).then(|| self.0.to_string().into_bytes())))
///     }
///     fn load(stored: Stored) -> Result<Self, String> {
///         match stored {
///             Stored::Bytes(None) => Ok(Tally(0)),
///             Stored::Bytes(Some(b)) => String::from_utf8_lossy(&b)
///                 .parse()
///                 .map(Tally)
///                 .map_err(|_| format!("not a count: {:?}", String::from_utf8_lossy(&b))),
///             other => Err(format!("not a string: {other:?}")),
///         }
///     }
/// }
///
/// #[derive(Model, Debug, Clone)]
/// struct Page {
///     id: Id,
///     title: String,
///     views: Tally,
/// }
///
/// fn run() -> rapyer::Result<()> {
///     let mut page = Page { id: Id::new(), title: "home".into(), views: Tally(0) };
///     page.sync_save()?;
///     page.atomic().views.add(1).sync_run()?;       // one round trip; page.views == Tally(1)
///     let n = Page::at(&page.id).views.get().sync_run()?;
///     assert_eq!(n, 1);
///     let again = Page::sync_get(&page.id)?;         // loaded with the document
///     assert_eq!(again.views, Tally(1));
///     Ok(())
/// }
/// ```
///
/// An operation is one command whose first key is the structure's key; its other
/// arguments must not name keys (they would escape the document's slot and TTL). Several
/// operations in one [`crate::Pipeline`] run atomically together.
///
/// Every `Structure` is a [`Field`]. It cannot be indexed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a rapyer field",
    label = "unsupported field type",
    note = "derive `rapyer::Embedded` for it, or mark the field `#[rapyer(blob)]` to store it as msgpack",
    note = "a list, set or map field needs elements that are `rapyer::Element` (`#[derive(rapyer::Element)]`); a type of your own in a key of its own implements `rapyer::Structure`"
)]
pub trait Structure: Sized + Send {
    /// The Redis type of its key.
    const STORAGE: Storage;
    /// Its atomic-operations handle (`model.atomic().field`, `Model::at(id).field`),
    /// built on a [`StructureRef`].
    type Atomic<'a>
    where
        Self: 'a;

    /// Whether a save of an existing document leaves the key as stored (only an insert,
    /// or a save that creates the document, writes it): for a value changed only by
    /// atomic operations, which a save of a stale copy must not undo (a counter). Loads,
    /// TTL, delete and duplicate treat the key as usual. Default `false`.
    const KEEP_ON_SAVE: bool = false;

    /// Builds the atomic handle.
    fn atomic(handle: StructureRef<'_, Self>) -> Self::Atomic<'_>;

    /// The type tag a named structure of this kind stores (see [`crate::Named`]):
    /// its kind's name, then in parentheses what makes stored data of another instance
    /// unreadable (the built-in `PriorityQueue(i64,min)`, `BloomFilter(m=…,k=…)`). The
    /// default is the type's name without module paths (`Tally`, `Ring<Event>`):
    /// override it to keep a tag stable when the type is renamed or moved. Element
    /// types are left out of the built-in tags, so renaming your element type keeps
    /// its data (elements that do not decode are [`Error::Decode`]).
    fn tag() -> String {
        short_type_name::<Self>()
    }

    /// What the key holds for this value; a value of another storage than
    /// [`Self::STORAGE`] is an [`Error::Encode`]. The reason string of an `Err` becomes
    /// the error's reason (nothing is written).
    fn store(&self) -> std::result::Result<Stored, String>;

    /// The value from what the key holds (an absent key: an empty collection, or
    /// `Stored::Bytes(None)`). The reason string of an `Err` becomes an
    /// [`Error::Decode`] naming the key and field.
    fn load(stored: Stored) -> std::result::Result<Self, String>;
}

// not offered in diagnostics: a type that is no field is reported against `Field` (and a
// collection of non-elements against `Element`), as before plug-in kinds existed
#[diagnostic::do_not_recommend]
impl<S: Structure> Field for S {
    type Path = FieldPath<S>;
    type Atomic<'a>
        = S::Atomic<'a>
    where
        Self: 'a;

    fn atomic<'a>(local: Option<&'a mut Self>, doc: &Arc<DocRef>, path: String) -> S::Atomic<'a> {
        S::atomic(StructureRef {
            doc: doc.clone(),
            path,
            local: mirror(local),
        })
    }
    fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
        FieldPath::in_model(path, model)
    }
    fn describe(path: &str, out: &mut Vec<FieldSchema>) {
        let mut field = FieldSchema::new(path, S::STORAGE.kind());
        field.keep = S::KEEP_ON_SAVE;
        out.push(field);
    }
    fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
        let items = self
            .store()
            .and_then(|stored| stored.into_items(S::STORAGE))
            .map_err(|reason| enc.error(path, reason))?;
        enc.collection(path, S::STORAGE.kind(), items);
        Ok(())
    }
    fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
        let items = dec.take_items(path)?;
        Stored::from_items(S::STORAGE, items)
            .and_then(S::load)
            .map_err(|reason| dec.error(path, reason))
    }
}

/// The handle a [`Structure`]'s atomic operations are built on: the document, the
/// field, and the local copy to mirror into (none for `Model::at(id)` handles).
pub struct StructureRef<'a, S> {
    doc: Arc<DocRef>,
    path: String,
    local: Mirror<'a, S>,
}

impl<S> StructureRef<'static, S> {
    /// A handle without a local copy on `doc`'s field `path`.
    pub(crate) fn detached(doc: Arc<DocRef>, path: String) -> Self {
        Self {
            doc,
            path,
            local: None,
        }
    }
}

impl<S> Clone for StructureRef<'_, S> {
    fn clone(&self) -> Self {
        Self {
            doc: self.doc.clone(),
            path: self.path.clone(),
            local: self.local.clone(),
        }
    }
}

impl<S> fmt::Debug for StructureRef<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StructureRef({} `{}`.{})",
            self.doc.schema.name, self.doc.id, self.path
        )
    }
}

impl<'a, S: Structure + 'a> StructureRef<'a, S> {
    /// The model's name (as used in keys).
    pub fn model(&self) -> &'static str {
        self.doc.schema.name
    }

    /// The document's id.
    pub fn id(&self) -> &str {
        &self.doc.id
    }

    /// The field's dotted path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// An operation that writes: `command` on the structure's key, then the arguments
    /// given with [`StructureCmd::arg`]. A write pushes the TTL back under a
    /// `write`/`both` refresh policy.
    ///
    /// The command runs in the executor's Lua script, so an integer reply is exact up to
    /// ±2^53 only (Lua numbers are doubles); for a STRING key,
    /// [`StructureCmd::reply_value`] replies with the stored value instead, exact.
    pub fn write(&self, command: &str) -> StructureCmd<'a, S> {
        self.cmd("structure_write", command)
    }

    /// An operation that only reads (it pushes the TTL back under a `read`/`both`
    /// policy); as [`write`](Self::write) otherwise.
    pub fn read(&self, command: &str) -> StructureCmd<'a, S> {
        self.cmd("structure_read", command)
    }

    /// An operation refused before anything is sent (bad input: `err` is its result).
    pub fn refuse<R>(&self, err: Error) -> Pending<'a, R> {
        Pending::rejected(&self.doc, Target::Collection(self.path.clone()), err)
    }

    /// An operation refused before anything is sent because a value could not be
    /// encoded: an [`Error::Encode`] naming the model and field, with `reason`.
    pub fn refuse_encode<R>(&self, reason: impl Into<String>) -> Pending<'a, R> {
        self.refuse(Error::Encode {
            model: self.doc.schema.name,
            field: self.path.clone(),
            reason: reason.into(),
        })
    }

    /// An [`Error::Decode`] naming this document and field, for a reply the operation
    /// cannot read.
    pub fn decode_error(&self, reason: impl Into<String>) -> Error {
        Error::Decode {
            model: self.doc.schema.name,
            key: format!("{} `{}`", self.doc.schema.name, self.doc.id),
            field: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// An operation of a built-in kind's own Lua op `code` (its `.lua` file), with
    /// `args` after the key's Redis type.
    pub(crate) fn op<R>(
        &self,
        code: &'static str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(StructureReply, Option<&mut S>) -> Result<R> + Send + 'a,
    ) -> Pending<'a, R> {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(S::STORAGE.redis_type().as_bytes().to_vec());
        all.extend(args);
        self.pending(code, code, all, finish)
    }

    /// The operation `code` with `args` (the key's Redis type first), its reply read by
    /// `finish` with the local copy; `what` names it in reply errors.
    fn pending<R>(
        &self,
        code: &'static str,
        what: &str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(StructureReply, Option<&mut S>) -> Result<R> + Send + 'a,
    ) -> Pending<'a, R> {
        let context = format!(
            "{what} on {} `{}`.{}",
            self.doc.schema.name, self.doc.id, self.path
        );
        let local = self.local.clone();
        Pending::new(
            &self.doc,
            code,
            Target::Collection(self.path.clone()),
            args,
            move |value| {
                let reply = StructureReply { value, context };
                match local {
                    Some(local) => finish(reply, Some(&mut **local.lock())),
                    None => finish(reply, None),
                }
            },
        )
    }

    /// The environment and the name of the structure's key (after checking the id).
    pub(crate) fn key(&self) -> Result<(crate::env::Environment, String)> {
        let ctx = crate::context::Ctx::for_schema(self.doc.schema)?;
        let keys = ctx.doc(&self.doc.id)?;
        let key = keys
            .collections
            .into_iter()
            .find(|(p, _)| *p == self.path)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{}: no structure field `{}`",
                    self.doc.schema.name, self.path
                ))
            })?;
        Ok((ctx.env, key))
    }

    /// Applies `f` to the local copy, if the handle has one.
    pub(crate) fn with_local(&self, f: impl FnOnce(&mut S)) {
        crate::exec::mirror_apply(self.local.clone(), f);
    }

    fn cmd(&self, code: &'static str, command: &str) -> StructureCmd<'a, S> {
        let mut cmd = StructureCmd {
            handle: self.clone(),
            code,
            command: command.to_owned(),
            cmds: Vec::new(),
            value: false,
            concat: false,
            invalid: None,
        };
        cmd.push_command(command);
        cmd
    }
}

/// One command of a [`Structure`]'s operation, being built: add arguments with
/// [`arg`](Self::arg), then say how to read its reply with [`finish`](Self::finish).
#[must_use = "a command does nothing until `finish` makes it an operation, run or awaited"]
pub struct StructureCmd<'a, S> {
    handle: StructureRef<'a, S>,
    code: &'static str,
    /// The first command's name (for messages).
    command: String,
    /// Each command: its name, then its arguments.
    cmds: Vec<Vec<Vec<u8>>>,
    /// Reply with the key's value (`reply_value`).
    value: bool,
    /// Reply with every command's array reply, concatenated (`reply_all`).
    concat: bool,
    invalid: Option<Error>,
}

impl<S> fmt::Debug for StructureCmd<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StructureCmd({} on {:?})", self.command, self.handle)
    }
}

impl<'a, S: Structure + 'a> StructureCmd<'a, S> {
    /// Appends an argument (anything redis-rs can send: numbers, strings, bytes, tuples
    /// and slices of those). Arguments must not name keys.
    pub fn arg(mut self, arg: impl ToRedisArgs) -> Self {
        if let Some(last) = self.cmds.last_mut() {
            arg.write_redis_args(last);
        }
        self
    }

    /// A further command on the same key, run right after the previous ones in the same
    /// atomic step (`RPUSH` then `LTRIM`, say); [`arg`](Self::arg) then adds to it. The
    /// reply stays the first command's (or the value, with
    /// [`reply_value`](Self::reply_value), or all, with [`reply_all`](Self::reply_all)).
    /// A chain started with [`StructureRef::read`] must hold reads only.
    pub fn then(mut self, command: &str) -> Self {
        self.push_command(command);
        self
    }

    /// The reply is every command's reply in order, arrays flattened and status replies
    /// (`OK`) left out: for a long run of `BITFIELD` subcommands split over several
    /// commands, say.
    pub fn reply_all(mut self) -> Self {
        self.concat = true;
        self
    }

    fn push_command(&mut self, command: &str) {
        let valid = !command.is_empty()
            && command
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !valid {
            self.invalid.get_or_insert_with(|| {
                Error::InvalidInput(format!(
                    "{} field `{}`: `{command}` is not a Redis command name",
                    self.handle.doc.schema.name, self.handle.path
                ))
            });
        }
        self.cmds.push(vec![command.as_bytes().to_vec()]);
    }

    /// The reply is the key's value after the command (`GET`, exact bytes) instead of the
    /// command's own reply: for counters beyond ±2^53, whose `INCRBY` reply a Lua script
    /// would round. Only for [`Storage::Bytes`] structures (else
    /// [`Error::InvalidInput`] when run) and writes.
    pub fn reply_value(mut self) -> Self {
        if S::STORAGE != Storage::Bytes || self.code != "structure_write" {
            self.invalid.get_or_insert_with(|| {
                Error::InvalidInput(format!(
                    "{} field `{}`: reply_value needs a write on a STRING structure",
                    self.handle.doc.schema.name, self.handle.path
                ))
            });
        }
        self.value = true;
        self
    }

    /// The operation: `finish` reads the command's reply and updates the local copy
    /// (`Some` when the handle came from `model.atomic()`); it runs after the server
    /// applied the command.
    pub fn finish<R>(
        self,
        finish: impl FnOnce(StructureReply, Option<&mut S>) -> Result<R> + Send + 'a,
    ) -> Pending<'a, R> {
        let h = self.handle;
        let target = Target::Collection(h.path.clone());
        if let Some(e) = self.invalid {
            return Pending::rejected(&h.doc, target, e);
        }
        let mut args = vec![S::STORAGE.redis_type().as_bytes().to_vec()];
        let code = if self.cmds.len() == 1 && !self.concat {
            args.extend(self.cmds.into_iter().flatten());
            if self.value {
                "structure_write_get"
            } else {
                self.code
            }
        } else {
            // several commands: the reply mode, then per command its name, argument
            // count and arguments (kinds/structure.lua)
            args.push(match (self.value, self.concat) {
                (true, _) => b"v".to_vec(),
                (false, true) => b"c".to_vec(),
                (false, false) => b"r".to_vec(),
            });
            for mut cmd in self.cmds {
                let rest = cmd.split_off(1);
                args.extend(cmd);
                args.push(rest.len().to_string().into_bytes());
                args.extend(rest);
            }
            if self.code == "structure_read" {
                "structure_chain_read"
            } else {
                "structure_chain"
            }
        };
        h.pending(code, &self.command, args, finish)
    }
}

/// The reply of a [`Structure`]'s command.
#[derive(Debug)]
pub struct StructureReply {
    value: Value,
    context: String,
}

impl StructureReply {
    /// The reply as `T` (any type redis-rs reads: integers, floats, strings, bytes,
    /// `Option`s, `Vec`s, tuples); [`Error::UnexpectedReply`] when it is not one.
    pub fn parse<T: redis::FromRedisValue>(self) -> Result<T> {
        T::from_redis_value(self.value).map_err(|e| Error::UnexpectedReply {
            context: self.context,
            reply: e.to_string(),
        })
    }

    /// The reply as redis-rs gives it.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The reply, owned.
    pub fn into_value(self) -> Value {
        self.value
    }
}
