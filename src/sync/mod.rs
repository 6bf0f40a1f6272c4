//! The blocking API: `use rapyer::sync::prelude::*;` then `User::sync_get(id)?`,
//! `user.sync_save()?`, …
//!
//! Every call blocks the current thread on a pooled connection (r2d2). Do not call it from
//! inside an async runtime's worker thread; use [`crate::asynchronous`] there.

use maybe_async::must_be_sync as maybe_async_mode;
use redis::Value;

use crate::codec::AutoKey;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::plan::WriteMode;
use crate::scripts::{Invocation, is_noscript};

#[allow(clippy::duplicate_mod)]
#[path = "../core/ops.rs"]
mod ops;

/// Re-exports for blocking code: `use rapyer::sync::prelude::*;`.
pub mod prelude {
    pub use super::SyncModel;
    pub use crate::{Element, Embedded, Error, Id, Model, Result};
}

/// One pooled connection of an environment, counting what it sends.
pub(crate) struct Backend {
    env: Environment,
    conn: r2d2::PooledConnection<redis::Client>,
}

impl Backend {
    pub(crate) fn connect(env: &Environment) -> Result<Self> {
        let inner = &env.0;
        let conn_err = |reason: String| Error::Connection {
            env: inner.name.clone(),
            reason,
        };
        let pool = inner.pool.get_or_try_init(|| {
            r2d2::Pool::builder()
                .max_size(inner.config.pool_size)
                .min_idle(Some(0))
                .connection_timeout(inner.config.connection_timeout)
                // A PING per checkout would double the round trips; broken connections
                // are detected by r2d2's `has_broken` and replaced.
                .test_on_check_out(false)
                .build(inner.client.clone())
                .map_err(|e| conn_err(e.to_string()))
        })?;
        let conn = pool.get().map_err(|e| conn_err(e.to_string()))?;
        Ok(Self {
            env: env.clone(),
            conn,
        })
    }

    pub(crate) fn query_pipe(&mut self, pipe: &redis::Pipeline) -> Result<Vec<Value>> {
        self.env
            .record(pipe.len() + if pipe.is_transaction() { 2 } else { 0 });
        Ok(pipe.query(&mut *self.conn)?)
    }

    pub(crate) fn query_cmd(&mut self, cmd: &redis::Cmd) -> Result<Value> {
        self.env.record(1);
        Ok(cmd.query(&mut *self.conn)?)
    }

    pub(crate) fn invoke(&mut self, call: &Invocation) -> Result<Value> {
        self.env.record(1);
        match call.evalsha().query(&mut *self.conn) {
            Err(e) if is_noscript(&e) => {
                self.env.record(2);
                let mut replies: Vec<Value> = call.reload_pipe().query(&mut *self.conn)?;
                Ok(replies.pop().unwrap_or(Value::Nil))
            }
            other => Ok(other?),
        }
    }
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
        ops::get(&id)
    }
    fn sync_try_get(id: impl std::fmt::Display) -> Result<Option<Self>> {
        let id = id.to_string();
        let _s = span!("try_get", id);
        ops::try_get(&id)
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
}
