//! Indexes never drift: every write path keeps them equal to the stored values.
//! Written once for both modes.

use super::common::{self, check_person_indexes, models::*};
use super::{Api, Go, RunQuery, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

fn person(age: i64, status: &str) -> Person {
    Person {
        id: Id::new(),
        age,
        status: status.into(),
        score: age as f64 / 2.0,
        active: age % 2 == 0,
        nick: (age % 3 == 0).then(|| format!("n{age}")),
        home: Home {
            city: format!("c{}", age % 4),
            street: "s".into(),
        },
        tags: vec!["t".into()],
    }
}

#[maybe_async]
#[mode_test]
async fn saves_inserts_and_deletes_keep_indexes_exact() {
    let t = common::env();
    let mut people: Vec<Person> = (0..30)
        .map(|i| person(i, if i % 2 == 0 { "active" } else { "idle" }))
        .collect();
    for p in &people {
        p.insert().await.unwrap();
    }
    // 30 docs × (age, status, score, active, city) + 10 nicks
    assert_eq!(check_person_indexes(&t), 30 * 5 + 10);
    // overwrite with changed indexed values, including None and values with awkward bytes
    for p in people.iter_mut().take(10) {
        p.age += 100;
        p.status = "a\0b:{x}*\"ü".into();
        p.nick = None;
        p.home.city = String::new();
        p.save().await.unwrap();
    }
    check_person_indexes(&t);
    for p in people.iter().skip(20) {
        let deleted = p.delete().await.unwrap();
        assert!(deleted);
    }
    check_person_indexes(&t);
    let r = Person {
        score: f64::NAN,
        ..person(1, "x")
    }
    .save()
    .await;
    assert!(
        matches!(r, Err(Error::InvalidInput(_))),
        "NaN is refused in an indexed float"
    );
    check_person_indexes(&t);
}

#[maybe_async]
#[mode_test]
async fn atomic_ops_and_pipelines_keep_indexes_exact() {
    let t = common::env();
    let mut p = person(10, "active");
    p.insert().await.unwrap();
    p.atomic().age.incr(5).go().await.unwrap();
    p.atomic().status.append("-ish").go().await.unwrap();
    p.atomic().score.mul(3.0).go().await.unwrap();
    p.atomic().active.toggle().go().await.unwrap();
    p.atomic()
        .nick
        .set(Some("nicky".into()))
        .go()
        .await
        .unwrap();
    p.atomic().home.city.set("Rome".into()).go().await.unwrap();
    check_person_indexes(&t);
    p.atomic().nick.clear().go().await.unwrap();
    Person::at(&p.id).age.set(-3).go().await.unwrap();
    check_person_indexes(&t);
    // NaN cannot enter a numeric index, whichever op would produce it; nothing changes
    let before_score = p.score;
    let r = p.atomic().score.set(f64::NAN).go().await;
    assert!(
        matches!(r, Err(Error::Rejected { ref field, .. }) if field == "score"),
        "{r:?}"
    );
    p.atomic().score.set(f64::INFINITY).go().await.unwrap();
    let r = p.atomic().score.mul(0.0).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "inf * 0: {r:?}");
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored.score, f64::INFINITY);
    p.atomic().score.set(before_score).go().await.unwrap();
    check_person_indexes(&t);
    p.pipeline(|u, pipe| {
        pipe.add(u.age.incr(1));
        pipe.add(u.age.incr(1));
        pipe.add(u.status.set("busy".into()));
        Ok(())
    })
    .await
    .unwrap();
    check_person_indexes(&t);
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
    // a failing pipeline rolls back its index changes too
    let mut q = person(20, "idle");
    q.insert().await.unwrap();
    let before: Vec<(String, Vec<u8>)> = {
        let mut raw = t.raw();
        t.keys()
            .into_iter()
            .map(|k| {
                let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
                (k, d)
            })
            .collect()
    };
    let r = global_pipeline(|pipe| {
        let (pa, qa) = (p.atomic(), q.atomic());
        pipe.add(pa.age.incr(1));
        pipe.add(pa.status.set("moved".into()));
        pipe.add(qa.home.city.set("Paris".into()));
        pipe.add(qa.age.incr(i64::MAX)); // overflow: refused
        Ok(())
    })
    .await;
    // on a cluster p and q may sit in two slots: refused before sending then
    let cross = common::cluster_mode() && matches!(r, Err(Error::CrossSlot { .. }));
    assert!(matches!(r, Err(Error::Rejected { .. })) || cross, "{r:?}");
    let after: Vec<(String, Vec<u8>)> = {
        let mut raw = t.raw();
        t.keys()
            .into_iter()
            .map(|k| {
                let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
                (k, d)
            })
            .collect()
    };
    assert_eq!(after, before, "documents and indexes unchanged");
    check_person_indexes(&t);
}

#[maybe_async]
#[mode_test]
async fn adding_an_index_to_existing_data_needs_a_reindex() {
    let t = common::env();
    for i in 0..1100 {
        PetV1 {
            id: Id::new(),
            name: format!("p{}", i % 10),
            age: i % 30,
        }
        .insert()
        .await
        .unwrap();
    }
    let r = PetV2::find(PetV2::fields().age.lt(10)).run_count().await;
    assert!(
        matches!(r, Err(Error::StaleIndex { .. })),
        "a stale index is a typed error: {r:?}"
    );
    // the message says the manifest is missing (no empty backticks)
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("is missing") && !msg.contains("``"), "{msg}");
    let mut reports = Vec::new();
    let last = PetV2::reindex(|p| reports.push(p.clone())).await.unwrap();
    assert_eq!(
        (last.cursor.shard, last.cursor.after.clone()),
        (2, None),
        "done: past the last shard"
    );
    // 1100 documents over 2 shards (by id hash: about 550 each, not exactly) in batches
    // of 500: at least one shard takes two batches, the first reported with a cursor
    // inside the shard, each shard's last with the next shard's start
    let batches: usize = reports.iter().filter(|p| p.cursor.after.is_some()).count();
    assert!(
        batches >= 1 && reports.len() >= 3,
        "1100 documents over 2 shards in batches of 500, each shard's last batch reported with its end: {reports:?}"
    );
    // each step is reported once
    for w in reports.windows(2) {
        assert_ne!(
            (w[0].shard, w[0].done, w[0].total),
            (w[1].shard, w[1].done, w[1].total),
            "a progress line repeated: {reports:?}"
        );
    }
    let done: usize = reports
        .iter()
        .filter(|p| p.cursor.after.is_none())
        .map(|p| p.done)
        .sum();
    assert_eq!(done, 1100);
    let n = PetV2::find(PetV2::fields().age.lt(10))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, (0..1100).filter(|i| i % 30 < 10).count() as u64);
    let n = PetV2::find(PetV2::fields().name.eq("p3") & PetV2::fields().age.ge(20))
        .run_count()
        .await
        .unwrap();
    assert_eq!(
        n,
        (0..1100).filter(|i| i % 10 == 3 && i % 30 >= 20).count() as u64
    );
    // every document carries the fingerprint it is indexed with
    {
        let mut raw = t.raw();
        for root in t.keys().iter().filter(|k| k.contains("}:d:")).take(20) {
            let stamp: String = redis::cmd("HGET")
                .arg(root)
                .arg("$i")
                .query(&mut raw)
                .unwrap();
            assert_eq!(stamp, "name:s2,age:n");
        }
    }
    // dropping an index: queries on the rest need the manifest updated, the old key goes
    let r = PetV3::find(PetV3::fields().age.eq(3)).run_count().await;
    assert!(matches!(r, Err(Error::StaleIndex { .. })));
    PetV3::reindex(|_| {}).await.unwrap();
    let n = PetV3::find(PetV3::fields().age.eq(3))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, (0..1100).filter(|i| i % 30 == 3).count() as u64);
    assert!(
        t.keys().iter().all(|k| !k.ends_with(":i:name")),
        "the dropped index's keys are gone"
    );
}

/// Entries of Post's collection indexes equal the stored elements exactly.
fn check_post_indexes(t: &common::TestEnv) {
    use std::collections::BTreeSet;
    let mut raw = t.raw();
    for (field, kind) in [("tags", "list"), ("labels", "set")] {
        let mut expected = BTreeSet::new();
        for root in t.keys().iter().filter(|k| k.contains("{Post:0}:d:")) {
            let id = root.split(":d:").nth(1).unwrap();
            let coll = format!("{}:{{Post:0}}:c:{field}:{id}", t.ns);
            let items: Vec<Vec<u8>> = if kind == "list" {
                redis::cmd("LRANGE")
                    .arg(&coll)
                    .arg(0)
                    .arg(-1)
                    .query(&mut raw)
                    .unwrap()
            } else {
                redis::cmd("SMEMBERS").arg(&coll).query(&mut raw).unwrap()
            };
            for item in items {
                expected.insert(common::lex_entry(&item, id));
            }
        }
        let got: Vec<Vec<u8>> = redis::cmd("ZRANGE")
            .arg(format!("{}:{{Post:0}}:i:{field}", t.ns))
            .arg(0)
            .arg(-1)
            .query(&mut raw)
            .unwrap();
        assert_eq!(
            got.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "index {field}"
        );
    }
}

#[maybe_async]
#[mode_test]
async fn string_collections_are_indexed_element_by_element() {
    let t = common::env();
    let mut a = Post {
        id: Id::new(),
        title: "a".into(),
        tags: vec!["rust".into(), "redis".into(), "rust".into()],
        labels: ["x".to_string()].into(),
    };
    let b = Post {
        id: Id::new(),
        title: "b".into(),
        tags: vec!["go".into()],
        labels: ["x".to_string(), "y\0z".to_string()].into(),
    };
    a.insert().await.unwrap();
    b.insert().await.unwrap();
    check_post_indexes(&t);
    let f = Post::fields();
    let rust = Post::find(f.tags.contains("rust")).run_all().await.unwrap();
    assert_eq!(rust, vec![a.clone()]);
    let n = Post::find(f.labels.contains("x"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = Post::find(f.labels.contains("y\0z") & !f.tags.contains("rust"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    // atomic ops on the collections move their entries
    a.atomic().tags.push("db".into()).go().await.unwrap();
    a.atomic().tags.remove("rust".into(), 0).go().await.unwrap();
    a.atomic().labels.add("new".into()).go().await.unwrap();
    a.atomic().labels.remove("x".into()).go().await.unwrap();
    check_post_indexes(&t);
    let n = Post::find(f.tags.contains("rust"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 0);
    let found = Post::find(f.tags.contains("db") & f.labels.contains("new"))
        .run_all()
        .await
        .unwrap();
    assert_eq!(found, vec![a.clone()]);
    a.pipeline(|u, p| {
        p.add(u.tags.clear());
        p.add(u.labels.add("z".into()));
        Ok(())
    })
    .await
    .unwrap();
    check_post_indexes(&t);
    a.tags = vec!["again".into()];
    a.save().await.unwrap();
    check_post_indexes(&t);
    b.delete().await.unwrap();
    check_post_indexes(&t);
    let n = Post::find(f.labels.contains("x"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// Entries of every `Listing` index equal what is stored, exactly (both shards).
fn check_listing_indexes(t: &common::TestEnv) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let mut raw = t.raw();
    let mut lex: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut prices: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for root in t
        .keys()
        .iter()
        .filter(|k| k.contains("{Listing:") && k.contains("}:d:"))
    {
        let (tag, id) = root.split_once(":d:").unwrap();
        let stored: std::collections::HashMap<String, Vec<u8>> =
            redis::cmd("HGETALL").arg(root).query(&mut raw).unwrap();
        let price: f64 = std::str::from_utf8(&stored["price"])
            .unwrap()
            .parse()
            .unwrap();
        prices
            .entry(format!("{tag}:i:price"))
            .or_default()
            .insert(id.to_owned(), price);
        if let Some(city) = stored.get("city") {
            lex.entry(format!("{tag}:i:city"))
                .or_default()
                .insert(common::lex_entry(city, id));
        }
        let tags: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(format!("{tag}:c:tags:{id}"))
            .arg(0)
            .arg(-1)
            .query(&mut raw)
            .unwrap();
        let labels: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
            .arg(format!("{tag}:c:labels:{id}"))
            .query(&mut raw)
            .unwrap();
        for (field, items) in [("tags", tags), ("labels", labels)] {
            let set = lex.entry(format!("{tag}:i:{field}")).or_default();
            set.extend(items.iter().map(|v| common::lex_entry(v, id)));
        }
    }
    common::compare_indexes(t, "Listing", &["price"], prices, lex)
}

fn listing(i: i64) -> Listing {
    Listing {
        id: Id::new(),
        notes: vec![format!("note {i}"), "n".into()],
        tags: (0..(i % 3)).map(|k| format!("t{k}")).collect(),
        price: i * 10 - 20,
        attrs: [("k".to_string(), format!("v{i}"))].into(),
        labels: [format!("l{}", i % 2), "all".to_string()].into(),
        city: (i % 2 == 0).then(|| format!("c{}", i % 4)),
    }
}

#[maybe_async]
#[mode_test]
async fn every_write_path_keeps_indexes_in_any_declaration_order_exact() {
    let t = common::env();
    let mut all: Vec<Listing> = (0..12).map(listing).collect();
    for l in &all[..4] {
        l.insert().await.unwrap();
    }
    Listing::bulk_insert(&all[4..8]).await.unwrap();
    Listing::bulk_save(&all[8..]).await.unwrap();
    // per listing: its price, each label, each distinct tag, its city if any
    let expected = |ls: &[Listing]| {
        ls.iter()
            .map(|l| {
                let tags: std::collections::HashSet<&String> = l.tags.iter().collect();
                1 + l.labels.len() + tags.len() + usize::from(l.city.is_some())
            })
            .sum::<usize>()
    };
    assert_eq!(check_listing_indexes(&t), expected(&all));
    // the first write into each shard recorded the indexes the shard is kept with
    let mut raw = t.raw();
    for shard in 0..2 {
        let docs: u64 = redis::cmd("ZCARD")
            .arg(format!("{}:{{Listing:{shard}}}:ids", t.ns))
            .query(&mut raw)
            .unwrap();
        if docs == 0 {
            continue; // (12 random ids all in one shard: rare, but no manifest then)
        }
        let manifest: Option<String> = redis::cmd("HGET")
            .arg(format!("{}:{{Listing:{shard}}}:manifest", t.ns))
            .arg("indexes")
            .query(&mut raw)
            .unwrap();
        assert_eq!(
            manifest.as_deref(),
            Some("tags:l2,price:n,labels:e2,city:s2"),
            "shard {shard}"
        );
    }
    // every indexed value changes, through single and bulk saves
    for (i, l) in all.iter_mut().enumerate() {
        l.price += 1;
        l.tags = vec!["new".into(), "new".into(), format!("x{i}")];
        l.labels = ["other".to_string()].into();
        l.city = if l.city.is_some() {
            None
        } else {
            Some("moved".into())
        };
        l.notes.clear();
    }
    for l in &all[..6] {
        l.save().await.unwrap();
    }
    Listing::bulk_save(&all[6..]).await.unwrap();
    assert_eq!(check_listing_indexes(&t), expected(&all));
    let got = Listing::get(&all[7].id).await.unwrap();
    assert_eq!(got, all[7]);
    let f = Listing::fields();
    let n = Listing::find(f.tags.contains("new") & f.city.eq("moved"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, all.iter().filter(|l| l.city.is_some()).count() as u64);
    let cheap = Listing::find(f.price.lt(0)).run_all().await.unwrap();
    assert_eq!(cheap.len(), 2);
    // deletes, single and bulk, take every entry with them
    Listing::delete_id(&all[0].id).await.unwrap();
    let gone: Vec<String> = all[1..5].iter().map(|l| l.id.to_string()).collect();
    let deleted = Listing::bulk_delete(&gone).await.unwrap();
    assert_eq!(deleted, 4);
    assert_eq!(check_listing_indexes(&t), expected(&all[5..]));
    let count = Listing::count().await.unwrap();
    assert_eq!(count, 7);
}

/// How many of `docs` live, with 5 shards, in shards 0 and 1 but came from the other.
fn moved_into_old(docs: &[RingV1]) -> u64 {
    let two = |id: &str| shard_of(id, 2);
    docs.iter()
        .filter(|d| {
            let (id, new) = (d.id.to_string(), shard_of(&d.id.to_string(), 5));
            new < 2 && new != two(&id)
        })
        .count() as u64
}

/// rapyer's documented shard function (README: `fmix64(fnv1a64(id)) mod S`).
fn shard_of(id: &str, shards: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h % shards
}

/// A model whose shard count changed (2 → 5) finds its old documents only after
/// `reshard_from(2)`, which moves them with their index entries; running it again moves
/// nothing; no key is left in a shard it no longer uses.
#[maybe_async]
#[mode_test]
async fn reshard_moves_documents_to_their_new_shards() {
    let t = common::env();
    let old: Vec<RingV1> = (0..120)
        .map(|i| RingV1 {
            id: Id::new(),
            level: i % 4,
            tags: vec![format!("t{i}")],
        })
        .collect();
    RingV1::bulk_insert(&old).await.unwrap();
    let mut missing = 0;
    for r in &old {
        if RingV2::try_get(&r.id).await.unwrap().is_none() {
            missing += 1;
        }
    }
    assert!(
        missing > 50,
        "most documents are in another shard now: {missing}"
    );
    let mut reports = Vec::new();
    let done = RingV2::reshard_from(2, 25, |p| reports.push(p.clone()))
        .await
        .unwrap();
    assert_eq!(done.moved + done.kept, 120);
    assert_eq!(done.moved as usize, missing);
    assert!(
        reports.len() >= 3,
        "progress after each batch: {}",
        reports.len()
    );
    for r in &old {
        let got = RingV2::get(&r.id).await.unwrap();
        assert_eq!((got.level, got.tags.clone()), (r.level, r.tags.clone()));
    }
    let count = RingV2::count().await.unwrap();
    assert_eq!(count, 120);
    for level in 0..4 {
        let n = RingV2::find(RingV2::fields().level.eq(level))
            .run_count()
            .await
            .unwrap();
        assert_eq!(n, 30, "level {level}");
    }
    // every key sits in the shard its id has now
    for key in t.keys() {
        if let Some((tag, id)) = key.split_once("}:d:") {
            let shard: u32 = tag.rsplit_once(':').unwrap().1.parse().unwrap();
            let again = RingV2::try_get(id).await.unwrap();
            assert!(again.is_some() && shard < 5, "{key}");
        }
    }
    let again = RingV2::reshard_from(2, 25, |_| {}).await.unwrap();
    assert_eq!(again.moved, 0, "nothing left to move");
    assert_eq!(
        again.kept,
        120 - done.moved + moved_into_old(&old),
        "{again:?}"
    );
    let r = RingV2::reshard_from(0, 25, |_| {}).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
}
