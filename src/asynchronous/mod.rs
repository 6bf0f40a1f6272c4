//! The tokio API: `use rapyer::asynchronous::prelude::*;` then `User::get(id).await?`,
//! `user.save().await?`, …
//!
//! Each environment keeps one redis [`ConnectionManager`](redis::aio::ConnectionManager)
//! (multiplexed, reconnects on its own), created on first use. Its I/O task lives on the
//! tokio runtime that made that first call: use an environment from one runtime (the
//! usual case), or register one environment per runtime.
//!
//! Futures returned here are `Send`, so they can be spawned.

use std::future::Future;

use maybe_async::must_be_async as maybe_async_mode;
use tracing::Instrument;

use crate::bulk::{Bulk, BulkMode};
use crate::codec::AutoKey;
use crate::error::Result;
use crate::exec::Pipeline;
use crate::lock::LockOptions;
use crate::model::Model;
use crate::plan::WriteMode;

mod across;
mod backend;
mod named;
mod relations;
mod update;
pub use across::{PerEnvironment, node_round_trips, search, search_all_environments};
pub(crate) use backend::Backend;
pub use named::{delete_structure, structures};

#[allow(clippy::duplicate_mod)]
#[path = "../core/ops.rs"]
mod ops;

/// Re-exports for async code: `use rapyer::asynchronous::prelude::*;`.
pub mod prelude {
    pub use super::{AsyncModel, BoxFuture, pipeline, with_environment};
    pub use crate::{Element, Embedded, Error, Id, Model, Result};
}

/// Runs `fut` with environment `name` as the current environment of this task (and only
/// this task: tasks it spawns, and other tasks, are not affected).
///
/// ```no_run
/// # async fn run() -> rapyer::Result<()> {
/// let n = rapyer::asynchronous::with_environment("staging", async {
///     // operations here go to "staging"
///     42
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// The name is resolved when this is called, so the returned future does not borrow it
/// and can be spawned.
pub fn with_environment<F: Future>(
    name: &str,
    fut: F,
) -> impl Future<Output = Result<F::Output>> + use<F> {
    let env = crate::env::environment(name);
    async move { Ok(crate::env::TASK_ENV.scope(env?, fut).await) }
}

/// Runs `fut` in environment `name`, for an async function under
/// `#[rapyer::environment(..)]` (derive support): an unknown name is the function's
/// error, the future stays `Send` when `fut` is, and tasks spawned inside do not inherit
/// the scope.
#[doc(hidden)]
pub async fn in_environment<T: crate::env::EnvironmentResult, F: Future<Output = T>>(
    name: &'static str,
    fut: F,
) -> T {
    match crate::env::environment(name) {
        Ok(env) => crate::env::TASK_ENV.scope(env, fut).await,
        Err(e) => T::from_environment_error(e),
    }
}

/// The async operations of every [`Model`]. Method names are plain; the blocking
/// equivalents on [`SyncModel`](crate::sync::SyncModel) carry a `sync_` prefix.
///
/// ```no_run
/// use rapyer::asynchronous::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// struct User { id: Id, name: String, age: i64 }
///
/// #[tokio::main]
/// async fn main() -> rapyer::Result<()> {
///     rapyer::init("redis://127.0.0.1:6379")?;
///     let user = User { id: Id::new(), name: "Ada".into(), age: 36 };
///     user.insert().await?;
///     let loaded = User::get(&user.id).await?;
///     assert_eq!(loaded.age, 36);
///     loaded.delete().await?;
///     Ok(())
/// }
/// ```
pub trait AsyncModel: Model {
    /// Reads run-time `paths` (`"lines[0].qty"`, `"address.city"`, `"by_shop[\"oslo\"].sku"`,
    /// `"by_rank[3]"`) of document `id`, each checked against the schema first (a bad
    /// path is [`crate::Error::InvalidInput`] naming it, the position and the fields
    /// there, and nothing is sent). One round trip for all of them; absent values are left
    /// out of the map; a missing document is [`crate::Error::NotFound`].
    fn extract_fields<P: AsRef<str>>(
        id: impl std::fmt::Display,
        paths: impl IntoIterator<Item = P>,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, crate::Value>>> + Send {
        let paths = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let planned = crate::extract::plan(Self::schema(), &id.to_string(), paths);
        async move {
            let (pipe, slots) = planned?;
            ops::run_pipeline(pipe).await?;
            Ok(crate::extract::collect(slots))
        }
    }
    /// Loads document `id`; [`crate::Error::NotFound`] when absent. One round trip.
    fn get(id: impl std::fmt::Display) -> impl Future<Output = Result<Self>> + Send;
    /// Loads document `id`, `None` when absent. One round trip.
    fn try_get(id: impl std::fmt::Display) -> impl Future<Output = Result<Option<Self>>> + Send;
    /// Whether document `id` exists. One round trip.
    fn exists(id: impl std::fmt::Display) -> impl Future<Output = Result<bool>> + Send;
    /// Writes this model (upsert; collections are replaced wholly). One round trip.
    fn save(&self) -> impl Future<Output = Result<()>> + Send;
    /// Writes this model if no document has its id, else
    /// [`crate::Error::AlreadyExists`] and nothing changes. One round trip.
    fn insert(&self) -> impl Future<Output = Result<()>> + Send;
    /// Deletes every key of this document; `true` if it existed. One round trip.
    fn delete(&self) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes document `id`; `true` if it existed. One round trip.
    fn delete_id(id: impl std::fmt::Display) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces this instance with the stored document (`NotFound` if gone).
    fn reload(&mut self) -> impl Future<Output = Result<()>> + Send;
    /// Inserts a copy under a fresh auto id and returns it.
    fn duplicate(&self) -> impl Future<Output = Result<Self>> + Send
    where
        Self: Clone,
        Self::Key: AutoKey;
    /// Inserts a copy under `key` and returns it (`AlreadyExists` if taken).
    fn duplicate_as(&self, key: Self::Key) -> impl Future<Output = Result<Self>> + Send
    where
        Self: Clone;
    /// Every id, sorted, from the id index (never `KEYS`/`SCAN`). One round trip.
    fn ids() -> impl Future<Output = Result<Vec<Self::Key>>> + Send;
    /// Number of documents, from the id index. One round trip.
    fn count() -> impl Future<Output = Result<u64>> + Send;
    /// Loads document `id` without refreshing its TTL (whatever the model's
    /// `ttl_refresh`); `NotFound` when absent. One round trip.
    fn peek(id: impl std::fmt::Display) -> impl Future<Output = Result<Self>> + Send;
    /// Sets the TTL of every key of this document; `false` if it does not exist.
    fn set_ttl(&self, ttl: std::time::Duration) -> impl Future<Output = Result<bool>> + Send;
    /// Removes the TTL of every key of this document; `false` if it does not exist.
    fn persist(&self) -> impl Future<Output = Result<bool>> + Send;
    /// The remaining TTL of document `id` (`None`: no expiry; `NotFound` if missing).
    fn ttl(
        id: impl std::fmt::Display,
    ) -> impl Future<Output = Result<Option<std::time::Duration>>> + Send;
    /// Takes lock `action` on this document (waiting up to 10 s, lease 10 s), loads the
    /// document inside the lock, runs `f` on it, saves it (checking the lock is still
    /// held), releases the lock (also when `f` fails, or its task is dropped), and leaves
    /// `self` equal to what was saved.
    ///
    /// ```no_run
    /// # use rapyer::asynchronous::prelude::*;
    /// # #[derive(Model, Clone)] struct User { id: Id, balance: i64 }
    /// # async fn run(user: &mut User) -> rapyer::Result<()> {
    /// user.lock("pay", |u| Box::pin(async move {
    ///     u.balance -= 10;
    ///     Ok(())
    /// }))
    /// .await?;
    /// # Ok(()) }
    /// ```
    fn lock<'s, T, F>(
        &'s mut self,
        action: &'s str,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's;
    /// [`lock`](Self::lock) with explicit [`LockOptions`].
    fn lock_with<'s, T, F>(
        &'s mut self,
        action: &'s str,
        opts: LockOptions,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's;
    /// Builds a [`Pipeline`] of atomic operations on this document with `f` (which gets
    /// the field handles and the pipeline; it runs before anything is sent), then applies
    /// all of them in one atomic round trip and updates `self` from the replies.
    ///
    /// ```no_run
    /// # use rapyer::asynchronous::prelude::*;
    /// # #[derive(Model)] struct User { id: Id, score: i64, tags: Vec<String> }
    /// # async fn run(user: &mut User) -> rapyer::Result<()> {
    /// user.pipeline(|u, p| {
    ///     p.add(u.score.incr(10));
    ///     p.add(u.tags.push("new_tag".into()));
    ///     Ok(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    fn pipeline<'s, T: Send + 's>(
        &'s mut self,
        f: impl for<'a> FnOnce(Self::Atomic<'a>, &mut Pipeline<'a>) -> Result<T>,
    ) -> impl Future<Output = Result<T>> + Send + 's;
    /// The first document matching `expr` (by id order), if any.
    fn find_one(expr: crate::Expr) -> impl Future<Output = Result<Option<Self>>> + Send;
    /// Documents `ids`, in the order given, one round trip per chunk of 500;
    /// [`crate::Error::Missing`] listing every id without a document. Options:
    /// [`Model::bulk`].
    fn bulk_get<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send;
    /// Like [`bulk_get`](Self::bulk_get), leaving out ids without a document.
    fn bulk_get_existing<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send;
    /// Inserts `models` in chunks of 500, one atomic round trip each, and returns how
    /// many were written. A chunk holding an id that exists writes nothing; the others
    /// still run; then [`crate::Error::Bulk`] lists the existing ids and exactly which
    /// were written. Options: [`Model::bulk`].
    fn bulk_insert(models: &[Self]) -> impl Future<Output = Result<u64>> + Send + '_;
    /// Saves (upserts) `models` in chunks of 500, one atomic round trip each; returns
    /// how many were written, or [`crate::Error::Bulk`] saying which were when an error
    /// stopped the call.
    fn bulk_save(models: &[Self]) -> impl Future<Output = Result<u64>> + Send + '_;
    /// Deletes documents `ids` (keys, id and index entries) in chunks of 500, one
    /// atomic round trip each; returns how many existed.
    fn bulk_delete<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Inserts `n` copies of this model under fresh auto ids (a bulk insert) and
    /// returns them.
    fn duplicate_many(&self, n: usize) -> impl Future<Output = Result<Vec<Self>>> + Send + '_
    where
        Self: Clone,
        Self::Key: AutoKey;
    /// Rebuilds this model's indexes (after adding, removing or changing an
    /// `#[rapyer(index)]` on a model that has data), in batches of 500 documents,
    /// calling `progress` after each batch. Until it has run, queries answer
    /// [`crate::Error::StaleIndex`]. Resumable: see [`reindex_from`](Self::reindex_from).
    fn reindex(
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReindexProgress>> + Send;
    /// [`reindex`](Self::reindex) from a cursor a previous run reported.
    fn reindex_from(
        from: crate::ReindexCursor,
        batch: usize,
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReindexProgress>> + Send;
    /// Moves the documents written when the model had `from_shards` shards to the shards
    /// it has now (see [`crate::sync::SyncModel::sync_reshard_from`]).
    fn reshard_from(
        from_shards: u32,
        batch: usize,
        progress: impl FnMut(&crate::ReshardProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReshardProgress>> + Send;
    /// [`lock`](Self::lock) on document `id`, without an instance.
    fn lock_id<'s, T, F>(
        id: impl std::fmt::Display,
        action: &'s str,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's;
}

/// The boxed future a lock closure returns: `|u| Box::pin(async move { … })`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Releases the lock when dropped unless released already: on a spawned task of the
/// current runtime, so errors, panics and cancelled tasks all free the lock.
struct Unlock(Option<crate::plan::HeldLock>);

impl Unlock {
    fn held(&self) -> &crate::plan::HeldLock {
        self.0.as_ref().expect("held until released")
    }
    async fn release(mut self) -> Result<bool> {
        match self.0.take() {
            Some(held) => ops::release(&held).await,
            None => Ok(false),
        }
    }
}

impl Drop for Unlock {
    fn drop(&mut self) {
        if let Some(held) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = ops::release(&held).await {
                    tracing::warn!(key = %held.key, error = %e, "rapyer: lock release failed; the lease will free it");
                }
            });
        }
    }
}

async fn with_lock<M: Model, T, F>(
    id: String,
    action: &str,
    opts: LockOptions,
    f: F,
) -> Result<(M, T)>
where
    F: for<'b> FnOnce(&'b mut M) -> BoxFuture<'b, Result<T>>,
{
    let (held, mut model) = ops::lock_and_load::<M>(&id, action, &opts).await?;
    let mut guard = Unlock(Some(held));
    let out = f(&mut model).await?;
    if model.id() != id {
        return Err(crate::Error::InvalidInput(format!(
            "{}: the key cannot change inside a lock",
            M::schema().name
        )));
    }
    if opts.save {
        // save + release in one script
        ops::write(&model, &id, WriteMode::Locked(guard.held(), true)).await?;
        guard.0 = None;
    } else {
        guard.release().await?;
    }
    Ok((model, out))
}

macro_rules! span {
    ($op:literal) => {
        tracing::debug_span!(concat!("rapyer.", $op), model = Self::schema().name)
    };
    ($op:literal, $id:expr) => {
        tracing::debug_span!(concat!("rapyer.", $op), model = Self::schema().name, id = %$id)
    };
}

impl<M: Model> AsyncModel for M {
    fn get(id: impl std::fmt::Display) -> impl Future<Output = Result<Self>> + Send {
        let id = id.to_string();
        let span = span!("get", id);
        async move { ops::get(&id, true).await }.instrument(span)
    }
    fn try_get(id: impl std::fmt::Display) -> impl Future<Output = Result<Option<Self>>> + Send {
        let id = id.to_string();
        let span = span!("try_get", id);
        async move { ops::try_get(&id, true).await }.instrument(span)
    }
    fn exists(id: impl std::fmt::Display) -> impl Future<Output = Result<bool>> + Send {
        let id = id.to_string();
        let span = span!("exists", id);
        async move { ops::exists::<Self>(&id).await }.instrument(span)
    }
    fn save(&self) -> impl Future<Output = Result<()>> + Send {
        let id = self.id();
        let span = span!("save", id);
        async move { ops::write(self, &id, WriteMode::Save).await }.instrument(span)
    }
    fn insert(&self) -> impl Future<Output = Result<()>> + Send {
        let id = self.id();
        let span = span!("insert", id);
        async move { ops::write(self, &id, WriteMode::Insert).await }.instrument(span)
    }
    fn delete(&self) -> impl Future<Output = Result<bool>> + Send {
        let id = self.id();
        let span = span!("delete", id);
        async move { ops::delete_id::<Self>(&id).await }.instrument(span)
    }
    fn delete_id(id: impl std::fmt::Display) -> impl Future<Output = Result<bool>> + Send {
        let id = id.to_string();
        let span = span!("delete", id);
        async move { ops::delete_id::<Self>(&id).await }.instrument(span)
    }
    fn reload(&mut self) -> impl Future<Output = Result<()>> + Send {
        let span = span!("reload", self.id());
        async move { ops::reload(self).await }.instrument(span)
    }
    fn duplicate(&self) -> impl Future<Output = Result<Self>> + Send
    where
        Self: Clone,
        Self::Key: AutoKey,
    {
        let span = span!("duplicate", self.id());
        async move { ops::duplicate(self).await }.instrument(span)
    }
    fn duplicate_as(&self, key: Self::Key) -> impl Future<Output = Result<Self>> + Send
    where
        Self: Clone,
    {
        let span = span!("duplicate", self.id());
        async move { ops::duplicate_as(self, key).await }.instrument(span)
    }
    fn ids() -> impl Future<Output = Result<Vec<Self::Key>>> + Send {
        async move { ops::ids::<Self>().await }.instrument(span!("ids"))
    }
    fn count() -> impl Future<Output = Result<u64>> + Send {
        async move { ops::count::<Self>().await }.instrument(span!("count"))
    }
    fn peek(id: impl std::fmt::Display) -> impl Future<Output = Result<Self>> + Send {
        let id = id.to_string();
        let span = span!("peek", id);
        async move { ops::get(&id, false).await }.instrument(span)
    }
    fn set_ttl(&self, ttl: std::time::Duration) -> impl Future<Output = Result<bool>> + Send {
        let id = self.id();
        let span = span!("set_ttl", id);
        async move { ops::set_ttl::<Self>(&id, Some(ttl)).await }.instrument(span)
    }
    fn persist(&self) -> impl Future<Output = Result<bool>> + Send {
        let id = self.id();
        let span = span!("persist", id);
        async move { ops::set_ttl::<Self>(&id, None).await }.instrument(span)
    }
    fn ttl(
        id: impl std::fmt::Display,
    ) -> impl Future<Output = Result<Option<std::time::Duration>>> + Send {
        let id = id.to_string();
        let span = span!("ttl", id);
        async move { ops::ttl::<Self>(&id).await }.instrument(span)
    }
    fn reindex(
        progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReindexProgress>> + Send {
        Self::reindex_from(crate::ReindexCursor::start(), 500, progress)
    }
    fn reindex_from(
        from: crate::ReindexCursor,
        batch: usize,
        mut progress: impl FnMut(&crate::ReindexProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReindexProgress>> + Send {
        async move { ops::reindex::<Self>(from, batch, &mut progress).await }
            .instrument(span!("reindex"))
    }
    fn reshard_from(
        from_shards: u32,
        batch: usize,
        mut progress: impl FnMut(&crate::ReshardProgress) + Send,
    ) -> impl Future<Output = Result<crate::ReshardProgress>> + Send {
        async move { ops::reshard::<Self>(from_shards, batch, &mut progress).await }
            .instrument(span!("reshard"))
    }
    fn find_one(expr: crate::Expr) -> impl Future<Output = Result<Option<Self>>> + Send {
        let q = Self::find(expr).limit(1);
        async move { Ok(ops::query_all(&q).await?.into_iter().next()) }
    }
    fn bulk_get<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send {
        Self::bulk().get(ids)
    }
    fn bulk_get_existing<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send {
        Self::bulk().skip_missing().get(ids)
    }
    fn bulk_insert(models: &[Self]) -> impl Future<Output = Result<u64>> + Send + '_ {
        Self::bulk().insert(models)
    }
    fn bulk_save(models: &[Self]) -> impl Future<Output = Result<u64>> + Send + '_ {
        Self::bulk().save(models)
    }
    fn bulk_delete<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<u64>> + Send {
        Self::bulk().delete(ids)
    }
    fn duplicate_many(&self, n: usize) -> impl Future<Output = Result<Vec<Self>>> + Send + '_
    where
        Self: Clone,
        Self::Key: AutoKey,
    {
        Self::bulk().duplicate(self, n)
    }
    fn pipeline<'s, T: Send + 's>(
        &'s mut self,
        f: impl for<'a> FnOnce(Self::Atomic<'a>, &mut Pipeline<'a>) -> Result<T>,
    ) -> impl Future<Output = Result<T>> + Send + 's {
        let span = span!("pipeline", self.id());
        let mut p = Pipeline::new();
        let built = f(self.atomic(), &mut p);
        async move {
            let out = built?;
            ops::run_pipeline(p).await?;
            Ok(out)
        }
        .instrument(span)
    }
    fn lock<'s, T, F>(
        &'s mut self,
        action: &'s str,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's,
    {
        self.lock_with(action, LockOptions::default(), f)
    }
    fn lock_with<'s, T, F>(
        &'s mut self,
        action: &'s str,
        opts: LockOptions,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's,
    {
        let id = self.id();
        let span = span!("lock", id);
        async move {
            let (model, out) = with_lock(id, action, opts, f).await?;
            *self = model;
            Ok(out)
        }
        .instrument(span)
    }
    fn lock_id<'s, T, F>(
        id: impl std::fmt::Display,
        action: &'s str,
        f: F,
    ) -> impl Future<Output = Result<T>> + Send + 's
    where
        T: Send + 's,
        F: for<'b> FnOnce(&'b mut Self) -> BoxFuture<'b, Result<T>> + Send + 's,
    {
        let id = id.to_string();
        let span = span!("lock", id);
        async move {
            with_lock::<Self, T, F>(id, action, LockOptions::default(), f)
                .await
                .map(|(_, out)| out)
        }
        .instrument(span)
    }
}

impl<T: Clone + Send + Sync + 'static> crate::kinds::At<T, crate::kinds::ById> {
    /// Bulk read by path: the value at this path of every document of `ids`, in order
    /// (`None`: absent, or no such document). One round trip per 500 ids.
    pub async fn get_many<I: std::fmt::Display>(
        &self,
        ids: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Option<T>>> {
        let ids = ids.into_iter().map(|i| i.to_string()).collect();
        let mut out = Vec::new();
        for (pipe, slots) in self.many(ids) {
            ops::run_pipeline(pipe).await?;
            out.extend(crate::kinds::nested::many_values(&slots));
        }
        Ok(out)
    }
}

impl<'a> Pipeline<'a> {
    /// Applies every op in one atomic round trip (nothing is sent for an empty pipeline).
    pub fn run(self) -> impl Future<Output = Result<()>> + Send + 'a {
        let span = tracing::debug_span!("rapyer.pipeline", ops = self.len());
        ops::run_pipeline(self).instrument(span)
    }
}

/// Builds a [`Pipeline`] with `f` (ops on any models of one environment; it runs before
/// anything is sent) and applies it in one atomic round trip.
///
/// ```no_run
/// # use rapyer::asynchronous::prelude::*;
/// # #[derive(Model)] struct User { id: Id, score: i64 }
/// # #[derive(Model)] struct Team { id: Id, total: i64 }
/// # async fn run(user: &mut User, team_id: &Id) -> rapyer::Result<()> {
/// rapyer::pipeline(|p| {
///     p.add(user.atomic().score.incr(5));
///     p.add(Team::at(team_id).total.incr(5));
///     Ok(())
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub fn pipeline<'a, T: Send + 'a>(
    f: impl FnOnce(&mut Pipeline<'a>) -> Result<T>,
) -> impl Future<Output = Result<T>> + Send + 'a {
    let mut p = Pipeline::new();
    let built = f(&mut p);
    async move {
        let out = built?;
        p.run().await?;
        Ok(out)
    }
}

/// `.await` runs an atomic operation (one round trip).
impl<'a, R: Send + 'a> std::future::IntoFuture for crate::exec::Pending<'a, R> {
    type Output = Result<R>;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = Result<R>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::debug_span!("rapyer.atomic", model = self.doc.schema.name, id = %self.doc.id, op = self.op.code);
        Box::pin(ops::run(self).instrument(span))
    }
}

/// `.await` takes the next entry, waiting up to the timeout for one (see
/// [`PriorityRef::pop_blocking`](crate::PriorityRef::pop_blocking)).
impl<'a, T, P, O> std::future::IntoFuture for crate::kinds::BlockingPop<'a, T, P, O>
where
    T: crate::codec::Element + Clone + Send + 'a,
    P: crate::kinds::Priority,
    O: crate::kinds::QueueOrder,
{
    type Output = Result<Option<(T, P)>>;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (env, cmd) = self.wait_cmd()?;
            if let Some(entry) = self.queue.pop().await? {
                return Ok(Some(entry));
            }
            let reply = backend::Backend::blocking_cmd(&env, &cmd, self.timeout).await?;
            self.finish_wait(reply)
        })
    }
}

/// `.await` runs the keyed limiter call (one round trip).
impl<R: Send + 'static> std::future::IntoFuture for crate::kinds::LimitCall<R> {
    type Output = Result<R>;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (env, call) = self.plan()?;
            let reply = backend::Backend::connect(&env).await?.invoke(&call).await?;
            self.finish(&call.keys[0], reply)
        })
    }
}

fn bulk_span<M: Model>(op: &'static str, n: usize) -> tracing::Span {
    tracing::debug_span!("rapyer.bulk", op, model = M::schema().name, n)
}

/// Async runners of a [`Bulk`] operation.
impl<'b, M: Model> Bulk<'b, M> {
    /// Inserts `models`; see [`AsyncModel::bulk_insert`].
    pub fn insert<'m>(mut self, models: &'m [M]) -> impl Future<Output = Result<u64>> + Send + 'm
    where
        'b: 'm,
    {
        let span = bulk_span::<M>("insert", models.len());
        async move { ops::bulk_write(models, BulkMode::Insert, &mut self).await }.instrument(span)
    }
    /// Saves `models`; see [`AsyncModel::bulk_save`].
    pub fn save<'m>(mut self, models: &'m [M]) -> impl Future<Output = Result<u64>> + Send + 'm
    where
        'b: 'm,
    {
        let span = bulk_span::<M>("save", models.len());
        async move { ops::bulk_write(models, BulkMode::Save, &mut self).await }.instrument(span)
    }
    /// Loads documents `ids` in order; see [`AsyncModel::bulk_get`].
    pub fn get<I: std::fmt::Display>(
        mut self,
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<M>>> + Send + 'b {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        let span = bulk_span::<M>("get", ids.len());
        async move { ops::bulk_get(&ids, &mut self).await }.instrument(span)
    }
    /// Deletes documents `ids`; see [`AsyncModel::bulk_delete`].
    pub fn delete<I: std::fmt::Display>(
        mut self,
        ids: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<u64>> + Send + 'b {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        let span = bulk_span::<M>("delete", ids.len());
        async move { ops::bulk_delete(&ids, &mut self).await }.instrument(span)
    }
    /// Inserts `n` copies of `model` under fresh ids; see
    /// [`AsyncModel::duplicate_many`].
    pub fn duplicate<'m>(
        mut self,
        model: &'m M,
        n: usize,
    ) -> impl Future<Output = Result<Vec<M>>> + Send + 'm
    where
        'b: 'm,
        M: Clone,
        M::Key: AutoKey,
    {
        let span = bulk_span::<M>("duplicate", n);
        async move { ops::duplicate_many(model, n, &mut self).await }.instrument(span)
    }
}

/// Running a [`Query`](crate::Query) in async code.
impl<M: Model> crate::query::Query<M> {
    /// The matching documents of the page, in order (ids from the indexes, then the
    /// documents in one snapshot, each re-checked). Two round trips.
    pub fn all(&self) -> impl Future<Output = Result<Vec<M>>> + Send + '_ {
        ops::query_all(self).instrument(tracing::debug_span!(
            "rapyer.query",
            model = M::schema().name
        ))
    }

    /// The first matching document, if any.
    pub fn first(&self) -> impl Future<Output = Result<Option<M>>> + Send + '_ {
        let q = self.clone().limit(1);
        async move { Ok(ops::query_all(&q).await?.into_iter().next()) }
    }

    /// Number of matching documents (offset and limit ignored). One round trip.
    pub fn count(&self) -> impl Future<Output = Result<u64>> + Send + '_ {
        ops::query_count(self).instrument(tracing::debug_span!(
            "rapyer.query_count",
            model = M::schema().name
        ))
    }

    /// Whether any document matches. One round trip.
    pub fn exists(&self) -> impl Future<Output = Result<bool>> + Send + '_ {
        let q = self.clone().limit(1);
        async move { Ok(!ops::query_ids(&q).await?.is_empty()) }
    }

    /// The ids of the page, in order. One round trip.
    pub fn ids(&self) -> impl Future<Output = Result<Vec<M::Key>>> + Send + '_ {
        async move { crate::plan::parse_ids::<M>(ops::query_ids(self).await?) }.instrument(
            tracing::debug_span!("rapyer.query_ids", model = M::schema().name),
        )
    }

    /// Streams the matching documents in batches of `batch`: the page's ids come first
    /// (one round trip), then each batch of documents (one round trip each).
    pub fn stream(
        &self,
        batch: usize,
    ) -> impl futures_util::Stream<Item = Result<M>> + Send + 'static {
        use futures_util::StreamExt;
        let query = self.clone();
        let batch = batch.max(1);
        futures_util::stream::unfold(
            (query, None::<Vec<String>>, 0usize),
            move |(query, ids, pos)| async move {
                let ids = match ids {
                    Some(ids) => ids,
                    None => match ops::query_ids(&query).await {
                        Ok(ids) => ids,
                        Err(e) => return Some((vec![Err(e)], (query, Some(Vec::new()), 0))),
                    },
                };
                if pos >= ids.len() {
                    return None;
                }
                let end = (pos + batch).min(ids.len());
                let items = match ops::query_batch(&query, &ids[pos..end]).await {
                    Ok(docs) => docs.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                };
                Some((items, (query, Some(ids), end)))
            },
        )
        .flat_map(futures_util::stream::iter)
    }

    /// Deletes every matching document of the page; returns how many existed.
    pub fn delete(&self) -> impl Future<Output = Result<u64>> + Send + '_ {
        ops::query_delete(self).instrument(tracing::debug_span!(
            "rapyer.query_delete",
            model = M::schema().name
        ))
    }
}
