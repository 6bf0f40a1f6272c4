//! Bulk insert / save / get / delete / duplicate: chunking, atomic chunks, exact
//! reporting, indexes and TTL kept as by single writes. Written once for both modes.

use super::common::{self, models::*};
use super::{Api, RunBulk, RunQuery, maybe_async, mode_test};
use rapyer::{BulkProgress, Error, Id, Model};

fn people(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| Person {
            id: Id::new(),
            age: (i % 90) as i64,
            status: ["active", "idle", "gone"][i % 3].into(),
            score: (i % 1000) as f64 / 7.0,
            active: i % 2 == 0,
            nick: (i % 5 == 0).then(|| format!("n{i}")),
            home: Home {
                city: ["Oslo", "Rome"][i % 2].into(),
                street: format!("street {i}"),
            },
            tags: vec![format!("t{}", i % 4), "all".into()],
        })
        .collect()
}

/// Index entries `check_person_indexes` counts for `models`.
fn entries(models: &[Person]) -> usize {
    models
        .iter()
        .map(|p| 5 + usize::from(p.nick.is_some()))
        .sum()
}

fn ids(models: &[Person]) -> Vec<String> {
    models.iter().map(|p| p.id.to_string()).collect()
}

#[maybe_async]
#[mode_test]
async fn bulk_insert_of_2500_in_chunks_is_readable_and_queryable() {
    let t = common::env();
    let all = people(2_500);
    let mut seen = Vec::new();
    let before = t.stats();
    let n = Person::bulk()
        .progress(|p: BulkProgress| seen.push((p.done, p.total)))
        .run_insert(&all)
        .await
        .unwrap();
    assert_eq!(n, 2_500);
    // ceil(2500 / 500) round trips, one per chunk
    if !common::single_server_budgets() {
        // a cluster chunks per slot: more, smaller chunks, still counted in order
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        assert_eq!(seen.last(), Some(&(2500, 2500)));
        seen = vec![
            (500, 2500),
            (1000, 2500),
            (1500, 2500),
            (2000, 2500),
            (2500, 2500),
        ];
    } else {
        assert_eq!((t.stats() - before).planned_round_trips(), 5);
    }
    assert_eq!(
        seen,
        vec![
            (500, 2500),
            (1000, 2500),
            (1500, 2500),
            (2000, 2500),
            (2500, 2500)
        ]
    );
    let count = Person::count().await.unwrap();
    assert_eq!(count, 2_500);

    // readable, in the order asked, ceil(n / chunk) round trips
    let mut wanted = ids(&all);
    wanted.reverse();
    let before = t.stats();
    let got = Person::bulk()
        .chunk_size(700)
        .run_get(&wanted)
        .await
        .unwrap();
    if common::single_server_budgets() {
        assert_eq!((t.stats() - before).planned_round_trips(), 4);
    }
    let mut expected = all.clone();
    expected.reverse();
    assert_eq!(got, expected);

    // queryable: the indexes hold exactly the stored values
    assert_eq!(common::check_person_indexes(&t), entries(&all));
    let f = Person::fields();
    let q = Person::find(f.age.gt(40) & f.status.eq("active"));
    let oracle = all
        .iter()
        .filter(|p| p.age > 40 && p.status == "active")
        .count();
    let n = q.run_count().await.unwrap();
    assert_eq!(n, oracle as u64);
}

#[maybe_async]
#[mode_test]
async fn an_existing_id_refuses_its_chunk_and_is_reported() {
    let t = common::env();
    let all = people(1_200);
    // an older document under the id of the 700th model (second chunk)
    let mut old = all[700].clone();
    old.age = 7_777;
    old.status = "old".into();
    old.insert().await.unwrap();

    let before = t.stats();
    let r = Person::bulk_insert(&all).await;
    if common::single_server_budgets() {
        assert_eq!((t.stats() - before).planned_round_trips(), 3);
    }
    let report = match r {
        Err(Error::Bulk(report)) => report,
        other => panic!("expected Error::Bulk, got {other:?}"),
    };
    let ids = ids(&all);
    assert_eq!(report.existing, vec![ids[700].clone()]);
    if common::single_server_budgets() {
        let mut applied = ids[..500].to_vec();
        applied.extend_from_slice(&ids[1000..]);
        assert_eq!(report.applied, applied);
        let not: Vec<String> = ids[500..1000]
            .iter()
            .filter(|id| **id != ids[700])
            .cloned()
            .collect();
        assert_eq!(report.not_applied, not);
    } else {
        // a cluster's chunks are per slot: the refused chunk is another set of ids, but
        // every id is still accounted for exactly once
        let mut every: Vec<String> = report.applied.clone();
        every.extend(report.not_applied.iter().cloned());
        every.extend(report.existing.iter().cloned());
        every.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(every, want);
    }
    assert!(report.in_doubt.is_empty() && report.cause.is_none());
    assert!(report.to_string().contains("1 already exist"));

    // nothing of the refused chunk was written; the existing document is untouched
    let count = Person::count().await.unwrap();
    assert_eq!(count, report.applied.len() as u64 + 1);
    let kept = Person::get(&ids[700]).await.unwrap();
    assert_eq!(kept, old);
    let applied: std::collections::HashSet<&String> = report.applied.iter().collect();
    let found = Person::bulk_get_existing(&ids[500..1000]).await.unwrap();
    let want: Vec<Person> = all[500..1000]
        .iter()
        .filter_map(|p| match p.id.to_string() {
            id if id == ids[700] => Some(old.clone()),
            id if applied.contains(&id) => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(found, want);
    let n = Person::find(Person::fields().status.eq("old"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    let mut stored: Vec<Person> = all
        .iter()
        .filter(|p| applied.contains(&p.id.to_string()))
        .cloned()
        .collect();
    stored.push(old);
    assert_eq!(common::check_person_indexes(&t), entries(&stored));
}

#[maybe_async]
#[mode_test]
async fn bulk_get_reports_or_skips_missing_ids() {
    let t = common::env();
    let all = people(10);
    Person::bulk_insert(&all).await.unwrap();
    let ghost_a = Id::new().to_string();
    let ghost_b = Id::new().to_string();
    let wanted = vec![
        all[3].id.to_string(),
        ghost_a.clone(),
        all[0].id.to_string(),
        ghost_b.clone(),
    ];
    let before = t.stats();
    let r = Person::bulk().chunk_size(3).run_get(&wanted).await;
    match r {
        Err(Error::Missing { ids, .. }) => assert_eq!(ids, vec![ghost_a, ghost_b]),
        other => panic!("expected Missing, got {other:?}"),
    }
    if common::single_server_budgets() {
        assert_eq!((t.stats() - before).planned_round_trips(), 2);
    }
    let got = Person::bulk()
        .skip_missing()
        .run_get(&wanted)
        .await
        .unwrap();
    assert_eq!(got, vec![all[3].clone(), all[0].clone()]);
    let got = Person::bulk_get_existing(&wanted).await.unwrap();
    assert_eq!(got.len(), 2);
    let none = Person::bulk_get(Vec::<String>::new()).await.unwrap();
    assert!(none.is_empty());
    // a malformed id is bad input: refused before anything is sent
    let before = t.stats();
    let r = Person::bulk_get([all[0].id.to_string(), String::new()]).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!((t.stats() - before).planned_round_trips(), 0);
}

#[maybe_async]
#[mode_test]
async fn bulk_delete_leaves_no_keys_and_no_index_entries() {
    let t = common::env();
    let all = people(1_100);
    Person::bulk_insert(&all).await.unwrap();
    let mut doomed = ids(&all);
    doomed.push(Id::new().to_string()); // never existed: not counted
    let mut seen = Vec::new();
    let before = t.stats();
    let n = Person::bulk()
        .progress(|p: BulkProgress| seen.push(p.done))
        .run_delete(&doomed)
        .await
        .unwrap();
    assert_eq!(n, 1_100);
    if common::single_server_budgets() {
        assert_eq!((t.stats() - before).planned_round_trips(), 3);
        assert_eq!(seen, vec![500, 1000, 1101]);
    }
    // only the per-shard index manifests (model metadata) remain
    let left: Vec<String> = t
        .keys()
        .into_iter()
        .filter(|k| !k.ends_with(":manifest"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let count = Person::count().await.unwrap();
    assert_eq!(count, 0);
    let again = Person::bulk_delete(ids(&all)).await.unwrap();
    assert_eq!(again, 0);
}

#[maybe_async]
#[mode_test]
async fn bulk_save_upserts_and_keeps_indexes_and_ttl() {
    let t = common::env();
    let mut all = people(900);
    Person::bulk_save(&all[..400]).await.unwrap();
    for p in all.iter_mut() {
        p.age += 1_000;
        p.tags = vec!["new".into()];
    }
    let n = Person::bulk_save(&all).await.unwrap();
    assert_eq!(n, 900);
    let count = Person::count().await.unwrap();
    assert_eq!(count, 900);
    assert_eq!(common::check_person_indexes(&t), entries(&all));
    let f = Person::fields();
    let young = Person::find(f.age.lt(1_000)).run_count().await.unwrap();
    assert_eq!(young, 0, "the old values' entries are gone");
    let back = Person::bulk_get(ids(&all)).await.unwrap();
    assert_eq!(back, all, "collections are replaced wholly");

    // TTL models: every key of every document gets the model's TTL
    let sessions: Vec<Session> = (0..600)
        .map(|i| Session {
            id: Id::new(),
            hits: i,
            log: vec!["a".into()],
            ..Session::default()
        })
        .collect();
    Session::bulk_save(&sessions).await.unwrap();
    let mut raw = t.raw();
    let keys = t.keys();
    let session_keys: Vec<&String> = keys.iter().filter(|k| k.contains("{Session")).collect();
    assert!(session_keys.len() > 1_200);
    for k in session_keys {
        if k.ends_with(":ids") {
            continue;
        }
        let ttl: i64 = redis::cmd("PTTL").arg(k).query(&mut raw).unwrap();
        assert!(ttl > 900_000 && ttl <= 1_000_000, "{k}: {ttl}");
    }
    let count = Session::count().await.unwrap();
    assert_eq!(count, 600);
}

#[maybe_async]
#[mode_test]
async fn duplicate_many_inserts_fresh_copies() {
    let _t = common::env();
    let proto = people(1).remove(0);
    proto.insert().await.unwrap();
    let copies = proto.duplicate_many(1_001).await.unwrap();
    assert_eq!(copies.len(), 1_001);
    let distinct: std::collections::HashSet<_> = copies.iter().map(|c| c.id.clone()).collect();
    assert_eq!(distinct.len(), 1_001);
    assert!(!distinct.contains(&proto.id));
    let count = Person::count().await.unwrap();
    assert_eq!(count, 1_002);
    let back = Person::bulk_get(ids(&copies)).await.unwrap();
    for (c, b) in copies.iter().zip(&back) {
        assert_eq!(c, b);
        assert_eq!(b.home, proto.home);
    }
}

#[maybe_async]
#[mode_test]
async fn bad_bulk_input_changes_nothing() {
    let t = common::env();
    let mut all = people(1_200);
    // the last model of the last chunk cannot be stored: nothing at all is written
    all[1_199].score = f64::NAN;
    let before = t.stats();
    let r = Person::bulk_insert(&all).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!((t.stats() - before).planned_round_trips(), 0);
    all[1_199].score = 1.0;
    // the same id twice in one call
    let mut twice = all[..3].to_vec();
    twice.push(all[1].clone());
    let r = Person::bulk_save(&twice).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    let r = Person::bulk().chunk_size(0).run_insert(&all).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert!(t.keys().is_empty(), "{:?}", t.keys());
    let zero = Person::bulk_insert(&[]).await.unwrap();
    assert_eq!(zero, 0);
}
