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
    fn peek(id: impl std::fmt::Display) -> rapyer::Result<Self> {
        Self::sync_peek(id)
    }
    fn set_ttl(&self, ttl: std::time::Duration) -> rapyer::Result<bool> {
        self.sync_set_ttl(ttl)
    }
    fn persist(&self) -> rapyer::Result<bool> {
        self.sync_persist()
    }
    fn ttl(id: impl std::fmt::Display) -> rapyer::Result<Option<std::time::Duration>> {
        Self::sync_ttl(id)
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

#[path = "suite/ttl.rs"]
mod ttl;

/// Blocking-only: threads, and the `sync_` names themselves.
mod blocking {
    use super::common::{self, models::*};
    use rapyer::Model;
    use rapyer::sync::SyncModel;

    #[test]
    fn eight_threads_times_a_thousand_increments_lose_nothing() {
        let t = common::env();
        let g = Gauge::default();
        g.sync_save().unwrap();
        let name = t.env.name().to_owned();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (id, name) = (g.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    for j in 0..1000 {
                        Gauge::at(&id).big.sync_incr(1).unwrap();
                        if j % 100 == 0 {
                            Gauge::at(&id).log.sync_push(format!("{i}-{j}")).unwrap();
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let stored = Gauge::sync_get(&g.id).unwrap();
        assert_eq!(stored.big, 8000);
        assert_eq!(stored.log.len(), 80);
    }

    #[test]
    fn sync_names_mirror_locally() {
        let _t = common::env();
        let mut g = Gauge {
            big: 1,
            ..Gauge::default()
        };
        g.sync_save().unwrap();
        assert_eq!(g.atomic().big.sync_incr(2).unwrap(), 3);
        assert_eq!(g.atomic().big.sync_decr(1).unwrap(), 2);
        assert_eq!(g.atomic().big.sync_mul(5).unwrap(), 10);
        assert_eq!(g.atomic().ratio.sync_incr(0.5).unwrap(), 0.5);
        assert_eq!(g.atomic().name.sync_append("x").unwrap(), "x");
        assert!(g.atomic().flag.sync_toggle().unwrap());
        g.atomic().nick.sync_set(Some("n".into())).unwrap();
        assert_eq!(
            g.atomic()
                .log
                .sync_extend(["a".to_string(), "b".to_string()])
                .unwrap(),
            2
        );
        assert_eq!(g.atomic().log.sync_pop().unwrap(), "b");
        g.atomic()
            .counts
            .sync_update([("k".to_string(), 1)])
            .unwrap();
        assert_eq!(g.atomic().counts.sync_incr("k".into(), 1).unwrap(), 2);
        assert!(g.atomic().labels.sync_add("l".into()).unwrap());
        g.atomic().home.city.sync_set("Rome".into()).unwrap();
        assert_eq!(Gauge::at(&g.id).big.sync_get().unwrap(), 10);
        assert_eq!(Gauge::sync_get(&g.id).unwrap(), g);
    }
}
