//! `bulk_insert`, `bulk_get`, `bulk_delete` of 10,000 and 100,000 benchmark models
//! (three indexes, a tag list) in both APIs, beside raw redis-rs doing the same writes
//! with a hand-written atomic save / delete script per document (support::raw), sent in
//! pipelines of 500, and the same pipelined `HGETALL` + `LRANGE` reads, decoded into the
//! same struct. Prints the ratio rapyer / raw.
//!
//! `cargo bench --bench bulk` (`BENCH_SIZES` sets the sizes, default "10000,100000";
//! `BENCH_ROUNDS` the rounds per size, default 2, alternating which side goes first).

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
) -> [Duration; 3] {
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
    let del = start.elapsed();
    assert_eq!(got, users);
    [ins, get, del]
}

/// The same on a multiplexed async connection.
async fn raw_async(
    conn: &mut redis::aio::MultiplexedConnection,
    shas: &(String, String),
    users: &[IndexedUser],
    ids: &[String],
) -> [Duration; 3] {
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
    let del = start.elapsed();
    assert_eq!(got, users);
    [ins, get, del]
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
    let (server, _g) = support::orm_server();
    let mut conn = server.conn();
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
    // warm both sides (script caches, connections; rapyer's bulk delete script goes as
    // EVAL on first use); the warm-up models stay stored, so the indexes are not empty
    // when the timed rounds start
    let warm = raw::users(CHUNK);
    let warm_ids: Vec<String> = warm.iter().map(|u| u.id.to_string()).collect();
    IndexedUser::sync_bulk_insert(&warm).unwrap();
    IndexedUser::sync_bulk_get(&warm_ids).unwrap();
    raw_blocking(&mut conn, &shas, &warm, &warm_ids);
    IndexedUser::sync_bulk_delete(&warm_ids).unwrap();
    IndexedUser::sync_bulk_insert(&warm).unwrap();

    let rounds = support::count_var("BENCH_ROUNDS", 2);
    for &n in &sizes {
        let users = raw::users(n);
        let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
        let zero = [Duration::ZERO; 3];
        let (mut orm_b, mut raw_b, mut orm_t, mut raw_t) = (zero, zero, zero, zero);
        // each round inserts, reads and deletes all `n` models on each side; rounds
        // alternate which side goes first, so drift on a shared machine hits both alike
        for round in 0..rounds {
            for orm in [round % 2 == 0, round % 2 == 1] {
                if orm {
                    add(&mut orm_b, orm_blocking(&users, &ids));
                } else {
                    add(&mut raw_b, raw_blocking(&mut conn, &shas, &users, &ids));
                }
            }
            rt.block_on(async {
                for orm in [round % 2 == 0, round % 2 == 1] {
                    if orm {
                        add(&mut orm_t, orm_async(&users, &ids).await);
                    } else {
                        add(&mut raw_t, raw_async(&mut mux, &shas, &users, &ids).await);
                    }
                }
            });
        }
        let ops = n * rounds;
        let rows = |orm: [Duration; 3], raw: [Duration; 3]| {
            [
                ("bulk_insert", orm[0], raw[0]),
                ("bulk_get", orm[1], raw[1]),
                ("bulk_delete", orm[2], raw[2]),
            ]
        };
        let title =
            |api: &str| format!("{api} API, {n} models, chunks of {CHUNK}, {rounds} rounds");
        report(&title("blocking"), &rows(orm_b, raw_b), ops);
        println!(
            "blocking bulk_insert: rapyer {:.0} models/s, raw {:.0} models/s",
            ops as f64 / orm_b[0].as_secs_f64(),
            ops as f64 / raw_b[0].as_secs_f64()
        );
        report(&title("tokio"), &rows(orm_t, raw_t), ops);
        assert_eq!(IndexedUser::sync_count().unwrap(), CHUNK as u64);
    }
}

fn add(total: &mut [Duration; 3], round: [Duration; 3]) {
    for (t, r) in total.iter_mut().zip(round) {
        *t += r;
    }
}

/// rapyer's blocking insert, get and delete of `users`, checked.
fn orm_blocking(users: &[IndexedUser], ids: &[String]) -> [Duration; 3] {
    let (written, ins) = timed(|| IndexedUser::sync_bulk_insert(users).unwrap());
    assert_eq!(written, users.len() as u64);
    let (got, get) = timed(|| IndexedUser::sync_bulk_get(ids).unwrap());
    assert_eq!(got, users);
    let (gone, del) = timed(|| IndexedUser::sync_bulk_delete(ids).unwrap());
    assert_eq!(gone, users.len() as u64);
    [ins, get, del]
}

/// The same through the tokio API.
async fn orm_async(users: &[IndexedUser], ids: &[String]) -> [Duration; 3] {
    use rapyer::asynchronous::AsyncModel;
    rapyer::asynchronous::with_environment("bench", async {
        let start = Instant::now();
        let written = IndexedUser::bulk_insert(users).await.unwrap();
        let ins = start.elapsed();
        assert_eq!(written, users.len() as u64);
        let start = Instant::now();
        let got = IndexedUser::bulk_get(ids).await.unwrap();
        let get = start.elapsed();
        assert_eq!(got, users);
        let start = Instant::now();
        let gone = IndexedUser::bulk_delete(ids).await.unwrap();
        let del = start.elapsed();
        assert_eq!(gone, users.len() as u64);
        [ins, get, del]
    })
    .await
    .unwrap()
}
