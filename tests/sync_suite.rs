//! Every shared scenario (tests/suite/*.rs) against a real redis-server, blocking API.
#![allow(missing_docs)]

mod common;

use maybe_async::must_be_sync as maybe_async;
use std::prelude::rust_2024::test as mode_test;

/// The blocking API under the neutral names the shared test bodies use.
pub trait Api: rapyer::sync::SyncModel {
    fn get(id: impl std::fmt::Display) -> rapyer::Result<Self> {
        Self::sync_get(id)
    }
    fn try_get(id: impl std::fmt::Display) -> rapyer::Result<Option<Self>> {
        Self::sync_try_get(id)
    }
    fn exists(id: impl std::fmt::Display) -> rapyer::Result<bool> {
        Self::sync_exists(id)
    }
    fn save(&self) -> rapyer::Result<()> {
        self.sync_save()
    }
    fn insert(&self) -> rapyer::Result<()> {
        self.sync_insert()
    }
    fn delete(&self) -> rapyer::Result<bool> {
        self.sync_delete()
    }
    fn delete_id(id: impl std::fmt::Display) -> rapyer::Result<bool> {
        Self::sync_delete_id(id)
    }
    fn reload(&mut self) -> rapyer::Result<()> {
        self.sync_reload()
    }
    fn duplicate(&self) -> rapyer::Result<Self>
    where
        Self: Clone,
        Self::Key: rapyer::AutoKey,
    {
        self.sync_duplicate()
    }
    fn duplicate_as(&self, key: Self::Key) -> rapyer::Result<Self>
    where
        Self: Clone,
    {
        self.sync_duplicate_as(key)
    }
    fn ids() -> rapyer::Result<Vec<Self::Key>> {
        Self::sync_ids()
    }
    fn count() -> rapyer::Result<u64> {
        Self::sync_count()
    }
}
impl<M: rapyer::Model> Api for M {}

/// Runs a pending atomic operation in this mode.
pub trait Go<R> {
    fn go(self) -> rapyer::Result<R>;
}
impl<R> Go<R> for rapyer::Pending<'_, R> {
    fn go(self) -> rapyer::Result<R> {
        self.sync_run()
    }
}

#[path = "suite/crud.rs"]
mod crud;

#[path = "suite/atomic.rs"]
mod atomic;
