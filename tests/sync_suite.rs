//! Every shared scenario (tests/suite/*.rs) against a real redis-server, blocking API.
#![allow(missing_docs)]

mod common;

use maybe_async::must_be_sync as maybe_async;
use std::prelude::rust_2024::test as mode_test;

/// The blocking API under the neutral names the shared test bodies use.
pub trait Api: rapyer::sync::SyncModel {
    fn extract_fields<P: AsRef<str>>(
        id: impl std::fmt::Display,
        paths: impl IntoIterator<Item = P>,
    ) -> rapyer::Result<std::collections::BTreeMap<String, rapyer::Value>> {
        Self::sync_extract_fields(id, paths)
    }
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
    fn reindex(
        progress: impl FnMut(&rapyer::ReindexProgress) + Send,
    ) -> rapyer::Result<rapyer::ReindexProgress> {
        Self::sync_reindex(progress)
    }
    fn reshard_from(
        from_shards: u32,
        batch: usize,
        progress: impl FnMut(&rapyer::ReshardProgress) + Send,
    ) -> rapyer::Result<rapyer::ReshardProgress> {
        Self::sync_reshard_from(from_shards, batch, progress)
    }
    fn find_one(expr: rapyer::Expr) -> rapyer::Result<Option<Self>> {
        Self::sync_find_one(expr)
    }
    fn bulk_get<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> rapyer::Result<Vec<Self>> {
        Self::sync_bulk_get(ids)
    }
    fn bulk_get_existing<I: std::fmt::Display>(
        ids: impl IntoIterator<Item = I>,
    ) -> rapyer::Result<Vec<Self>> {
        Self::sync_bulk_get_existing(ids)
    }
    fn bulk_insert(models: &[Self]) -> rapyer::Result<u64> {
        Self::sync_bulk_insert(models)
    }
    fn bulk_save(models: &[Self]) -> rapyer::Result<u64> {
        Self::sync_bulk_save(models)
    }
    fn bulk_delete<I: std::fmt::Display>(ids: impl IntoIterator<Item = I>) -> rapyer::Result<u64> {
        Self::sync_bulk_delete(ids)
    }
    fn duplicate_many(&self, n: usize) -> rapyer::Result<Vec<Self>>
    where
        Self: Clone,
        Self::Key: rapyer::AutoKey,
    {
        self.sync_duplicate_many(n)
    }
    fn pipeline<T>(
        &mut self,
        f: impl for<'a> FnOnce(Self::Atomic<'a>, &mut rapyer::Pipeline<'a>) -> rapyer::Result<T>,
    ) -> rapyer::Result<T> {
        self.sync_pipeline(f)
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

impl<'a, T, P, O> Go<Option<(T, P)>> for rapyer::BlockingPop<'a, T, P, O>
where
    T: rapyer::Element + Clone + Send + 'a,
    P: rapyer::Priority,
    O: rapyer::QueueOrder,
{
    fn go(self) -> rapyer::Result<Option<(T, P)>> {
        self.sync_run()
    }
}

impl<R> Go<R> for rapyer::LimitCall<R> {
    fn go(self) -> rapyer::Result<R> {
        self.sync_run()
    }
}

pub use rapyer::sync_pipeline as global_pipeline;
pub use rapyer::sync_search as search_by_name;
pub use rapyer::{sync_delete_structure as delete_structure, sync_structures as structures};

/// Running a query in this mode, under names that neither API uses (the async API's
/// inherent `all()`/`count()` would shadow trait methods of the same names).
/// An update by query, in this mode.
pub trait RunUpdate<M: rapyer::Model> {
    fn run_update<F, B>(&self, program: F) -> rapyer::Result<rapyer::UpdateReport>
    where
        F: Fn(&M::Atomic<'static>, &mut rapyer::Pipeline<'static>) -> B + Send + Sync,
        B: rapyer::Branches + Send;
}
impl<M: rapyer::Model> RunUpdate<M> for rapyer::Query<M> {
    fn run_update<F, B>(&self, program: F) -> rapyer::Result<rapyer::UpdateReport>
    where
        F: Fn(&M::Atomic<'static>, &mut rapyer::Pipeline<'static>) -> B + Send + Sync,
        B: rapyer::Branches + Send,
    {
        self.sync_update(program)
    }
}

impl<M: rapyer::Model, O: rapyer::__private::GraphOutput<M>> Go<O> for rapyer::GraphLoad<M, O> {
    fn go(self) -> rapyer::Result<O> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<rapyer::CascadeReport> for rapyer::CascadeDelete<M> {
    fn go(self) -> rapyer::Result<rapyer::CascadeReport> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<rapyer::RelationReport> for rapyer::RelationAudit<M> {
    fn go(self) -> rapyer::Result<rapyer::RelationReport> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<rapyer::Copied<M>> for rapyer::GraphCopy<M> {
    fn go(self) -> rapyer::Result<rapyer::Copied<M>> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<rapyer::TtlReport> for rapyer::TtlCascade<M> {
    fn go(self) -> rapyer::Result<rapyer::TtlReport> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<rapyer::OrphanReport> for rapyer::OrphanCleanup<M> {
    fn go(self) -> rapyer::Result<rapyer::OrphanReport> {
        self.sync_run()
    }
}

impl<M: rapyer::Model> Go<Vec<(&'static str, String)>> for rapyer::UpdateCascade<M> {
    fn go(self) -> rapyer::Result<Vec<(&'static str, String)>> {
        self.sync_run()
    }
}

pub trait Fetch<T> {
    fn fetch_it(&mut self) -> rapyer::Result<&T>;
}
impl<T: rapyer::Model> Fetch<T> for rapyer::ForeignKey<T> {
    fn fetch_it(&mut self) -> rapyer::Result<&T> {
        self.sync_fetch()
    }
}

pub trait RunQuery<M: rapyer::Model> {
    fn run_all(&self) -> rapyer::Result<Vec<M>>;
    fn run_first(&self) -> rapyer::Result<Option<M>>;
    fn run_count(&self) -> rapyer::Result<u64>;
    fn run_exists(&self) -> rapyer::Result<bool>;
    fn run_ids(&self) -> rapyer::Result<Vec<M::Key>>;
    fn run_delete(&self) -> rapyer::Result<u64>;
}
impl<M: rapyer::Model> RunQuery<M> for rapyer::Query<M> {
    fn run_all(&self) -> rapyer::Result<Vec<M>> {
        self.sync_all()
    }
    fn run_first(&self) -> rapyer::Result<Option<M>> {
        self.sync_first()
    }
    fn run_count(&self) -> rapyer::Result<u64> {
        self.sync_count()
    }
    fn run_exists(&self) -> rapyer::Result<bool> {
        self.sync_exists()
    }
    fn run_ids(&self) -> rapyer::Result<Vec<M::Key>> {
        self.sync_ids()
    }
    fn run_delete(&self) -> rapyer::Result<u64> {
        self.sync_delete()
    }
}

/// Reading one path of many documents, in this mode.
pub trait GetMany<T> {
    fn run_get_many(&self, ids: &[String]) -> rapyer::Result<Vec<Option<T>>>;
}
impl<T: Clone + Send + Sync + 'static> GetMany<T> for rapyer::At<T, rapyer::ById> {
    fn run_get_many(&self, ids: &[String]) -> rapyer::Result<Vec<Option<T>>> {
        self.sync_get_many(ids)
    }
}

/// Running a configured bulk operation in this mode, under names neither API uses.
pub trait RunBulk<M: rapyer::Model> {
    fn run_insert(self, models: &[M]) -> rapyer::Result<u64>;
    fn run_save(self, models: &[M]) -> rapyer::Result<u64>;
    fn run_get(self, ids: &[String]) -> rapyer::Result<Vec<M>>;
    fn run_delete(self, ids: &[String]) -> rapyer::Result<u64>;
}
impl<M: rapyer::Model> RunBulk<M> for rapyer::Bulk<'_, M> {
    fn run_insert(self, models: &[M]) -> rapyer::Result<u64> {
        self.sync_insert(models)
    }
    fn run_save(self, models: &[M]) -> rapyer::Result<u64> {
        self.sync_save(models)
    }
    fn run_get(self, ids: &[String]) -> rapyer::Result<Vec<M>> {
        self.sync_get(ids)
    }
    fn run_delete(self, ids: &[String]) -> rapyer::Result<u64> {
        self.sync_delete(ids)
    }
}

/// Takes lock `action` on document `id` and releases it at once, in this mode.
pub trait LockProbe: rapyer::sync::SyncModel {
    fn lock_probe(id: &str, action: &str) -> rapyer::Result<()> {
        Self::sync_lock_id(id, action, |_| Ok(()))
    }
}
impl<M: rapyer::Model> LockProbe for M {}

#[path = "suite/crud.rs"]
mod crud;

#[path = "suite/atomic.rs"]
mod atomic;

#[path = "suite/ttl.rs"]
mod ttl;

#[path = "suite/pipeline.rs"]
mod pipeline;

#[path = "suite/index.rs"]
mod index;

#[path = "suite/query.rs"]
mod query;

#[path = "suite/bulk.rs"]
mod bulk;

#[path = "suite/safe.rs"]
mod safe;

#[path = "suite/faults.rs"]
mod faults;

#[path = "suite/edges.rs"]
mod edges;

#[path = "suite/structures.rs"]
mod structures;

#[path = "suite/paths.rs"]
mod paths;

#[path = "suite/pqueue.rs"]
mod pqueue;

#[path = "suite/ratelimit.rs"]
mod ratelimit;

#[path = "suite/named.rs"]
mod named;

#[path = "suite/codecs.rs"]
mod codecs;

#[path = "suite/conditional.rs"]
mod conditional;
#[path = "suite/context.rs"]
mod context;

#[path = "suite/cascade.rs"]
mod cascade;
#[path = "suite/functions.rs"]
mod functions;
#[path = "suite/relations.rs"]
mod relations;

/// Blocking-only: threads, and the `sync_` names themselves.
mod blocking {
    use super::common::{self, models::*};
    use rapyer::Model;
    use rapyer::sync::SyncModel;

    /// Saves a user and names the environment it ran in: the whole body runs in
    /// "attr-blocking".
    #[rapyer::environment("attr-blocking")]
    fn save_in_attr_env(name: &str) -> rapyer::Result<String> {
        User::new(name, 1).sync_save()?;
        Ok(rapyer::current_environment()?.name().to_owned())
    }

    #[rapyer::environment("never-registered-blocking")]
    fn in_unknown_env(ran: &mut bool) -> rapyer::Result<()> {
        *ran = true;
        Ok(())
    }

    struct Reporter;
    impl Reporter {
        #[rapyer::environment("attr-blocking")]
        fn where_am_i(&self) -> Result<String, rapyer::Error> {
            Ok(rapyer::current_environment()?.name().to_owned())
        }
    }

    /// The suites run against the server asked for: with `RAPYER_SERVER_BIN` naming a
    /// valkey-server (the CI's Valkey pass), the server the harness started is Valkey.
    #[test]
    fn the_server_is_the_one_asked_for() {
        let node = common::server().node_urls().remove(0);
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut common::Raw::open(&node))
            .unwrap();
        if common::cluster_mode() {
            assert!(info.contains("redis_mode:cluster"), "{info}");
        }
        let asked = std::env::var("RAPYER_SERVER_BIN").unwrap_or_default();
        let own = std::env::var("REDIS_URL").map_or(true, |u| u.is_empty());
        if own && asked.contains("valkey") {
            assert!(info.contains("valkey_version"), "{info}");
        }
        assert!(info.contains("redis_version"), "{info}");
    }

    /// One query over three environments (two databases, one server down), in
    /// parallel: each entry is right on its own, the down one is an error; merged rows
    /// are ordered and cut across environments.
    #[test]
    fn a_query_across_environments() {
        if common::single_server_only("environments on two databases of one server") {
            return;
        }
        let t = common::env();
        let [a, b, down] = common::three_environments(&t, "across-sync");
        for (env, ages) in [(&a, [30, 20, 40]), (&b, [35, 50, 10])] {
            let _g = rapyer::use_environment(env).unwrap();
            for age in ages {
                Person {
                    age,
                    ..Person::default()
                }
                .sync_save()
                .unwrap();
            }
        }
        let f = Person::fields();
        let q = Person::find(f.age.gt(25)).order_by(f.age.desc()).limit(3);
        let all = q
            .clone()
            .in_environments([&a, &b, &down])
            .sync_all()
            .unwrap();
        let ages = |r: &rapyer::Result<Vec<Person>>| -> Vec<i64> {
            r.as_ref().unwrap().iter().map(|p| p.age).collect()
        };
        assert_eq!(ages(&all[&a]), [40, 30]);
        assert_eq!(ages(&all[&b]), [50, 35]);
        assert!(all[&down].is_err(), "{:?}", all[&down].as_ref().err());
        let counts = q.clone().in_environments([&a, &b]).sync_count().unwrap();
        assert_eq!(
            (counts[&a].as_ref().unwrap(), counts[&b].as_ref().unwrap()),
            (&2, &2)
        );
        let exists = q.clone().in_environments([&a, &b]).sync_exists().unwrap();
        assert!(*exists[&a].as_ref().unwrap() && *exists[&b].as_ref().unwrap());
        let first = q.clone().in_environments([&a, &b]).sync_first().unwrap();
        assert_eq!(first[&b].as_ref().unwrap().as_ref().unwrap().age, 50);
        let ids = q.clone().in_environments([&a]).sync_ids().unwrap();
        assert_eq!(ids[&a].as_ref().unwrap().len(), 2);
        // merged: one list, ordered and limited across environments
        let merged = q.clone().in_environments([&a, &b]).sync_merged().unwrap();
        let rows: Vec<(&str, i64)> = merged.iter().map(|(e, p)| (e.as_str(), p.age)).collect();
        assert_eq!(rows, [(b.as_str(), 50), (a.as_str(), 40), (b.as_str(), 35)]);
        let page = q
            .clone()
            .offset(1)
            .limit(2)
            .in_environments([&a, &b])
            .sync_merged()
            .unwrap();
        let rows: Vec<i64> = page.iter().map(|(_, p)| p.age).collect();
        assert_eq!(rows, [40, 35]);
        assert!(
            q.clone()
                .in_environments([&a, &down])
                .sync_merged()
                .is_err()
        );
        // an unknown name fails the call before anything runs
        let r = q
            .clone()
            .in_environments([&a, &"no-such-env".to_string()])
            .sync_all();
        assert!(
            matches!(r, Err(rapyer::Error::UnknownEnvironment { .. })),
            "{r:?}"
        );
        // every registered environment
        let everywhere = rapyer::sync_search_all_environments(q.clone());
        assert_eq!(ages(&everywhere[&a]), [40, 30]);
        assert_eq!(ages(&everywhere[&b]), [50, 35]);
        assert!(everywhere[&down].is_err());
    }

    /// Environments described by variables (`init_from_vars`, as `init_from_env` reads
    /// them) work against Redis.
    #[test]
    fn environments_from_variables_reach_redis() {
        let t = common::env();
        let ns = format!("{}vars", t.ns);
        let envs = rapyer::init_from_vars([
            ("RAPYER_ENVIRONMENTS", "from-vars-blocking".to_owned()),
            (
                "RAPYER_FROM_VARS_BLOCKING_URL",
                common::server().url.clone(),
            ),
            ("RAPYER_FROM_VARS_BLOCKING_NAMESPACE", ns.clone()),
            (
                "RAPYER_FROM_VARS_BLOCKING_RESPONSE_TIMEOUT_MS",
                "5000".to_owned(),
            ),
        ])
        .unwrap();
        assert_eq!(envs.len(), 1);
        {
            let _g = rapyer::use_environment("from-vars-blocking").unwrap();
            User::new("vars", 3).sync_save().unwrap();
            assert_eq!(User::sync_count().unwrap(), 1);
        }
        assert_eq!(
            User::sync_count().unwrap(),
            0,
            "the caller's namespace is empty"
        );
        let keys = common::scan_keys(&mut common::server().raw(), &format!("{ns}:*"));
        assert!(keys.iter().any(|k| k.contains(":d:")), "{keys:?}");
    }

    /// `#[rapyer::environment(..)]` on sync functions and methods: the body runs in the
    /// named environment, nests with guards, and restores the caller's on return; an
    /// unknown name is `UnknownEnvironment` and the body does not run.
    #[test]
    fn the_environment_attribute_runs_the_body_in_that_environment() {
        let t = common::env();
        let ns = format!("{}attr", t.ns);
        rapyer::register_environment(
            "attr-blocking",
            rapyer::EnvironmentConfig::new(common::server().url.as_str()).namespace(ns.as_str()),
        )
        .unwrap();
        assert_eq!(save_in_attr_env("in-attr").unwrap(), "attr-blocking");
        assert_eq!(Reporter.where_am_i().unwrap(), "attr-blocking");
        // the caller's environment is back, and the user went to the attribute's one
        assert_eq!(rapyer::current_environment().unwrap().name(), t.env.name());
        assert_eq!(User::sync_count().unwrap(), 0);
        let mut raw = common::server().raw();
        let in_attr = common::scan_keys(&mut raw, &format!("{ns}:*"));
        assert!(in_attr.iter().any(|k| k.contains(":d:")), "{in_attr:?}");
        // a guard inside wins for its scope; the attribute's environment comes back after
        {
            let _g = rapyer::use_environment(t.env.name()).unwrap();
            assert_eq!(Reporter.where_am_i().unwrap(), "attr-blocking");
            assert_eq!(rapyer::current_environment().unwrap().name(), t.env.name());
        }
        let mut ran = false;
        let r = in_unknown_env(&mut ran);
        assert!(
            matches!(r, Err(rapyer::Error::UnknownEnvironment { ref name, .. }) if name == "never-registered-blocking"),
            "{r:?}"
        );
        assert!(!ran, "the body did not run");
    }

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

    fn lock_key(t: &common::TestEnv, action: &str, id: &rapyer::Id) -> String {
        format!("{}:{{Gauge:0}}:l:{}:{action}:{id}", t.ns, action.len())
    }

    #[test]
    fn sixteen_workers_read_modify_write_under_a_lock_lose_nothing() {
        let t = common::env();
        let g = Gauge::default();
        g.sync_save().unwrap();
        let name = t.env.name().to_owned();
        let workers: Vec<_> = (0..16)
            .map(|_| {
                let (id, name) = (g.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    for _ in 0..15 {
                        Gauge::sync_lock_id(&id, "bump", |g| {
                            // a non-atomic read-modify-write, safe only under the lock
                            g.big += 1;
                            g.name = format!("n{}", g.big);
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let stored = Gauge::sync_get(&g.id).unwrap();
        assert_eq!(stored.big, 240);
        assert_eq!(stored.name, "n240");
    }

    #[test]
    fn locks_time_out_release_on_error_and_panic_and_are_per_action() {
        let t = common::env();
        let mut g = Gauge {
            big: 1,
            ..Gauge::default()
        };
        g.sync_save().unwrap();
        let key = lock_key(&t, "pay", &g.id);
        // held elsewhere: a bounded wait, then LockTimeout, and the closure never runs
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("other")
            .arg("PX")
            .arg(60_000)
            .query(&mut t.raw())
            .unwrap();
        let opts = rapyer::LockOptions::default().timeout(std::time::Duration::from_millis(100));
        let start = std::time::Instant::now();
        let r = g.sync_lock_with("pay", opts, |_| -> rapyer::Result<()> {
            panic!("must not run")
        });
        assert!(matches!(r, Err(rapyer::Error::LockTimeout { .. })), "{r:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // another action on the same document is independent; uncontended, lock + load
        // is one round trip and save + release another
        let before = t.stats();
        g.sync_lock("refund", |g| {
            g.big += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((t.stats() - before).planned_round_trips(), 2);
        assert_eq!(g.big, 2, "self is what was saved");
        let _: () = redis::cmd("DEL").arg(&key).query(&mut t.raw()).unwrap();
        // an error inside: nothing saved, lock released
        let r: rapyer::Result<()> = g.sync_lock("pay", |g| {
            g.big = 100;
            Err(rapyer::Error::InvalidInput("changed my mind".into()))
        });
        assert!(r.is_err());
        assert_eq!(Gauge::sync_get(&g.id).unwrap().big, 2);
        let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut t.raw()).unwrap();
        assert!(!held, "released after an error");
        // a panic inside: released while unwinding
        let id = g.id.clone();
        let panicked = std::panic::catch_unwind(|| {
            let _ = Gauge::sync_lock_id(&id, "pay", |_| -> rapyer::Result<()> { panic!("boom") });
        });
        assert!(panicked.is_err());
        let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut t.raw()).unwrap();
        assert!(!held, "released after a panic");
        // the lock has a lease: never a lock without expiry
        let key2 = lock_key(&t, "slow", &g.id);
        g.sync_lock("slow", |_| {
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key2)
                .query(&mut common::server().raw())
                .unwrap();
            assert!(ttl > 0 && ttl <= 10_000, "{ttl}");
            Ok(())
        })
        .unwrap();
        // a missing document: NotFound, and the lock is released
        let r = Gauge::sync_lock_id("nobody", "pay", |_| Ok(()));
        assert!(matches!(r, Err(rapyer::Error::NotFound { .. })));
    }

    #[test]
    fn an_expired_lease_cannot_save_or_release_the_next_holders_lock() {
        let t = common::env();
        let g = Gauge {
            big: 1,
            ..Gauge::default()
        };
        g.sync_save().unwrap();
        let key = lock_key(&t, "job", &g.id);
        let opts = rapyer::LockOptions::default().lease(std::time::Duration::from_millis(50));
        let mut g2 = g.clone();
        let r = g2.sync_lock_with("job", opts, |g| {
            g.big = 999;
            std::thread::sleep(std::time::Duration::from_millis(120));
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg("new-holder")
                .arg("PX")
                .arg(60_000)
                .query(&mut common::server().raw())
                .unwrap();
            Ok(())
        });
        assert!(matches!(r, Err(rapyer::Error::Conflict { .. })), "{r:?}");
        let holder: String = redis::cmd("GET").arg(&key).query(&mut t.raw()).unwrap();
        assert_eq!(
            holder, "new-holder",
            "the old holder did not release the new holder's lock"
        );
        assert_eq!(
            Gauge::sync_get(&g.id).unwrap().big,
            1,
            "the late save wrote nothing"
        );
        assert_eq!(g2.big, 1, "self is left as it was");
    }

    #[test]
    fn a_panic_while_building_a_pipeline_sends_nothing() {
        let t = common::env();
        let mut g = Gauge::default();
        g.sync_save().unwrap();
        let before = t.stats();
        let mut copy = g.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            copy.sync_pipeline(|u, p| {
                p.add(u.big.incr(1));
                panic!("bug in the caller");
                #[allow(unreachable_code)]
                Ok(())
            })
        }));
        assert!(r.is_err());
        assert_eq!((t.stats() - before).planned_round_trips(), 0);
        assert_eq!(Gauge::sync_get(&g.id).unwrap().big, 0);
        // and the builder form: ops on the same field mirror in order
        let mut p = rapyer::Pipeline::new();
        let a = g.atomic();
        p.add(a.log.push("1".into()));
        p.add(a.log.push("2".into()));
        p.add(a.log.pop_front());
        p.sync_run().unwrap();
        assert_eq!(g.log, ["2"]);
        assert_eq!(Gauge::sync_get(&g.id).unwrap(), g);
    }

    #[test]
    fn sixteen_workers_racing_on_indexed_fields_leave_no_stale_entry() {
        let t = common::env();
        let ids: Vec<rapyer::Id> = (0..6)
            .map(|i| {
                let p = Person {
                    age: i,
                    status: format!("s{i}"),
                    ..Person::default()
                };
                p.sync_insert().unwrap();
                p.id
            })
            .collect();
        let name = t.env.name().to_owned();
        let workers: Vec<_> = (0..16u64)
            .map(|w| {
                let (ids, name) = (ids.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    let mut x = w.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for _ in 0..150 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let id = &ids[(x % ids.len() as u64) as usize];
                        let at = Person::at(id);
                        match x % 5 {
                            0 => drop(at.age.sync_incr(1).unwrap()),
                            1 => at.status.sync_set(format!("s{}", x % 7)).unwrap(),
                            2 => drop(at.score.sync_incr(0.5).unwrap()),
                            3 => drop(at.active.sync_toggle().unwrap()),
                            _ => at.home.city.sync_set(format!("c{}", x % 3)).unwrap(),
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        // every entry matches the stored value: zero stale entries
        assert_eq!(common::check_person_indexes(&t), 6 * 5);
    }

    #[test]
    fn query_iteration_in_batches() {
        let t = common::env();
        for age in 0..25 {
            Person {
                age,
                ..Person::default()
            }
            .sync_insert()
            .unwrap();
        }
        let before = t.stats();
        let q = Person::find(Person::fields().age.ge(5)).order_by(Person::fields().age.asc());
        let ages: Vec<i64> = q.sync_iter(7).unwrap().map(|p| p.unwrap().age).collect();
        assert_eq!(ages, (5..25).collect::<Vec<_>>());
        if common::single_server_budgets() {
            assert_eq!(
                (t.stats() - before).planned_round_trips(),
                1 + 3,
                "ids, then 3 batches of up to 7"
            );
        }
    }

    /// `ttl_refresh = "read"`: iterating a query refreshes each document's TTL;
    /// `peek()` leaves it.
    #[test]
    fn query_iter_refreshes_ttls_unless_peek() {
        let t = common::env();
        let d = ReadRefreshed::default();
        d.sync_save().unwrap();
        let root = t.keys().into_iter().find(|k| k.contains(":d:")).unwrap();
        let pttl = || -> i64 { redis::cmd("PTTL").arg(&root).query(&mut t.raw()).unwrap() };
        d.sync_set_ttl(std::time::Duration::from_secs(10)).unwrap();
        let n = ReadRefreshed::query().peek().sync_iter(5).unwrap().count();
        assert_eq!(n, 1);
        assert!(pttl() <= 10_000, "peek leaves the TTL");
        let n = ReadRefreshed::query().sync_iter(5).unwrap().count();
        assert_eq!(n, 1);
        assert!(pttl() > 900_000, "iter refreshes");
    }

    #[test]
    fn an_interrupted_reindex_resumes_from_its_cursor() {
        let _t = common::env();
        for i in 0..900 {
            PetV1 {
                id: rapyer::Id::new(),
                name: format!("p{i}"),
                age: i % 7,
            }
            .sync_insert()
            .unwrap();
        }
        let mut cursor = rapyer::ReindexCursor::start();
        let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            PetV2::sync_reindex_from(rapyer::ReindexCursor::start(), 100, |p| {
                cursor = p.cursor.clone();
                if p.done >= 200 {
                    panic!("the process stops here");
                }
            })
        }));
        assert!(interrupted.is_err());
        assert!(cursor.after.is_some());
        let mut first_done = None;
        PetV2::sync_reindex_from(cursor.clone(), 100, |p| {
            first_done.get_or_insert(p.done);
        })
        .unwrap();
        assert!(
            first_done.unwrap() > 200,
            "resumed after the cursor, not from scratch"
        );
        for age in 0..7 {
            let n = PetV2::find(PetV2::fields().age.eq(age))
                .sync_count()
                .unwrap();
            assert_eq!(n, (0..900).filter(|i| i % 7 == age).count() as u64);
        }
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

/// Blocking-only structure tests: threads, and one large run.
mod structures_blocking {
    use super::common::{self, models::*};
    use rapyer::Model;
    use rapyer::sync::SyncModel;

    /// Bloom filters at capacity: 100,000 items inserted, 1,000,000 others probed; the
    /// measured false-positive rate is within 1.25 × p for p = 1 % and 0.1 %, and the
    /// bitmap is m/8 bytes.
    #[test]
    fn bloom_false_positive_rates_are_within_a_quarter_of_p() {
        if common::skip_slow("1.1 M bloom filter items") {
            return;
        }
        let t = common::env();
        let f = Filters::default();
        f.sync_insert().unwrap();
        let at = Filters::at(&f.id);
        for chunk in (0..100_000u64).collect::<Vec<_>>().chunks(5_000) {
            at.one_percent.add_many(chunk.to_vec()).sync_run().unwrap();
            at.tenth_percent
                .add_many(chunk.to_vec())
                .sync_run()
                .unwrap();
        }
        let mut fp = [0usize; 2];
        for chunk in (1_000_000..2_000_000u64).collect::<Vec<_>>().chunks(20_000) {
            let a = at
                .one_percent
                .contains_many(chunk.to_vec())
                .sync_run()
                .unwrap();
            let b = at
                .tenth_percent
                .contains_many(chunk.to_vec())
                .sync_run()
                .unwrap();
            fp[0] += a.into_iter().filter(|x| *x).count();
            fp[1] += b.into_iter().filter(|x| *x).count();
        }
        let rates = [fp[0] as f64 / 1e6, fp[1] as f64 / 1e6];
        eprintln!("false-positive rates: {rates:?} for p = 0.01, 0.001");
        assert!(rates[0] <= 0.0125, "{rates:?}");
        assert!(rates[1] <= 0.00125, "{rates:?}");
        let mut raw = t.raw();
        for (part, p) in [(":c:one_percent:", 0.01), (":c:tenth_percent:", 0.001)] {
            let key = t.keys().into_iter().find(|k| k.contains(part)).unwrap();
            let len: u64 = redis::cmd("STRLEN").arg(&key).query(&mut raw).unwrap();
            let m = (-(100_000f64) * f64::ln(p) / (2f64.ln() * 2f64.ln())).ceil() as u64;
            assert!(
                len <= m.div_ceil(8) && len + 16 >= m.div_ceil(8),
                "{len} bytes, m = {m}"
            );
        }
    }

    /// 8 blocking pops wait on pooled connections while 64 other operations run on
    /// others; then 8 pushes feed the 8 pops.
    #[test]
    fn blocking_pops_wait_on_their_own_pooled_connections() {
        let t = common::env_with(&common::server().url, |c| c.pool_size(16));
        let name = t.env.name().to_owned();
        let j = Jobs::default();
        j.sync_insert().unwrap();
        let g = Gauge::default();
        g.sync_save().unwrap();
        let pops: Vec<_> = (0..8)
            .map(|_| {
                let (id, name) = (j.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    Jobs::at(&id)
                        .queue
                        .sync_pop_blocking(std::time::Duration::from_secs(20))
                })
            })
            .collect();
        let mut raw = t.raw();
        for _ in 0..200 {
            if common::blocked_clients(&mut raw) >= 8 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        for i in 0..64 {
            Gauge::at(&g.id).big.sync_incr(1).unwrap();
            assert!(
                pops.iter().all(|p| !p.is_finished()),
                "op {i}: no pop has returned"
            );
        }
        assert_eq!(Gauge::at(&g.id).big.sync_get().unwrap(), 64);
        for i in 0..8 {
            Jobs::at(&j.id)
                .queue
                .sync_push(format!("job{i}"), i)
                .unwrap();
        }
        let mut got: Vec<String> = pops
            .into_iter()
            .map(|p| p.join().unwrap().unwrap().expect("an entry").0)
            .collect();
        got.sort();
        let want: Vec<String> = (0..8).map(|i| format!("job{i}")).collect();
        assert_eq!(got, want, "each entry popped once");
        // the pool's connections are back to their usual read timeout: a pop that
        // timed out leaves a connection that still answers
        let none = Jobs::at(&j.id)
            .queue
            .sync_pop_blocking(std::time::Duration::from_millis(100))
            .unwrap();
        assert_eq!(none, None);
        assert_eq!(Gauge::at(&g.id).big.sync_get().unwrap(), 64);
    }

    /// 4 threads push 100 entries each at one priority: popped, every thread's entries
    /// come out in its push order, none lost (the sequence numbers are the server's).
    #[test]
    fn ties_pop_in_push_order_across_clients() {
        let t = common::env();
        let name = t.env.name().to_owned();
        let j = Jobs::default();
        j.sync_insert().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (id, name) = (j.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    for n in 0..100 {
                        // descending bytes: the pop order cannot come from the values
                        let value = format!("{i}:{:03}", 999 - n);
                        Jobs::at(&id).queue.sync_push(value, 7).unwrap();
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let all = Jobs::at(&j.id).queue.sync_pop_many(1000).unwrap();
        assert_eq!(all.len(), 400);
        for i in 0..4 {
            let mine: Vec<&str> = all
                .iter()
                .map(|(v, _)| v.as_str())
                .filter(|v| v.starts_with(&format!("{i}:")))
                .collect();
            let mut sorted = mine.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(mine.len(), 100);
            assert_eq!(mine, sorted, "thread {i}'s entries in push order");
        }
    }

    /// 16 threads incrementing while 16 others load and save copies of the document:
    /// every increment counts (a save never writes a counter back).
    #[test]
    fn sixteen_incrementers_and_sixteen_savers_end_exact() {
        let t = common::env();
        let v = Viewed {
            title: "t".into(),
            ..Viewed::default()
        };
        v.sync_insert().unwrap();
        let name = t.env.name().to_owned();
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (id, name) = (v.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    for j in 0..150 {
                        if i % 2 == 0 {
                            Viewed::at(&id).views.sync_increment(1).unwrap();
                        } else {
                            let mut copy = Viewed::sync_get(&id).unwrap();
                            copy.title = format!("{i}-{j}");
                            copy.sync_save().unwrap();
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(Viewed::sync_get(&v.id).unwrap().views.value(), 16 * 150);
        assert_eq!(Viewed::at(&v.id).views.sync_get().unwrap(), 16 * 150);
    }

    /// An update by query reports its progress after each chunk of 100.
    #[test]
    fn updates_by_query_report_progress_per_chunk() {
        let _t = common::env();
        let members: Vec<Member> = (0..250)
            .map(|i| Member {
                age: i,
                status: "p".into(),
                ..Member::default()
            })
            .collect();
        Member::sync_bulk_save(&members).unwrap();
        let mut seen = Vec::new();
        let report = Member::find(Member::fields().status.eq("p"))
            .sync_update_with_progress(
                |p, b| {
                    b.add(p.age.incr(1));
                },
                |r| seen.push((r.chunks, r.updated)),
            )
            .unwrap();
        assert_eq!(seen, [(1, 100), (2, 200), (3, 250)]);
        assert_eq!(report.updated, 250);
    }

    /// 32 threads each trying 20 purchases of a stock of 100 with one conditional program
    /// (`when stock > 0: stock -= 1, sold += buyer`): never oversold, every unit sold
    /// once, and each thread's own count of `then`s adds up to the units sold.
    #[test]
    fn thirty_two_buyers_never_oversell() {
        let t = common::env_with(&common::server().url, |c| c.pool_size(16));
        let m = Member {
            big: 100,
            ..Member::default()
        };
        m.sync_insert().unwrap();
        let name = t.env.name().to_owned();
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (id, name) = (m.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    let mut bought = 0;
                    for _ in 0..20 {
                        let branch = rapyer::sync_pipeline(|pipe| {
                            let p = Member::at(&id);
                            Ok(pipe
                                .when(p.big.gt(0))
                                .then(|b| {
                                    b.add(p.big.incr(-1));
                                    b.add(p.badges.push(format!("buyer-{i}")));
                                })
                                .branch())
                        })
                        .unwrap();
                        if branch.taken() == Some(0) {
                            bought += 1;
                        }
                    }
                    bought
                })
            })
            .collect();
        let bought: usize = threads.into_iter().map(|th| th.join().unwrap()).sum();
        let stored = Member::sync_get(&m.id).unwrap();
        assert_eq!(stored.big, 0, "sold out, never below");
        assert_eq!(stored.badges.len(), 100, "each unit sold once");
        assert_eq!(bought, 100, "the branch reports agree");
    }

    /// 32 threads for 20 s moving items between two lists with one conditional program
    /// each (the stored direction decides; a popped item is pushed on the server; now and
    /// then a thread turns the direction): no item is ever lost or duplicated.
    #[test]
    fn thirty_two_movers_never_lose_an_item() {
        let t = common::env_with(&common::server().url, |c| c.pool_size(16));
        let s = crate::context::mover_store();
        s.sync_insert().unwrap();
        let name = t.env.name().to_owned();
        let end = std::time::Instant::now() + crate::context::MOVE_FOR;
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (id, name) = (s.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    let mut moves = 0u64;
                    let mut n = 0u64;
                    while std::time::Instant::now() < end {
                        n += 1;
                        let flip = (n + i).is_multiple_of(17);
                        let moved = rapyer::sync_pipeline(|pipe| {
                            Ok(crate::context::mover(pipe, &id, flip))
                        })
                        .unwrap();
                        if moved.taken().is_some_and(|b| b < 2) {
                            moves += 1;
                        }
                    }
                    moves
                })
            })
            .collect();
        let moves: u64 = threads.into_iter().map(|th| th.join().unwrap()).sum();
        crate::context::check_movers(&Store::sync_get(&s.id).unwrap(), moves);
    }

    /// 8 threads × 1,000 calls, one every 3 ms each, against a model's token bucket of
    /// 100/s with bursts of 20: 320 pass over the 3 s (± 1 %, timed on the server).
    #[test]
    fn eight_threads_share_one_token_bucket_field() {
        // a server of its own: other tests' load cannot stall every client at once
        let server = common::Server::start();
        let t = common::env_with(&server.url, |c| c.pool_size(16));
        let l = Limited::default();
        l.sync_insert().unwrap();
        let name = t.env.name().to_owned();
        let mut raw = t.raw();
        let start_us = common::server_time_us(&mut raw);
        let start = std::time::Instant::now();
        let threads: Vec<_> = (0..common::RATE_CLIENTS)
            .map(|_| {
                let (id, name) = (l.id.clone(), name.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    let mut allowed = 0;
                    for i in 0..common::RATE_CALLS {
                        let due = start + common::RATE_PACE * i as u32;
                        std::thread::sleep(
                            due.saturating_duration_since(std::time::Instant::now()),
                        );
                        if Limited::at(&id).api.sync_check().unwrap().allowed {
                            allowed += 1;
                        }
                    }
                    allowed
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|th| th.join().unwrap()).sum();
        let end_us = common::server_time_us(&mut raw);
        common::assert_rate_limited(allowed, start_us, end_us);
    }
}
