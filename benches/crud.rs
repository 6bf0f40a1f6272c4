//! Single-document `save`, `get`, `delete` of the benchmark model (three indexes, a tag
//! list) in both APIs, and async throughput with 64 concurrent tasks: rapyer beside raw
//! redis-rs running the minimal equivalent commands (support::raw) in the same process
//! against the same throwaway server. Prints the ratio rapyer / raw.
//!
//! `cargo bench --bench crud` (`BENCH_N` sets the operation count, default 10000: the
//! ratios of shorter runs move by a few hundredths on a shared machine).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::{raw, report};

use common::models::IndexedUser;
use rapyer::asynchronous::AsyncModel;
use rapyer::sync::SyncModel;

fn raw_get(conn: &mut redis::Connection, pipe: &mut redis::Pipeline, id: &str) -> IndexedUser {
    pipe.clear();
    pipe.atomic();
    raw::read(pipe, "raw", id);
    let (fields, tags): (HashMap<String, String>, Vec<String>) = pipe.query(conn).unwrap();
    raw::decode(id, fields, tags)
}

fn main() {
    let n = support::count_var("BENCH_N", 10_000);
    let (server, _g) = support::orm_server();
    let users = raw::users(n + 200);
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    let mut conn = server.conn();
    raw::load(&mut conn);
    let (save_sha, delete_sha) = (raw::sha(raw::SAVE), raw::sha(raw::DELETE));
    let mut pipe = redis::pipe();

    // --- blocking (ORM and raw alternate in blocks of 100, see support::compare)
    let (orm_save, raw_save) = support::compare(
        n,
        |i| users[i].sync_save().unwrap(),
        |i| {
            pipe.clear();
            raw::save(&mut pipe, &save_sha, "raw", &users[i], "save");
            let _: (i64,) = pipe.query(&mut conn).unwrap();
        },
    );
    let (orm_get, raw_get_t) = support::compare(
        n,
        |i| {
            std::hint::black_box(IndexedUser::sync_get(&ids[i]).unwrap());
        },
        |i| {
            std::hint::black_box(raw_get(&mut conn, &mut pipe, &ids[i]));
        },
    );
    let (orm_del, raw_del) = support::compare(
        n,
        |i| {
            IndexedUser::sync_delete_id(&ids[i]).unwrap();
        },
        |i| {
            pipe.clear();
            raw::delete(&mut pipe, &delete_sha, "raw", &ids[i]);
            let _: (i64,) = pipe.query(&mut conn).unwrap();
        },
    );
    report(
        "blocking API, one connection, sequential",
        &[
            ("save", orm_save, raw_save),
            ("get", orm_get, raw_get_t),
            ("delete", orm_del, raw_del),
        ],
        n,
    );

    // --- tokio: sequential awaits, then 64 concurrent tasks
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let mut mux = client.get_multiplexed_async_connection().await.unwrap();
        rapyer::asynchronous::with_environment("bench", async {
            let mut rows: Vec<(&str, Duration, Duration)> = Vec::new();
            // like support::compare: a warm-up, then rapyer and raw alternate in blocks of
            // 100 so that drift of a shared machine hits both alike
            let blocks = |n: usize| (0..n).step_by(100).map(move |i| i..(i + 100).min(n));
            for u in &users[..n.min(200)] {
                u.save().await.unwrap();
                let mut pipe = redis::pipe();
                raw::save(&mut pipe, &save_sha, "raw", u, "save");
                let _: (i64,) = pipe.query_async(&mut mux).await.unwrap();
            }
            let (mut orm, mut bare) = (Duration::ZERO, Duration::ZERO);
            for block in blocks(n) {
                let start = Instant::now();
                for u in &users[block.clone()] {
                    u.save().await.unwrap();
                }
                orm += start.elapsed();
                let start = Instant::now();
                for u in &users[block] {
                    let mut pipe = redis::pipe();
                    raw::save(&mut pipe, &save_sha, "raw", u, "save");
                    let _: (i64,) = pipe.query_async(&mut mux).await.unwrap();
                }
                bare += start.elapsed();
            }
            rows.push(("save", orm, bare));
            let (mut orm, mut bare) = (Duration::ZERO, Duration::ZERO);
            for block in blocks(n) {
                let start = Instant::now();
                for id in &ids[block.clone()] {
                    std::hint::black_box(IndexedUser::get(id).await.unwrap());
                }
                orm += start.elapsed();
                let start = Instant::now();
                for id in &ids[block] {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    raw::read(&mut pipe, "raw", id);
                    let (f, t): (HashMap<String, String>, Vec<String>) =
                        pipe.query_async(&mut mux).await.unwrap();
                    std::hint::black_box(raw::decode(id, f, t));
                }
                bare += start.elapsed();
            }
            rows.push(("get", orm, bare));
            let (mut orm, mut bare) = (Duration::ZERO, Duration::ZERO);
            for block in blocks(n) {
                let start = Instant::now();
                for id in &ids[block.clone()] {
                    IndexedUser::delete_id(id).await.unwrap();
                }
                orm += start.elapsed();
                let start = Instant::now();
                for id in &ids[block] {
                    let mut pipe = redis::pipe();
                    raw::delete(&mut pipe, &delete_sha, "raw", id);
                    let _: (i64,) = pipe.query_async(&mut mux).await.unwrap();
                }
                bare += start.elapsed();
            }
            rows.push(("delete", orm, bare));
            rows
        })
        .await
        .unwrap()
    });
    report("tokio API, sequential awaits", &rows, n);

    // 64 tasks, each saving then getting its share of the users
    let tasks = 64;
    let per = n.div_ceil(tasks);
    let shared = std::sync::Arc::new(users);
    let orm_round = || {
        rt.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|t| {
                    let users = shared.clone();
                    tokio::spawn(rapyer::asynchronous::with_environment(
                        "bench",
                        async move {
                            for u in users.iter().skip(t * per).take(per) {
                                u.save().await.unwrap();
                                std::hint::black_box(IndexedUser::get(&u.id).await.unwrap());
                            }
                        },
                    ))
                })
                .collect();
            for h in handles {
                h.await.unwrap().unwrap();
            }
            start.elapsed()
        })
    };
    let raw_round = || {
        rt.block_on(async {
            let client = redis::Client::open(server.url.as_str()).unwrap();
            let mux = client.get_multiplexed_async_connection().await.unwrap();
            let save_sha = std::sync::Arc::new(save_sha.clone());
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|t| {
                    let users = shared.clone();
                    let mut mux = mux.clone();
                    let sha = save_sha.clone();
                    tokio::spawn(async move {
                        for u in users.iter().skip(t * per).take(per) {
                            let mut pipe = redis::pipe();
                            raw::save(&mut pipe, &sha, "raw", u, "save");
                            let _: (i64,) = pipe.query_async(&mut mux).await.unwrap();
                            let id = u.id.to_string();
                            let mut pipe = redis::pipe();
                            pipe.atomic();
                            raw::read(&mut pipe, "raw", &id);
                            let (f, tags): (HashMap<String, String>, Vec<String>) =
                                pipe.query_async(&mut mux).await.unwrap();
                            std::hint::black_box(raw::decode(&id, f, tags));
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            start.elapsed()
        })
    };
    // two rounds each, alternating (the second saves are updates, for both alike)
    let (mut orm, mut raw_t) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..2 {
        orm += orm_round();
        raw_t += raw_round();
    }
    report(
        "tokio API, 64 concurrent tasks (save + get per user; ops = users)",
        &[("save + get", orm, raw_t)],
        2 * per * tasks,
    );
    println!(
        "throughput: rapyer {:.0} users/s, raw {:.0} users/s",
        (2 * per * tasks) as f64 / orm.as_secs_f64(),
        (2 * per * tasks) as f64 / raw_t.as_secs_f64()
    );
}
