//! The query and bulk cases on a local 3-master Redis Cluster beside the same on one
//! server, and beside raw redis-rs cluster calls doing the same work (cluster pipelines
//! split per node), in one run. A 6-shard model, so every query fans out to 6 slots.
//!
//! On this 2-core machine the three masters share the cores with the client: the
//! figures show the overhead of routing and fan-out, not scaling (see BENCHMARKS.md for
//! the paper estimate at 10 and 100 masters).
//!
//! `cargo bench --bench cluster` (`BENCH_DOCS` documents, default 20000; `BENCH_N` query
//! repetitions, default 50).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::models::ShardedUser;
use rapyer::Model;
use rapyer::sync::SyncModel;

const SHARDS: u32 = 6;

fn users(n: usize) -> Vec<ShardedUser> {
    (0..n)
        .map(|i| ShardedUser {
            id: rapyer::Id::new(),
            name: format!("user{i}"),
            age: (i % 80) as i64,
            status: if i % 3 == 0 {
                "active".into()
            } else {
                "idle".into()
            },
            score: (i % 1000) as f64 / 10.0,
            tags: vec!["a".into(), "b".into()],
        })
        .collect()
}

fn timed(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// The count's raw equivalent on a cluster: per shard the two index reads, in one
/// cluster pipeline (redis-rs splits it per node), intersected on the client.
fn raw_count(conn: &mut redis::cluster::ClusterConnection) -> usize {
    let mut pipe = redis::cluster::cluster_pipe();
    for s in 0..SHARDS {
        pipe.cmd("ZRANGEBYSCORE")
            .arg(format!("{{SUser:{s}}}:i:age"))
            .arg("(25")
            .arg("+inf");
        pipe.cmd("ZRANGEBYLEX")
            .arg(format!("{{SUser:{s}}}:i:status"))
            .arg(b"[active\0".as_slice())
            .arg(b"(active\x01".as_slice());
    }
    let replies: Vec<Vec<Vec<u8>>> = pipe.query(conn).unwrap();
    let mut n = 0;
    for pair in replies.chunks(2) {
        let active: HashSet<&[u8]> = pair[1]
            .iter()
            .map(|m| {
                let end = m.iter().rposition(|&b| b == 0).unwrap();
                &m[8..end] // "active" \0\0 id \0 len(id)
            })
            .collect();
        n += pair[0]
            .iter()
            .filter(|id| active.contains(id.as_slice()))
            .count();
    }
    n
}

/// Bulk get's raw equivalent on a cluster: `HGETALL` + `LRANGE` per id, one cluster
/// pipeline per chunk of 500 (split per node by redis-rs; no snapshot).
fn raw_get(conn: &mut redis::cluster::ClusterConnection, ids: &[(u32, String)]) -> usize {
    let mut got = 0;
    for chunk in ids.chunks(500) {
        let mut pipe = redis::cluster::cluster_pipe();
        for (s, id) in chunk {
            pipe.cmd("HGETALL").arg(format!("{{SUser:{s}}}:d:{id}"));
            pipe.cmd("LRANGE")
                .arg(format!("{{SUser:{s}}}:c:tags:{id}"))
                .arg(0)
                .arg(-1);
        }
        let replies: Vec<redis::Value> = pipe.query(conn).unwrap();
        got += replies.len() / 2;
    }
    got
}

struct Figures {
    insert: Duration,
    get: Duration,
    count: Duration,
    top: Duration,
}

fn run_on(url: &str, name: &str, docs: &[ShardedUser], n: usize) -> Figures {
    rapyer::register_environment(name, rapyer::EnvironmentConfig::new(url)).unwrap();
    let _g = rapyer::use_environment(name).unwrap();
    let ids: Vec<String> = docs.iter().map(|d| d.id.to_string()).collect();
    let insert = timed(|| {
        assert_eq!(
            ShardedUser::sync_bulk_insert(docs).unwrap(),
            docs.len() as u64
        )
    });
    let get = timed(|| assert_eq!(ShardedUser::sync_bulk_get(&ids).unwrap().len(), docs.len()));
    let f = ShardedUser::fields();
    let q = || ShardedUser::find(f.age.gt(25) & f.status.eq("active"));
    q().sync_count().unwrap();
    let count = timed(|| {
        for _ in 0..n {
            q().sync_count().unwrap();
        }
    });
    let top = timed(|| {
        for _ in 0..n {
            assert_eq!(
                q().order_by(f.age.desc())
                    .limit(10)
                    .sync_all()
                    .unwrap()
                    .len(),
                10
            );
        }
    });
    Figures {
        insert,
        get,
        count,
        top,
    }
}

fn main() {
    let docs_n = support::count_var("BENCH_DOCS", 20_000);
    let n = support::count_var("BENCH_N", 50);
    let docs = users(docs_n);
    let single = common::Server::start();
    let cluster = common::Server::start_cluster(3);
    let one = run_on(&single.url, "bench-single", &docs, n);
    let many = run_on(&cluster.url, "bench-cluster", &docs, n);

    let mut raw = redis::cluster::ClusterClient::new(cluster.node_urls())
        .and_then(|c| c.get_connection())
        .unwrap();
    let _g = rapyer::use_environment("bench-cluster").unwrap();
    let want = {
        let f = ShardedUser::fields();
        ShardedUser::find(f.age.gt(25) & f.status.eq("active"))
            .sync_count()
            .unwrap() as usize
    };
    assert_eq!(raw_count(&mut raw), want);
    let raw_count_t = timed(|| {
        for _ in 0..n {
            raw_count(&mut raw);
        }
    });
    let keyed: Vec<(u32, String)> = {
        // the raw side needs each id's shard: read it back from the id indexes
        let mut out = Vec::new();
        for s in 0..SHARDS {
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(format!("{{SUser:{s}}}:ids"))
                .arg(0)
                .arg(-1)
                .query(&mut raw)
                .unwrap();
            out.extend(ids.into_iter().map(|id| (s, id)));
        }
        out
    };
    assert_eq!(keyed.len(), docs_n);
    let raw_get_t = timed(|| assert_eq!(raw_get(&mut raw, &keyed), docs_n));

    let per = |d: Duration, ops: usize| d.as_secs_f64() * 1e6 / ops as f64;
    println!("\n6-shard model, {docs_n} documents; cluster = 3 masters on this machine");
    println!(
        "{:<34} {:>12} {:>12} {:>10} {:>14}",
        "case", "one server", "cluster", "cluster/1", "raw cluster"
    );
    let row = |name: &str, a: Duration, b: Duration, raw: Option<Duration>, ops: usize| {
        let raw_txt = raw.map_or("-".to_owned(), |r| {
            format!(
                "{:.1} ({:.2}x)",
                per(r, ops),
                b.as_secs_f64() / r.as_secs_f64()
            )
        });
        println!(
            "{:<34} {:>12.1} {:>12.1} {:>10.2} {:>14}",
            name,
            per(a, ops),
            per(b, ops),
            b.as_secs_f64() / a.as_secs_f64(),
            raw_txt
        );
    };
    println!("(µs per document for bulk, per query for queries; raw: µs and rapyer/raw)");
    row("bulk_insert", one.insert, many.insert, None, docs_n);
    row("bulk_get", one.get, many.get, Some(raw_get_t), docs_n);
    row(
        "count (age > 25 & active)",
        one.count,
        many.count,
        Some(raw_count_t),
        n,
    );
    row("top 10 by age, loaded", one.top, many.top, None, n);
}
