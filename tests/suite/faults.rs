//! Faults injected into a redis-server each test owns (`common::faulty`): frozen with
//! `SIGSTOP`, killed and restarted on the same port, `DEBUG SLEEP`, `CLIENT KILL`,
//! `SCRIPT FLUSH` and `FUNCTION FLUSH` in a loop, keys of the wrong Redis type. Waits are asserted as ratios of
//! the configured timeouts; refused writes leave every key byte-identical (`DUMP`).
//! Written once for both modes.

use std::time::{Duration, Instant};

use super::common::{self, faulty::Faulty, models::*};
use super::{Api, Go, LockProbe, RunBulk, RunQuery, maybe_async, mode_test};
use rapyer::{Error, Model};

const RESPONSE: Duration = Duration::from_millis(400);
const CONNECT: Duration = Duration::from_millis(400);

fn short_env(server: &Faulty) -> common::TestEnv {
    common::env_with(&server.url, |c| {
        c.response_timeout(RESPONSE).connection_timeout(CONNECT)
    })
}

/// `SCRIPT FLUSH` and `FUNCTION FLUSH`: every script call meets `NOSCRIPT` or
/// `Function not found` until it is sent again.
fn flush_caches(raw: &mut redis::Connection) {
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(raw).unwrap();
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(raw).unwrap();
}

fn person(age: i64) -> Person {
    Person {
        age,
        status: "active".into(),
        ..Default::default()
    }
}

/// Items 1 and 2: with the server frozen, a write and a read give up within the response
/// timeout (neither waits for ever); the write says it may have applied, and it did, once
/// the server runs again; the read retried nothing it should not have.
#[maybe_async]
#[mode_test]
async fn a_frozen_server_times_out_within_the_response_timeout() {
    let server = Faulty::start();
    let _t = short_env(&server);
    let mut p = person(1);
    p.save().await.unwrap();
    server.freeze();
    let start = Instant::now();
    let w = p.atomic().age.incr(1).go().await;
    let waited = start.elapsed();
    let start = Instant::now();
    let r = Person::get(&p.id).await;
    let read_waited = start.elapsed();
    server.thaw();
    match w {
        Err(Error::Timeout {
            may_have_applied, ..
        }) => assert!(may_have_applied),
        other => panic!("expected Timeout, got {other:?}"),
    }
    match r {
        Err(Error::Timeout {
            may_have_applied, ..
        }) => assert!(!may_have_applied),
        other => panic!("expected Timeout, got {other:?}"),
    }
    let max = RESPONSE.as_secs_f64() + CONNECT.as_secs_f64();
    for w in [waited, read_waited] {
        let ratio = w.as_secs_f64() / RESPONSE.as_secs_f64();
        // a read may be retried once: at most two bounded waits
        assert!(
            ratio >= 0.9 && w.as_secs_f64() <= 2.0 * max + 0.5,
            "waited {w:?} for a response timeout of {RESPONSE:?}"
        );
    }
    // the timed-out write was queued on the frozen server: it ran when it woke
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = Person::get(&p.id).await.unwrap().age;
        if now == 2 || Instant::now() > deadline {
            assert_eq!(
                now, 2,
                "the write reported as in doubt was applied exactly once"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Item 1: the defaults do not cut a legitimate slow reply short (redis-rs' 500 ms does):
/// a server busy for 1.2 s answers, and the write is applied once.
#[maybe_async]
#[mode_test]
async fn the_default_timeouts_wait_out_a_busy_server() {
    let server = Faulty::start();
    let _t = common::env_with(&server.url, |c| c);
    let mut p = person(1);
    p.save().await.unwrap();
    // the sleep must have begun before the increment is sent: a busy machine may start
    // the sleeper late, so a round whose increment did not wait is tried again
    let mut waited_out = false;
    for round in 0..3i64 {
        let mut raw = server.raw();
        let sleeper = std::thread::spawn(move || {
            let _: () = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("1.2")
                .query(&mut raw)
                .unwrap();
        });
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        let v = p.atomic().age.incr(1).go().await.unwrap();
        let waited = start.elapsed();
        assert_eq!(v, 2 + round, "applied once");
        sleeper.join().unwrap();
        if waited >= Duration::from_millis(600) {
            waited_out = true;
            break;
        }
    }
    assert!(waited_out, "no round met the busy server");
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.age, p.age);
}

/// Item 3: while the server is away, calls fail within the connection bound (they do not
/// sit in a reconnect backoff); once it is back on the same port, calls work again.
#[maybe_async]
#[mode_test]
async fn an_outage_fails_calls_within_the_bound_and_recovery_follows() {
    let mut server = Faulty::start();
    let _t = short_env(&server);
    let p = person(1);
    p.save().await.unwrap();
    server.kill();
    let bound = (RESPONSE + CONNECT).as_secs_f64();
    for _ in 0..3 {
        let start = Instant::now();
        let r = Person::get(&p.id).await;
        let waited = start.elapsed().as_secs_f64();
        assert!(
            matches!(
                r,
                Err(Error::Connection { .. } | Error::Timeout { .. } | Error::Redis(_))
            ),
            "{r:?}"
        );
        // a read may be retried once, each try bounded
        assert!(
            waited <= 2.0 * bound + 0.5,
            "waited {waited:.2}s, bound {bound:.2}s"
        );
        let start = Instant::now();
        let w = p.save().await;
        assert!(w.is_err());
        let w_waited = start.elapsed().as_secs_f64();
        assert!(w_waited <= 2.0 * bound + 0.5);
    }
    server.restart();
    // the restarted server is empty: a save works again within a few attempts
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match p.save().await {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("no recovery after restart: {e}"),
        }
    }
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
}

/// `CLIENT KILL` of every normal client but the caller's.
fn kill_clients(raw: &mut redis::Connection) {
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query(raw)
        .unwrap();
}

/// Item 4: a read whose connection is killed under it is retried once and succeeds
/// (`Stats::retries` counts it); a write is not retried: it either applied or failed
/// without applying, and the next write works.
#[maybe_async]
#[mode_test]
async fn a_killed_connection_retries_reads_once_and_never_writes() {
    let server = Faulty::start();
    let t = short_env(&server);
    let mut p = person(1);
    p.save().await.unwrap();
    let before = t.stats().retries;
    let mut raw = server.raw();
    kill_clients(&mut raw);
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
    assert!(t.stats().retries > before, "the read was retried");

    kill_clients(&mut raw);
    // applied (the new value) or failed without applying (still 1)
    let expected = p.atomic().age.incr(1).go().await.unwrap_or(1);
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.age, expected);
    let next = p.atomic().age.incr(1).go().await.unwrap();
    assert_eq!(next, expected + 1);
}

/// Item 8: a query delete with the script cache and the functions flushed every 200 µs deletes and reports
/// exactly the matching documents; atomic writes under the same flushing apply once each.
#[maybe_async]
#[mode_test]
async fn script_flush_in_a_loop_changes_no_result() {
    let server = Faulty::start();
    let t = common::env_with(&server.url, |c| c);
    let mut people: Vec<Person> = (0..1500).map(|i| person(30 + i % 7)).collect();
    Person::bulk_save(&people).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flusher = {
        let stop = stop.clone();
        let mut raw = server.raw();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                flush_caches(&mut raw);
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    let f = Person::fields();
    // item 9: a round-trip budget holds on a flushing server once reloads are set apart
    let before = t.stats();
    let mut incrs = 0;
    for _ in 0..50 {
        people[0].atomic().age.incr(1).go().await.unwrap();
        incrs += 1;
    }
    let spent = t.stats() - before;
    assert_eq!(spent.planned_round_trips(), 50, "{spent:?}");
    let stored = Person::get(&people[0].id).await.unwrap();
    assert_eq!(stored.age, people[0].age, "each increment applied once");
    let deleted = Person::find(f.status.eq("active")).run_delete().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flushes = flusher.join().unwrap();
    assert!(flushes > 10, "the cache was flushed {flushes} times");
    assert_eq!(deleted.unwrap(), 1500);
    let left = Person::count().await.unwrap();
    assert_eq!(left, 0);
    assert_eq!(incrs, 50);
}

/// Structures and conditional programs under script and function caches flushed every 200 µs: a
/// keyed rate limiter (its own script) and a limiter field allow exactly their burst,
/// conditional purchases sell a stock exactly, named counters and queues count every
/// write once, and the limiter keys expire as promised.
#[maybe_async]
#[mode_test]
async fn structures_hold_their_counts_under_script_flushes() {
    let server = Faulty::start();
    let t = common::env_with(&server.url, |c| c);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flusher = {
        let stop = stop.clone();
        let mut raw = server.raw();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                flush_caches(&mut raw);
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    // 30 tokens, one more an hour: the first 30 of 60 calls pass, whatever is flushed
    let keyed = rapyer::RateLimiter::<rapyer::TokenBucket<1, 3_600_000, 30>>::keyed("api");
    let l = Limited::default();
    l.insert().await.unwrap();
    let (mut keyed_ok, mut field_ok) = (0, 0);
    let start = Instant::now();
    for _ in 0..60 {
        if keyed.check_key("k").go().await.unwrap().allowed {
            keyed_ok += 1;
        }
        if Limited::at(&l.id)
            .bucket
            .check()
            .go()
            .await
            .unwrap()
            .allowed
        {
            field_ok += 1;
        }
    }
    let refills = (start.elapsed().as_secs_f64() * 10.0).ceil() as usize;
    // conditional programs: a stock of 40 sold by 60 attempts, exactly
    let m = Member {
        big: 40,
        ..Member::default()
    };
    m.insert().await.unwrap();
    let mut sold = 0;
    for _ in 0..60 {
        let id = m.id.clone();
        let branch = super::global_pipeline(|pipe| {
            let p = Member::at(&id);
            Ok(pipe
                .when(p.big.gt(0))
                .then(|b| {
                    b.add(p.big.incr(-1));
                    b.add(p.badges.push("sold".into()));
                })
                .branch())
        })
        .await
        .unwrap();
        if branch.taken() == Some(0) {
            sold += 1;
        }
    }
    let stock = Member::get(&m.id).await.unwrap();
    assert_eq!((sold, stock.big, stock.badges.len()), (40, 0, 40));
    let hits = rapyer::Counter::named("hits");
    let queue = rapyer::PriorityQueue::<u64, i64>::named("q");
    for i in 0..100u64 {
        hits.increment(1).go().await.unwrap();
        queue.push(i, 0).go().await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flushes = flusher.join().unwrap();
    assert!(flushes > 10, "the cache was flushed {flushes} times");
    assert_eq!(keyed_ok, 30, "each keyed check applied once");
    assert!(
        (5..=5 + refills).contains(&field_ok),
        "the field's burst of 5 and at most the {refills} refills of the loop's time: {field_ok}"
    );
    let n = hits.get().go().await.unwrap();
    assert_eq!(n, 100);
    let all = queue.all().go().await.unwrap();
    assert_eq!(
        all.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
    let key = key_of(&t, "{rapyer.limit:api:k}");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query(&mut server.raw())
        .unwrap();
    assert!(
        pttl > 29 * 3_600_000,
        "expires when full again (30 h): {pttl}"
    );
}

/// `KEYS` of a namespace, for wrong-type set-ups.
fn key_of(t: &common::TestEnv, pattern: &str) -> String {
    let keys = t.keys();
    keys.into_iter()
        .find(|k| k.contains(pattern))
        .unwrap_or_else(|| panic!("no key like {pattern}"))
}

fn set_string(server: &Faulty, key: &str) {
    let _: () = redis::cmd("DEL").arg(key).query(&mut server.raw()).unwrap();
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("not rapyer's")
        .query(&mut server.raw())
        .unwrap();
}

fn expect_wrong_type<T: std::fmt::Debug>(r: rapyer::Result<T>, keys: &[String], what: &str) {
    match r {
        Err(Error::WrongType {
            key: k,
            what: w,
            found,
            ..
        }) => {
            assert!(keys.contains(&k), "{k} is not one of {keys:?}");
            assert_eq!(w, what);
            assert!(["string", "other"].contains(&found), "{found}");
        }
        other => panic!("expected WrongType for {keys:?}, got {other:?}"),
    }
}

/// Item 5: with an index key, the id index or a collection key replaced by a STRING,
/// every write refuses with `WrongType` naming the key, and every key of the server is
/// byte-identical afterwards (DUMP before and after).
#[maybe_async]
#[mode_test]
async fn writes_over_a_key_of_the_wrong_type_change_nothing() {
    let server = Faulty::start();
    let t = common::env_with(&server.url, |c| c);
    let mut p = person(40);
    p.tags = vec!["a".into()];
    p.save().await.unwrap();
    // the same key in every shard (Person has 4), so a new id meets it too
    let every_shard = |suffix: &str| -> Vec<String> {
        (0..4)
            .map(|s| format!("{}:{{Person:{s}}}{suffix}", t.ns))
            .collect()
    };
    for (keys, what) in [
        (every_shard(":i:age"), "index"),
        (every_shard(":i:status"), "index"),
        (every_shard(":ids"), "id index"),
        (vec![key_of(&t, ":c:tags:")], "collection"),
    ] {
        for key in &keys {
            set_string(&server, key);
        }
        let before = server.dump_all();
        let mut changed = p.clone();
        changed.age += 1;
        changed.status = "moved".into();
        changed.tags.push("b".into());
        expect_wrong_type(changed.save().await, &keys, what);
        assert_eq!(server.dump_all(), before, "save over {keys:?}");
        let fresh = Person {
            id: rapyer::Id::new(),
            ..changed.clone()
        };
        if what != "collection" {
            expect_wrong_type(fresh.insert().await, &keys, what);
            assert_eq!(server.dump_all(), before, "insert over {keys:?}");
            expect_wrong_type(p.atomic().age.incr(1).go().await, &keys, what);
            assert_eq!(server.dump_all(), before, "incr over {keys:?}");
        }
        // the failing op comes last: the earlier ones must not stay
        let r = p
            .clone()
            .pipeline(|u, pipe| {
                pipe.add(u.score.incr(1.0));
                pipe.add(u.status.set("piped".into()));
                pipe.add(u.tags.push("c".into()));
                pipe.add(u.age.incr(1));
                Ok(())
            })
            .await;
        expect_wrong_type(r, &keys, what);
        assert_eq!(server.dump_all(), before, "pipeline over {keys:?}");
        let r = Person::bulk_save(&[fresh.clone(), changed.clone()]).await;
        assert!(r.is_err(), "bulk_save over {keys:?}: {r:?}");
        assert_eq!(server.dump_all(), before, "bulk_save over {keys:?}");
        if what != "collection" {
            // a query reading the key refuses before it drops anything
            let f = Person::fields();
            let q = Person::find(f.age.gt(0) & f.status.eq("active"));
            expect_wrong_type(q.run_count().await, &keys, what);
            assert_eq!(server.dump_all(), before, "query over {keys:?}");
            expect_wrong_type(Person::delete_id(&p.id).await, &keys, what);
            assert_eq!(server.dump_all(), before, "delete over {keys:?}");
        }
        for key in &keys {
            let _: () = redis::cmd("DEL").arg(key).query(&mut server.raw()).unwrap();
        }
        p.save().await.unwrap();
    }
}

/// Item 6: a collection key of the wrong type fails every load with `WrongType` naming
/// model, key and field; a `Safe` field takes its fallback instead. A root key of the
/// wrong type is refused by delete with the repair in the message.
#[maybe_async]
#[mode_test]
async fn loads_over_a_key_of_the_wrong_type_name_key_and_field() {
    let server = Faulty::start();
    let t = common::env_with(&server.url, |c| c);
    let mut p = person(40);
    p.tags = vec!["a".into()];
    p.save().await.unwrap();
    let root = key_of(&t, ":d:");
    let tags = key_of(&t, ":c:tags:");
    set_string(&server, &tags);
    let check = |r: rapyer::Result<()>| match r {
        Err(Error::WrongType {
            model, key, field, ..
        }) => {
            assert_eq!((model.as_str(), field.as_str()), ("Person", "tags"));
            assert_eq!(key, tags);
        }
        other => panic!("expected WrongType, got {other:?}"),
    };
    check(Person::get(&p.id).await.map(|_| ()));
    check(Person::try_get(&p.id).await.map(|_| ()));
    check(Person::peek(&p.id).await.map(|_| ()));
    check(p.clone().reload().await);
    check(Person::bulk_get([p.id.to_string()]).await.map(|_| ()));
    check(
        Person::find(Person::fields().age.eq(40))
            .run_all()
            .await
            .map(|_| ()),
    );
    check(
        Person::bulk()
            .run_get(&[p.id.to_string()])
            .await
            .map(|_| ()),
    );
    // a Safe list takes its fallback; the rest of the document loads
    let s = Sturdy::sample();
    s.save().await.unwrap();
    let stops = key_of(&t, ":c:stops:");
    set_string(&server, &stops);
    let loaded = Sturdy::get(&s.id).await.unwrap();
    assert!(loaded.stops.is_empty(), "fallback: {:?}", *loaded.stops);
    assert_eq!(loaded.name, s.name);
    // a root hash of the wrong type: delete refuses and says how to repair
    let _: () = redis::cmd("DEL")
        .arg(&tags)
        .query(&mut server.raw())
        .unwrap();
    set_string(&server, &root);
    let r = Person::delete_id(&p.id).await;
    let msg = format!("{}", r.as_ref().unwrap_err());
    expect_wrong_type(r, std::slice::from_ref(&root), "document");
    assert!(msg.contains("Remove or rename"), "{msg}");
}

/// Item 7: a lock whose load fails (a key of the wrong type) is not left behind.
#[maybe_async]
#[mode_test]
async fn a_failed_lock_load_leaves_no_lock() {
    let server = Faulty::start();
    let t = common::env_with(&server.url, |c| c);
    let mut p = person(40);
    p.tags = vec!["a".into()];
    p.save().await.unwrap();
    let tags = key_of(&t, ":c:tags:");
    set_string(&server, &tags);
    let before = server.dump_all();
    let r = Person::lock_probe(&p.id.to_string(), "pay").await;
    expect_wrong_type(r, std::slice::from_ref(&tags), "collection");
    assert_eq!(server.dump_all(), before, "no lock key left");
    let _: () = redis::cmd("DEL")
        .arg(&tags)
        .query(&mut server.raw())
        .unwrap();
    // the next locker gets it at once
    let start = Instant::now();
    Person::lock_probe(&p.id.to_string(), "pay").await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
}
