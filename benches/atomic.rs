//! Atomic operations beside raw redis-rs doing the minimal equivalent commands, in the
//! same process against the same throwaway server. Prints the ratio ORM / raw.
//!
//! `cargo bench --bench atomic` (`BENCH_N` sets the operation count, default 3000).
//! rapyer does more per call than the raw command (existence check, type bounds, TTL
//! bookkeeping, undo log for pipelines); the ratio is the price of that. The indexed
//! `incr` case is held against the minimal safe script a user would hand-write
//! (`EXISTS` guard, `HINCRBY`, `ZADD` of the new value into the index; one `EVALSHA`).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::time::Instant;

use support::{report, time};

use common::models::{Gauge, Person};
use rapyer::Model;
use rapyer::asynchronous::AsyncModel;
use rapyer::sync::SyncModel;

fn main() {
    let n = support::count_var("BENCH_N", 3000);
    let (server, _g) = support::orm_server();
    let mut g = Gauge::default();
    g.sync_save().unwrap();
    let mut raw = server.conn();
    let (root, list) = ("raw:{Gauge:0}:d:x", "raw:{Gauge:0}:c:log:x");
    let _: () = redis::cmd("HSET")
        .arg(root)
        .arg("big")
        .arg(0)
        .query(&mut raw)
        .unwrap();

    let orm_incr = time(n, |_| {
        g.atomic().big.sync_incr(1).unwrap();
    });
    let raw_incr = time(n, |_| {
        let _: i64 = redis::cmd("HINCRBY")
            .arg(root)
            .arg("big")
            .arg(1)
            .query(&mut raw)
            .unwrap();
    });
    let orm_push = time(n, |_| {
        g.atomic().log.sync_push("x".into()).unwrap();
    });
    let raw_push = time(n, |_| {
        let _: i64 = redis::cmd("RPUSH")
            .arg(list)
            .arg("x")
            .query(&mut raw)
            .unwrap();
    });
    let orm_pipe = time(n, |_| {
        g.sync_pipeline(|u, p| {
            p.add(u.big.incr(1));
            p.add(u.ratio.incr(0.5));
            p.add(u.name.set("n".into()));
            p.add(u.counts.incr("k".into(), 1));
            p.add(u.labels.add("l".into()));
            Ok(())
        })
        .unwrap();
    });
    let raw_pipe = time(n, |_| {
        let () = redis::pipe()
            .atomic()
            .hincr(root, "big", 1)
            .ignore()
            .hincr(root, "ratio", 0.5)
            .ignore()
            .hset(root, "name", "n")
            .ignore()
            .hincr("raw:{Gauge:0}:c:counts:x", "k", 1)
            .ignore()
            .sadd("raw:{Gauge:0}:c:labels:x", "l")
            .ignore()
            .query(&mut raw)
            .unwrap();
    });
    // an indexed i64 on a model without TTL, against the minimal safe script a user
    // would hand-write: the existence guard, HINCRBY, the new value into the index
    let mut person = Person {
        age: 30,
        ..Person::default()
    };
    person.sync_save().unwrap();
    let orm_indexed = time(n, |_| {
        person.atomic().age.sync_incr(1).unwrap();
    });
    let minimal = redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return false end \
         local v = redis.call('HINCRBY', KEYS[1], 'age', 1) \
         redis.call('ZADD', KEYS[2], v, ARGV[1]) return v",
    );
    let (proot, pindex) = ("raw:{Person:0}:d:p", "raw:{Person:0}:i:age");
    let _: () = redis::cmd("HSET")
        .arg(proot)
        .arg("age")
        .arg(30)
        .query(&mut raw)
        .unwrap();
    let raw_indexed = time(n, |_| {
        let _: i64 = minimal
            .key(proot)
            .key(pindex)
            .arg("p")
            .invoke(&mut raw)
            .unwrap();
    });
    report(
        "blocking API",
        &[
            ("incr", orm_incr, raw_incr),
            ("push", orm_push, raw_push),
            ("5-op pipeline", orm_pipe, raw_pipe),
            (
                "incr of an indexed i64 vs minimal script",
                orm_indexed,
                raw_indexed,
            ),
        ],
        n,
    );

    // the list grew by n + warm-up pushes; keep it short for the async round
    let _: () = redis::cmd("DEL").arg(list).query(&mut raw).unwrap();
    g.atomic().log.sync_clear().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let id = g.id.clone();
        let start = Instant::now();
        for _ in 0..n {
            Gauge::at(&id).big.incr(1).await.unwrap();
        }
        let orm_incr = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            let _: i64 = redis::cmd("HINCRBY")
                .arg(root)
                .arg("big")
                .arg(1)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        let raw_incr = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            Gauge::at(&id).log.push("x".into()).await.unwrap();
        }
        let orm_push = start.elapsed();
        let start = Instant::now();
        for _ in 0..n {
            let _: i64 = redis::cmd("RPUSH")
                .arg(list)
                .arg("x")
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        let raw_push = start.elapsed();
        report(
            "tokio API (remote handles, sequential awaits)",
            &[("incr", orm_incr, raw_incr), ("push", orm_push, raw_push)],
            n,
        );
        let _ = g.delete().await;
    });
}
