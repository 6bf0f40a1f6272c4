//! Every shared scenario (tests/suite/*.rs) against a real redis-server, tokio API.
#![allow(missing_docs)]

mod common;

use maybe_async::must_be_async as maybe_async;
impl<R: Send + 'static> Go<R> for rapyer::LimitCall<R> {
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<R>> + Send {
        std::future::IntoFuture::into_future(self)
    }
}

pub use rapyer::asynchronous::AsyncModel as Api;
use tokio::test as mode_test;

/// Runs a pending atomic operation in this mode.
pub trait Go<R> {
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<R>> + Send;
}
impl<'a, R: Send + 'a> Go<R> for rapyer::Pending<'a, R> {
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<R>> + Send {
        std::future::IntoFuture::into_future(self)
    }
}

impl<'a, T, P, O> Go<Option<(T, P)>> for rapyer::BlockingPop<'a, T, P, O>
where
    T: rapyer::Element + Clone + Send + 'a,
    P: rapyer::Priority,
    O: rapyer::QueueOrder,
{
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<Option<(T, P)>>> + Send {
        std::future::IntoFuture::into_future(self)
    }
}

pub use rapyer::pipeline as global_pipeline;
pub use rapyer::search as search_by_name;
pub use rapyer::{delete_structure, structures};

/// Running a query in this mode, under names that neither API uses.
/// An update by query, in this mode.
pub trait RunUpdate<M: rapyer::Model> {
    fn run_update<'q, F, B>(
        &'q self,
        program: F,
    ) -> impl std::future::Future<Output = rapyer::Result<rapyer::UpdateReport>> + Send + 'q
    where
        F: Fn(&M::Atomic<'static>, &mut rapyer::Pipeline<'static>) -> B + Send + Sync + 'q,
        B: rapyer::Branches + Send + 'q;
}
impl<M: rapyer::Model> RunUpdate<M> for rapyer::Query<M> {
    fn run_update<'q, F, B>(
        &'q self,
        program: F,
    ) -> impl std::future::Future<Output = rapyer::Result<rapyer::UpdateReport>> + Send + 'q
    where
        F: Fn(&M::Atomic<'static>, &mut rapyer::Pipeline<'static>) -> B + Send + Sync + 'q,
        B: rapyer::Branches + Send + 'q,
    {
        self.update(program)
    }
}

impl<M: rapyer::Model, O: rapyer::__private::GraphOutput<M> + Send> Go<O>
    for rapyer::GraphLoad<M, O>
{
    async fn go(self) -> rapyer::Result<O> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<rapyer::CascadeReport> for rapyer::CascadeDelete<M> {
    async fn go(self) -> rapyer::Result<rapyer::CascadeReport> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<rapyer::RelationReport> for rapyer::RelationAudit<M> {
    async fn go(self) -> rapyer::Result<rapyer::RelationReport> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<rapyer::Copied<M>> for rapyer::GraphCopy<M> {
    async fn go(self) -> rapyer::Result<rapyer::Copied<M>> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<rapyer::TtlReport> for rapyer::TtlCascade<M> {
    async fn go(self) -> rapyer::Result<rapyer::TtlReport> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<rapyer::OrphanReport> for rapyer::OrphanCleanup<M> {
    async fn go(self) -> rapyer::Result<rapyer::OrphanReport> {
        self.run().await
    }
}

impl<M: rapyer::Model> Go<Vec<(&'static str, String)>> for rapyer::UpdateCascade<M> {
    async fn go(self) -> rapyer::Result<Vec<(&'static str, String)>> {
        self.run().await
    }
}

pub trait Fetch<T: 'static> {
    fn fetch_it(&mut self) -> impl std::future::Future<Output = rapyer::Result<&T>> + Send;
}
impl<T: rapyer::Model> Fetch<T> for rapyer::ForeignKey<T> {
    fn fetch_it(&mut self) -> impl std::future::Future<Output = rapyer::Result<&T>> + Send {
        self.fetch()
    }
}

pub trait RunQuery<M: rapyer::Model> {
    fn run_all(&self) -> impl std::future::Future<Output = rapyer::Result<Vec<M>>> + Send;
    fn run_first(&self) -> impl std::future::Future<Output = rapyer::Result<Option<M>>> + Send;
    fn run_count(&self) -> impl std::future::Future<Output = rapyer::Result<u64>> + Send;
    fn run_exists(&self) -> impl std::future::Future<Output = rapyer::Result<bool>> + Send;
    fn run_ids(&self) -> impl std::future::Future<Output = rapyer::Result<Vec<M::Key>>> + Send;
    fn run_delete(&self) -> impl std::future::Future<Output = rapyer::Result<u64>> + Send;
}
impl<M: rapyer::Model> RunQuery<M> for rapyer::Query<M> {
    fn run_all(&self) -> impl std::future::Future<Output = rapyer::Result<Vec<M>>> + Send {
        self.all()
    }
    fn run_first(&self) -> impl std::future::Future<Output = rapyer::Result<Option<M>>> + Send {
        self.first()
    }
    fn run_count(&self) -> impl std::future::Future<Output = rapyer::Result<u64>> + Send {
        self.count()
    }
    fn run_exists(&self) -> impl std::future::Future<Output = rapyer::Result<bool>> + Send {
        self.exists()
    }
    fn run_ids(&self) -> impl std::future::Future<Output = rapyer::Result<Vec<M::Key>>> + Send {
        self.ids()
    }
    fn run_delete(&self) -> impl std::future::Future<Output = rapyer::Result<u64>> + Send {
        self.delete()
    }
}

/// Running a configured bulk operation in this mode, under names neither API uses.
/// Reading one path of many documents, in this mode.
#[allow(async_fn_in_trait)]
pub trait GetMany<T> {
    async fn run_get_many(&self, ids: &[String]) -> R<Vec<Option<T>>>;
}
impl<T: Clone + Send + Sync + 'static> GetMany<T> for rapyer::At<T, rapyer::ById> {
    async fn run_get_many(&self, ids: &[String]) -> R<Vec<Option<T>>> {
        self.get_many(ids).await
    }
}

pub trait RunBulk<M: rapyer::Model>: Sized {
    fn run_insert<'m>(self, models: &'m [M]) -> impl Future<Output = R<u64>> + Send + 'm
    where
        Self: 'm;
    fn run_save<'m>(self, models: &'m [M]) -> impl Future<Output = R<u64>> + Send + 'm
    where
        Self: 'm;
    fn run_get(self, ids: &[String]) -> impl Future<Output = R<Vec<M>>> + Send;
    fn run_delete(self, ids: &[String]) -> impl Future<Output = R<u64>> + Send;
}
impl<M: rapyer::Model> RunBulk<M> for rapyer::Bulk<'_, M> {
    fn run_insert<'m>(self, models: &'m [M]) -> impl Future<Output = R<u64>> + Send + 'm
    where
        Self: 'm,
    {
        self.insert(models)
    }
    fn run_save<'m>(self, models: &'m [M]) -> impl Future<Output = R<u64>> + Send + 'm
    where
        Self: 'm,
    {
        self.save(models)
    }
    fn run_get(self, ids: &[String]) -> impl Future<Output = R<Vec<M>>> + Send {
        self.get(ids.to_vec())
    }
    fn run_delete(self, ids: &[String]) -> impl Future<Output = R<u64>> + Send {
        self.delete(ids.to_vec())
    }
}

use rapyer::Result as R;
use std::future::Future;

/// Takes lock `action` on document `id` and releases it at once, in this mode.
pub trait LockProbe: rapyer::asynchronous::AsyncModel + Send {
    fn lock_probe(
        id: &str,
        action: &str,
    ) -> impl std::future::Future<Output = rapyer::Result<()>> + Send {
        Self::lock_id(id.to_owned(), action, |_| Box::pin(async { Ok(()) }))
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

/// Tokio-only: many tasks on a multi-thread runtime.
mod tasks {
    use super::common::{self, models::*};
    use rapyer::Model;
    use rapyer::asynchronous::{AsyncModel, with_environment};

    /// The whole body runs in "attr-async", across awaits.
    #[rapyer::environment("attr-async")]
    async fn seed_in_attr_env(name: String) -> rapyer::Result<(String, Option<String>)> {
        User::new(&name, 1).save().await?;
        tokio::task::yield_now().await;
        let here = rapyer::current_environment()?.name().to_owned();
        // a task spawned inside does not inherit the scope
        let spawned = tokio::spawn(async {
            rapyer::current_environment()
                .ok()
                .map(|e| e.name().to_owned())
        })
        .await
        .unwrap();
        Ok((here, spawned))
    }

    #[rapyer::environment("never-registered-async")]
    async fn in_unknown_env() -> rapyer::Result<u8> {
        Ok(7)
    }

    /// One query over three environments (two databases, one server down),
    /// concurrently: each entry is right on its own, the down one is an error; merged
    /// rows are ordered and cut across environments.
    #[tokio::test]
    async fn a_query_across_environments() {
        if common::single_server_only("environments on two databases of one server") {
            return;
        }
        let t = common::env();
        let [a, b, down] = common::three_environments(&t, "across-async");
        for (env, ages) in [(a.clone(), [30, 20, 40]), (b.clone(), [35, 50, 10])] {
            with_environment(&env, async move {
                for age in ages {
                    Person {
                        age,
                        ..Person::default()
                    }
                    .save()
                    .await
                    .unwrap();
                }
            })
            .await
            .unwrap();
        }
        let f = Person::fields();
        let q = Person::find(f.age.gt(25)).order_by(f.age.desc()).limit(3);
        let all = q
            .clone()
            .in_environments([&a, &b, &down])
            .all()
            .await
            .unwrap();
        let ages = |r: &rapyer::Result<Vec<Person>>| -> Vec<i64> {
            r.as_ref().unwrap().iter().map(|p| p.age).collect()
        };
        assert_eq!(ages(&all[&a]), [40, 30]);
        assert_eq!(ages(&all[&b]), [50, 35]);
        assert!(all[&down].is_err());
        let counts = q.clone().in_environments([&a, &b]).count().await.unwrap();
        assert_eq!(
            (counts[&a].as_ref().unwrap(), counts[&b].as_ref().unwrap()),
            (&2, &2)
        );
        let exists = q.clone().in_environments([&a, &b]).exists().await.unwrap();
        assert!(*exists[&a].as_ref().unwrap() && *exists[&b].as_ref().unwrap());
        let first = q.clone().in_environments([&a, &b]).first().await.unwrap();
        assert_eq!(first[&b].as_ref().unwrap().as_ref().unwrap().age, 50);
        let ids = q.clone().in_environments([&a]).ids().await.unwrap();
        assert_eq!(ids[&a].as_ref().unwrap().len(), 2);
        let merged = q.clone().in_environments([&a, &b]).merged().await.unwrap();
        let rows: Vec<(&str, i64)> = merged.iter().map(|(e, p)| (e.as_str(), p.age)).collect();
        assert_eq!(rows, [(b.as_str(), 50), (a.as_str(), 40), (b.as_str(), 35)]);
        assert!(
            q.clone()
                .in_environments([&a, &down])
                .merged()
                .await
                .is_err()
        );
        // spawnable: the future is Send
        let q2 = q.clone();
        let everywhere = tokio::spawn(rapyer::search_all_environments(q2))
            .await
            .unwrap();
        assert_eq!(ages(&everywhere[&a]), [40, 30]);
        assert_eq!(ages(&everywhere[&b]), [50, 35]);
        assert!(everywhere[&down].is_err());
    }

    /// Environments described by variables (`init_from_vars`, as `init_from_env` reads
    /// them) work against Redis.
    #[tokio::test]
    async fn environments_from_variables_reach_redis() {
        let t = common::env();
        let ns = format!("{}vars", t.ns);
        rapyer::init_from_vars([
            ("RAPYER_ENVIRONMENTS", "from-vars-async".to_owned()),
            ("RAPYER_FROM_VARS_ASYNC_URL", common::server().url.clone()),
            ("RAPYER_FROM_VARS_ASYNC_NAMESPACE", ns.clone()),
            (
                "RAPYER_FROM_VARS_ASYNC_CONNECTION_TIMEOUT_MS",
                "2000".to_owned(),
            ),
        ])
        .unwrap();
        let n = with_environment("from-vars-async", async {
            User::new("vars", 3).save().await?;
            User::count().await
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            User::count().await.unwrap(),
            0,
            "the caller's namespace is empty"
        );
        let keys = common::scan_keys(&mut common::server().raw(), &format!("{ns}:*"));
        assert!(keys.iter().any(|k| k.contains(":d:")), "{keys:?}");
    }

    /// `#[rapyer::environment(..)]` on async functions: the body runs in the named
    /// environment (the future is `Send`: it can be spawned), spawned tasks do not inherit
    /// it, and an unknown name is `UnknownEnvironment`.
    #[tokio::test]
    async fn the_environment_attribute_scopes_an_async_body() {
        let t = common::env();
        let ns = format!("{}attr", t.ns);
        rapyer::register_environment(
            "attr-async",
            rapyer::EnvironmentConfig::new(common::server().url.as_str()).namespace(ns.as_str()),
        )
        .unwrap();
        let (here, spawned) = tokio::spawn(seed_in_attr_env("in-attr".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(here, "attr-async");
        assert_ne!(spawned.as_deref(), Some("attr-async"));
        assert_eq!(
            User::count().await.unwrap(),
            0,
            "nothing in the caller's environment"
        );
        let mut raw = common::server().raw();
        let in_attr = common::scan_keys(&mut raw, &format!("{ns}:*"));
        assert!(in_attr.iter().any(|k| k.contains(":d:")), "{in_attr:?}");
        let r = in_unknown_env().await;
        assert!(
            matches!(r, Err(rapyer::Error::UnknownEnvironment { ref name, .. }) if name == "never-registered-async"),
            "{r:?}"
        );
        // nested in a task scope: the attribute's environment inside, the scope's after
        let outer = t.env.name().to_owned();
        let (inside, after) = with_environment(&outer, async {
            let inside = seed_in_attr_env("nested".into()).await.unwrap().0;
            let after = rapyer::current_environment().unwrap().name().to_owned();
            (inside, after)
        })
        .await
        .unwrap();
        assert_eq!(
            (inside.as_str(), after.as_str()),
            ("attr-async", outer.as_str())
        );
    }

    /// An update by query reports its progress after each chunk of 100, from a spawned
    /// task (the future is `Send`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn updates_by_query_report_progress_per_chunk() {
        let t = common::env();
        let name = t.env.name().to_owned();
        let members: Vec<Member> = (0..250)
            .map(|i| Member {
                age: i,
                status: "p".into(),
                ..Member::default()
            })
            .collect();
        Member::bulk_save(&members).await.unwrap();
        let (seen, report) = tokio::spawn(with_environment(&name, async {
            let mut seen = Vec::new();
            let q = Member::find(Member::fields().status.eq("p"));
            let report = q
                .update_with_progress(
                    |p, b| {
                        b.add(p.age.incr(1));
                    },
                    |r| seen.push((r.chunks, r.updated)),
                )
                .await
                .unwrap();
            (seen, report)
        }))
        .await
        .unwrap()
        .unwrap();
        assert_eq!(seen, [(1, 100), (2, 200), (3, 250)]);
        assert_eq!(report.updated, 250);
    }

    /// 32 tasks for 20 s moving items between two lists with one conditional program each:
    /// no item is ever lost or duplicated.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thirty_two_mover_tasks_never_lose_an_item() {
        let t = common::env();
        let name = t.env.name().to_owned();
        let s = crate::context::mover_store();
        s.insert().await.unwrap();
        let end = std::time::Instant::now() + crate::context::MOVE_FOR;
        let tasks: Vec<_> = (0..32u64)
            .map(|i| {
                let id = s.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    let (mut moves, mut n) = (0u64, 0u64);
                    while std::time::Instant::now() < end {
                        n += 1;
                        let flip = (n + i).is_multiple_of(17);
                        let moved =
                            rapyer::pipeline(|pipe| Ok(crate::context::mover(pipe, &id, flip)))
                                .await
                                .unwrap();
                        if moved.taken().is_some_and(|b| b < 2) {
                            moves += 1;
                        }
                    }
                    moves
                }))
            })
            .collect();
        let mut moves = 0;
        for task in tasks {
            moves += task.await.unwrap().unwrap();
        }
        crate::context::check_movers(&Store::get(&s.id).await.unwrap(), moves);
    }

    /// 32 tasks each trying 20 purchases of a stock of 100 with one conditional program:
    /// never oversold, every unit sold once, the branch reports agree.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thirty_two_buyer_tasks_never_oversell() {
        let t = common::env();
        let name = t.env.name().to_owned();
        let m = Member {
            big: 100,
            ..Member::default()
        };
        m.insert().await.unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let id = m.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    let mut bought = 0;
                    for _ in 0..20 {
                        let branch = rapyer::pipeline(|pipe| {
                            let p = Member::at(&id);
                            Ok(pipe
                                .when(p.big.gt(0))
                                .then(|b| {
                                    b.add(p.big.incr(-1));
                                    b.add(p.badges.push(format!("buyer-{i}")));
                                })
                                .branch())
                        })
                        .await
                        .unwrap();
                        if branch.taken() == Some(0) {
                            bought += 1;
                        }
                    }
                    bought
                }))
            })
            .collect();
        let mut bought = 0;
        for task in tasks {
            bought += task.await.unwrap().unwrap();
        }
        let stored = Member::get(&m.id).await.unwrap();
        assert_eq!(stored.big, 0, "sold out, never below");
        assert_eq!(stored.badges.len(), 100, "each unit sold once");
        assert_eq!(bought, 100, "the branch reports agree");
    }

    /// 8 tasks × 1,000 calls, one every 3 ms each, against a keyed token bucket of 100/s
    /// with bursts of 20: 320 pass over the 3 s (± 1 %, timed on the server).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn eight_tasks_share_one_keyed_token_bucket() {
        // a server of its own: other tests' load cannot stall every client at once
        let t = common::private_env();
        let name = t.env.name().to_owned();
        let mut raw = t.raw();
        let start_us = common::server_time_us(&mut raw);
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..common::RATE_CLIENTS)
            .map(|_| {
                tokio::spawn(with_environment(&name, async move {
                    let api =
                        rapyer::RateLimiter::<rapyer::TokenBucket<100, 1_000, 20>>::keyed("api");
                    let mut allowed = 0;
                    for i in 0..common::RATE_CALLS {
                        tokio::time::sleep_until(start + common::RATE_PACE * i as u32).await;
                        if api.check_key("user:42").await.unwrap().allowed {
                            allowed += 1;
                        }
                    }
                    allowed
                }))
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            allowed += task.await.unwrap().unwrap();
        }
        let end_us = common::server_time_us(&mut raw);
        common::assert_rate_limited(allowed, start_us, end_us);
    }

    /// 8 blocking pops wait on dedicated connections while 64 other operations run on
    /// the shared one (all done before any pop returns); then 8 pushes feed the 8 pops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_pops_never_hold_up_the_shared_connection() {
        let t = common::env();
        let name = t.env.name().to_owned();
        let j = Jobs::default();
        j.insert().await.unwrap();
        let g = Gauge::default();
        g.save().await.unwrap();
        let pops: Vec<_> = (0..8)
            .map(|_| {
                let id = j.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    Jobs::at(&id)
                        .queue
                        .pop_blocking(std::time::Duration::from_secs(20))
                        .await
                }))
            })
            .collect();
        // the pops reach the server and wait (checked there: 8 blocked clients)
        let mut raw = t.raw();
        for _ in 0..200 {
            if common::blocked_clients(&mut raw) >= 8 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        for i in 0..64 {
            Gauge::at(&g.id).big.incr(1).await.unwrap();
            assert!(
                pops.iter().all(|p| !p.is_finished()),
                "op {i}: no pop has returned"
            );
        }
        let stored = Gauge::at(&g.id).big.get().await.unwrap();
        assert_eq!(stored, 64);
        for i in 0..8 {
            Jobs::at(&j.id)
                .queue
                .push(format!("job{i}"), i)
                .await
                .unwrap();
        }
        let mut got = Vec::new();
        for p in pops {
            let entry = p.await.unwrap().unwrap().unwrap().expect("an entry");
            got.push(entry.0);
        }
        got.sort();
        let want: Vec<String> = (0..8).map(|i| format!("job{i}")).collect();
        assert_eq!(got, want, "each entry popped once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_tasks_lose_no_increment_and_no_element() {
        let t = common::env();
        let g = Gauge::default();
        g.save().await.unwrap();
        let name = t.env.name().to_owned();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let id = g.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    for j in 0..1000 {
                        Gauge::at(&id).big.incr(1).await.unwrap();
                        if j % 50 == 0 {
                            Gauge::at(&id).log.push(format!("{i}-{j}")).await.unwrap();
                        }
                    }
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let stored = with_environment(&name, Gauge::get(g.id.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.big, 64_000);
        assert_eq!(stored.log.len(), 64 * 20);
        let mut unique = stored.log.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 64 * 20, "no element lost or duplicated");
    }

    fn lock_key(t: &common::TestEnv, action: &str, id: &rapyer::Id) -> String {
        format!("{}:{{Gauge:0}}:l:{}:{action}:{id}", t.ns, action.len())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixteen_tasks_read_modify_write_under_a_lock_lose_nothing() {
        let t = common::env();
        let g = Gauge::default();
        g.save().await.unwrap();
        let name = t.env.name().to_owned();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let id = g.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    for _ in 0..15 {
                        Gauge::lock_id(&id, "bump", |g| {
                            Box::pin(async move {
                                g.big += 1;
                                tokio::task::yield_now().await;
                                g.name = format!("n{}", g.big);
                                Ok(())
                            })
                        })
                        .await
                        .unwrap();
                    }
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let stored = with_environment(&name, Gauge::get(g.id.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.big, 240);
        assert_eq!(stored.name, "n240");
    }

    #[tokio::test]
    async fn locks_time_out_release_on_error_and_cancel() {
        let t = common::env();
        let mut g = Gauge {
            big: 1,
            ..Gauge::default()
        };
        g.save().await.unwrap();
        let key = lock_key(&t, "pay", &g.id);
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("other")
            .arg("PX")
            .arg(60_000)
            .query(&mut t.raw())
            .unwrap();
        let opts = rapyer::LockOptions::default().timeout(std::time::Duration::from_millis(100));
        let r = g
            .lock_with(
                "pay",
                opts,
                |_| -> rapyer::asynchronous::BoxFuture<'_, rapyer::Result<()>> {
                    panic!("must not run")
                },
            )
            .await;
        assert!(matches!(r, Err(rapyer::Error::LockTimeout { .. })), "{r:?}");
        let before = t.stats();
        g.lock("refund", |g| {
            Box::pin(async move {
                g.big += 1;
                Ok(())
            })
        })
        .await
        .unwrap();
        assert_eq!(g.big, 2);
        assert_eq!(
            (t.stats() - before).planned_round_trips(),
            2,
            "lock+load, save+release"
        );
        let _: () = redis::cmd("DEL").arg(&key).query(&mut t.raw()).unwrap();
        let r: rapyer::Result<()> = g
            .lock("pay", |g| {
                Box::pin(async move {
                    g.big = 100;
                    Err(rapyer::Error::InvalidInput("no".into()))
                })
            })
            .await;
        assert!(r.is_err());
        let stored = Gauge::get(&g.id).await.unwrap();
        assert_eq!(stored.big, 2);
        let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut t.raw()).unwrap();
        assert!(!held, "released after an error");
        // a cancelled task frees its lock (release spawned from Drop)
        let id = g.id.clone();
        let name = t.env.name().to_owned();
        let task = tokio::spawn(with_environment(&name, async move {
            Gauge::lock_id(&id, "pay", |_| {
                Box::pin(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    Ok(())
                })
            })
            .await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut t.raw()).unwrap();
        assert!(held, "the task holds the lock");
        task.abort();
        let _ = task.await;
        let mut released = false;
        for _ in 0..100 {
            let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut t.raw()).unwrap();
            if !held {
                released = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(released, "released after cancellation");
    }

    #[tokio::test]
    async fn an_expired_lease_cannot_save_or_release_the_next_holders_lock() {
        let t = common::env();
        let mut g = Gauge {
            big: 1,
            ..Gauge::default()
        };
        g.save().await.unwrap();
        let key = lock_key(&t, "job", &g.id);
        let opts = rapyer::LockOptions::default().lease(std::time::Duration::from_millis(50));
        let k = key.clone();
        let r = g
            .lock_with("job", opts, move |g| {
                Box::pin(async move {
                    g.big = 999;
                    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
                    let _: () = redis::cmd("SET")
                        .arg(&k)
                        .arg("new-holder")
                        .arg("PX")
                        .arg(60_000)
                        .query(&mut common::server().raw())
                        .unwrap();
                    Ok(())
                })
            })
            .await;
        assert!(matches!(r, Err(rapyer::Error::Conflict { .. })), "{r:?}");
        let holder: String = redis::cmd("GET").arg(&key).query(&mut t.raw()).unwrap();
        assert_eq!(holder, "new-holder");
        let stored = Gauge::get(&g.id).await.unwrap();
        assert_eq!(stored.big, 1);
        assert_eq!(g.big, 1);
    }

    #[tokio::test]
    async fn query_stream_in_batches() {
        use futures_util::StreamExt;
        let t = common::env();
        for age in 0..25 {
            Person {
                age,
                ..Person::default()
            }
            .insert()
            .await
            .unwrap();
        }
        let before = t.stats();
        let q = Person::find(Person::fields().age.ge(5)).order_by(Person::fields().age.desc());
        let ages: Vec<i64> = q.stream(7).map(|p| p.unwrap().age).collect().await;
        assert_eq!(ages, (5..25).rev().collect::<Vec<_>>());
        if common::single_server_budgets() {
            assert_eq!(
                (t.stats() - before).planned_round_trips(),
                1 + 3,
                "ids, then 3 batches of up to 7"
            );
        }
    }

    /// `ttl_refresh = "read"`: streaming a query refreshes each document's TTL;
    /// `peek()` leaves it.
    #[tokio::test]
    async fn query_stream_refreshes_ttls_unless_peek() {
        use futures_util::StreamExt;
        let t = common::env();
        let d = ReadRefreshed::default();
        d.save().await.unwrap();
        let root = t.keys().into_iter().find(|k| k.contains(":d:")).unwrap();
        let pttl = || -> i64 { redis::cmd("PTTL").arg(&root).query(&mut t.raw()).unwrap() };
        d.set_ttl(std::time::Duration::from_secs(10)).await.unwrap();
        let n = ReadRefreshed::query()
            .peek()
            .stream(5)
            .collect::<Vec<_>>()
            .await
            .len();
        assert_eq!(n, 1);
        assert!(pttl() <= 10_000, "peek leaves the TTL");
        let n = ReadRefreshed::query()
            .stream(5)
            .collect::<Vec<_>>()
            .await
            .len();
        assert_eq!(n, 1);
        assert!(pttl() > 900_000, "stream refreshes");
    }
}
