//! TTL: set on save for every key, refreshed by use per the model's policy inside the
//! same round trip, opt-out per call. Written once for both modes.

use std::collections::BTreeSet;
use std::time::Duration;

use super::common::{self, models::*};
use super::{Api, Go, RunBulk, RunQuery, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Model, Pending};

const LOW: Duration = Duration::from_secs(50);

/// PTTL (ms) of every existing key of document `id` in this test's namespace.
fn pttls(t: &common::TestEnv, id: &str) -> Vec<(String, i64)> {
    let mut raw = t.raw();
    t.keys()
        .into_iter()
        .filter(|k| k.ends_with(&format!(":{id}")))
        .map(|k| {
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut raw).unwrap();
            (k, ttl)
        })
        .collect()
}

/// Every key of the document has a TTL, all within 2 s of each other; returns the
/// root's TTL in seconds.
fn shared_ttl(t: &common::TestEnv, id: &str) -> i64 {
    let all = pttls(t, id);
    assert!(!all.is_empty(), "document {id} has keys");
    let (min, max) = (
        all.iter().map(|x| x.1).min().unwrap(),
        all.iter().map(|x| x.1).max().unwrap(),
    );
    assert!(min > 0, "every key expires: {all:?}");
    assert!(max - min < 2000, "keys share one TTL: {all:?}");
    max / 1000
}

/// Op codes exercised, for the coverage check at the end.
struct Seen(BTreeSet<String>);

impl Seen {
    fn code<R>(&mut self, p: &Pending<'_, R>) {
        let dbg = format!("{p:?}");
        let code = dbg
            .split("op: \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        self.0.insert(code);
    }
}

/// Runs `pending` after lowering the TTL, then checks that it was refreshed (or not).
#[maybe_async]
async fn case<R: Send>(
    t: &common::TestEnv,
    seen: &mut Seen,
    doc: &Session,
    refreshed: bool,
    pending: Pending<'_, R>,
) -> rapyer::Result<R> {
    let what = format!("{pending:?}");
    let lowered = doc.set_ttl(LOW).await.unwrap();
    assert!(lowered);
    seen.code(&pending);
    let out = pending.go().await;
    let ttl = shared_ttl(t, &doc.id);
    if refreshed {
        assert!(ttl > 900, "refreshed by {what}: {ttl}s");
    } else {
        assert!(ttl <= 50, "not refreshed by {what}: {ttl}s");
    }
    out
}

#[maybe_async]
#[mode_test]
async fn every_operation_refreshes_the_ttl_of_every_key_per_policy() {
    let t = common::env();
    let mut s = Session {
        log: vec!["a".into()],
        cells: vec![Cell::sample(1)],
        ..Session::default()
    };
    s.insert().await.unwrap();
    assert!(
        shared_ttl(&t, &s.id) > 990,
        "insert sets the TTL on every key"
    );
    let mut seen = Seen(BTreeSet::new());
    let mut copy = s.clone();

    // scalars
    case(&t, &mut seen, &copy, true, s.atomic().hits.set(5))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.get())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.incr(1))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.mul(2))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.floordiv(2))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.modulo(4))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.pow(2))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.min(3))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().hits.max(9))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().ratio.incr(1.0))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().ratio.mul(3.0))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().ratio.div(2.0))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().ratio.pow(2.0))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().name.append("x"))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().name.len())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().flag.toggle())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().raw.append(b"y"))
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().nick.set(Some("n".into())),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().nick.clear())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().profile.set(Profile::default()),
    )
    .await
    .unwrap();
    // lists
    case(&t, &mut seen, &copy, true, s.atomic().log.push("b".into()))
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().log.push_front("z".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().log.insert(1, "i".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().log.set(0, "y".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().log.remove("i".into(), 1),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.get(0))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.range(0, 1))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.len())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.pop())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.pop_front())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.trim(0, 10))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.get_all())
        .await
        .unwrap();
    // maps
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.set("a".into(), 1),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.incr("a".into(), 1),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.get("a".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counts.keys())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counts.len())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counts.get_all())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.pop("a".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.update([("b".to_string(), 2)]),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.remove("b".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().counts.set("c".into(), 3),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counts.popitem())
        .await
        .unwrap();
    // sets
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().labels.add("l".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().labels.contains("l".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().labels.len())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().labels.members())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().labels.remove("l".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().labels.add("m".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().labels.pop())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().labels.add("k".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().labels.clear())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counts.clear())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().log.push("keep".into()),
    )
    .await
    .unwrap();
    // the per-call opt-out
    case(
        &t,
        &mut seen,
        &copy,
        false,
        s.atomic().hits.incr(1).no_refresh(),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        false,
        s.atomic().log.push("q".into()).no_refresh(),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().log.clear())
        .await
        .unwrap();

    // plug-in structures (tests/common/structures.rs)
    case(&t, &mut seen, &copy, true, s.atomic().views.add(2))
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().views.get())
        .await
        .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().counter.increment(3))
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().recent.push("r".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().filter.contains("r".into()),
    )
    .await
    .unwrap();

    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().jobs.push("j".into(), 2),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().jobs.update_priority("j".into(), 1),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().jobs.remove("j".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().limit.check())
        .await
        .unwrap();

    // paths into stored values
    case(&t, &mut seen, &copy, true, s.atomic().cells.at(0).n.get())
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().cells.at(0).s.set("p".into()),
    )
    .await
    .unwrap();
    case(&t, &mut seen, &copy, true, s.atomic().cells.at(0).n.incr(1))
        .await
        .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().cells.at(0).tags.push("t".into()),
    )
    .await
    .unwrap();
    case(
        &t,
        &mut seen,
        &copy,
        true,
        s.atomic().cells.at(0).tags.remove("t".into()),
    )
    .await
    .unwrap();

    // ops taking a value computed in the program write: they refresh
    copy.set_ttl(LOW).await.unwrap();
    global_pipeline(|pipe| {
        let p = Session::at(&s.id);
        let n = pipe.add(p.hits.get());
        pipe.add(p.hits.set_value(&n.value()));
        pipe.add(p.log.push("gone".into()));
        let _ = pipe.for_each(&p.log, |item, b| {
            let _ = b
                .when(item.eq("gone".into()))
                .then(|b| b.add(item.remove()));
        });
        Ok(())
    })
    .await
    .unwrap();
    assert!(shared_ttl(&t, &s.id) > 900, "setv and lrem_at refresh");
    let after = Session::get(&s.id).await.unwrap();
    assert!(!after.log.contains(&"gone".to_string()), "{:?}", after.log);
    seen.0.extend(["setv".to_string(), "lrem_at".to_string()]);

    // every op code of exec.lua has a TTL case above
    let codes: BTreeSet<String> = common::exec_op_codes();
    assert!(codes.len() > 30, "parsed the op table: {codes:?}");
    let missing: Vec<_> = codes.difference(&seen.0).collect();
    assert!(
        missing.is_empty(),
        "operations without a TTL test: {missing:?}"
    );

    // model-level operations
    let lowered = copy.set_ttl(LOW).await.unwrap();
    assert!(lowered);
    let loaded = Session::peek(&s.id).await.unwrap();
    assert!(shared_ttl(&t, &s.id) <= 50, "peek does not refresh");
    assert_eq!(loaded, s);
    Session::get(&s.id).await.unwrap();
    assert!(
        shared_ttl(&t, &s.id) > 900,
        "get refreshes under a read policy"
    );
    copy.set_ttl(LOW).await.unwrap();
    Session::try_get(&s.id).await.unwrap();
    assert!(shared_ttl(&t, &s.id) > 900, "try_get refreshes");
    copy.set_ttl(LOW).await.unwrap();
    copy.reload().await.unwrap();
    assert!(shared_ttl(&t, &s.id) > 900, "reload refreshes");
    copy.set_ttl(LOW).await.unwrap();
    for _ in 0..2 {
        let _ = Session::exists(&s.id).await.unwrap();
        let _ = Session::count().await.unwrap();
        let _ = Session::ids().await.unwrap();
    }
    assert!(
        shared_ttl(&t, &s.id) <= 50,
        "exists/count/ids do not touch documents"
    );
    s.save().await.unwrap();
    assert!(
        shared_ttl(&t, &s.id) > 990,
        "save sets the TTL on every key"
    );
    let remaining = Session::ttl(&s.id).await.unwrap().unwrap();
    assert!(remaining > Duration::from_secs(990) && remaining <= Duration::from_secs(1000));
    let persisted = s.persist().await.unwrap();
    assert!(persisted);
    assert!(
        pttls(&t, &s.id).iter().all(|(_, ttl)| *ttl == -1),
        "persist removes every TTL"
    );
    let none = Session::ttl(&s.id).await.unwrap();
    assert_eq!(none, None);
    let dup = s.duplicate().await.unwrap();
    assert!(
        shared_ttl(&t, &dup.id) > 990,
        "duplicate is an insert: full TTL"
    );
    let r = Session::ttl("missing").await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    let gone = Session {
        id: rapyer::Id::new(),
        ..Session::default()
    };
    let created = gone.set_ttl(LOW).await.unwrap();
    assert!(!created, "set_ttl on a missing document creates nothing");
    let zero = s.set_ttl(Duration::ZERO).await;
    assert!(matches!(zero, Err(Error::InvalidInput(_))));
}

#[maybe_async]
#[mode_test]
async fn policies_never_read_and_write() {
    let t = common::env();
    // never: use does not extend, but keys that ops create inherit the document's TTL
    let mut token = Token::default();
    token.insert().await.unwrap();
    token.set_ttl(LOW).await.unwrap();
    token.atomic().uses.incr(1).go().await.unwrap();
    Token::get(&token.id).await.unwrap();
    assert!(shared_ttl(&t, &token.id) <= 50);
    token.atomic().log.push("first".into()).go().await.unwrap();
    let all = pttls(&t, &token.id);
    assert_eq!(all.len(), 2, "root and the new list: {all:?}");
    assert!(
        shared_ttl(&t, &token.id) <= 50,
        "the new list inherits the document's TTL"
    );

    let mut r = ReadRefreshed::default();
    r.insert().await.unwrap();
    r.set_ttl(LOW).await.unwrap();
    r.atomic().uses.incr(1).go().await.unwrap();
    assert!(
        shared_ttl(&t, &r.id) <= 50,
        "writes do not refresh a read policy"
    );
    r.atomic().uses.get().go().await.unwrap();
    assert!(shared_ttl(&t, &r.id) > 900, "atomic reads do");

    let mut w = WriteRefreshed::default();
    w.insert().await.unwrap();
    w.set_ttl(LOW).await.unwrap();
    WriteRefreshed::get(&w.id).await.unwrap();
    w.atomic().uses.get().go().await.unwrap();
    assert!(
        shared_ttl(&t, &w.id) <= 50,
        "reads do not refresh a write policy"
    );
    w.atomic().uses.incr(1).go().await.unwrap();
    assert!(shared_ttl(&t, &w.id) > 900, "writes do");
}

#[maybe_async]
#[mode_test]
async fn expired_documents_leave_ids_and_count() {
    let t = common::env();
    let a = Token::default();
    let b = Token::default();
    a.insert().await.unwrap();
    b.insert().await.unwrap();
    a.set_ttl(Duration::from_millis(30)).await.unwrap();
    std::thread::sleep(Duration::from_millis(80));
    let count = Token::count().await.unwrap();
    assert_eq!(count, 1);
    let ids = Token::ids().await.unwrap();
    assert_eq!(ids, vec![b.id.clone()]);
    let gone = Token::try_get(&a.id).await.unwrap();
    assert!(gone.is_none());
    assert!(t.keys().iter().all(|k| !k.ends_with(&a.id.to_string())));
}

/// Item 15: with `ttl_refresh = "read"`, every load path refreshes the TTL (get, bulk
/// get, query `all`/`first`, configured bulk `get`), and each has a peek-style opt-out.
#[maybe_async]
#[mode_test]
async fn every_load_path_honours_read_refresh_and_can_peek() {
    let t = common::env();
    let d = ReadRefreshed::default();
    d.save().await.unwrap();
    let id = d.id.to_string();
    let ten = Duration::from_secs(10);
    // the refreshing paths
    d.set_ttl(ten).await.unwrap();
    ReadRefreshed::bulk_get([&id]).await.unwrap();
    assert!(shared_ttl(&t, &id) > 900, "bulk_get refreshes");
    d.set_ttl(ten).await.unwrap();
    let found = ReadRefreshed::query().run_all().await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(shared_ttl(&t, &id) > 900, "query all refreshes");
    d.set_ttl(ten).await.unwrap();
    ReadRefreshed::query().run_first().await.unwrap().unwrap();
    assert!(shared_ttl(&t, &id) > 900, "query first refreshes");
    d.set_ttl(ten).await.unwrap();
    ReadRefreshed::bulk()
        .run_get(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert!(shared_ttl(&t, &id) > 900, "bulk().get refreshes");
    // the opt-outs
    d.set_ttl(ten).await.unwrap();
    ReadRefreshed::bulk()
        .peek()
        .run_get(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert!(
        shared_ttl(&t, &id) <= 10,
        "bulk().peek().get leaves the TTL"
    );
    ReadRefreshed::query().peek().run_all().await.unwrap();
    ReadRefreshed::query().peek().run_first().await.unwrap();
    assert!(shared_ttl(&t, &id) <= 10, "query().peek() leaves the TTL");
    ReadRefreshed::peek(&id).await.unwrap();
    assert!(shared_ttl(&t, &id) <= 10, "peek leaves the TTL");
    // the id index keeps the expiry the keys have
    let ids_key = t.keys().into_iter().find(|k| k.ends_with(":ids")).unwrap();
    let score: f64 = redis::cmd("ZSCORE")
        .arg(&ids_key)
        .arg(&id)
        .query(&mut t.raw())
        .unwrap();
    let now: Vec<String> = redis::cmd("TIME").query(&mut t.raw()).unwrap();
    let now_ms = now[0].parse::<f64>().unwrap() * 1000.0 + now[1].parse::<f64>().unwrap() / 1000.0;
    assert!(
        score - now_ms <= 10_100.0,
        "id index expiry follows: {score} vs {now_ms}"
    );
}

/// Item 16: `ttl_refresh_interval` refreshes at most once per interval (reads and
/// writes); a hot document read 200 times does not rewrite its expiry 200 times.
#[maybe_async]
#[mode_test]
async fn refresh_interval_limits_refreshes() {
    // a server of its own: the PEXPIRE count below is server-wide
    let t = common::private_env();
    let mut d = Throttled {
        tags: vec!["a".into()],
        ..Default::default()
    };
    d.save().await.unwrap();
    let id = d.id.to_string();
    // 50 s since the last refresh (TTL 1000 s, 950 s left): not due
    d.set_ttl(Duration::from_secs(950)).await.unwrap();
    Throttled::get(&id).await.unwrap();
    d.atomic().uses.incr(1).go().await.unwrap();
    let left = shared_ttl(&t, &id);
    assert!((940..=950).contains(&left), "not due yet: {left}");
    // 150 s since: due, for a read
    d.set_ttl(Duration::from_secs(850)).await.unwrap();
    Throttled::get(&id).await.unwrap();
    assert!(shared_ttl(&t, &id) > 990, "due after the interval");
    // and for a write
    d.set_ttl(Duration::from_secs(850)).await.unwrap();
    d.atomic().tags.push("b".into()).go().await.unwrap();
    assert!(shared_ttl(&t, &id) > 990, "a write refreshes when due");
    // a hot document: 200 reads right after a refresh rewrite no expiry
    let mut raw = t.raw();
    let before = common::command_calls(&mut raw, "pexpire");
    for _ in 0..200 {
        Throttled::get(&id).await.unwrap();
    }
    let rewrites = common::command_calls(&mut raw, "pexpire") - before;
    assert_eq!(rewrites, 0, "no refresh within the interval");
}

/// Item 16: `ttl_grace` refreshes whenever less than the grace period is left, whatever
/// the interval says; the interval alone still applies above it.
#[maybe_async]
#[mode_test]
async fn grace_period_refreshes_whatever_the_interval() {
    let t = common::env();
    let d = Graced::default();
    d.save().await.unwrap();
    let id = d.id.to_string();
    // 50 s since the last refresh, 950 s left: neither due
    d.set_ttl(Duration::from_secs(950)).await.unwrap();
    Graced::get(&id).await.unwrap();
    assert!(shared_ttl(&t, &id) <= 950, "not due");
    // 90 s left: inside the grace period (the interval says 910 s passed: due anyway)
    d.set_ttl(Duration::from_secs(90)).await.unwrap();
    Graced::get(&id).await.unwrap();
    assert!(shared_ttl(&t, &id) > 990, "grace refreshes");
    // 650 s left: 350 s since, past the 300 s interval
    d.set_ttl(Duration::from_secs(650)).await.unwrap();
    Graced::get(&id).await.unwrap();
    assert!(shared_ttl(&t, &id) > 990, "the interval refreshes");
    // 750 s left: 250 s since, above the grace period: not due
    d.set_ttl(Duration::from_secs(750)).await.unwrap();
    Graced::bulk_get([&id]).await.unwrap();
    assert!(shared_ttl(&t, &id) <= 750, "bulk_get follows the same rule");
}
