//! Each structure's main operations beside the minimal raw redis-rs commands a user
//! would write for them, in the same process against the same throwaway server, rounds
//! interleaved; prints the ratios rapyer / raw, and a Bloom filter's bits per item
//! against the formula.
//!
//! `cargo bench --bench structures` (`BENCH_N` sets the operation count, default 3000).
//! rapyer does more per call than the raw commands (the document's existence, key types,
//! TTL, the tag of a named structure; FIFO ties in a priority queue; integers kept exact
//! in a rate limiter); the ratio is the price of that.
//!
//! Raw sides: `INCRBY`; `ZADD` (score = priority, member = value: no FIFO ties) and
//! `ZPOPMIN`; `BITFIELD` with the same k `SET`/`GET` subcommands; `MULTI` `RPUSH` +
//! `LTRIM`; a minimal token-bucket script (`EVALSHA`: `HMGET`, `TIME`, `HSET`) for a
//! rate limiter's check.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::time::Duration;

use rapyer::sync::SyncModel;
use rapyer::{
    BloomFilter, CircularBuffer, Counter, Id, Model, PriorityQueue, RateLimiter, TokenBucket,
};
use support::{report, time};

#[derive(Model, Debug, Clone, Default)]
#[rapyer(name = "Box")]
struct Structs {
    id: Id,
    hits: Counter,
    jobs: PriorityQueue<String, i64>,
    seen: BloomFilter<String, 100_000, 10_000>,
    recent: CircularBuffer<String, 100>,
    api: RateLimiter<TokenBucket<1_000_000_000, 1_000, 1_000_000_000>>,
}

/// The minimal token bucket a user would write: tokens and time in a hash, refilled from
/// `TIME` (floats, no exactness checks).
const RAW_BUCKET: &str = r"
local s = redis.call('HMGET', KEYS[1], 't', 'at')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens = tonumber(s[1]) or cap
local at = tonumber(s[2]) or now
tokens = math.min(cap, tokens + (now - at) * rate)
if tokens < 1 then return 0 end
redis.call('HSET', KEYS[1], 't', tokens - 1, 'at', now)
return 1
";

fn main() {
    let n = support::count_var("BENCH_N", 3000);
    let (server, _g) = support::orm_server();
    let s = Structs::default();
    s.sync_insert().unwrap();
    let at = Structs::at(&s.id);
    let mut raw = server.conn();
    let k = |f: &str| format!("raw:{{Box:0}}:c:{f}:x");
    let (m, hashes) = BloomFilter::<String, 100_000, 10_000>::shape();
    let bucket = redis::Script::new(RAW_BUCKET);

    let rounds = 10;
    let per = (n / rounds).max(1);
    let mut t = [Duration::ZERO; 14];
    let items: Vec<String> = (0..per * rounds + 400)
        .map(|i| format!("item-{i}"))
        .collect();
    // the raw filter's bit positions: the same k as rapyer's, from the same kind of hash
    let bits = |item: &str| -> Vec<u64> {
        let h = fxhash(item.as_bytes());
        (0..u64::from(hashes))
            .map(|i| h.0.wrapping_add(i.wrapping_mul(h.1 | 1)) % m)
            .collect()
    };
    for round in 0..rounds {
        let base = round * per;
        t[0] += time(per, |_| {
            at.hits.sync_increment(1).unwrap();
        });
        t[1] += time(per, |_| {
            let _: i64 = redis::cmd("INCRBY")
                .arg(k("hits"))
                .arg(1)
                .query(&mut raw)
                .unwrap();
        });
        t[2] += time(per, |i| {
            at.jobs
                .sync_push(items[base + i].clone(), (i % 10) as i64)
                .unwrap();
        });
        t[3] += time(per, |i| {
            let _: i64 = redis::cmd("ZADD")
                .arg(k("jobs"))
                .arg((i % 10) as i64)
                .arg(&items[base + i])
                .query(&mut raw)
                .unwrap();
        });
        t[4] += time(per, |_| {
            at.jobs.sync_pop().unwrap();
        });
        t[5] += time(per, |_| {
            let _: Vec<String> = redis::cmd("ZPOPMIN")
                .arg(k("jobs"))
                .query(&mut raw)
                .unwrap();
        });
        t[6] += time(per, |i| {
            at.seen.sync_add(items[base + i].clone()).unwrap();
        });
        t[7] += time(per, |i| {
            let mut cmd = redis::cmd("BITFIELD");
            cmd.arg(k("seen"));
            for b in bits(&items[base + i]) {
                cmd.arg("SET").arg("u1").arg(b).arg(1);
            }
            let _: Vec<i64> = cmd.query(&mut raw).unwrap();
        });
        t[8] += time(per, |i| {
            at.seen.sync_contains(items[base + i].clone()).unwrap();
        });
        t[9] += time(per, |i| {
            let mut cmd = redis::cmd("BITFIELD_RO");
            cmd.arg(k("seen"));
            for b in bits(&items[base + i]) {
                cmd.arg("GET").arg("u1").arg(b);
            }
            let _: Vec<i64> = cmd.query(&mut raw).unwrap();
        });
        t[10] += time(per, |i| {
            at.recent.sync_push(items[base + i].clone()).unwrap();
        });
        t[11] += time(per, |i| {
            let _: () = redis::pipe()
                .atomic()
                .rpush(k("recent"), &items[base + i])
                .ignore()
                .ltrim(k("recent"), -100, -1)
                .ignore()
                .query(&mut raw)
                .unwrap();
        });
        t[12] += time(per, |_| {
            at.api.sync_check().unwrap();
        });
        t[13] += time(per, |_| {
            let _: i64 = bucket
                .key(k("api"))
                .arg(1_000)
                .arg(1_000_000_000)
                .invoke(&mut raw)
                .unwrap();
        });
    }
    let n = per * rounds;
    report(
        "structures as model fields (blocking API) vs minimal raw redis-rs",
        &[
            ("Counter increment", t[0], t[1]),
            ("PriorityQueue push", t[2], t[3]),
            ("PriorityQueue pop", t[4], t[5]),
            ("BloomFilter add", t[6], t[7]),
            ("BloomFilter contains", t[8], t[9]),
            ("CircularBuffer push", t[10], t[11]),
            ("RateLimiter check", t[12], t[13]),
        ],
        n,
    );

    // where the time goes: the server's CPU per call (INFO commandstats)
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut raw)
        .unwrap();
    for _ in 0..n {
        at.hits.sync_increment(1).unwrap();
    }
    let orm_us = common::command_stat(&mut raw, "fcall", "usec_per_call");
    for _ in 0..n {
        let _: i64 = redis::cmd("INCRBY")
            .arg(k("hits"))
            .arg(1)
            .query(&mut raw)
            .unwrap();
    }
    let raw_us = common::command_stat(&mut raw, "incrby", "usec_per_call");
    println!(
        "server CPU per Counter increment: rapyer {orm_us:.1} µs (one FCALL of the executor), raw INCRBY {raw_us:.1} µs"
    );

    // the marginal cost of one more operation: 100 increments per pipeline (one script
    // call) against 100 INCRBY pipelined
    let batches = (n / 100).max(1);
    let orm_pipe = time(batches, |_| {
        rapyer::sync_pipeline(|p| {
            for _ in 0..100 {
                p.add(at.hits.increment(1));
            }
            Ok(())
        })
        .unwrap();
    });
    let raw_pipe = time(batches, |_| {
        let mut pipe = redis::pipe();
        for _ in 0..100 {
            pipe.cmd("INCRBY").arg(k("hits")).arg(1).ignore();
        }
        let _: () = pipe.query(&mut raw).unwrap();
    });
    report(
        "100 Counter increments per pipeline",
        &[("pipeline of 100", orm_pipe, raw_pipe)],
        batches,
    );

    // named: the same counter and queue through `named` (the tag check on every call)
    let hits = Counter::named("hits");
    let jobs = PriorityQueue::<String, i64>::named("jobs");
    let named_incr = time(n, |_| {
        hits.sync_increment(1).unwrap();
    });
    let raw_incr = time(n, |_| {
        let _: i64 = redis::cmd("INCRBY")
            .arg(k("hits"))
            .arg(1)
            .query(&mut raw)
            .unwrap();
    });
    let named_push = time(n, |i| {
        jobs.sync_push(items[i].clone(), (i % 10) as i64).unwrap();
    });
    let raw_push = time(n, |i| {
        let _: i64 = redis::cmd("ZADD")
            .arg(k("jobs"))
            .arg((i % 10) as i64)
            .arg(&items[i])
            .query(&mut raw)
            .unwrap();
    });
    report(
        "named structures vs minimal raw redis-rs",
        &[
            ("Counter increment", named_incr, raw_incr),
            ("PriorityQueue push", named_push, raw_push),
        ],
        n,
    );

    // a filter at capacity: bits per item and the key's size against the formula
    let f = Structs::default();
    f.sync_insert().unwrap();
    for chunk in (0..100_000u64)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .chunks(5_000)
    {
        Structs::at(&f.id)
            .seen
            .sync_add_many(chunk.to_vec())
            .unwrap();
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("orm:*:c:seen:{}", f.id))
        .query(&mut raw)
        .unwrap();
    let key = keys.into_iter().next().unwrap();
    let strlen: u64 = redis::cmd("STRLEN").arg(&key).query(&mut raw).unwrap();
    let usage: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .query(&mut raw)
        .unwrap();
    let formula = -(100_000f64) * 0.01f64.ln() / (std::f64::consts::LN_2.powi(2));
    println!(
        "\nBloomFilter<_, 100_000, 10_000> (p = 1 %): m = {m} bits ({:.3} bits/item; formula {:.3}), k = {hashes}; key {strlen} bytes (m/8 = {}), MEMORY USAGE {usage} bytes",
        m as f64 / 100_000.0,
        formula / 100_000.0,
        m.div_ceil(8)
    );
}

/// Two 64-bit halves of a fast hash of `bytes` (the raw side's stand-in for rapyer's
/// MurmurHash3: the server-side work is the same k bits either way).
fn fxhash(bytes: &[u8]) -> (u64, u64) {
    let (mut a, mut b) = (0xcbf2_9ce4_8422_2325u64, 0x9e37_79b9_7f4a_7c15u64);
    for &x in bytes {
        a = (a ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
        b = (b.rotate_left(5) ^ u64::from(x)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    (a, b)
}
