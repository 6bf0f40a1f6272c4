//! Timing and reporting shared by the benches.

use std::time::{Duration, Instant};

/// Runs `f(i)` for a warm-up, then times `n` calls.
#[allow(dead_code)]
pub fn time(n: usize, mut f: impl FnMut(usize)) -> Duration {
    for i in 0..n.min(200) {
        f(i);
    }
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed()
}

/// Prints one table of `(case, rapyer time, raw redis-rs time)` with the ratio.
#[allow(dead_code)]
pub fn report(title: &str, rows: &[(&str, Duration, Duration)], n: usize) {
    println!("\n{title}, {n} ops each");
    println!(
        "{:<28} {:>12} {:>12} {:>8}",
        "case", "rapyer µs/op", "raw µs/op", "ratio"
    );
    for (name, orm, raw) in rows {
        let per = |d: &Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{:<28} {:>12.1} {:>12.1} {:>8.2}",
            name,
            per(orm),
            per(raw),
            orm.as_secs_f64() / raw.as_secs_f64()
        );
    }
}

/// A throwaway server with rapyer's `bench` environment (namespace `orm`, beside raw's
/// `raw` keys) registered and in use on this thread while the guard lives.
#[allow(dead_code)]
pub fn orm_server() -> (crate::common::Server, rapyer::EnvironmentGuard) {
    let server = crate::common::Server::start();
    rapyer::register_environment(
        "bench",
        rapyer::EnvironmentConfig::new(server.url.as_str()).namespace("orm"),
    )
    .unwrap();
    let guard = rapyer::use_environment("bench").unwrap();
    (server, guard)
}

/// A positive count from environment variable `var` (`BENCH_N`, `BENCH_DOCS`, …), else
/// `default`.
pub fn count_var(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(default)
}

/// The hand-written redis-rs side for the benchmark model (`IndexedUser`: three indexes,
/// a tag list): the minimal commands that keep the same layout and indexes right, as a
/// raw user of redis-rs would write them.
#[allow(dead_code)]
pub mod raw {
    use crate::common::models::IndexedUser;

    /// `n` users of the peers' benchmark shape, varied so the indexes see spread values.
    pub fn users(n: usize) -> Vec<IndexedUser> {
        (0..n)
            .map(|i| IndexedUser {
                id: rapyer::Id::new(),
                name: format!("user{i}"),
                age: (i % 80) as i64,
                status: ["active", "idle", "banned"][i % 3].into(),
                score: (i % 1000) as f64 / 10.0,
                tags: vec!["a".into(), format!("t{}", i % 7)],
            })
            .collect()
    }

    /// Atomic save of one user with its three index entries: reads the old indexed
    /// string (numeric entries are replaced by ZADD), rewrites hash and list, adds the
    /// entries. `insert` mode refuses an existing document.
    pub const SAVE: &str = r#"
local root, tags, ids, iage, istatus, iscore = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id = ARGV[2]
if ARGV[1] == 'insert' then
  if redis.call('EXISTS', root) == 1 then return 0 end
else
  local old = redis.call('HGET', root, 'status')
  if old then redis.call('ZREM', istatus, old .. '\0' .. id .. '\0' .. #id) end
  redis.call('DEL', root, tags)
end
redis.call('HSET', root, 'name', ARGV[3], 'age', ARGV[4], 'status', ARGV[5], 'score', ARGV[6])
if #ARGV > 6 then redis.call('RPUSH', tags, unpack(ARGV, 7)) end
redis.call('ZADD', iage, ARGV[4], id)
redis.call('ZADD', istatus, 0, ARGV[5] .. '\0' .. id .. '\0' .. #id)
redis.call('ZADD', iscore, ARGV[6], id)
redis.call('ZADD', ids, 'inf', id)
return 1
"#;

    /// Atomic delete of one user with its index entries.
    pub const DELETE: &str = r#"
local root, tags, ids, iage, istatus, iscore = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id = ARGV[1]
local old = redis.call('HGET', root, 'status')
if old then redis.call('ZREM', istatus, old .. '\0' .. id .. '\0' .. #id) end
redis.call('ZREM', iage, id)
redis.call('ZREM', iscore, id)
redis.call('ZREM', ids, id)
return redis.call('DEL', root, tags)
"#;

    pub fn sha(src: &str) -> String {
        redis::Script::new(src).get_hash().to_owned()
    }

    fn keys(ns: &str, id: &str) -> [String; 6] {
        let tag = format!("{ns}:{{BUser:0}}");
        [
            format!("{tag}:d:{id}"),
            format!("{tag}:c:tags:{id}"),
            format!("{tag}:ids"),
            format!("{tag}:i:age"),
            format!("{tag}:i:status"),
            format!("{tag}:i:score"),
        ]
    }

    /// `EVALSHA` of [`SAVE`] for `u` (`mode`: "save" or "insert").
    pub fn save(pipe: &mut redis::Pipeline, sha: &str, ns: &str, u: &IndexedUser, mode: &str) {
        let id = u.id.to_string();
        pipe.cmd("EVALSHA")
            .arg(sha)
            .arg(6)
            .arg(&keys(ns, &id))
            .arg(mode)
            .arg(&id)
            .arg(&u.name)
            .arg(u.age)
            .arg(&u.status)
            .arg(format!("{:?}", u.score))
            .arg(&u.tags);
    }

    /// `EVALSHA` of [`DELETE`] for document `id`.
    pub fn delete(pipe: &mut redis::Pipeline, sha: &str, ns: &str, id: &str) {
        pipe.cmd("EVALSHA")
            .arg(sha)
            .arg(6)
            .arg(&keys(ns, id))
            .arg(id);
    }

    /// `HGETALL` root + `LRANGE` tags of document `id`.
    pub fn read(pipe: &mut redis::Pipeline, ns: &str, id: &str) {
        let [root, tags, ..] = keys(ns, id);
        pipe.cmd("HGETALL").arg(root);
        pipe.cmd("LRANGE").arg(tags).arg(0).arg(-1);
    }

    /// Decodes [`read`]'s two replies into a user.
    pub fn decode(
        id: &str,
        fields: std::collections::HashMap<String, String>,
        tags: Vec<String>,
    ) -> IndexedUser {
        IndexedUser {
            id: id.parse().unwrap(),
            name: fields["name"].clone(),
            age: fields["age"].parse().unwrap(),
            status: fields["status"].clone(),
            score: fields["score"].parse().unwrap(),
            tags,
        }
    }

    /// Loads both scripts on the server.
    pub fn load(conn: &mut redis::Connection) {
        for src in [SAVE, DELETE] {
            let _: String = redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(src)
                .query(conn)
                .unwrap();
        }
    }
}

/// The server's CPU time so far (user + system), from `INFO cpu`.
#[allow(dead_code)]
pub fn server_cpu(conn: &mut redis::Connection) -> Duration {
    let info: String = redis::cmd("INFO").arg("cpu").query(conn).unwrap();
    let secs: f64 = info
        .lines()
        .filter_map(|l| {
            l.strip_prefix("used_cpu_user:")
                .or_else(|| l.strip_prefix("used_cpu_sys:"))
        })
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .sum();
    Duration::from_secs_f64(secs)
}

/// Times `n` calls of `orm(i)` and of `raw(i)` in alternating blocks of 100 (after a
/// warm-up of each), so drift on a shared machine hits both sides alike.
#[allow(dead_code)]
pub fn compare(
    n: usize,
    mut orm: impl FnMut(usize),
    mut raw: impl FnMut(usize),
) -> (Duration, Duration) {
    for i in 0..n.min(200) {
        orm(i);
        raw(i);
    }
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    let mut i = 0;
    while i < n {
        let end = (i + 100).min(n);
        let start = Instant::now();
        for j in i..end {
            orm(j);
        }
        a += start.elapsed();
        let start = Instant::now();
        for j in i..end {
            raw(j);
        }
        b += start.elapsed();
        i = end;
    }
    (a, b)
}
