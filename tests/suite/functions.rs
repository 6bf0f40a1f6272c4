//! rapyer's scripts as one Redis Functions library: loaded once per environment and
//! server, `FCALL` after; `EVAL`/`EVALSHA` when turned off or refused; loaded again after
//! a restart or `FUNCTION FLUSH`; and under `maxmemory` the same outcomes as scripts
//! (a delete runs, a write that would add memory is refused and changes nothing).
//! Each test owns its server (`INFO commandstats` is server-wide). Written once for
//! both modes.

use std::time::{Duration, Instant};

use super::common::{self, faulty::Faulty, models::*};
use super::{Api, Go, RunQuery, maybe_async, mode_test};
use rapyer::Model;

/// Calls of each script command since the last `CONFIG RESETSTAT`.
#[derive(Debug, PartialEq)]
struct Calls {
    load: u64,
    load_rejected: u64,
    fcall: u64,
    eval: u64,
    evalsha: u64,
}

fn calls(server: &Faulty) -> Calls {
    let mut raw = server.raw();
    let n = |raw: &mut redis::Connection, c: &str| common::command_calls(raw, c);
    Calls {
        load: n(&mut raw, "function|load"),
        load_rejected: common::command_stat(&mut raw, "function|load", "rejected_calls") as u64,
        fcall: n(&mut raw, "fcall") + n(&mut raw, "fcall_ro"),
        eval: n(&mut raw, "eval"),
        evalsha: n(&mut raw, "evalsha"),
    }
}

fn reset_stats(server: &Faulty) {
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut server.raw())
        .unwrap();
}

fn person(age: i64) -> Person {
    Person {
        age,
        status: "active".into(),
        ..Default::default()
    }
}

/// A mix of operations of every script family: save, atomic op, pipeline, load, query,
/// query delete. Returns the person it leaves, as stored.
#[maybe_async]
async fn workload(age: i64) -> Person {
    let mut p = person(age);
    p.save().await.unwrap();
    for _ in 0..5 {
        p.atomic().age.incr(1).go().await.unwrap();
    }
    p.pipeline(|u, q| {
        q.add(u.age.incr(10));
        q.add(u.status.set("busy".into()));
        Ok(())
    })
    .await
    .unwrap();
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
    assert_eq!(stored.age, age + 15);
    let f = Person::fields();
    let other = person(1);
    other.save().await.unwrap();
    let busy = Person::find(f.status.eq("busy") & f.age.eq(age + 15))
        .run_count()
        .await
        .unwrap();
    assert_eq!(busy, 1);
    let deleted = Person::find(f.status.eq("active"))
        .run_delete()
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    stored
}

/// By default the library is loaded once, then every script call is an `FCALL`:
/// no `EVAL` or `EVALSHA` reaches the server.
#[maybe_async]
#[mode_test]
async fn a_default_environment_loads_once_and_calls_functions() {
    let server = Faulty::start();
    let _t = common::env_with(&server.url, |c| c);
    reset_stats(&server);
    workload(30).await;
    workload(40).await;
    let c = calls(&server);
    assert_eq!((c.load, c.eval, c.evalsha), (1, 0, 0), "{c:?}");
    assert!(c.fcall >= 20, "{c:?}");
}

/// `functions(false)` sends scripts only (`EVAL` once per script, `EVALSHA` after) and
/// never loads the library; the results are the same.
#[maybe_async]
#[mode_test]
async fn functions_turned_off_send_scripts_only() {
    let server = Faulty::start();
    let _t = common::env_with(&server.url, |c| c.functions(false));
    reset_stats(&server);
    workload(30).await;
    let c = calls(&server);
    assert_eq!((c.load, c.fcall), (0, 0), "{c:?}");
    assert!(c.evalsha >= 10 && c.eval >= 1, "{c:?}");
}

/// A server that refuses the library (here an ACL without `FUNCTION`/`FCALL`) is asked
/// once; the environment sends scripts from then on and every result stands.
#[maybe_async]
#[mode_test]
async fn a_server_refusing_functions_is_asked_once_then_gets_scripts() {
    let server = Faulty::start();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("nofn")
        .arg("on")
        .arg(">pw")
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .arg("-function")
        .arg("-fcall")
        .arg("-fcall_ro")
        .query(&mut server.raw())
        .unwrap();
    let url = format!("redis://nofn:pw@127.0.0.1:{}/", server.port);
    let _t = common::env_with(&url, |c| c);
    reset_stats(&server);
    workload(30).await;
    workload(50).await;
    let c = calls(&server);
    assert_eq!((c.load, c.load_rejected, c.fcall), (0, 1, 0), "{c:?}");
    assert!(c.evalsha >= 10, "{c:?}");
}

/// After the server restarts on the same port (its functions gone with it), the first
/// call meets `Function not found`, runs as `EVAL` once, and the library is loaded again:
/// every increment applies exactly once and calls go back to `FCALL`.
#[maybe_async]
#[mode_test]
async fn a_restart_loads_the_library_again_and_counts_stay_exact() {
    let mut server = Faulty::start();
    let _t = common::env_with(&server.url, |c| {
        c.response_timeout(Duration::from_millis(500))
            .connection_timeout(Duration::from_millis(500))
    });
    workload(30).await;
    server.restart();
    let mut p = person(7);
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = p.save().await {
        assert!(Instant::now() < deadline, "no recovery after restart: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
    reset_stats(&server);
    for _ in 0..10 {
        p.atomic().age.incr(1).go().await.unwrap();
    }
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.age, 17, "each increment applied once");
    let c = calls(&server);
    assert!(c.load <= 1 && c.fcall >= 10, "{c:?}");
    // and once more with the functions flushed under a loaded environment
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut server.raw())
        .unwrap();
    reset_stats(&server);
    for _ in 0..10 {
        p.atomic().age.incr(1).go().await.unwrap();
    }
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.age, 27);
    let c = calls(&server);
    assert_eq!(c.load, 1, "{c:?}");
    assert!(c.fcall >= 9, "the calls after the reload: {c:?}");
    assert_eq!(c.eval, 1, "the one call that met Function not found: {c:?}");
}

/// Over `maxmemory` (noeviction) Redis refuses a function that may add memory before it
/// runs: a write is `Error::Redis` with code `OOM` and changes no byte. Functions that
/// add none are flagged `allow-oom`: reads, queries and deletes run, to free memory.
/// A load met over `maxmemory` does not turn the library off.
#[maybe_async]
#[mode_test]
async fn over_maxmemory_writes_are_refused_and_deletes_and_reads_run() {
    let server = Faulty::start();
    let _t = common::env_with(&server.url, |c| c);
    let mut p = person(5);
    p.save().await.unwrap();
    let gone = person(6);
    gone.save().await.unwrap();
    let config = |v: &str| {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg(v)
            .query(&mut server.raw())
            .unwrap();
    };
    config("1");
    let before = server.dump_all();
    let r = p.atomic().age.incr(1).go().await;
    assert!(
        matches!(&r, Err(rapyer::Error::Redis(e)) if e.code() == Some("OOM")),
        "{r:?}"
    );
    let refused = person(9).save().await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(server.dump_all(), before, "refused writes change nothing");
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
    let f = Person::fields();
    let n = Person::find(f.age.eq(5)).run_count().await.unwrap();
    assert_eq!(n, 1);
    let deleted = gone.delete().await.unwrap();
    assert!(deleted, "a delete frees memory over maxmemory");
    let exists = Person::exists(&gone.id).await.unwrap();
    assert!(!exists);
    let also = person(8);
    config("0");
    also.save().await.unwrap();
    config("1");
    let n = Person::find(f.age.eq(8)).run_delete().await.unwrap();
    assert_eq!(n, 1, "a query delete runs over maxmemory");
    config("0");
    reset_stats(&server);
    p.atomic().age.incr(1).go().await.unwrap();
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.age, 6);
    let c = calls(&server);
    assert!(c.fcall >= 1 && c.eval + c.evalsha == 0, "{c:?}");
    // an environment new over maxmemory cannot load the library yet: it reads with
    // scripts meanwhile and loads the library once memory is back
    // (Redis refuses reads queued in a MULTI there, so a load goes as the load script;
    // Valkey 8 runs them, so the load is a plain snapshot and loads nothing)
    config("1");
    let multi_refused = redis::pipe()
        .atomic()
        .cmd("EXISTS")
        .arg("probe")
        .query::<redis::Value>(&mut server.raw())
        .is_err();
    reset_stats(&server);
    let _fresh = common::env_with(&server.url, |c| c);
    let absent = Person::try_get(&p.id).await.unwrap();
    assert_eq!(absent, None, "another namespace");
    let c = calls(&server);
    let tried = u64::from(multi_refused);
    assert_eq!((c.load, c.load_rejected, c.fcall), (0, tried, 0), "{c:?}");
    config("0");
    reset_stats(&server);
    let q = person(3);
    q.save().await.unwrap();
    let c = calls(&server);
    assert_eq!((c.load, c.fcall, c.eval + c.evalsha), (1, 1, 0), "{c:?}");
}
