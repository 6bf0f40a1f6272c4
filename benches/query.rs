//! Queries on 100,000 documents with three indexes, beside the best hand-written
//! redis-rs equivalent on the same index keys, in one run; and memory per document.
//!
//! `cargo bench --bench query` (`BENCH_DOCS` sets the document count, `BENCH_N` the
//! query repetitions, default 100000 and 50).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::collections::HashSet;
use std::time::Instant;

use common::models::IndexedUser;
use rapyer::Model;
use rapyer::asynchronous::AsyncModel;
use support::report;

fn used_memory(conn: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn main() {
    let docs = support::count_var("BENCH_DOCS", 100_000);
    let n = support::count_var("BENCH_N", 50);
    let server = common::Server::start();
    rapyer::register_environment("bench", rapyer::EnvironmentConfig::new(server.url.as_str()))
        .unwrap();
    let mut raw = server.conn();
    let before = used_memory(&mut raw);

    // load with 64 concurrent tasks
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|t| {
                tokio::spawn(rapyer::asynchronous::with_environment(
                    "bench",
                    async move {
                        let mut i = t;
                        while i < docs {
                            let u = IndexedUser {
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
                            };
                            u.save().await.unwrap();
                            i += 64;
                        }
                    },
                ))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    let load = start.elapsed();
    let after = used_memory(&mut raw);
    println!(
        "\nloaded {docs} documents (3 indexes, 2-tag list) in {:.1} s with 64 tasks: {:.0} docs/s; memory {:.0} bytes/document",
        load.as_secs_f64(),
        docs as f64 / load.as_secs_f64(),
        (after - before) as f64 / docs as f64
    );

    let _g = rapyer::use_environment("bench").unwrap();
    let f = IndexedUser::fields();
    let q = || IndexedUser::find(f.age.gt(25) & f.status.eq("active"));

    // raw: the same two index reads, intersected client-side
    let raw_ids = |raw: &mut redis::Connection| -> (Vec<(String, f64)>, HashSet<Vec<u8>>) {
        let (ages, statuses): (Vec<(String, f64)>, Vec<Vec<u8>>) = redis::pipe()
            .cmd("ZRANGEBYSCORE")
            .arg("{BUser:0}:i:age")
            .arg("(25")
            .arg("+inf")
            .arg("WITHSCORES")
            .cmd("ZRANGEBYLEX")
            .arg("{BUser:0}:i:status")
            .arg(b"[active\0".as_slice())
            .arg(b"(active\x01".as_slice())
            .query(raw)
            .unwrap();
        let active: HashSet<Vec<u8>> = statuses
            .into_iter()
            .map(|m| {
                let end = m.iter().rposition(|&b| b == 0).unwrap();
                m[8..end].to_vec() // "active" \0\0 id \0 len(id)
            })
            .collect();
        (ages, active)
    };

    let start = Instant::now();
    let mut count = 0;
    for _ in 0..n {
        count = q().sync_count().unwrap();
    }
    let orm_count = start.elapsed();
    let start = Instant::now();
    let mut raw_count = 0;
    for _ in 0..n {
        let (ages, active) = raw_ids(&mut raw);
        raw_count = ages
            .iter()
            .filter(|(id, _)| active.contains(id.as_bytes()))
            .count() as u64;
    }
    let raw_count_t = start.elapsed();
    assert_eq!(count, raw_count);

    let start = Instant::now();
    for _ in 0..n {
        let page = q().order_by(f.age.desc()).limit(10).sync_all().unwrap();
        assert_eq!(page.len(), 10);
    }
    let orm_top = start.elapsed();
    let start = Instant::now();
    for _ in 0..n {
        let (mut ages, active) = raw_ids(&mut raw);
        ages.retain(|(id, _)| active.contains(id.as_bytes()));
        ages.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then_with(|| b.0.cmp(&a.0)));
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (id, _) in ages.iter().take(10) {
            pipe.cmd("HGETALL").arg(format!("{{BUser:0}}:d:{id}"));
            pipe.cmd("LRANGE")
                .arg(format!("{{BUser:0}}:c:tags:{id}"))
                .arg(0)
                .arg(-1);
        }
        let _: Vec<redis::Value> = pipe.query(&mut raw).unwrap();
    }
    let raw_top = start.elapsed();

    let n_all = 3.max(n / 10);
    let start = Instant::now();
    let mut all = 0;
    for _ in 0..n_all {
        all = q().sync_all().unwrap().len();
    }
    let orm_all = start.elapsed();
    let start = Instant::now();
    for _ in 0..n_all {
        let (ages, active) = raw_ids(&mut raw);
        let ids: Vec<&String> = ages
            .iter()
            .filter(|(id, _)| active.contains(id.as_bytes()))
            .map(|(id, _)| id)
            .collect();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for id in &ids {
            pipe.cmd("HGETALL").arg(format!("{{BUser:0}}:d:{id}"));
            pipe.cmd("LRANGE")
                .arg(format!("{{BUser:0}}:c:tags:{id}"))
                .arg(0)
                .arg(-1);
        }
        let _: Vec<redis::Value> = pipe.query(&mut raw).unwrap();
    }
    let raw_all = start.elapsed();
    println!("(age > 25) & (status == \"active\") matches {count} of {docs}; materialised {all}");
    report(
        "queries (blocking API)",
        &[
            ("count", orm_count, raw_count_t),
            ("order by age desc, limit 10", orm_top, raw_top),
        ],
        n,
    );
    report(
        "queries (blocking API)",
        &[("all, materialised", orm_all, raw_all)],
        n_all,
    );
}
