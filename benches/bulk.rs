//! `bulk_insert`, `bulk_get`, `bulk_delete` of 10,000 and 100,000 benchmark models
//! (three indexes, a tag list) in both APIs, beside raw redis-rs doing the same writes
//! with a hand-written atomic save / delete script per document (support::raw), sent in
//! pipelines of 500, and the same pipelined `HGETALL` + `LRANGE` reads, decoded into the
//! same struct. Prints the ratio rapyer / raw.
//!
//! `cargo bench --bench bulk` (`BENCH_SIZES` sets the sizes, default "10000,100000").

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::time::{Duration, Instant};

use common::models::IndexedUser;
use rapyer::sync::SyncModel;
use support::{raw, report};

const CHUNK: usize = rapyer::DEFAULT_CHUNK;

/// Raw bulk writes: one pipeline of `CHUNK` script calls per round trip.
fn write_pipes(sha: &str, users: &[IndexedUser], mode: &str) -> Vec<redis::Pipeline> {
    users
        .chunks(CHUNK)
        .map(|part| {
            let mut pipe = redis::pipe();
            for u in part {
                raw::save(&mut pipe, sha, "raw", u, mode);
            }
            pipe
        })
        .collect()
}

/// Raw bulk reads: one `MULTI` of `HGETALL` + `LRANGE` per document, per chunk.
fn read_pipes(ids: &[String]) -> Vec<redis::Pipeline> {
    ids.chunks(CHUNK)
        .map(|part| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for id in part {
                raw::read(&mut pipe, "raw", id);
            }
            pipe
        })
        .collect()
}

/// Raw bulk deletes: one pipeline of `CHUNK` delete script calls per round trip.
fn delete_pipes(sha: &str, ids: &[String]) -> Vec<redis::Pipeline> {
    ids.chunks(CHUNK)
        .map(|part| {
            let mut pipe = redis::pipe();
            for id in part {
                raw::delete(&mut pipe, sha, "raw", id);
            }
            pipe
        })
        .collect()
}

/// Decodes one read chunk's replies into users.
fn decode_chunk(ids: &[String], flat: Vec<redis::Value>, out: &mut Vec<IndexedUser>) {
    let mut it = flat.into_iter();
    for id in ids {
        let (f, t) = (it.next().unwrap(), it.next().unwrap());
        out.push(raw::decode(
            id,
            redis::from_redis_value(f).unwrap(),
            redis::from_redis_value(t).unwrap(),
        ));
    }
}

/// Runs raw insert, get and delete of `users` on the blocking connection.
fn raw_blocking(
    conn: &mut redis::Connection,
    shas: &(String, String),
    users: &[IndexedUser],
    ids: &[String],
) -> (Duration, Duration, Duration, Vec<IndexedUser>) {
    let start = Instant::now();
    for pipe in write_pipes(&shas.0, users, "insert") {
        let replies: Vec<i64> = pipe.query(conn).unwrap();
        assert!(replies.iter().all(|&r| r == 1));
    }
    let ins = start.elapsed();
    let start = Instant::now();
    let mut got = Vec::with_capacity(ids.len());
    for (pipe, part) in read_pipes(ids).into_iter().zip(ids.chunks(CHUNK)) {
        decode_chunk(part, pipe.query(conn).unwrap(), &mut got);
    }
    let get = start.elapsed();
    let start = Instant::now();
    for pipe in delete_pipes(&shas.1, ids) {
        let replies: Vec<i64> = pipe.query(conn).unwrap();
        assert!(replies.iter().all(|&r| r > 0));
    }
    (ins, get, start.elapsed(), got)
}

/// The same on a multiplexed async connection.
async fn raw_async(
    conn: &mut redis::aio::MultiplexedConnection,
    shas: &(String, String),
    users: &[IndexedUser],
    ids: &[String],
) -> (Duration, Duration, Duration, Vec<IndexedUser>) {
    let start = Instant::now();
    for pipe in write_pipes(&shas.0, users, "insert") {
        let replies: Vec<i64> = pipe.query_async(conn).await.unwrap();
        assert!(replies.iter().all(|&r| r == 1));
    }
    let ins = start.elapsed();
    let start = Instant::now();
    let mut got = Vec::with_capacity(ids.len());
    for (pipe, part) in read_pipes(ids).into_iter().zip(ids.chunks(CHUNK)) {
        decode_chunk(part, pipe.query_async(conn).await.unwrap(), &mut got);
    }
    let get = start.elapsed();
    let start = Instant::now();
    for pipe in delete_pipes(&shas.1, ids) {
        let replies: Vec<i64> = pipe.query_async(conn).await.unwrap();
        assert!(replies.iter().all(|&r| r > 0));
    }
    (ins, get, start.elapsed(), got)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let server = common::Server::start();
    rapyer::register_environment(
        "bench",
        rapyer::EnvironmentConfig::new(server.url.as_str()).namespace("orm"),
    )
    .unwrap();
    let _g = rapyer::use_environment("bench").unwrap();
    let mut conn = server.raw();
    raw::load(&mut conn);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shas = (raw::sha(raw::SAVE), raw::sha(raw::DELETE));
    let mut mux = rt.block_on(async {
        redis::Client::open(server.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    });
    // warm both sides (script caches, connections)
    let warm = raw::users(CHUNK);
    let warm_ids: Vec<String> = warm.iter().map(|u| u.id.to_string()).collect();
    IndexedUser::sync_bulk_insert(&warm).unwrap();
    IndexedUser::sync_bulk_get(&warm_ids).unwrap();
    raw_blocking(&mut conn, &shas, &warm, &warm_ids);

    for &n in &sizes {
        let users = raw::users(n);
        let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();

        // blocking: rapyer, then raw
        let (written, ins) = timed(|| IndexedUser::sync_bulk_insert(&users).unwrap());
        assert_eq!(written, n as u64);
        let (got, get) = timed(|| IndexedUser::sync_bulk_get(&ids).unwrap());
        let (gone, del) = timed(|| IndexedUser::sync_bulk_delete(&ids).unwrap());
        assert_eq!(gone, n as u64);
        let (r_ins, r_get, r_del, raw_got) = raw_blocking(&mut conn, &shas, &users, &ids);
        assert_eq!(got, raw_got);
        report(
            &format!("blocking API, {n} models, chunks of {CHUNK}"),
            &[
                ("bulk_insert", ins, r_ins),
                ("bulk_get", get, r_get),
                ("bulk_delete", del, r_del),
            ],
            n,
        );
        println!(
            "blocking bulk_insert: rapyer {:.0} models/s, raw {:.0} models/s",
            n as f64 / ins.as_secs_f64(),
            n as f64 / r_ins.as_secs_f64()
        );

        // tokio: rapyer, then raw on a multiplexed connection
        let (orm, raw_t) = rt.block_on(async {
            use rapyer::asynchronous::AsyncModel;
            let orm = rapyer::asynchronous::with_environment("bench", async {
                let start = Instant::now();
                IndexedUser::bulk_insert(&users).await.unwrap();
                let ins = start.elapsed();
                let start = Instant::now();
                let got = IndexedUser::bulk_get(&ids).await.unwrap();
                let get = start.elapsed();
                assert_eq!(got.len(), n);
                let start = Instant::now();
                IndexedUser::bulk_delete(&ids).await.unwrap();
                (ins, get, start.elapsed())
            })
            .await
            .unwrap();
            (orm, raw_async(&mut mux, &shas, &users, &ids).await)
        });
        report(
            &format!("tokio API, {n} models, chunks of {CHUNK}"),
            &[
                ("bulk_insert", orm.0, raw_t.0),
                ("bulk_get", orm.1, raw_t.1),
                ("bulk_delete", orm.2, raw_t.2),
            ],
            n,
        );
        assert_eq!(IndexedUser::sync_count().unwrap(), CHUNK as u64);
    }
}
