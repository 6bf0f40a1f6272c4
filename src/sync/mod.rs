//! The blocking API: `use rapyer::sync::prelude::*;` then `User::sync_get(id)?`,
//! `user.sync_save()?`, …
//!
//! Every call blocks the current thread on a pooled connection (r2d2). Do not call it from
//! inside an async runtime's worker thread; use [`crate::asynchronous`] there.

use maybe_async::must_be_sync as maybe_async_mode;

use crate::bulk::{Bulk, BulkMode};
use crate::codec::AutoKey;
use crate::error::{Error, Result};
use crate::lock::LockOptions;
use crate::model::Model;
use crate::plan::WriteMode;

mod across;
mod backend;
mod named;
mod query;
mod relations;
pub use across::{
    PerEnvironment, sync_node_round_trips, sync_search, sync_search_all_environments,
};
pub(crate) use backend::Backend;
pub use named::{sync_delete_structure, sync_structures};
pub use query::QueryIter;

#[allow(clippy::duplicate_mod)]
#[path = "../core/ops.rs"]
mod ops;

/// Re-exports for blocking code: `use rapyer::sync::prelude::*;`.
pub mod prelude {
    pub use super::{QueryIter, SyncModel};
    pub use crate::{Element, Embedded, Error, Id, Model, Result};
}

/// The blocking operations of every [`Model`], prefixed `sync_` so that this trait and
/// [`AsyncModel`](crate::asynchronous::AsyncModel) can be imported together.
///
/// ```no_run
/// use rapyer::sync::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// struct User { id: Id, name: String, age: i64 }
///
/// fn main() -> rapyer::Result<()> {
///     rapyer::init("redis://127.0.0.1:6379")?;
///     let user = User { id: Id::new(), name: "Ada".into(), age: 36 };
///     user.sync_insert()?;
///     let loaded = User::sync_get(&user.id)?;
///     assert_eq!(loaded.age, 36);
///     assert_eq!(User::sync_count()?, 1);
///     loaded.sync_delete()?;
///     Ok(())
/// }
/// ```
pub trait SyncModel: Model {
    /// Reads run-time `paths` (`"lines[0].qty"`, `"address.city"`, `"by_shop[\"oslo\"].sku"`,
    /// `"by_rank[3]"`) of document `id`, each checked against the schema first (a bad
    /// path is [`Error::InvalidInput`] naming it, the position and the fields there, and
    /// nothing is sent). One round trip for all of them; absent values are left out of the
    /// map; a missing document is [`Error::NotFound`].
    fn sync_extract_fields<P: AsRef<str>>(
        id: impl std::fmt::Display,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<std::collections::BTreeMap<String, crate::Value>> {
        let paths = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let (pipe, slots) = crate::extract::plan(Self::schema(), &id.to_string(), paths)?;
        pipe.sync_run()?;
        Ok(crate::extract::collect(slots))
    }
    /// Loads document `id`; [`Error::NotFound`] when absent. One round trip.
    fn sync_get(id: impl std::fmt::Display) -> Result<Self>;
    /// Loads document `id`, `None` when absent. One round trip.
    fn sync_try_get(id: impl std::fmt::Display) -> Result<Option<Self>>;
    /// Whether document `id` exists. One round trip.
    fn sync_exists(id: impl std::fmt::Display) -> Result<bool>;
    /// Writes this model (upsert; collections are replaced wholly). One round trip.
    fn sync_save(&self) -> Result<()>;
    /// Writes this model if no document has its id, else [`Error::AlreadyExists`] and
    /// nothing changes. One round trip.
    fn sync_insert(&self) -> Result<()>;
    /// Deletes every key of this document; `true` if it existed. One round trip.
    fn sync_delete(&self) -> Result<bool>;
    /// Deletes document `id`; `true` if it existed. One round trip.
    fn sync_delete_id(id: impl std::fmt::Display) -> Result<bool>;
    /// Replaces this instance with the stored document ([`Error::NotFound`] if gone).
    fn sync_reload(&mut self) -> Result<()>;
    /// Inserts a copy under a fresh auto id and returns it.
    fn sync_duplicate(&self) -> Result<Self>
    where
        Self: Clone,
        Self::Key: AutoKey;
    /// Inserts a copy under `key` and returns it ([`Error::AlreadyExists`] if taken).
    fn sync_duplicate_as(&self, key: Self::Key) -> Result<Self>
    where
        Self: Clone;
    /// Every id, sorted, from the id index (never `KEYS`/`SCAN`). One round trip.
    fn sync_ids() -> Result<Vec<Self::Key>>;
    /// Number of documents, from the id index. One round trip.
    fn sync_count() -> Result<u64>;
    /// Loads document `id` without refreshing its TTL (whatever the model's
    /// `ttl_refresh`); [`Error::NotFound`] when absent. One round trip.
    fn sync_peek(id: impl std::fmt::Display) -> Result<Self>;
    /// Sets the TTL of every key of this document; `false` if it does not exist.
    fn sync_set_ttl(&self, ttl: std::time::Duration) -> Result<bool>;
    /// Removes the TTL of every key of this document; `false` if it does not exist.
    fn sync_persist(&self) -> Result<bool>;
    /// The remaining TTL of document `id` (`None`: no expiry; `NotFound` if missing).
    fn sync_ttl(id: impl std::fmt::Display) -> Result<Option<std::time::Duration>>;
    /// Takes lock `action` on this document (waiting up to 10 s, lease 10 s), loads the
    /// document inside the lock, runs `f` on it, saves it (checking the lock is still
    /// held), releases the lock (also when `f` fails or panics), and leaves `self`
    /// equal to what was saved. Different actions lock independently.
    fn sync_lock<T>(&mut self, action: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>;
    /// [`sync_lock`](Self::sync_lock) with explicit [`LockOptions`].
    fn sync_lock_with<T>(
        &mut self,
        action: &str,
        opts: LockOptions,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T>;
    /// Builds a [`Pipeline`] of atomic operations on this document with `f` (which gets
    /// the field handles and the pipeline), then applies all of them in one atomic round
    /// trip and updates `self` from the replies. An error returned by `f` (or a panic)
    /// sends nothing; a failed op applies nothing.
    ///
    /// ```no_run
    /// # use rapyer::sync::prelude::*;
    /// # #[derive(Model)] struct User { id: Id, score: i64, tags: Vec<String> }
    /// # fn run(user: &mut User) -> rapyer::Result<()> {
    /// user.sync_pipeline(|u, p| {
    ///     p.add(u.score.incr(10));
    ///     p.add(u.tags.push("new_tag".into()));
    ///     Ok(())
    /// })?;
    /// # Ok(()) }
    /// ```
    fn sync_pipeline<T>(
        &mut self,
        f: impl for<'a> FnOnce(Self::Atomic<'a>, &mut Pipeline<'a>) -> Result<T>,
    ) -> Result<T>;
    /// The first document matching `expr` (by id order), if any.
    fn sync_find_one(expr: crate::Expr) -> Result<Option<Self>>;
    /// Documents `ids`, in the order given, one round trip per chunk of 500;
    /// [`Error::Missing`] listing every id without a document. Options:
    /// [`Model::bulk`].
    fn sync_bulk_get<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> Result<Vec<Self>>;
    /// Like [`sync_bulk_get`](Self::sync_bulk_get), leaving out ids without a document.
    fn sync_bulk_get_existing<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Self>>;
    /// Inserts `models` in chunks of 500, one atomic round trip each, and returns how
    /// many were written. A chunk holding an id that exists writes nothing; the others
    /// still run; then [`Error::Bulk`] lists the existing ids and exactly which were
    /// written. Options: [`Model::bulk`].
    fn sync_bulk_insert(models: &[Self]) -> Result<u64>;
    /// Saves (upserts) `models` in chunks of 500, one atomic round trip each; returns
    /// how many were written, or [`Error::Bulk`] saying which were when an error
    /// stopped the call.
    fn sync_bulk_save(models: &[Self]) -> Result<u64>;
    /// Deletes documents `ids` (keys, id and index entries) in chunks of 500, one atomic
    /// round trip each; returns how many existed.
    fn sync_bulk_delete<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> Result<u64>;
    /// Inserts `n` copies of this model under fresh auto ids (a bulk insert) and
    /// returns them.
    fn sync_duplicate_many(&self, n: usize) -> Result<Vec<Self>>
    where
        Self: Clone,
        Self::Key: AutoKey;
    /// Rebuilds this model's indexes (after adding, removing or changing an
    /// `#[rapyer(index)]` on a model that has data), in batches of 500 documents,
    /// calling `progress` after each batch. Until it has run, queries answer
    /// [`Error::StaleIndex`]. Resumable: see [`sync_reindex_from`](Self::sync_reindex_from).
    fn sync_reindex(
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> Result<crate::ReindexProgress>;
    /// [`sync_reindex`](Self::sync_reindex) from a cursor a previous run reported.
    fn sync_reindex_from(
        from: crate::ReindexCursor,
        batch: usize,
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> Result<crate::ReindexProgress>;
    /// Moves the documents written when the model had `from_shards` shards to the shards
    /// it has now (after changing `#[rapyer(shards = S)]` on a model with data; until it
    /// has run, documents in their old shard are not found), `batch` documents per
    /// round trip group, calling `progress` after each batch. Re-running it after an
    /// interruption continues where it stopped. Run it while nothing else writes the
    /// model; copied documents get the model's full TTL.
    fn sync_reshard_from(
        from_shards: u32,
        batch: usize,
        progress: impl FnMut(&crate::ReshardProgress) + Send,
    ) -> Result<crate::ReshardProgress>;
    /// [`sync_lock`](Self::sync_lock) on document `id`, without an instance.
    fn sync_lock_id<T>(
        id: impl std::fmt::Display,
        action: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T>;
}

macro_rules! bulk_span {
    ($op:literal, $n:expr) => {
        tracing::debug_span!(
            concat!("rapyer.bulk_", $op),
            model = M::schema().name,
            n = $n
        )
        .entered()
    };
}

/// Blocking runners of a [`Bulk`] operation.
impl<M: Model> Bulk<'_, M> {
    /// Inserts `models`; see [`SyncModel::sync_bulk_insert`].
    pub fn sync_insert(mut self, models: &[M]) -> Result<u64> {
        let _s = bulk_span!("insert", models.len());
        ops::bulk_write(models, BulkMode::Insert, &mut self)
    }
    /// Saves `models`; see [`SyncModel::sync_bulk_save`].
    pub fn sync_save(mut self, models: &[M]) -> Result<u64> {
        let _s = bulk_span!("save", models.len());
        ops::bulk_write(models, BulkMode::Save, &mut self)
    }
    /// Loads documents `ids` in order; see [`SyncModel::sync_bulk_get`].
    pub fn sync_get<I: std::fmt::Display>(
        mut self,
        ids: impl IntoIterator<Item = I>,
    ) -> Result<Vec<M>> {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        let _s = bulk_span!("get", ids.len());
        ops::bulk_get(&ids, &mut self)
    }
    /// Deletes documents `ids`; see [`SyncModel::sync_bulk_delete`].
    pub fn sync_delete<I: std::fmt::Display>(
        mut self,
        ids: impl IntoIterator<Item = I>,
    ) -> Result<u64> {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        let _s = bulk_span!("delete", ids.len());
        ops::bulk_delete(&ids, &mut self)
    }
    /// Inserts `n` copies of `model` under fresh ids; see
    /// [`SyncModel::sync_duplicate_many`].
    pub fn sync_duplicate(mut self, model: &M, n: usize) -> Result<Vec<M>>
    where
        M: Clone,
        M::Key: AutoKey,
    {
        let _s = bulk_span!("duplicate", n);
        ops::duplicate_many(model, n, &mut self)
    }
}

/// Releases the lock when dropped, unless released already (covers errors and panics).
struct Unlock(Option<crate::plan::HeldLock>);

impl Unlock {
    fn held(&self) -> &crate::plan::HeldLock {
        self.0.as_ref().expect("held until released")
    }
    fn release(mut self) -> Result<bool> {
        match self.0.take() {
            Some(held) => ops::release(&held),
            None => Ok(false),
        }
    }
}

impl Drop for Unlock {
    fn drop(&mut self) {
        if let Some(held) = self.0.take()
            && let Err(e) = ops::release(&held)
        {
            tracing::warn!(key = %held.key, error = %e, "rapyer: lock release failed; the lease will free it");
        }
    }
}

fn with_lock<M: Model, T>(
    id: &str,
    action: &str,
    opts: &LockOptions,
    f: impl FnOnce(&mut M) -> Result<T>,
) -> Result<(M, T)> {
    let _s = tracing::debug_span!("rapyer.lock", model = M::schema().name, id, action).entered();
    let (held, mut model) = ops::lock_and_load::<M>(id, action, opts)?;
    let mut guard = Unlock(Some(held));
    let out = f(&mut model)?;
    if model.id() != id {
        return Err(Error::InvalidInput(format!(
            "{}: the key cannot change inside a lock",
            M::schema().name
        )));
    }
    if opts.save {
        // save + release in one script
        ops::write(&model, id, WriteMode::Locked(guard.held(), true))?;
        guard.0 = None;
    } else {
        guard.release()?;
    }
    Ok((model, out))
}

macro_rules! span {
    ($op:literal) => {
        tracing::debug_span!(concat!("rapyer.", $op), model = Self::schema().name).entered()
    };
    ($op:literal, $id:expr) => {
        tracing::debug_span!(concat!("rapyer.", $op), model = Self::schema().name, id = %$id)
            .entered()
    };
}

impl<M: Model> SyncModel for M {
    fn sync_get(id: impl std::fmt::Display) -> Result<Self> {
        let id = id.to_string();
        let _s = span!("get", id);
        ops::get(&id, true)
    }
    fn sync_try_get(id: impl std::fmt::Display) -> Result<Option<Self>> {
        let id = id.to_string();
        let _s = span!("try_get", id);
        ops::try_get(&id, true)
    }
    fn sync_exists(id: impl std::fmt::Display) -> Result<bool> {
        let id = id.to_string();
        let _s = span!("exists", id);
        ops::exists::<Self>(&id)
    }
    fn sync_save(&self) -> Result<()> {
        let id = self.id();
        let _s = span!("save", id);
        ops::write(self, &id, WriteMode::Save)
    }
    fn sync_insert(&self) -> Result<()> {
        let id = self.id();
        let _s = span!("insert", id);
        ops::write(self, &id, WriteMode::Insert)
    }
    fn sync_delete(&self) -> Result<bool> {
        let id = self.id();
        let _s = span!("delete", id);
        ops::delete_id::<Self>(&id)
    }
    fn sync_delete_id(id: impl std::fmt::Display) -> Result<bool> {
        let id = id.to_string();
        let _s = span!("delete", id);
        ops::delete_id::<Self>(&id)
    }
    fn sync_reload(&mut self) -> Result<()> {
        let _s = span!("reload", self.id());
        ops::reload(self)
    }
    fn sync_duplicate(&self) -> Result<Self>
    where
        Self: Clone,
        Self::Key: AutoKey,
    {
        let _s = span!("duplicate", self.id());
        ops::duplicate(self)
    }
    fn sync_duplicate_as(&self, key: Self::Key) -> Result<Self>
    where
        Self: Clone,
    {
        let _s = span!("duplicate", self.id());
        ops::duplicate_as(self, key)
    }
    fn sync_ids() -> Result<Vec<Self::Key>> {
        let _s = span!("ids");
        ops::ids::<Self>()
    }
    fn sync_count() -> Result<u64> {
        let _s = span!("count");
        ops::count::<Self>()
    }
    fn sync_peek(id: impl std::fmt::Display) -> Result<Self> {
        let id = id.to_string();
        let _s = span!("peek", id);
        ops::get(&id, false)
    }
    fn sync_set_ttl(&self, ttl: std::time::Duration) -> Result<bool> {
        let id = self.id();
        let _s = span!("set_ttl", id);
        ops::set_ttl::<Self>(&id, Some(ttl))
    }
    fn sync_persist(&self) -> Result<bool> {
        let id = self.id();
        let _s = span!("persist", id);
        ops::set_ttl::<Self>(&id, None)
    }
    fn sync_ttl(id: impl std::fmt::Display) -> Result<Option<std::time::Duration>> {
        let id = id.to_string();
        let _s = span!("ttl", id);
        ops::ttl::<Self>(&id)
    }
    fn sync_lock<T>(&mut self, action: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.sync_lock_with(action, LockOptions::default(), f)
    }
    fn sync_reindex(
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> Result<crate::ReindexProgress> {
        Self::sync_reindex_from(crate::ReindexCursor::start(), 500, progress)
    }
    fn sync_reindex_from(
        from: crate::ReindexCursor,
        batch: usize,
        mut progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> Result<crate::ReindexProgress> {
        let _s = span!("reindex");
        ops::reindex::<Self>(from, batch, &mut progress)
    }
    fn sync_reshard_from(
        from_shards: u32,
        batch: usize,
        mut progress: impl FnMut(&crate::ReshardProgress) + Send,
    ) -> Result<crate::ReshardProgress> {
        let _s = span!("reshard");
        ops::reshard::<Self>(from_shards, batch, &mut progress)
    }
    fn sync_find_one(expr: crate::Expr) -> Result<Option<Self>> {
        Self::find(expr).sync_first()
    }
    fn sync_bulk_get<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> Result<Vec<Self>> {
        Self::bulk().sync_get(ids)
    }
    fn sync_bulk_get_existing<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Self>> {
        Self::bulk().skip_missing().sync_get(ids)
    }
    fn sync_bulk_insert(models: &[Self]) -> Result<u64> {
        Self::bulk().sync_insert(models)
    }
    fn sync_bulk_save(models: &[Self]) -> Result<u64> {
        Self::bulk().sync_save(models)
    }
    fn sync_bulk_delete<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> Result<u64> {
        Self::bulk().sync_delete(ids)
    }
    fn sync_duplicate_many(&self, n: usize) -> Result<Vec<Self>>
    where
        Self: Clone,
        Self::Key: AutoKey,
    {
        Self::bulk().sync_duplicate(self, n)
    }
    fn sync_pipeline<T>(
        &mut self,
        f: impl for<'a> FnOnce(Self::Atomic<'a>, &mut Pipeline<'a>) -> Result<T>,
    ) -> Result<T> {
        let _s = span!("pipeline", self.id());
        let mut p = Pipeline::new();
        let out = f(self.atomic(), &mut p)?;
        ops::run_pipeline(p)?;
        Ok(out)
    }
    fn sync_lock_with<T>(
        &mut self,
        action: &str,
        opts: LockOptions,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let (model, out) = with_lock(&self.id(), action, &opts, f)?;
        *self = model;
        Ok(out)
    }
    fn sync_lock_id<T>(
        id: impl std::fmt::Display,
        action: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        with_lock(&id.to_string(), action, &LockOptions::default(), f).map(|(_, out)| out)
    }
}

impl Pipeline<'_> {
    /// Applies every op in one atomic round trip (nothing is sent for an empty pipeline).
    pub fn sync_run(self) -> Result<()> {
        let _s = tracing::debug_span!("rapyer.pipeline", ops = self.len()).entered();
        ops::run_pipeline(self)
    }
}

/// Builds a [`Pipeline`] with `f` (ops on any models of one environment) and applies it
/// in one atomic round trip. An error returned by `f` sends nothing.
///
/// ```no_run
/// # use rapyer::sync::prelude::*;
/// # #[derive(Model)] struct User { id: Id, score: i64 }
/// # #[derive(Model)] struct Team { id: Id, total: i64 }
/// # fn run(user: &mut User, team_id: &Id) -> rapyer::Result<()> {
/// rapyer::sync_pipeline(|p| {
///     p.add(user.atomic().score.incr(5));
///     p.add(Team::at(team_id).total.incr(5));
///     Ok(())
/// })?;
/// # Ok(()) }
/// ```
pub fn sync_pipeline<'a, T>(f: impl FnOnce(&mut Pipeline<'a>) -> Result<T>) -> Result<T> {
    let mut p = Pipeline::new();
    let out = f(&mut p)?;
    p.sync_run()?;
    Ok(out)
}

impl<R> crate::exec::Pending<'_, R> {
    /// Runs this atomic operation now (one round trip) and returns its result.
    pub fn sync_run(self) -> Result<R> {
        let _s = tracing::debug_span!("rapyer.atomic", model = self.doc.schema.name, id = %self.doc.id, op = self.op.code)
            .entered();
        ops::run(self)
    }
}

impl<'a, T, P, O> crate::kinds::BlockingPop<'a, T, P, O>
where
    T: Element + Clone + Send + 'a,
    P: crate::kinds::Priority,
    O: crate::kinds::QueueOrder,
{
    /// Takes the next entry, waiting up to the timeout for one (see
    /// [`PriorityRef::pop_blocking`](crate::PriorityRef::pop_blocking)).
    pub fn sync_run(self) -> Result<Option<(T, P)>> {
        let (env, cmd) = self.wait_cmd()?;
        if let Some(entry) = self.queue.pop().sync_run()? {
            return Ok(Some(entry));
        }
        let reply = backend::Backend::connect(&env)?.blocking_cmd(&cmd, self.timeout)?;
        self.finish_wait(reply)
    }
}

impl<R> LimitCall<R> {
    /// Runs this keyed limiter call now (one round trip).
    pub fn sync_run(self) -> Result<R> {
        let (env, call) = self.plan()?;
        let reply = backend::Backend::connect(&env)?.invoke(&call)?;
        self.finish(&call.keys[0], reply)
    }
}

impl<L: Limit> KeyedLimiter<L> {
    /// Blocking `check_key`: decides a call of cost 1 for `key` (one round trip).
    pub fn sync_check_key(&self, key: impl Into<String>) -> Result<Decision> {
        self.check_key(key).sync_run()
    }
    /// Blocking `check_key_n` (one round trip).
    pub fn sync_check_key_n(&self, key: impl Into<String>, cost: u64) -> Result<Decision> {
        self.check_key_n(key, cost).sync_run()
    }
    /// Blocking `reset_key` (one round trip).
    pub fn sync_reset_key(&self, key: impl Into<String>) -> Result<bool> {
        self.reset_key(key).sync_run()
    }
}

/// `sync_<op>(args)` = `<op>(args).sync_run()`, for every atomic operation: one table, so
/// the blocking names cannot drift from the operations.
macro_rules! sync_ops {
    ($(impl[$($g:tt)*] $ty:ty $(where [$($w:tt)*])? {
        $($name:ident => $sync:ident($($arg:ident: $aty:ty),*) -> $ret:ty;)*
    })*) => {$(
        impl<$($g)*> $ty $(where $($w)*)? {$(
            #[doc = concat!("Blocking `", stringify!($name), "`: runs it now (one round trip).")]
            pub fn $sync(&self, $($arg: $aty),*) -> Result<$ret> {
                self.$name($($arg),*).sync_run()
            }
        )*}
    )*};
}

use crate::codec::{Element, MapKey, Scalar};
use crate::exec::Pipeline;
use crate::kinds::{
    At, AtomicInt, AtomicNumber, BlobRef, BloomRef, ById, CircularRef, CounterRef, ListLike,
    ListRef, MapLike, MapRef, MemberPath, OnDoc, OptionRef, PathNumber, Priority, PriorityRef,
    QueueOrder, ScalarRef, SeqPath, SetLike, SetRef,
};
use crate::kinds::{Decision, KeyedLimiter, Limit, LimitCall, RateLimitRef};

sync_ops! {
    impl['a, T: Scalar + Clone + Send + 'a] ScalarRef<'a, T> {
        set => sync_set(value: T) -> ();
        get => sync_get() -> T;
    }
    impl['a, T: AtomicNumber] ScalarRef<'a, T> {
        incr => sync_incr(by: T::Operand) -> T;
        mul => sync_mul(by: T::Operand) -> T;
        pow => sync_pow(exp: T::Exp) -> T;
    }
    impl['a, T: AtomicInt] ScalarRef<'a, T> {
        decr => sync_decr(by: i64) -> T;
        floordiv => sync_floordiv(by: i64) -> T;
        modulo => sync_modulo(by: i64) -> T;
        min => sync_min(other: i64) -> T;
        max => sync_max(other: i64) -> T;
    }
    impl['a] ScalarRef<'a, f64> {
        div => sync_div(by: f64) -> f64;
    }
    impl['a] ScalarRef<'a, f32> {
        div => sync_div(by: f64) -> f32;
    }
    impl['a] ScalarRef<'a, String> {
        append => sync_append(suffix: &str) -> String;
        len => sync_len() -> usize;
    }
    impl['a] ScalarRef<'a, Vec<u8>> {
        append => sync_append(suffix: &[u8]) -> Vec<u8>;
        len => sync_len() -> usize;
    }
    impl['a] ScalarRef<'a, bool> {
        toggle => sync_toggle() -> bool;
    }
    impl['a, T: Scalar + Clone + Send + 'a] OptionRef<'a, T> {
        set => sync_set(value: Option<T>) -> ();
        clear => sync_clear() -> ();
        get => sync_get() -> Option<T>;
    }
    impl['a, C: ListLike<T> + 'a, T: Element + Clone + Send + 'a] ListRef<'a, C, T> {
        push => sync_push(item: T) -> usize;
        push_front => sync_push_front(item: T) -> usize;
        pop => sync_pop() -> T;
        pop_front => sync_pop_front() -> T;
        len => sync_len() -> usize;
        get_all => sync_get_all() -> Vec<T>;
        clear => sync_clear() -> ();
        insert => sync_insert(index: isize, item: T) -> ();
        remove => sync_remove(item: T, count: i64) -> usize;
        set => sync_set(index: isize, item: T) -> ();
        trim => sync_trim(start: isize, stop: isize) -> ();
        get => sync_get(index: isize) -> Option<T>;
        range => sync_range(start: isize, stop: isize) -> Vec<T>;
    }
    impl['a, M: MapLike<K, V> + 'a, K: MapKey + Clone + Send + 'a, V: Element + Clone + Send + 'a] MapRef<'a, M, K, V> {
        set => sync_set(key: K, value: V) -> ();
        remove => sync_remove(key: K) -> bool;
        pop => sync_pop(key: K) -> V;
        popitem => sync_popitem() -> (K, V);
        get => sync_get(key: K) -> Option<V>;
        keys => sync_keys() -> Vec<K>;
        len => sync_len() -> usize;
        get_all => sync_get_all() -> Vec<(K, V)>;
        clear => sync_clear() -> ();
    }
    impl['a, M: MapLike<K, V> + 'a, K: MapKey + Clone + Send + 'a, V: AtomicInt + Element] MapRef<'a, M, K, V> {
        incr => sync_incr(key: K, by: i64) -> V;
    }
    impl['a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a] SetRef<'a, S, T> {
        add => sync_add(item: T) -> bool;
        remove => sync_remove(item: T) -> bool;
        pop => sync_pop() -> T;
        contains => sync_contains(item: T) -> bool;
        len => sync_len() -> usize;
        members => sync_members() -> Vec<T>;
        clear => sync_clear() -> ();
    }
    impl['a, T: serde::Serialize + Send + 'a, C: crate::Codec] BlobRef<'a, T, C> {
        set => sync_set(value: T) -> ();
    }
    impl['a, T: serde::Serialize + serde::de::DeserializeOwned + Send + 'a, C: crate::Codec] crate::CodedRef<'a, T, C> {
        set => sync_set(value: T) -> ();
    }
    impl['a, T: Element + Clone + Send + 'a, const N: usize] CircularRef<'a, T, N> {
        push => sync_push(item: T) -> usize;
        latest => sync_latest(n: usize) -> Vec<T>;
        oldest => sync_oldest() -> Option<T>;
        all => sync_all() -> Vec<T>;
        len => sync_len() -> usize;
        clear => sync_clear() -> ();
    }
    impl['a, T: Element + Clone + Send + 'a, P: Priority, O: QueueOrder] PriorityRef<'a, T, P, O> {
        push => sync_push(value: T, priority: P) -> usize;
        pop => sync_pop() -> Option<(T, P)>;
        pop_many => sync_pop_many(n: usize) -> Vec<(T, P)>;
        peek => sync_peek() -> Option<(T, P)>;
        peek_many => sync_peek_many(n: usize) -> Vec<(T, P)>;
        all => sync_all() -> Vec<(T, P)>;
        remove => sync_remove(value: T) -> usize;
        update_priority => sync_update_priority(value: T, priority: P) -> usize;
        len => sync_len() -> usize;
        clear => sync_clear() -> ();
        pop_blocking => sync_pop_blocking(timeout: std::time::Duration) -> Option<(T, P)>;
    }
    impl['a, T: Element + Send + 'a, const C: u64, const P: u32] BloomRef<'a, T, C, P> {
        add => sync_add(item: T) -> bool;
        contains => sync_contains(item: T) -> bool;
        len_estimate => sync_len_estimate() -> u64;
        saturation => sync_saturation() -> f64;
        clear => sync_clear() -> ();
    }
    impl[T: Send + 'static] At<T, ById> {
        get => sync_get(id: impl std::fmt::Display) -> Option<T>;
        get_existing => sync_get_existing(id: impl std::fmt::Display) -> Option<T>;
    }
    impl['a, T: Send + 'a] At<T, OnDoc<'a>> {
        get => sync_get() -> Option<T>;
        set => sync_set(value: T) -> ();
    }
    impl['a, T: PathNumber + Send + 'a] At<T, OnDoc<'a>> {
        incr => sync_incr(by: T) -> T;
    }
    impl['a, C: Send + 'a, T: serde::Serialize + Send + 'a] SeqPath<C, T, OnDoc<'a>> {
        push => sync_push(item: T) -> usize;
        remove => sync_remove(item: T) -> usize;
    }
    impl[T] MemberPath<T> {
        get => sync_get(id: impl std::fmt::Display) -> bool;
    }
    impl['a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a] SetRef<'a, S, T> {
        has => sync_has(item: T) -> bool;
    }
    impl['a, L: Limit] RateLimitRef<'a, L> {
        check => sync_check() -> Decision;
        check_n => sync_check_n(cost: u64) -> Decision;
        reset => sync_reset() -> ();
    }
    impl['a] CounterRef<'a> {
        increment => sync_increment(n: i64) -> i64;
        decrement => sync_decrement(n: i64) -> i64;
        get => sync_get() -> i64;
        reset => sync_reset() -> ();
        get_and_reset => sync_get_and_reset() -> i64;
    }
}

impl<T: Clone + Send + Sync + 'static> At<T, ById> {
    /// Blocking bulk read by path: the value at this path of every document of `ids`, in
    /// order (`None`: absent, or no such document). One round trip per 500 ids.
    pub fn sync_get_many<I: std::fmt::Display>(
        &self,
        ids: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Option<T>>> {
        let ids = ids.into_iter().map(|i| i.to_string()).collect();
        let mut out = Vec::new();
        for (pipe, slots) in self.many(ids) {
            pipe.sync_run()?;
            out.extend(crate::kinds::nested::many_values(&slots));
        }
        Ok(out)
    }
}

impl<'a, T: Element + Send + 'a, const C: u64, const P: u32> BloomRef<'a, T, C, P> {
    /// Blocking `add_many`: whether each item was new (one round trip).
    pub fn sync_add_many(&self, items: impl IntoIterator<Item = T>) -> Result<Vec<bool>> {
        self.add_many(items).sync_run()
    }
    /// Blocking `contains_many` (one round trip).
    pub fn sync_contains_many(&self, items: impl IntoIterator<Item = T>) -> Result<Vec<bool>> {
        self.contains_many(items).sync_run()
    }
}

impl<'a, T: Element + Clone + Send + 'a, const N: usize> CircularRef<'a, T, N> {
    /// Blocking `push_many`: appends every item and trims to `N` (one round trip).
    pub fn sync_push_many(&self, items: impl IntoIterator<Item = T>) -> Result<usize> {
        self.push_many(items).sync_run()
    }
}

impl<'a, T: Element + Clone + Send + 'a, P: Priority, O: QueueOrder> PriorityRef<'a, T, P, O> {
    /// Blocking `push_many`: queues every entry in order (one round trip).
    pub fn sync_push_many(&self, entries: impl IntoIterator<Item = (T, P)>) -> Result<usize> {
        self.push_many(entries).sync_run()
    }
}

impl<'a, C: ListLike<T> + 'a, T: Element + Clone + Send + 'a> ListRef<'a, C, T> {
    /// Blocking `extend`: appends every item, in order (one round trip).
    pub fn sync_extend(&self, items: impl IntoIterator<Item = T>) -> Result<usize> {
        self.extend(items).sync_run()
    }
}

impl<'a, M: MapLike<K, V> + 'a, K: MapKey + Clone + Send + 'a, V: Element + Clone + Send + 'a>
    MapRef<'a, M, K, V>
{
    /// Blocking `update`: sets every entry (one round trip).
    pub fn sync_update(&self, entries: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        self.update(entries).sync_run()
    }
}

#[cfg(feature = "chrono")]
sync_ops! {
    impl['a] ScalarRef<'a, chrono::DateTime<chrono::Utc>> {
        add => sync_add(d: chrono::TimeDelta) -> chrono::DateTime<chrono::Utc>;
        sub => sync_sub(d: chrono::TimeDelta) -> chrono::DateTime<chrono::Utc>;
    }
    impl['a] ScalarRef<'a, chrono::NaiveDateTime> {
        add => sync_add(d: chrono::TimeDelta) -> chrono::NaiveDateTime;
        sub => sync_sub(d: chrono::TimeDelta) -> chrono::NaiveDateTime;
    }
}
