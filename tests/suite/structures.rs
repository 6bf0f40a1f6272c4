//! Plug-in kinds (`rapyer::Structure`): user-written structures get keys, TTL, delete,
//! duplicate, bulk, load, queries, locks and type checks like the built-in kinds.
//! Written once for both modes.

use std::collections::BTreeMap;

use super::common::{self, models::*};
use super::{Api, Go, LockProbe, RunQuery, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

/// The one key of the test's namespace whose name contains `part`.
pub(super) fn key_with(t: &common::TestEnv, part: &str) -> String {
    let keys: Vec<String> = t.keys().into_iter().filter(|k| k.contains(part)).collect();
    assert_eq!(keys.len(), 1, "one key with {part}: {keys:?}");
    keys.into_iter().next().unwrap()
}

/// `DUMP` of every key of the test's namespace.
pub(super) fn dump_all(t: &common::TestEnv) -> BTreeMap<String, Vec<u8>> {
    let mut raw = t.raw();
    t.keys()
        .into_iter()
        .map(|k| {
            let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
            (k, d)
        })
        .collect()
}

fn board(level: i64, visits: i64) -> Scoreboard {
    Scoreboard {
        id: Id::new(),
        level,
        visits: Tally(visits),
        ranks: Ranking(vec![("ann".into(), 1.5), ("bob".into(), 7.0)]),
        tags: vec!["x".into()],
    }
}

/// Save, load, the keys' Redis types and contents, atomic ops mirrored into the local
/// copy, `Model::at` handles, a pipeline with built-in and plug-in ops, delete.
#[maybe_async]
#[mode_test]
async fn a_structure_is_saved_loaded_and_operated_on_in_its_own_key() {
    let t = common::env();
    let mut b = board(3, 5);
    b.insert().await.unwrap();
    let mut raw = t.raw();
    let tally = key_with(&t, ":c:visits:");
    let ranks = key_with(&t, ":c:ranks:");
    let ty: String = redis::cmd("TYPE").arg(&tally).query(&mut raw).unwrap();
    assert_eq!(ty, "string");
    let ty: String = redis::cmd("TYPE").arg(&ranks).query(&mut raw).unwrap();
    assert_eq!(ty, "zset");
    let v: String = redis::cmd("GET").arg(&tally).query(&mut raw).unwrap();
    assert_eq!(v, "5");
    assert!(tally.contains(&b.id.to_string()) && tally.contains("{Scoreboard"));
    let loaded = Scoreboard::get(&b.id).await.unwrap();
    assert_eq!(loaded, b);

    // atomic ops: on the server, mirrored locally
    let total = b.atomic().visits.add(2).go().await.unwrap();
    assert_eq!(total, 7);
    assert_eq!(b.visits, Tally(7));
    let stored = Scoreboard::at(&b.id).visits.get().go().await.unwrap();
    assert_eq!(stored, 7);
    let cy = b.atomic().ranks.bump("cy", 0.25).go().await.unwrap();
    assert_eq!(cy, 0.25);
    let ann = b.atomic().ranks.bump("ann", 10.0).go().await.unwrap();
    assert_eq!(ann, 11.5);
    assert_eq!(
        b.ranks.0,
        [
            ("cy".to_string(), 0.25),
            ("bob".to_string(), 7.0),
            ("ann".to_string(), 11.5)
        ]
    );
    let members = Scoreboard::at(&b.id).ranks.len().go().await.unwrap();
    assert_eq!(members, 3);
    let loaded = Scoreboard::get(&b.id).await.unwrap();
    assert_eq!(loaded, b);

    // one pipeline: built-in and plug-in ops, atomic together
    b.pipeline(|a, p| {
        p.add(a.level.incr(1));
        p.add(a.visits.add(10));
        p.add(a.ranks.bump("bob", 1.0));
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!((b.level, b.visits.0), (4, 17));
    let loaded = Scoreboard::get(&b.id).await.unwrap();
    assert_eq!(loaded, b);
    let f = Scoreboard::fields();
    let found = Scoreboard::find(f.level.eq(4)).run_all().await.unwrap();
    assert_eq!(found, [b.clone()]);

    // the zero tally is an absent key, and loads as zero
    b.visits = Tally(0);
    b.save().await.unwrap();
    assert!(t.keys().iter().all(|k| !k.contains(":c:visits:")));
    let visits = Scoreboard::get(&b.id).await.unwrap().visits;
    assert_eq!(visits, Tally(0));
    let stored = b.atomic().visits.get().go().await.unwrap();
    assert_eq!(stored, 0);

    // delete removes every key
    let deleted = b.delete().await.unwrap();
    assert!(deleted);
    let left: Vec<String> = t
        .keys()
        .into_iter()
        .filter(|k| k.contains(&b.id.to_string()))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

/// The document's TTL covers the structures' keys: set by save, kept by ops that
/// create the key, removed by persist.
#[maybe_async]
#[mode_test]
async fn the_documents_ttl_covers_its_structures() {
    let t = common::env();
    let mut b = board(1, 0);
    b.save().await.unwrap();
    // the tally key does not exist yet: the op creates it with the document's TTL
    b.atomic().visits.add(1).go().await.unwrap();
    let mut raw = t.raw();
    for part in [":c:visits:", ":c:ranks:", ":c:tags:"] {
        let k = key_with(&t, part);
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut raw).unwrap();
        assert!(ttl > 990_000 && ttl <= 1_000_000, "{k}: {ttl}");
    }
    let persisted = b.persist().await.unwrap();
    assert!(persisted);
    for part in [":c:visits:", ":c:ranks:"] {
        let k = key_with(&t, part);
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut raw).unwrap();
        assert_eq!(ttl, -1, "{k}");
    }
}

/// Duplicates copy the structures; bulk writes and reads carry them; a lock loads them.
#[maybe_async]
#[mode_test]
async fn structures_go_through_duplicate_bulk_and_lock() {
    let t = common::env();
    let b = board(2, 9);
    b.save().await.unwrap();
    let copy = b.duplicate().await.unwrap();
    assert_ne!(copy.id, b.id);
    let loaded = Scoreboard::get(&copy.id).await.unwrap();
    assert_eq!(
        (loaded.visits.clone(), loaded.ranks.clone()),
        (Tally(9), b.ranks.clone())
    );
    let mut raw = t.raw();
    let copy_tally = key_with(&t, &format!(":c:visits:{}", copy.id));
    let v: String = redis::cmd("GET").arg(&copy_tally).query(&mut raw).unwrap();
    assert_eq!(v, "9");

    let many: Vec<Scoreboard> = (0..120).map(|i| board(i % 4, i)).collect();
    let inserted = Scoreboard::bulk_insert(&many).await.unwrap();
    assert_eq!(inserted, 120);
    let ids: Vec<String> = many.iter().map(|m| m.id.to_string()).collect();
    let back = Scoreboard::bulk_get(&ids).await.unwrap();
    assert_eq!(back, many);
    let f = Scoreboard::fields();
    let mut threes = Scoreboard::find(f.level.eq(3)).run_all().await.unwrap();
    threes.sort_by_key(|b| b.visits.0);
    let want: Vec<i64> = (0..120).filter(|i| i % 4 == 3).collect();
    assert_eq!(threes.iter().map(|b| b.visits.0).collect::<Vec<_>>(), want);
    Scoreboard::lock_probe(&ids[7], "audit").await.unwrap();
    let deleted = Scoreboard::bulk_delete(&ids).await.unwrap();
    assert_eq!(deleted, 120);
    assert!(
        t.keys()
            .iter()
            .all(|k| !ids.iter().any(|id| k.ends_with(id.as_str()))),
        "bulk delete removes the structures' keys"
    );
}

/// Scores keep their exact doubles (subnormals, extremes, -0, infinities); NaN is an
/// encode error with nothing written.
#[maybe_async]
#[mode_test]
async fn sorted_set_scores_round_trip_exactly_and_nan_is_refused() {
    let t = common::env();
    let scores = [
        f64::MIN_POSITIVE,
        5e-324,
        -1e300,
        f64::MAX,
        0.1,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1.0 / 3.0,
    ];
    let mut b = board(0, 0);
    b.ranks = Ranking(
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("m{i}"), *s))
            .collect(),
    );
    b.ranks
        .0
        .sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
    b.save().await.unwrap();
    let back = Scoreboard::get(&b.id).await.unwrap();
    let bits = |r: &Ranking| -> Vec<(String, u64)> {
        let mut v: Vec<_> = r.0.iter().map(|(m, s)| (m.clone(), s.to_bits())).collect();
        v.sort();
        v
    };
    // every score keeps its bits (zero compared as a value: -0 and 0 are one score)
    let (want, got) = (bits(&b.ranks), bits(&back.ranks));
    for ((m, w), (m2, g)) in want.iter().zip(&got) {
        assert_eq!(m, m2);
        if f64::from_bits(*w) == 0.0 {
            assert_eq!(f64::from_bits(*g), 0.0, "{m}");
        } else {
            assert_eq!(
                w,
                g,
                "{m}: {} vs {}",
                f64::from_bits(*w),
                f64::from_bits(*g)
            );
        }
    }

    let before = dump_all(&t);
    let mut nan = b.clone();
    nan.ranks.0.push(("nan".into(), f64::NAN));
    nan.level = 99;
    let r = nan.save().await;
    assert!(
        matches!(&r, Err(Error::Encode { field, reason, .. }) if field == "ranks" && reason.contains("NaN")),
        "{r:?}"
    );
    assert_eq!(dump_all(&t), before, "nothing written");
}

/// A structure key another program replaced with another Redis type: writes are
/// refused with every key unchanged; loads name the key and field; bytes `load`
/// cannot read are a decode error naming them; a `Safe` structure takes its fallback.
#[maybe_async]
#[mode_test]
async fn wrong_types_and_bad_bytes_are_refused_and_named() {
    let t = common::env();
    let mut b = board(1, 4);
    b.save().await.unwrap();
    let tally = key_with(&t, ":c:visits:");
    let mut raw = t.raw();
    let _: () = redis::cmd("DEL").arg(&tally).query(&mut raw).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&tally)
        .arg("intruder")
        .query(&mut raw)
        .unwrap();
    let before = dump_all(&t);
    let wrong = |e: Option<&Error>| {
        matches!(e, Some(Error::WrongType { key, field, found, expected, .. })
            if *key == tally && field == "visits" && *found == "list" && *expected == "string")
    };
    let r = b.save().await;
    assert!(wrong(r.as_ref().err()), "{r:?}");
    let r = b.atomic().visits.add(1).go().await;
    assert!(wrong(r.as_ref().err()), "{r:?}");
    let r = b
        .pipeline(|a, p| {
            p.add(a.level.incr(1));
            p.add(a.visits.get());
            Ok(())
        })
        .await;
    assert!(wrong(r.as_ref().err()), "{r:?}");
    assert_eq!(dump_all(&t), before, "every key unchanged");
    let r = Scoreboard::get(&b.id).await;
    assert!(
        matches!(&r, Err(Error::WrongType { key, field, .. }) if *key == tally && field == "visits"),
        "{r:?}"
    );

    // bytes the structure cannot read
    let _: () = redis::cmd("DEL").arg(&tally).query(&mut raw).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&tally)
        .arg("lots")
        .query(&mut raw)
        .unwrap();
    let r = Scoreboard::get(&b.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { key, field, reason, .. })
            if *key == tally && field == "visits" && reason.contains("lots")),
        "{r:?}"
    );
    let r = b.atomic().visits.get().go().await;
    assert!(
        matches!(&r, Err(Error::Decode { field, .. }) if field == "visits"),
        "{r:?}"
    );
    // a failing command in a pipeline undoes the pipeline's earlier ops
    let before = dump_all(&t);
    let r = b
        .pipeline(|a, p| {
            p.add(a.level.incr(1));
            p.add(a.visits.add(1));
            Ok(())
        })
        .await;
    assert!(
        matches!(&r, Err(Error::Rejected { field, .. }) if field == "visits"),
        "{r:?}"
    );
    let r = b
        .pipeline(|a, p| {
            p.add(a.level.incr(1));
            p.add(a.ranks.add_nan("z"));
            Ok(())
        })
        .await;
    assert!(
        matches!(&r, Err(Error::Rejected { field, .. }) if field == "ranks"),
        "{r:?}"
    );
    assert_eq!(dump_all(&t), before, "nothing applied");
    // a command name that is not one: refused before sending
    let sent = t.stats();
    let r = b.atomic().visits.bogus().go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!((t.stats() - sent).planned_round_trips(), 0);

    // Safe: the fallback, recorded; the stored bytes are kept until assigned
    let s = SafeBoard {
        id: Id::new(),
        visits: rapyer::Safe::new(Tally(3)),
        ranks: Ranking(vec![("a".into(), 1.0)]),
    };
    s.save().await.unwrap();
    let key = key_with(&t, &format!(":c:visits:{}", s.id));
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("junk")
        .query(&mut raw)
        .unwrap();
    let loaded = SafeBoard::get(&s.id).await.unwrap();
    assert_eq!(*loaded.visits, Tally(0));
    let failed = loaded.failed_fields();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        (failed[0].key.as_str(), failed[0].field.as_str()),
        (key.as_str(), "visits")
    );
    loaded.save().await.unwrap();
    let v: String = redis::cmd("GET").arg(&key).query(&mut raw).unwrap();
    assert_eq!(v, "junk", "quarantined bytes are written back unchanged");

    // a `store` of the wrong storage is an encode error
    let c = ConfusedBoard {
        id: Id::new(),
        name: "c".into(),
        bad: Confused,
    };
    let r = c.save().await;
    assert!(
        matches!(&r, Err(Error::Encode { field, .. }) if field == "bad"),
        "{r:?}"
    );
    let exists = ConfusedBoard::exists(&c.id).await.unwrap();
    assert!(!exists);
}

/// The structures load the same over RESP3 (sorted set pairs come as nested arrays
/// with doubles there).
#[maybe_async]
#[mode_test]
async fn structures_load_over_resp3() {
    let url = format!(
        "{}/?protocol=resp3",
        common::server().url.trim_end_matches('/')
    );
    let _t = common::env_with(&url, |c| c);
    let b = board(5, 12);
    b.save().await.unwrap();
    let loaded = Scoreboard::get(&b.id).await.unwrap();
    assert_eq!(loaded, b);
    let bulk = Scoreboard::bulk_get([b.id.to_string()]).await.unwrap();
    assert_eq!(bulk, std::slice::from_ref(&b));
    let f = Scoreboard::fields();
    let found = Scoreboard::find(f.level.eq(5)).run_all().await.unwrap();
    assert_eq!(found, [b]);
}

/// `Counter`: exact over i64, overflow refused with nothing changed, get-and-reset in
/// one step, mirrored locally; a save of a stale copy keeps the stored count (other
/// fields are saved); insert and duplicate write the copy's count; TTL and delete carry
/// its key.
#[maybe_async]
#[mode_test]
async fn counters_are_exact_and_never_overwritten_by_a_save() {
    let t = common::env();
    let mut v = Viewed {
        id: Id::new(),
        title: "a".into(),
        views: rapyer::Counter::new(3),
        tags: vec!["x".into()],
    };
    v.insert().await.unwrap();
    let key = key_with(&t, ":c:views:");
    let mut raw = t.raw();
    let stored: String = redis::cmd("GET").arg(&key).query(&mut raw).unwrap();
    assert_eq!(stored, "3", "insert writes the initial count");
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut raw).unwrap();
    assert!(ttl > 990_000, "the document's TTL covers it: {ttl}");

    let c = v.atomic().views.increment(4).go().await.unwrap();
    assert_eq!((c, v.views.value()), (7, 7));
    let c = v.atomic().views.decrement(10).go().await.unwrap();
    assert_eq!(c, -3);
    let at = Viewed::at(&v.id);
    let c = at.views.get().go().await.unwrap();
    assert_eq!(c, -3);

    // a stale copy's save: its other fields are written, the count is not
    let mut stale = Viewed::get(&v.id).await.unwrap();
    Viewed::at(&v.id).views.increment(100).go().await.unwrap();
    stale.title = "b".into();
    stale.views = rapyer::Counter::new(0);
    stale.save().await.unwrap();
    let back = Viewed::get(&v.id).await.unwrap();
    assert_eq!((back.title.as_str(), back.views.value()), ("b", 97));
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut raw).unwrap();
    assert!(ttl > 990_000, "a save still refreshes its TTL: {ttl}");

    // exact at the edges; overflow refused, nothing changed
    Viewed::at(&v.id).views.reset().go().await.unwrap();
    let max = Viewed::at(&v.id)
        .views
        .increment(i64::MAX)
        .go()
        .await
        .unwrap();
    assert_eq!(max, i64::MAX);
    let before = dump_all(&t);
    let r = Viewed::at(&v.id).views.increment(1).go().await;
    assert!(
        matches!(&r, Err(Error::Rejected { field, .. }) if field == "views"),
        "{r:?}"
    );
    assert_eq!(dump_all(&t), before, "nothing changed");
    Viewed::at(&v.id).views.reset().go().await.unwrap();
    let min = Viewed::at(&v.id)
        .views
        .decrement(i64::MAX)
        .go()
        .await
        .unwrap();
    assert_eq!(min, -i64::MAX);
    let min = Viewed::at(&v.id).views.decrement(1).go().await.unwrap();
    assert_eq!(min, i64::MIN);
    let r = Viewed::at(&v.id).views.decrement(1).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");

    // get and reset in one step
    let was = v.atomic().views.get_and_reset().go().await.unwrap();
    assert_eq!((was, v.views.value()), (i64::MIN, 0));
    let now = Viewed::at(&v.id).views.get().go().await.unwrap();
    assert_eq!(now, 0);
    assert!(
        t.keys().iter().all(|k| !k.contains(":c:views:")),
        "a zero counter has no key"
    );

    // duplicate writes the copy's count; delete removes the key
    Viewed::at(&v.id).views.increment(9).go().await.unwrap();
    let loaded = Viewed::get(&v.id).await.unwrap();
    let copy = loaded.duplicate().await.unwrap();
    let copied = Viewed::get(&copy.id).await.unwrap();
    assert_eq!(copied.views.value(), 9);
    let deleted = copy.delete().await.unwrap();
    assert!(deleted);
    assert!(t.keys().iter().all(|k| !k.ends_with(&copy.id.to_string())));
    // bad bytes: a decode error naming key and field
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("many")
        .query(&mut raw)
        .unwrap();
    let r = Viewed::get(&v.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { key: k, field, .. }) if *k == key && field == "views"),
        "{r:?}"
    );
}

fn reading(at: u64) -> Reading {
    Reading {
        at,
        value: at as f64 / 2.0,
    }
}

/// `CircularBuffer`: never more than `N` items whoever pushes (push and trim are one
/// step), latest newest first, oldest, all, clear, mirrored locally, in pipelines; a
/// smaller `N` applies on the next push; bad stored bytes name key and field.
#[maybe_async]
#[mode_test]
async fn circular_buffers_keep_the_latest_n() {
    let t = common::env();
    let mut local = rapyer::CircularBuffer::<Reading, 5>::new();
    for i in 0..8 {
        local.push(reading(i));
    }
    assert_eq!(local.len(), 5, "a local push drops the oldest too");
    let mut p = ProbeV1 {
        id: Id::new(),
        recent: local,
    };
    p.insert().await.unwrap();
    let key = key_with(&t, ":c:recent:");
    let stored: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query(&mut t.raw())
        .unwrap();
    assert_eq!(stored.len(), 5);

    let n = p.atomic().recent.push(reading(8)).go().await.unwrap();
    assert_eq!(n, 5);
    let ats: Vec<u64> = p.recent.iter().map(|r| r.at).collect();
    assert_eq!(ats, [4, 5, 6, 7, 8], "mirrored");
    let n = ProbeV1::at(&p.id)
        .recent
        .push_many((9..20).map(reading))
        .go()
        .await
        .unwrap();
    assert_eq!(n, 5);
    let latest = ProbeV1::at(&p.id).recent.latest(3).go().await.unwrap();
    assert_eq!(
        latest.iter().map(|r| r.at).collect::<Vec<_>>(),
        [19, 18, 17]
    );
    let oldest = ProbeV1::at(&p.id).recent.oldest().go().await.unwrap();
    assert_eq!(oldest.map(|r| r.at), Some(15));
    let all = p.atomic().recent.all().go().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.at).collect::<Vec<_>>(),
        [15, 16, 17, 18, 19]
    );
    assert_eq!(p.recent.len(), 5);
    let none = ProbeV1::at(&p.id).recent.latest(0).go().await.unwrap();
    assert!(none.is_empty());

    // two pushes in one pipeline: one atomic step, still at most N
    p.pipeline(|a, pipe| {
        pipe.add(a.recent.push(reading(20)));
        pipe.add(a.recent.push(reading(21)));
        Ok(())
    })
    .await
    .unwrap();
    let back = ProbeV1::get(&p.id).await.unwrap();
    assert_eq!(
        back.recent.iter().map(|r| r.at).collect::<Vec<_>>(),
        [17, 18, 19, 20, 21]
    );

    // the model's capacity shrank: the next push trims to the new N
    let n = ProbeV2::at(&p.id)
        .recent
        .push(reading(22))
        .go()
        .await
        .unwrap();
    assert_eq!(n, 2);
    let now = ProbeV2::get(&p.id).await.unwrap();
    assert_eq!(
        now.recent.iter().map(|r| r.at).collect::<Vec<_>>(),
        [21, 22]
    );

    // thousands in one push: still one step, the latest N kept
    let n = ProbeV1::at(&p.id)
        .recent
        .push_many((100..2600).map(reading))
        .go()
        .await
        .unwrap();
    assert_eq!(n, 5);
    let latest = ProbeV1::at(&p.id).recent.latest(5).go().await.unwrap();
    assert_eq!(
        latest.iter().map(|r| r.at).collect::<Vec<_>>(),
        [2599, 2598, 2597, 2596, 2595]
    );
    ProbeV1::at(&p.id).recent.clear().go().await.unwrap();
    let len = ProbeV1::at(&p.id).recent.len().go().await.unwrap();
    assert_eq!(len, 0);

    // bytes that are no reading
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg("not msgpack")
        .query(&mut t.raw())
        .unwrap();
    let r = ProbeV1::at(&p.id).recent.latest(1).go().await;
    assert!(
        matches!(&r, Err(Error::Decode { field, .. }) if field == "recent"),
        "{r:?}"
    );
    let r = ProbeV1::get(&p.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { key: k, field, .. }) if *k == key && field == "recent"),
        "{r:?}"
    );
}

/// `BloomFilter`: added items are found, most others are not; `add` says whether an
/// item was new; one `BITFIELD` step for thousands of items; estimate and saturation from
/// the bits; the loaded copy answers locally; a save of a stale copy keeps the bits.
#[maybe_async]
#[mode_test]
async fn bloom_filters_find_what_was_added() {
    let t = common::env();
    let mut s = Site {
        id: Id::new(),
        name: "s".into(),
        seen: rapyer::BloomFilter::new(),
    };
    s.insert().await.unwrap();
    assert!(
        t.keys().iter().all(|k| !k.contains(":c:seen:")),
        "empty: no key"
    );
    let new = s.atomic().seen.add("u1".into()).go().await.unwrap();
    assert!(new);
    let again = s.atomic().seen.add("u1".into()).go().await.unwrap();
    assert!(!again, "an item added twice is not new");
    assert!(s.seen.might_contain(&"u1".to_owned()).unwrap(), "mirrored");
    let at = Site::at(&s.id);
    let found = at.seen.contains("u1".into()).go().await.unwrap();
    assert!(found);
    let items: Vec<String> = (0..3000).map(|i| format!("user{i}")).collect();
    let fresh = at.seen.add_many(items.clone()).go().await.unwrap();
    assert_eq!(fresh.len(), 3000);
    assert!(fresh.iter().filter(|n| **n).count() > 2900);
    let all = at.seen.contains_many(items.clone()).go().await.unwrap();
    assert!(all.iter().all(|b| *b), "no false negatives");
    let others: Vec<String> = (0..3000).map(|i| format!("other{i}")).collect();
    let false_pos = at
        .seen
        .contains_many(others.clone())
        .go()
        .await
        .unwrap()
        .into_iter()
        .filter(|b| *b)
        .count();
    assert!(
        false_pos < 150,
        "{false_pos} false positives of 3000 (p = 1 % at capacity 3000)"
    );
    let estimate = at.seen.len_estimate().go().await.unwrap();
    assert!((2800..=3200).contains(&estimate), "{estimate}");
    let sat = at.seen.saturation().go().await.unwrap();
    assert!(sat > 0.3 && sat < 0.7, "{sat}");
    // memory: m/8 bytes of bitmap (plus Redis' own overhead)
    let key = key_with(&t, ":c:seen:");
    let len: u64 = redis::cmd("STRLEN").arg(&key).query(&mut t.raw()).unwrap();
    let (m, _) = rapyer::BloomFilter::<String, 3000, 10_000>::shape();
    assert!(len <= m.div_ceil(8), "{len} bytes for {m} bits");

    // the loaded copy answers locally; a stale copy's save keeps the stored bits
    let loaded = Site::get(&s.id).await.unwrap();
    assert!(loaded.seen.might_contain(&"user7".to_owned()).unwrap());
    let mut stale = s.clone();
    stale.name = "t".into();
    stale.save().await.unwrap();
    let still = Site::at(&s.id)
        .seen
        .contains("user7".into())
        .go()
        .await
        .unwrap();
    assert!(still, "a save does not write the filter back");

    Site::at(&s.id).seen.clear().go().await.unwrap();
    let gone = Site::at(&s.id)
        .seen
        .contains("u1".into())
        .go()
        .await
        .unwrap();
    assert!(!gone);
}
