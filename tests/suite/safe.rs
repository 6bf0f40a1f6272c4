//! Safe and lazy field loading: corrupt stored bytes never take a whole model down, are
//! reported with key and field, and are never overwritten by a save that did not assign
//! the field. Written once for both modes.

use super::common::{self, Warnings, hash_of, list_of, models::*};
use super::{Api, RunBulk, RunQuery, maybe_async, mode_test};
use rapyer::{Error, Model};

fn root(t: &common::TestEnv, model: &str, id: impl std::fmt::Display) -> String {
    format!("{}:{{{model}:0}}:d:{id}", t.ns)
}

fn coll(t: &common::TestEnv, model: &str, path: &str, id: impl std::fmt::Display) -> String {
    format!("{}:{{{model}:0}}:c:{path}:{id}", t.ns)
}

fn hset(t: &common::TestEnv, key: &str, field: &str, bytes: &[u8]) {
    let _: () = redis::cmd("HSET")
        .arg(key)
        .arg(field)
        .arg(bytes)
        .query(&mut t.raw())
        .unwrap();
}

fn rpush(t: &common::TestEnv, key: &str, bytes: &[u8]) {
    let _: () = redis::cmd("RPUSH")
        .arg(key)
        .arg(bytes)
        .query(&mut t.raw())
        .unwrap();
}

/// A truncated msgpack map: a `Stop` cut short.
const TRUNCATED_STOP: &[u8] = &[0x82, 0xa4, b'n', b'a'];

/// Corrupts every `Safe` field of `s` with raw writes: non-numeric text in an integer,
/// invalid UTF-8 in a string, wrong msgpack in a blob, a truncated struct in a list, a
/// bad map value, an out-of-range u8.
fn corrupt_sturdy(t: &common::TestEnv, s: &Sturdy) {
    let r = root(t, "Sturdy", &s.id);
    hset(t, &r, "visits", b"forty-one");
    hset(t, &r, "title", &[0xff, 0xfe, b'x']);
    hset(t, &r, "profile", &[0xc1]);
    hset(t, &r, "level", b"999");
    hset(t, &r, "place.beds", b"-3");
    rpush(t, &coll(t, "Sturdy", "stops", &s.id), TRUNCATED_STOP);
    hset(t, &coll(t, "Sturdy", "scores", &s.id), "cy", b"many");
}

/// Everything stored for `s`, as bytes.
fn stored_sturdy(t: &common::TestEnv, s: &Sturdy) -> Vec<Vec<Vec<u8>>> {
    let mut c = t.raw();
    let root = hash_of(&mut c, &root(t, "Sturdy", &s.id));
    let scores = hash_of(&mut c, &coll(t, "Sturdy", "scores", &s.id));
    let flat = |m: std::collections::BTreeMap<Vec<u8>, Vec<u8>>| {
        m.into_iter().flat_map(|(k, v)| [k, v]).collect::<Vec<_>>()
    };
    vec![
        flat(root),
        list_of(&mut c, &coll(t, "Sturdy", "stops", &s.id)),
        flat(scores),
    ]
}

fn failed(m: &impl Model) -> Vec<String> {
    let mut f: Vec<String> = m.failed_fields().into_iter().map(|f| f.field).collect();
    f.sort();
    f
}

fn check_sturdy_fallbacks(t: &common::TestEnv, original: &Sturdy, loaded: &Sturdy) {
    assert_eq!(loaded.name, original.name);
    assert_eq!(*loaded.visits, 0);
    assert_eq!(*loaded.title, "");
    assert_eq!(*loaded.profile, Profile::default());
    assert_eq!(*loaded.level, 7, "the field's own default path");
    assert_eq!(*loaded.place.beds, 0);
    assert_eq!(loaded.place.city, "Bergen");
    // a corrupt member is skipped, the others load
    assert_eq!(*loaded.stops, *original.stops);
    assert_eq!(*loaded.scores, *original.scores);
    assert_eq!(
        failed(loaded),
        [
            "level",
            "place.beds",
            "profile",
            "scores",
            "stops",
            "title",
            "visits"
        ]
    );
    let failures = loaded.failed_fields();
    let by = |f: &str| failures.iter().find(|x| x.field == f).unwrap();
    assert_eq!(by("visits").key, root(t, "Sturdy", &original.id));
    assert!(by("visits").error.contains("forty-one"), "{}", by("visits"));
    assert!(by("title").error.contains("UTF-8"), "{}", by("title"));
    assert_eq!(by("stops").key, coll(t, "Sturdy", "stops", &original.id));
    assert!(by("stops").error.contains("element 2"), "{}", by("stops"));
    assert_eq!(by("scores").key, coll(t, "Sturdy", "scores", &original.id));
    assert!(by("scores").error.contains("cy"), "{}", by("scores"));
    assert_eq!(by("visits").model, "Sturdy");
}

#[maybe_async]
#[mode_test]
async fn safe_fields_fall_back_record_and_quarantine_corrupt_bytes() {
    let t = common::env();
    let original = Sturdy::sample();
    original.save().await.unwrap();
    corrupt_sturdy(&t, &original);
    let corrupt = stored_sturdy(&t, &original);

    let (warnings, guard) = Warnings::capture();
    let loaded = Sturdy::get(&original.id).await.unwrap();
    drop(guard);
    check_sturdy_fallbacks(&t, &original, &loaded);
    let logged = warnings.all();
    assert_eq!(logged.len(), 7, "one warning per failed field: {logged:?}");
    assert!(
        logged
            .iter()
            .any(|w| w.contains("visits") && w.contains("forty-one"))
    );

    // every load path gives the same model and the same record
    let tried = Sturdy::try_get(&original.id).await.unwrap().unwrap();
    check_sturdy_fallbacks(&t, &original, &tried);
    let bulk = Sturdy::bulk_get([&original.id]).await.unwrap();
    check_sturdy_fallbacks(&t, &original, &bulk[0]);
    let queried = Sturdy::query().run_all().await.unwrap();
    check_sturdy_fallbacks(&t, &original, &queried[0]);

    // a save that touches no failed field leaves the corrupt bytes byte for byte
    let (warnings, guard) = Warnings::capture();
    loaded.save().await.unwrap();
    drop(guard);
    assert_eq!(stored_sturdy(&t, &original), corrupt);
    let logged = warnings.all();
    assert!(
        logged
            .iter()
            .any(|w| w.contains("stored bytes are kept") && w.contains("visits")),
        "the save reports what it left untouched: {logged:?}"
    );
    let mut renamed = Sturdy::get(&original.id).await.unwrap();
    renamed.name = "route 10".into();
    renamed.save().await.unwrap();
    let renamed_back = Sturdy::get(&original.id).await.unwrap();
    assert_eq!(renamed_back.name, "route 10");
    let stored = stored_sturdy(&t, &original);
    assert_eq!(stored[1..], corrupt[1..]);

    // assigning repairs: by DerefMut, by set(), by mutating a salvaged list
    let mut fix = Sturdy::get(&original.id).await.unwrap();
    *fix.visits = 50;
    fix.title.set("Harbour".into());
    *fix.place.beds = 4;
    fix.stops.push(Stop {
        name: "end".into(),
        minutes: 9,
    });
    assert_eq!(failed(&fix), ["level", "profile", "scores"]);
    fix.save().await.unwrap();
    let back = Sturdy::get(&original.id).await.unwrap();
    assert_eq!(*back.visits, 50);
    assert_eq!(*back.title, "Harbour");
    assert_eq!(*back.place.beds, 4);
    assert_eq!(back.stops.len(), 3);
    assert_eq!(failed(&back), ["level", "profile", "scores"]);

    // the caller's opt-in writes the fallbacks
    let mut accept = back.clone();
    accept.accept_fallbacks();
    assert!(accept.failed_fields().is_empty());
    accept.save().await.unwrap();
    let clean = Sturdy::get(&original.id).await.unwrap();
    assert!(clean.failed_fields().is_empty());
    assert_eq!(*clean.level, 7);
    assert_eq!(*clean.scores, *original.scores);
}

#[maybe_async]
#[mode_test]
async fn plain_fields_fail_the_load_naming_key_and_field() {
    let t = common::env();
    let s = Sturdy::sample();
    s.save().await.unwrap();
    hset(&t, &root(&t, "Sturdy", &s.id), "name", &[0xc0, 0xff]);
    match Sturdy::get(&s.id).await {
        Err(Error::Decode { key, field, .. }) => {
            assert_eq!(key, root(&t, "Sturdy", &s.id));
            assert_eq!(field, "name");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    let bulk = Sturdy::bulk_get([&s.id]).await;
    assert!(matches!(bulk, Err(Error::Decode { field, .. }) if field == "name"));
}

#[maybe_async]
#[mode_test]
async fn safe_all_records_in_load_state_and_keeps_bytes_until_assigned() {
    let t = common::env();
    let m = Tolerant {
        code: 7,
        count: 3,
        label: "seven".into(),
        tags: vec!["a".into(), "b".into()],
        rank: 1,
        level: 2,
        load: Default::default(),
    };
    m.save().await.unwrap();
    let r = root(&t, "Tolerant", 7);
    let tags = coll(&t, "Tolerant", "tags", 7);
    hset(&t, &r, "count", b"3.5");
    hset(&t, &r, "label", &[0xe2, 0x28, 0xa1]);
    hset(&t, &r, "level", b"");
    rpush(&t, &tags, &[0xff]);
    let before = (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &tags));

    let (warnings, guard) = Warnings::capture();
    let loaded = Tolerant::get(7).await.unwrap();
    drop(guard);
    assert!(warnings.all().is_empty(), "policy ignore: no warnings");
    assert_eq!((loaded.count, loaded.label.as_str()), (0, ""));
    assert_eq!(loaded.tags, ["a", "b"]);
    assert_eq!(loaded.level, 7, "`safe(default = …)` on a plain field");
    assert_eq!(failed(&loaded), ["count", "label", "level", "tags"]);
    assert_eq!(loaded.load.failures().count(), 4);

    loaded.save().await.unwrap();
    let after = (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &tags));
    assert_eq!(after, before, "untouched safe fields keep their bytes");

    let mut fix = loaded.clone();
    fix.count = 11;
    // assigning the fallback's own value needs the explicit release
    fix.label = String::new();
    assert!(fix.load.release("label"));
    assert_eq!(failed(&fix), ["level", "tags"]);
    fix.save().await.unwrap();
    let back = Tolerant::get(7).await.unwrap();
    assert_eq!((back.count, back.label.as_str()), (11, ""));
    assert_eq!(failed(&back), ["level", "tags"]);
    assert_eq!(list_of(&mut t.raw(), &tags), before.1);

    // the indexed field is not safe: corrupting it fails the load
    hset(&t, &r, "rank", b"high");
    let err = Tolerant::get(7).await;
    assert!(matches!(err, Err(Error::Decode { field, .. }) if field == "rank"));
    hset(&t, &r, "rank", b"1");

    // the key is never safe: a corrupt id in the id index is an error in every listing
    let bad_root = root(&t, "Tolerant", "x7");
    hset(&t, &bad_root, "$v", b"1");
    hset(&t, &bad_root, "rank", b"1");
    let _: () = redis::cmd("ZADD")
        .arg(format!("{}:{{Tolerant:0}}:ids", t.ns))
        .arg("+inf")
        .arg("x7")
        .query(&mut t.raw())
        .unwrap();
    let all = Tolerant::query().run_all().await;
    assert!(
        matches!(&all, Err(Error::Decode { field, key, .. }) if field == "code" && *key == bad_root),
        "{all:?}"
    );
}

#[maybe_async]
#[mode_test]
async fn lazy_defer_errors_on_access_and_keeps_bytes() {
    let t = common::env();
    let m = LazyDefer::sample("hello");
    m.save().await.unwrap();
    let r = root(&t, "LazyDefer", &m.id);
    let stops = coll(&t, "LazyDefer", "stops", &m.id);
    hset(&t, &r, "body", &[0x93, 0x01]);
    hset(&t, &r, "count", b"12x");
    rpush(&t, &stops, TRUNCATED_STOP);
    let before = (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &stops));

    // the model loads; nothing is decoded yet, nothing failed yet
    let mut loaded = LazyDefer::get(&m.id).await.unwrap();
    assert!(!loaded.body.is_decoded());
    assert!(loaded.failed_fields().is_empty());
    for (field, err) in [
        ("body", loaded.body.get().map(|_| ()).unwrap_err()),
        ("count", loaded.count.get().map(|_| ()).unwrap_err()),
        ("stops", loaded.stops.get().map(|_| ()).unwrap_err()),
    ] {
        match err {
            Error::Decode { key, field: f, .. } => {
                assert_eq!(f, field);
                let want = if field == "stops" { &stops } else { &r };
                assert_eq!(&key, want);
            }
            other => panic!("expected Decode for {field}, got {other:?}"),
        }
    }
    assert_eq!(failed(&loaded), ["body", "count", "stops"]);
    assert!(
        loaded.count.get_mut().is_err(),
        "still an error on every access"
    );

    // the same through every load path
    let bulk = LazyDefer::bulk()
        .run_get(std::slice::from_ref(&m.id.to_string()))
        .await
        .unwrap();
    assert!(bulk[0].body.get().is_err());
    let queried = LazyDefer::query().run_all().await.unwrap();
    assert!(queried[0].count.get().is_err());
    let tried = LazyDefer::try_get(&m.id).await.unwrap().unwrap();
    assert!(tried.stops.get().is_err());

    loaded.save().await.unwrap();
    let after = (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &stops));
    assert_eq!(after, before);

    // assigning repairs
    loaded.body.set(Big {
        text: "fixed".into(),
    });
    loaded.count.set(4);
    loaded.save().await.unwrap();
    let back = LazyDefer::get(&m.id).await.unwrap();
    assert_eq!(back.body.get().unwrap().text, "fixed");
    assert_eq!(*back.count.get().unwrap(), 4);
    assert!(back.stops.get().is_err());
    assert_eq!(failed(&back), ["stops"]);
}

#[maybe_async]
#[mode_test]
async fn lazy_ignore_and_log_fall_back_on_access() {
    let t = common::env();
    let a = LazyIgnore::sample("x");
    let b = LazyLog::sample("y");
    a.save().await.unwrap();
    b.save().await.unwrap();
    for (model, id) in [
        ("LazyIgnore", a.id.to_string()),
        ("LazyLog", b.id.to_string()),
    ] {
        let r = root(&t, model, &id);
        hset(&t, &r, "body", b"not msgpack \xc1");
        hset(&t, &r, "count", &[0xff]);
        rpush(&t, &coll(&t, model, "stops", &id), TRUNCATED_STOP);
    }

    let (warnings, guard) = Warnings::capture();
    let ia = LazyIgnore::get(&a.id).await.unwrap();
    assert_eq!(ia.body.get().unwrap(), &Big::default());
    assert_eq!(*ia.count.get().unwrap(), 0);
    assert_eq!(
        ia.stops.get().unwrap().len(),
        2,
        "the corrupt member is skipped"
    );
    assert_eq!(failed(&ia), ["body", "count", "stops"]);
    assert!(warnings.all().is_empty(), "ignore: silent");

    let lb = LazyLog::get(&b.id).await.unwrap();
    assert_eq!(*lb.count.get().unwrap(), 0);
    assert_eq!(lb.stops.get().unwrap().len(), 2);
    drop(guard);
    let logged = warnings.all();
    assert_eq!(
        logged.len(),
        2,
        "log: one warning per failed field: {logged:?}"
    );
    assert_eq!(failed(&lb), ["count", "stops"]);

    // a save keeps the bytes of the fields that fell back
    let r = root(&t, "LazyLog", &b.id);
    let stops = coll(&t, "LazyLog", "stops", &b.id);
    let before = (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &stops));
    lb.save().await.unwrap();
    assert_eq!(
        (hash_of(&mut t.raw(), &r), list_of(&mut t.raw(), &stops)),
        before
    );
    // get_mut takes the fallback as the value: the next save writes it
    let mut lb = lb;
    lb.stops.get_mut().unwrap().push(Stop::default());
    lb.save().await.unwrap();
    let back = LazyLog::get(&b.id).await.unwrap();
    assert_eq!(back.stops.get().unwrap().len(), 3);
    assert!(back.failed_fields().iter().all(|f| f.field != "stops"));
}

#[maybe_async]
#[mode_test]
async fn lazy_one_mib_value_is_not_decoded_by_loads_or_saves() {
    let t = common::env();
    let text = "z".repeat(1 << 20);
    let m = LazyDefer::sample(&text);
    m.save().await.unwrap();
    let r = root(&t, "LazyDefer", &m.id);
    let stored = hash_of(&mut t.raw(), &r)[&b"body".to_vec()].clone();
    assert!(stored.len() > 1 << 20);

    let before = big_decodes();
    let mut loaded = LazyDefer::get(&m.id).await.unwrap();
    let listed = LazyDefer::query().run_all().await.unwrap();
    let bulk = LazyDefer::bulk_get([&m.id]).await.unwrap();
    assert_eq!(
        big_decodes(),
        before,
        "loading does not decode the lazy field"
    );
    assert!(!loaded.body.is_decoded() && !listed[0].body.is_decoded());
    assert!(!bulk[0].body.is_decoded());
    assert!(loaded.body.stored_len() > 1 << 20);

    // saving an untouched lazy field writes its bytes back without decoding them
    loaded.title = "renamed".into();
    loaded.save().await.unwrap();
    assert_eq!(big_decodes(), before);
    assert_eq!(hash_of(&mut t.raw(), &r)[&b"body".to_vec()], stored);

    // the first access decodes once and caches
    assert_eq!(loaded.body.get().unwrap().text.len(), 1 << 20);
    assert_eq!(loaded.body.get().unwrap().text.len(), 1 << 20);
    assert_eq!(big_decodes(), before + 1);
    loaded.body.get_mut().unwrap().text.push('!');
    loaded.save().await.unwrap();
    let back = LazyDefer::get(&m.id).await.unwrap();
    assert_eq!(back.body.get().unwrap().text.len(), (1 << 20) + 1);
}

#[maybe_async]
#[mode_test]
async fn safe_field_absent_from_storage_takes_its_fallback_without_quarantine() {
    let t = common::env();
    let s = Sturdy::sample();
    s.save().await.unwrap();
    let r = root(&t, "Sturdy", &s.id);
    // as if written before the field existed
    let _: () = redis::cmd("HDEL")
        .arg(&r)
        .arg("level")
        .query(&mut t.raw())
        .unwrap();
    let loaded = Sturdy::get(&s.id).await.unwrap();
    assert_eq!(*loaded.level, 7);
    assert!(
        loaded.failed_fields().is_empty(),
        "nothing stored, nothing lost"
    );
    loaded.save().await.unwrap();
    assert_eq!(hash_of(&mut t.raw(), &r)[&b"level".to_vec()], b"7");
}

#[maybe_async]
#[mode_test]
async fn quarantined_bytes_never_reach_a_numeric_index() {
    let t = common::env();
    let g = Garage {
        id: rapyer::Id::new(),
        name: "north".into(),
        spot: Spot {
            floor: 3,
            label: "a".into(),
        }
        .into(),
    };
    g.save().await.unwrap();
    let r = root(&t, "Garage", &g.id);
    hset(&t, &r, "spot.floor", b"high");
    let before = hash_of(&mut t.raw(), &r);
    let index_key = format!("{}:{{Garage:0}}:i:spot.floor", t.ns);
    let index_before: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&index_key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut t.raw())
        .unwrap();

    let loaded = Garage::get(&g.id).await.unwrap();
    assert_eq!(*loaded.spot, Spot::default());
    assert_eq!(failed(&loaded), ["spot"]);
    // writing the quarantined text into the numeric index is refused before anything
    // is sent, for a save and for a copy under a new id alike
    let saved = loaded.save().await;
    assert!(
        matches!(&saved, Err(Error::InvalidInput(m)) if m.contains("spot.floor") && m.contains("high")),
        "{saved:?}"
    );
    let copied = loaded.duplicate().await;
    assert!(matches!(copied, Err(Error::InvalidInput(_))), "{copied:?}");
    assert_eq!(hash_of(&mut t.raw(), &r), before);
    let index_after: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&index_key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut t.raw())
        .unwrap();
    assert_eq!(index_after, index_before);
    let count = Garage::count().await.unwrap();
    assert_eq!(count, 1);

    // assigning repairs it, index included
    let mut fix = loaded;
    fix.spot.floor = 5;
    fix.save().await.unwrap();
    let found = Garage::find(Garage::fields().spot.floor.eq(5))
        .run_all()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
