//! Atomic field operations, written once for both modes. The shell provides
//! `maybe_async`, `mode_test`, `Api` (model operations) and `Go` (`.go()` runs a pending
//! atomic operation: `.await` in async mode, `sync_run()` in blocking mode).

use super::common::{self, models::*};
use super::{Api, Go, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

fn root(t: &common::TestEnv, g: &Gauge) -> String {
    format!("{}:{{Gauge:0}}:d:{}", t.ns, g.id)
}

fn hget(t: &common::TestEnv, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query(&mut t.raw())
        .unwrap()
}

fn assert_rejected<T: std::fmt::Debug>(r: rapyer::Result<T>, field: &str) {
    match r {
        Err(Error::Rejected { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected Rejected on {field}, got {other:?}"),
    }
}

#[maybe_async]
#[mode_test]
async fn integer_operations_apply_on_the_server_and_mirror_locally() {
    let t = common::env();
    let mut g = Gauge {
        big: 10,
        ..Gauge::default()
    };
    g.save().await.unwrap();
    // another client changes the stored value: ops apply to the server's value
    let _: () = redis::cmd("HSET")
        .arg(root(&t, &g))
        .arg("big")
        .arg("100")
        .query(&mut t.raw())
        .unwrap();
    let v = g.atomic().big.incr(5).go().await.unwrap();
    assert_eq!((v, g.big), (105, 105));
    let v = g.atomic().big.decr(6).go().await.unwrap();
    assert_eq!((v, g.big), (99, 99));
    let v = g.atomic().big.mul(-3).go().await.unwrap();
    assert_eq!(v, -297);
    let v = g.atomic().big.floordiv(10).go().await.unwrap();
    assert_eq!(v, -30, "floor division rounds toward -inf");
    let v = g.atomic().big.modulo(7).go().await.unwrap();
    assert_eq!(v, 5, "remainder takes the divisor's sign");
    let v = g.atomic().big.pow(3).go().await.unwrap();
    assert_eq!(v, 125);
    let v = g.atomic().big.min(20).go().await.unwrap();
    assert_eq!(v, 20);
    let v = g.atomic().big.max(64).go().await.unwrap();
    assert_eq!((v, g.big), (64, 64));
    assert_eq!(hget(&t, &root(&t, &g), "big").as_deref(), Some("64"));
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g, "local copy ends equal to Redis");
}

#[maybe_async]
#[mode_test]
async fn integer_overflow_and_bad_stored_values_are_refused_and_change_nothing() {
    let t = common::env();
    let mut g = Gauge {
        small: 120,
        unsigned: 3,
        big: i64::MAX - 1,
        ..Gauge::default()
    };
    g.save().await.unwrap();
    let r = g.atomic().small.incr(10).go().await;
    assert_rejected(r, "small");
    let r = g.atomic().unsigned.decr(4).go().await;
    assert_rejected(r, "unsigned");
    let r = g.atomic().big.incr(2).go().await;
    assert_rejected(r, "big");
    let r = g.atomic().big.floordiv(0).go().await;
    assert_rejected(r, "big");
    assert_eq!(
        (g.small, g.unsigned, g.big),
        (120, 3, i64::MAX - 1),
        "local copy untouched"
    );
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g, "stored copy untouched");
    // exact at the i64 edge
    let v = g.atomic().big.incr(1).go().await.unwrap();
    assert_eq!(v, i64::MAX);
    let _: () = redis::cmd("HSET")
        .arg(root(&t, &g))
        .arg("small")
        .arg("many")
        .query(&mut t.raw())
        .unwrap();
    let r = g.atomic().small.incr(1).go().await;
    assert_rejected(r, "small");
    assert_eq!(hget(&t, &root(&t, &g), "small").as_deref(), Some("many"));
}

#[maybe_async]
#[mode_test]
async fn float_string_bool_bytes_option_and_blob_operations() {
    let t = common::env();
    let mut g = Gauge {
        ratio: 1.5,
        name: "ab".into(),
        raw: vec![0],
        ..Gauge::default()
    };
    g.save().await.unwrap();
    let v = g.atomic().ratio.incr(0.25).go().await.unwrap();
    assert_eq!((v, g.ratio), (1.75, 1.75));
    let v = g.atomic().ratio.mul(4.0).go().await.unwrap();
    assert_eq!(v, 7.0);
    let v = g.atomic().ratio.div(2.0).go().await.unwrap();
    assert_eq!(v, 3.5);
    let v = g.atomic().ratio.pow(2.0).go().await.unwrap();
    assert_eq!(v, 12.25);
    let r = g.atomic().ratio.div(0.0).go().await;
    assert_rejected(r, "ratio");
    let r = g.atomic().ratio.incr(f64::NAN).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))));

    let v = g.atomic().name.append("cd").go().await.unwrap();
    assert_eq!((v.as_str(), g.name.as_str()), ("abcd", "abcd"));
    let n = g.atomic().name.len().go().await.unwrap();
    assert_eq!(n, 4);
    g.atomic().name.set("ü".into()).go().await.unwrap();
    let n = g.atomic().name.len().go().await.unwrap();
    assert_eq!(n, 2, "length in bytes");
    let v = g.atomic().flag.toggle().go().await.unwrap();
    assert!(v && g.flag);
    let v = g.atomic().raw.append(&[0xff]).go().await.unwrap();
    assert_eq!(v, vec![0, 0xff]);

    g.atomic().nick.set(Some("ace".into())).go().await.unwrap();
    assert_eq!(hget(&t, &root(&t, &g), "nick").as_deref(), Some("ace"));
    let v = Gauge::at(&g.id).nick.get().go().await.unwrap();
    assert_eq!(v.as_deref(), Some("ace"));
    g.atomic().nick.clear().go().await.unwrap();
    assert_eq!(g.nick, None);
    assert_eq!(
        hget(&t, &root(&t, &g), "nick"),
        None,
        "None is an absent field"
    );

    let profile = Profile {
        bio: "new".into(),
        links: vec![],
        extra: None,
    };
    g.atomic().profile.set(profile.clone()).go().await.unwrap();
    assert_eq!(g.profile, profile);
    g.atomic().home.city.set("Oslo".into()).go().await.unwrap();
    let v = g.atomic().home.geo.lat.incr(1.5).go().await.unwrap();
    assert_eq!(v, 1.5);
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);
    assert_eq!(stored.home.city, "Oslo");
}

#[maybe_async]
#[mode_test]
async fn list_operations() {
    let t = common::env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let n = g.atomic().log.push("b".into()).go().await.unwrap();
    assert_eq!(n, 1);
    let n = g
        .atomic()
        .log
        .extend(["c".to_string(), "d".to_string()])
        .go()
        .await
        .unwrap();
    assert_eq!(n, 3);
    let n = g.atomic().log.push_front("a".into()).go().await.unwrap();
    assert_eq!(n, 4);
    assert_eq!(g.log, ["a", "b", "c", "d"]);
    let v = g.atomic().log.pop().go().await.unwrap();
    assert_eq!(v, "d");
    let v = g.atomic().log.pop_front().go().await.unwrap();
    assert_eq!(v, "a");
    assert_eq!(g.log, ["b", "c"]);
    let n = g.atomic().log.len().go().await.unwrap();
    assert_eq!(n, 2);
    // another client pushes: the next op brings the local copy back in step
    let list = format!("{}:{{Gauge:0}}:c:log:{}", t.ns, g.id);
    let _: () = redis::cmd("RPUSH")
        .arg(&list)
        .arg("x")
        .query(&mut t.raw())
        .unwrap();
    g.atomic().log.push("y".into()).go().await.unwrap();
    assert_eq!(g.log, ["b", "c", "x", "y"]);
    let all = Gauge::at(&g.id).log.get_all().go().await.unwrap();
    assert_eq!(all, g.log);

    g.atomic().queue.extend([1, 2, 3]).go().await.unwrap();
    let v = g.atomic().queue.pop_front().go().await.unwrap();
    assert_eq!(v, 1);
    assert_eq!(Vec::from(g.queue.clone()), [2, 3]);

    g.atomic().log.insert(1, "i".into()).go().await.unwrap();
    assert_eq!(g.log, ["b", "i", "c", "x", "y"]);
    g.atomic().log.insert(-1, "j".into()).go().await.unwrap();
    g.atomic().log.insert(99, "end".into()).go().await.unwrap();
    g.atomic().log.insert(0, "x".into()).go().await.unwrap();
    assert_eq!(g.log, ["x", "b", "i", "c", "x", "j", "y", "end"]);
    let n = g.atomic().log.remove("x".into(), 0).go().await.unwrap();
    assert_eq!(n, 2);
    g.atomic().log.set(-1, "END".into()).go().await.unwrap();
    let r = g.atomic().log.set(40, "nope".into()).go().await;
    assert_rejected(r, "log");
    let v = g.atomic().log.get(1).go().await.unwrap();
    assert_eq!(v.as_deref(), Some("i"));
    let v = g.atomic().log.get(100).go().await.unwrap();
    assert_eq!(v, None);
    let v = g.atomic().log.range(1, 2).go().await.unwrap();
    assert_eq!(v, ["i", "c"]);
    g.atomic().log.trim(0, 3).go().await.unwrap();
    assert_eq!(g.log, ["b", "i", "c", "j"]);
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);

    g.atomic().log.clear().go().await.unwrap();
    assert!(g.log.is_empty());
    let exists: bool = redis::cmd("EXISTS").arg(&list).query(&mut t.raw()).unwrap();
    assert!(!exists);
    let r = g.atomic().log.pop().go().await;
    assert_rejected(r, "log");
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);
}

#[maybe_async]
#[mode_test]
async fn map_and_set_operations() {
    let _t = common::env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    g.atomic().counts.set("a".into(), 1).go().await.unwrap();
    g.atomic()
        .counts
        .update([("b".to_string(), 2), ("c".to_string(), 3)])
        .go()
        .await
        .unwrap();
    let v = g.atomic().counts.incr("a".into(), 41).go().await.unwrap();
    assert_eq!(v, 42);
    let v = g.atomic().counts.incr("new".into(), -1).go().await.unwrap();
    assert_eq!(v, -1);
    let removed = g.atomic().counts.remove("new".into()).go().await.unwrap();
    assert!(removed);
    let removed = g.atomic().counts.remove("new".into()).go().await.unwrap();
    assert!(!removed);
    let v = g.atomic().counts.pop("b".into()).go().await.unwrap();
    assert_eq!(v, 2);
    let r = g.atomic().counts.pop("b".into()).go().await;
    assert_rejected(r, "counts");
    let v = g.atomic().counts.get("c".into()).go().await.unwrap();
    assert_eq!(v, Some(3));
    let mut keys = g.atomic().counts.keys().go().await.unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "c"]);
    let n = g.atomic().counts.len().go().await.unwrap();
    assert_eq!(n, 2);
    let (k, _) = g.atomic().counts.popitem().go().await.unwrap();
    assert!(!g.counts.contains_key(&k));
    assert_eq!(g.counts.len(), 1);

    let added = g.atomic().labels.add("x".into()).go().await.unwrap();
    assert!(added);
    let added = g.atomic().labels.add("x".into()).go().await.unwrap();
    assert!(!added);
    g.atomic().labels.add("y".into()).go().await.unwrap();
    let has = g.atomic().labels.contains("y".into()).go().await.unwrap();
    assert!(has);
    let removed = g.atomic().labels.remove("y".into()).go().await.unwrap();
    assert!(removed);
    let n = g.atomic().labels.len().go().await.unwrap();
    assert_eq!(n, 1);
    let members = g.atomic().labels.members().go().await.unwrap();
    assert_eq!(members, ["x"]);
    let v = g.atomic().labels.pop().go().await.unwrap();
    assert_eq!(v, "x");
    let r = g.atomic().labels.pop().go().await;
    assert_rejected(r, "labels");
    g.atomic()
        .home
        .labels
        .set("k".into(), "v".into())
        .go()
        .await
        .unwrap();
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);
    g.atomic().counts.clear().go().await.unwrap();
    assert!(g.counts.is_empty());
}

#[maybe_async]
#[mode_test]
async fn operations_on_missing_documents_create_nothing() {
    let t = common::env();
    let keep = Gauge::default();
    keep.save().await.unwrap();
    let before = t.keys();
    let ghost = Id::new();
    let r = Gauge::at(&ghost).big.incr(1).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    let r = Gauge::at(&ghost).log.push("x".into()).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    let r = Gauge::at(&ghost).labels.add("x".into()).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    let r = Gauge::at(&ghost).counts.set("k".into(), 1).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    let skipped = Gauge::at(&ghost)
        .log
        .push("x".into())
        .if_exists()
        .go()
        .await
        .unwrap();
    assert_eq!(skipped, None);
    let mut deleted = keep.clone();
    keep.delete().await.unwrap();
    let r = deleted.atomic().log.push("x".into()).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })));
    assert_eq!(
        t.keys(),
        Vec::<String>::new(),
        "no orphan keys: {before:?} were deleted, nothing created"
    );
    let r = Gauge::at("").big.incr(1).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))));
    // an existing document through at(): remote op, no local copy
    let g = Gauge::default();
    g.save().await.unwrap();
    let v = Gauge::at(&g.id).big.incr(7).go().await.unwrap();
    assert_eq!(v, 7);
    let present = Gauge::at(&g.id).big.incr(1).if_exists().go().await.unwrap();
    assert_eq!(present, Some(8));
}

#[maybe_async]
#[mode_test]
async fn one_round_trip_per_operation_and_noscript_recovery() {
    let t = common::private_env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let before = t.stats();
    g.atomic().big.incr(1).go().await.unwrap();
    g.atomic().log.push("a".into()).go().await.unwrap();
    Gauge::at(&g.id)
        .counts
        .set("k".into(), 1)
        .go()
        .await
        .unwrap();
    assert_eq!((t.stats() - before).planned_round_trips(), 3);

    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    let v = g.atomic().big.incr(10).go().await.unwrap();
    assert_eq!(v, 11, "applied exactly once after NOSCRIPT");
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    g.save().await.unwrap();
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);
    assert_eq!(stored.big, 11);
}

#[cfg(feature = "chrono")]
#[maybe_async]
#[mode_test]
async fn date_time_add_and_sub() {
    let _t = common::env();
    let start = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
    let mut g = Gauge {
        at: start,
        ..Gauge::default()
    };
    g.save().await.unwrap();
    let v = g
        .atomic()
        .at
        .add(chrono::TimeDelta::microseconds(1_500_000))
        .go()
        .await
        .unwrap();
    assert_eq!(v, start + chrono::TimeDelta::microseconds(1_500_000));
    let v = g
        .atomic()
        .at
        .sub(chrono::TimeDelta::days(1))
        .go()
        .await
        .unwrap();
    assert_eq!(
        v,
        start + chrono::TimeDelta::microseconds(1_500_000) - chrono::TimeDelta::days(1)
    );
    assert_eq!(g.at, v);
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g);
}

#[maybe_async]
#[mode_test]
async fn a_key_of_the_wrong_redis_type_is_refused_and_nothing_changes() {
    let t = common::env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let list = format!("{}:{{Gauge:0}}:c:log:{}", t.ns, g.id);
    let _: () = redis::cmd("SET")
        .arg(&list)
        .arg("not a list")
        .query(&mut t.raw())
        .unwrap();
    let r = g.atomic().log.push("x".into()).go().await;
    match r {
        Err(Error::WrongType {
            model,
            key,
            field,
            what,
            found,
            expected,
        }) => {
            assert_eq!((model.as_str(), key.as_str()), ("Gauge", list.as_str()));
            assert_eq!((field.as_str(), what), ("log", "collection"));
            assert_eq!((found, expected), ("string", "list"));
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    let v: String = redis::cmd("GET").arg(&list).query(&mut t.raw()).unwrap();
    assert_eq!(v, "not a list");
}

/// Every operation, on a document that does not exist: `NotFound`, and no key created.
#[maybe_async]
#[mode_test]
async fn every_operation_on_a_missing_document_is_not_found_and_creates_nothing() {
    let t = common::env();
    let ghost = Id::new();
    let at = || Gauge::at(&ghost);
    let mut codes = std::collections::BTreeSet::new();
    macro_rules! ops {
        ($($op:expr),* $(,)?) => {
            vec![$(rapyer::Pending::map_any($op)),*]
        };
    }
    let all: Vec<rapyer::Pending<'static, ()>> = ops![
        at().big.set(1),
        at().big.get(),
        at().big.incr(1),
        at().big.decr(1),
        at().big.mul(2),
        at().big.floordiv(2),
        at().big.modulo(2),
        at().big.pow(2),
        at().big.min(1),
        at().big.max(1),
        at().ratio.incr(1.0),
        at().ratio.mul(2.0),
        at().ratio.div(2.0),
        at().ratio.pow(2.0),
        at().name.append("x"),
        at().name.len(),
        at().flag.toggle(),
        at().raw.append(b"x"),
        at().raw.len(),
        at().nick.set(Some("n".into())),
        at().nick.clear(),
        at().nick.get(),
        at().profile.set(Profile::default()),
        at().log.push("x".into()),
        at().log.extend(["x".to_string()]),
        at().log.push_front("x".into()),
        at().log.pop(),
        at().log.pop_front(),
        at().log.insert(0, "x".into()),
        at().log.remove("x".into(), 0),
        at().log.set(0, "x".into()),
        at().log.get(0),
        at().log.range(0, 1),
        at().log.trim(0, 1),
        at().log.len(),
        at().log.get_all(),
        at().log.clear(),
        at().counts.set("k".into(), 1),
        at().counts.update([("k".to_string(), 1)]),
        at().counts.remove("k".into()),
        at().counts.pop("k".into()),
        at().counts.popitem(),
        at().counts.get("k".into()),
        at().counts.keys(),
        at().counts.len(),
        at().counts.get_all(),
        at().counts.incr("k".into(), 1),
        at().counts.clear(),
        at().labels.add("l".into()),
        at().labels.remove("l".into()),
        at().labels.pop(),
        at().labels.contains("l".into()),
        at().labels.len(),
        at().labels.members(),
        at().views.add(1),
        at().views.get(),
        at().counter.increment(1),
        at().counter.get(),
        at().counter.get_and_reset(),
        at().recent.push("r".into()),
        at().recent.latest(2),
        at().filter.add("s".into()),
        at().filter.contains("s".into()),
        at().jobs.push("j".into(), 1),
        at().jobs.remove("j".into()),
        at().jobs.update_priority("j".into(), 2),
        at().limit.check(),
        at().labels.clear(),
        at().home.city.set("x".into()),
        at().log.at(0).get(),
        at().log.at(0).set("x".into()),
        at().queue.at(0).incr(1),
        at().cells.at(0).tags.push("x".into()),
        at().cells.at(0).tags.remove("x".into()),
    ];
    for op in all {
        codes.insert(
            format!("{op:?}")
                .split("op: \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned(),
        );
        let r = op.go().await;
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    }
    // ops that take a value computed in the program (a loop's element, an earlier result)
    let r = global_pipeline(|pipe| {
        let n = pipe.add(at().big.get());
        pipe.add(at().big.set_value(&n.value()));
        let _ = pipe.for_each(&at().log, |item, b| {
            b.add(item.remove());
        });
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    codes.extend(["setv".to_string(), "lrem_at".to_string()]);
    assert_eq!(t.keys(), Vec::<String>::new(), "no orphan keys");
    let all = common::exec_op_codes();
    assert!(all.len() > 30, "parsed the op tables: {all:?}");
    let missing: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|code| !codes.contains(*code))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without a missing-document test: {missing:?}"
    );
}
