//! A 3-branch conditional program (`when score >= 100 … else_when score >= 50 …
//! otherwise …`, each branch setting a field and pushing to a list, after an increment)
//! run by rapyer in one script, beside the same logic hand-written in Lua (`EVALSHA`, raw
//! redis-rs) and the client-side version (`WATCH`, read, decide, `MULTI`/`EXEC`: two
//! round trips when nothing interferes). Prints the ratios and the round trips.
//!
//! `cargo bench --bench conditional` (`BENCH_N` sets the program count, default 3000).
//! Second case: the same program plus a loop over a 100-element list (counting the
//! elements that start with "a"), against the same in Lua and client-side (`WATCH`,
//! `LRANGE`, count, `MULTI`/`HINCRBY`/`EXEC`). Third case: both as one program (the
//! issue's "3-branch program with a loop over 100 elements").

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use rapyer::sync::SyncModel;
use rapyer::{Id, Model};
use support::{report, time};

#[derive(Model, Debug, Clone, Default)]
#[rapyer(name = "Cnd")]
struct Player {
    id: Id,
    score: i64,
    hits: i64,
    level: String,
    log: Vec<String>,
    hist: Vec<String>,
}

const RAW_BOTH: &str = r"
local s = redis.call('HINCRBY', KEYS[1], 'score', 1)
local level = 'bronze'
if s >= 100 then level = 'gold' elseif s >= 50 then level = 'silver' end
redis.call('HSET', KEYS[1], 'level', level)
redis.call('RPUSH', KEYS[2], level)
for _, e in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if string.sub(e, 1, 1) == 'a' then redis.call('HINCRBY', KEYS[1], 'hits', 1) end
end
return level
";

/// The 3-branch program and the loop over 100 elements as one program: rapyer, the same
/// in Lua, and client-side (`WATCH` root + list, `HGET`, `LRANGE`, decide, `MULTI`…`EXEC`).
fn both(raw: &mut redis::Connection, items: &[String], rounds: usize, per: usize) {
    let q = Player {
        log: items.to_vec(),
        ..Player::default()
    };
    q.sync_insert().unwrap();
    let (root, hist, log) = (
        "raw:{Cnd:0}:d:z",
        "raw:{Cnd:0}:c:hist:z",
        "raw:{Cnd:0}:c:log:z",
    );
    let _: () = redis::cmd("HSET")
        .arg(root)
        .arg("score")
        .arg(0)
        .query(raw)
        .unwrap();
    let _: () = redis::cmd("RPUSH").arg(log).arg(items).query(raw).unwrap();
    let script = redis::Script::new(RAW_BOTH);
    let at = Player::at(&q.id);
    let (mut orm, mut lua, mut client) = Default::default();
    for _ in 0..rounds {
        orm += time(per, |_| {
            rapyer::sync_pipeline(|pipe| {
                tiers(pipe, &at.score, &at.level, &at.hist);
                let _ = pipe.for_each(&at.log, |item, b| {
                    let _ = b
                        .when(item.starts_with("a"))
                        .then(|b| b.add(at.hits.incr(1)));
                });
                Ok(())
            })
            .unwrap();
        });
        lua += time(per, |_| {
            let _: String = script.key(root).key(hist).key(log).invoke(raw).unwrap();
        });
        client += time(per, |_| {
            loop {
                let _: () = redis::cmd("WATCH").arg(root).arg(log).query(raw).unwrap();
                let s: i64 = redis::cmd("HGET")
                    .arg(root)
                    .arg("score")
                    .query(raw)
                    .unwrap();
                let all: Vec<String> = redis::cmd("LRANGE")
                    .arg(log)
                    .arg(0)
                    .arg(-1)
                    .query(raw)
                    .unwrap();
                let s = s + 1;
                let level = level_of(s);
                let n = all.iter().filter(|e| e.starts_with('a')).count();
                let done: Option<(i64,)> = redis::pipe()
                    .atomic()
                    .hset(root, "score", s)
                    .ignore()
                    .hset(root, "level", level)
                    .ignore()
                    .rpush(hist, level)
                    .ignore()
                    .hincr(root, "hits", n)
                    .query(raw)
                    .unwrap();
                if done.is_some() {
                    break;
                }
            }
        });
    }
    report(
        "3-branch program + a loop over 100 list elements, as one program",
        &[
            ("rapyer vs hand-written Lua", orm, lua),
            ("rapyer vs WATCH/MULTI client", orm, client),
        ],
        per * rounds,
    );
    println!(
        "round trips per program: rapyer 1, hand-written Lua 1, WATCH/MULTI client 4 (WATCH, HGET, LRANGE, MULTI…EXEC) without contention"
    );
}

const RAW_LOOP: &str = r"
local n = 0
for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  if string.sub(e, 1, 1) == 'a' then n = n + 1 end
end
redis.call('HINCRBY', KEYS[1], 'score', n)
return n
";

const RAW: &str = r"
local s = redis.call('HINCRBY', KEYS[1], 'score', 1)
local level = 'bronze'
if s >= 100 then level = 'gold' elseif s >= 50 then level = 'silver' end
redis.call('HSET', KEYS[1], 'level', level)
redis.call('RPUSH', KEYS[2], level)
return level
";

/// The 3-branch program: an increment, then the level by the stored score, set and
/// pushed to `list`.
fn tiers<'a>(
    pipe: &mut rapyer::Pipeline<'a>,
    score: &rapyer::ScalarRef<'a, i64>,
    level: &rapyer::ScalarRef<'a, String>,
    list: &rapyer::ListRef<'a, Vec<String>, String>,
) {
    pipe.add(score.incr(1));
    let _ = pipe
        .when(score.ge(100))
        .then(|b| {
            b.add(level.set("gold".into()));
            b.add(list.push("gold".into()));
        })
        .else_when(score.ge(50), |b| {
            b.add(level.set("silver".into()));
            b.add(list.push("silver".into()));
        })
        .otherwise(|b| {
            b.add(level.set("bronze".into()));
            b.add(list.push("bronze".into()));
        });
}

/// The client-side versions' decision.
fn level_of(score: i64) -> &'static str {
    if score >= 100 {
        "gold"
    } else if score >= 50 {
        "silver"
    } else {
        "bronze"
    }
}

fn main() {
    let n = support::count_var("BENCH_N", 3000);
    let (server, _g) = support::orm_server();
    let p = Player::default();
    p.sync_insert().unwrap();
    let mut raw = server.conn();
    let (root, list) = ("raw:{Cnd:0}:d:x", "raw:{Cnd:0}:c:log:x");
    let _: () = redis::cmd("HSET")
        .arg(root)
        .arg("score")
        .arg(0)
        .query(&mut raw)
        .unwrap();
    let script = redis::Script::new(RAW);

    let rounds = 10;
    let per = (n / rounds).max(1);
    let (mut orm, mut lua, mut client) = Default::default();
    let at = Player::at(&p.id);
    for _ in 0..rounds {
        orm += time(per, |_| {
            rapyer::sync_pipeline(|pipe| {
                tiers(pipe, &at.score, &at.level, &at.log);
                Ok(())
            })
            .unwrap();
        });
        lua += time(per, |_| {
            let _: String = script.key(root).key(list).invoke(&mut raw).unwrap();
        });
        client += time(per, |_| {
            loop {
                let _: () = redis::cmd("WATCH").arg(root).query(&mut raw).unwrap();
                let s: i64 = redis::cmd("HGET")
                    .arg(root)
                    .arg("score")
                    .query(&mut raw)
                    .unwrap();
                let s = s + 1;
                let level = level_of(s);
                let done: Option<()> = redis::pipe()
                    .atomic()
                    .hset(root, "score", s)
                    .ignore()
                    .hset(root, "level", level)
                    .ignore()
                    .rpush(list, level)
                    .ignore()
                    .query(&mut raw)
                    .unwrap();
                if done.is_some() {
                    break;
                }
            }
        });
    }
    // a loop over 100 elements
    let items: Vec<String> = (0..100)
        .map(|i| format!("{}{i}", if i % 2 == 0 { 'a' } else { 'b' }))
        .collect();
    let q = Player {
        log: items.clone(),
        ..Player::default()
    };
    q.sync_insert().unwrap();
    let qlist = "raw:{Cnd:0}:c:log:y";
    let _: () = redis::cmd("RPUSH")
        .arg(qlist)
        .arg(&items)
        .query(&mut raw)
        .unwrap();
    let looped = redis::Script::new(RAW_LOOP);
    let aq = Player::at(&q.id);
    let (mut orm_loop, mut lua_loop, mut client_loop) = Default::default();
    for _ in 0..rounds {
        orm_loop += time(per / 10, |_| {
            rapyer::sync_pipeline(|pipe| {
                let _ = pipe.for_each(&aq.log, |item, b| {
                    let _ = b
                        .when(item.starts_with("a"))
                        .then(|b| b.add(aq.score.incr(1)));
                });
                Ok(())
            })
            .unwrap();
        });
        lua_loop += time(per / 10, |_| {
            let _: i64 = looped.key(root).key(qlist).invoke(&mut raw).unwrap();
        });
        client_loop += time(per / 10, |_| {
            loop {
                let _: () = redis::cmd("WATCH")
                    .arg(root)
                    .arg(qlist)
                    .query(&mut raw)
                    .unwrap();
                let all: Vec<String> = redis::cmd("LRANGE")
                    .arg(qlist)
                    .arg(0)
                    .arg(-1)
                    .query(&mut raw)
                    .unwrap();
                let n = all.iter().filter(|e| e.starts_with('a')).count();
                let done: Option<(i64,)> = redis::pipe()
                    .atomic()
                    .hincr(root, "score", n)
                    .query(&mut raw)
                    .unwrap();
                if done.is_some() {
                    break;
                }
            }
        });
    }
    report(
        "a loop over 100 list elements (a condition and an increment per element)",
        &[
            ("rapyer vs hand-written Lua", orm_loop, lua_loop),
            ("rapyer vs WATCH/LRANGE/MULTI client", orm_loop, client_loop),
        ],
        (per / 10) * rounds,
    );

    both(&mut raw, &items, rounds, (per / 10).max(1));

    let n = per * rounds;
    report(
        "3-branch program (1 increment, 3 conditions, 2 ops per branch)",
        &[
            ("rapyer vs hand-written Lua", orm, lua),
            ("rapyer vs WATCH/MULTI client", orm, client),
        ],
        n,
    );
    println!(
        "round trips per program: rapyer 1, hand-written Lua 1, WATCH/MULTI client 3 (WATCH, HGET, MULTI…EXEC) without contention"
    );
}
