//! Standalone structures opened by name (`Named::named`): created by a write, empty
//! until then, reopened with their type tag checked (`WrongKind`, nothing changed),
//! listed and deleted, in pipelines with documents, and a user kind registered. Written
//! once for both modes.

use std::time::Duration;

use super::common::{self, models::*, structures::Tally};
use super::structures::dump_all;
use super::{Api, Go, delete_structure, maybe_async, mode_test, structures};
use rapyer::Named;
use rapyer::{
    BloomFilter, CircularBuffer, Counter, Error, Id, MaxFirst, Model, PriorityQueue, RateLimiter,
    TokenBucket,
};

/// Every built-in kind by name: reads of a name never written are empty and create
/// nothing; the first write creates the root (tag), the name and the key; the handle
/// reopened later (or by another client) sees the same data; `structures()` lists each
/// with its tag and kind; `delete_structure` removes every key.
#[maybe_async]
#[mode_test]
async fn named_structures_are_created_by_their_first_write() {
    let t = common::env();
    let hits = Counter::named("hits");
    let n = hits.get().go().await.unwrap();
    assert_eq!(n, 0);
    let jobs = PriorityQueue::<Job, i64>::named("jobs");
    let none = jobs.pop().go().await.unwrap();
    assert_eq!(none, None);
    assert_eq!(t.keys(), Vec::<String>::new(), "reads create nothing");

    hits.increment(i64::MAX).go().await.unwrap();
    jobs.push(
        Job {
            name: "b".into(),
            n: 2,
        },
        5,
    )
    .go()
    .await
    .unwrap();
    jobs.push(
        Job {
            name: "a".into(),
            n: 1,
        },
        5,
    )
    .go()
    .await
    .unwrap();
    CircularBuffer::<String, 2>::named("recent")
        .push("x".into())
        .go()
        .await
        .unwrap();
    BloomFilter::<String, 1000, 10_000>::named("seen")
        .add("u1".into())
        .go()
        .await
        .unwrap();
    let d = RateLimiter::<TokenBucket<10, 1000, 3>>::named("api")
        .check()
        .go()
        .await
        .unwrap();
    assert!(d.allowed && d.remaining == 2, "{d:?}");

    let n = Counter::named("hits").get().go().await.unwrap();
    assert_eq!(n, i64::MAX, "exact, reopened by name");
    let first = PriorityQueue::<Job, i64>::named("jobs")
        .pop()
        .go()
        .await
        .unwrap();
    assert_eq!(
        first.map(|(j, p)| (j.name, p)),
        Some(("b".to_string(), 5)),
        "ties FIFO"
    );
    let seen = BloomFilter::<String, 1000, 10_000>::named("seen")
        .contains("u1".into())
        .go()
        .await
        .unwrap();
    assert!(seen);

    let listed = structures().await.unwrap();
    let tags: Vec<(&str, &str, &str)> = listed
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.tag.as_str(),
                s.kind.as_ref().map_or("", |k| k.name.as_str()),
            )
        })
        .collect();
    let (m, k) = BloomFilter::<String, 1000, 10_000>::shape();
    let bloom = format!("BloomFilter(m={m},k={k})");
    assert_eq!(
        tags,
        [
            ("api", "RateLimiter(token_bucket)", "RateLimiter"),
            ("hits", "Counter", "Counter"),
            ("jobs", "PriorityQueue(i64,min)", "PriorityQueue"),
            ("recent", "CircularBuffer", "CircularBuffer"),
            ("seen", bloom.as_str(), "BloomFilter"),
        ]
    );
    // root, key and the names' id indexes (16 shards: some share one)
    assert!(
        t.keys().iter().all(|k| k.contains("{rapyer.named:")),
        "{:?}",
        t.keys()
    );

    for name in ["api", "hits", "jobs", "recent", "seen"] {
        let existed = delete_structure(name).await.unwrap();
        assert!(existed, "{name}");
    }
    let again = delete_structure("hits").await.unwrap();
    assert!(!again);
    assert_eq!(t.keys(), Vec::<String>::new(), "delete removes every key");
    let listed = structures().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

/// A name created as one kind and opened as another is `WrongKind` for reads and writes
/// alike, naming both tags, with every key byte for byte unchanged: another kind, the
/// same kind with another priority type or order, a filter of another shape.
#[maybe_async]
#[mode_test]
async fn opening_a_name_as_another_kind_is_wrong_kind() {
    let t = common::env();
    PriorityQueue::<String, i64>::named("jobs")
        .push("a".into(), 1)
        .go()
        .await
        .unwrap();
    BloomFilter::<String, 1000, 10_000>::named("seen")
        .add("u".into())
        .go()
        .await
        .unwrap();
    let before = dump_all(&t);
    let r = CircularBuffer::<String, 4>::named("jobs")
        .push("x".into())
        .go()
        .await;
    assert!(
        matches!(&r, Err(Error::WrongKind { name, expected, found, .. })
            if name == "jobs" && expected == "CircularBuffer" && found == "PriorityQueue(i64,min)"),
        "{r:?}"
    );
    let r = CircularBuffer::<String, 4>::named("jobs").all().go().await;
    assert!(
        matches!(r, Err(Error::WrongKind { .. })),
        "reads too: {r:?}"
    );
    let r = PriorityQueue::<String, f64>::named("jobs").pop().go().await;
    assert!(matches!(r, Err(Error::WrongKind { .. })), "{r:?}");
    let r = PriorityQueue::<String, i64, MaxFirst>::named("jobs")
        .len()
        .go()
        .await;
    assert!(matches!(r, Err(Error::WrongKind { .. })), "{r:?}");
    let r = BloomFilter::<String, 2000, 10_000>::named("seen")
        .add("v".into())
        .go()
        .await;
    assert!(matches!(r, Err(Error::WrongKind { .. })), "{r:?}");
    let r = Counter::named("jobs").increment(1).go().await;
    assert!(matches!(r, Err(Error::WrongKind { .. })), "{r:?}");
    assert_eq!(dump_all(&t), before, "nothing changed");
    let len = PriorityQueue::<String, i64>::named("jobs")
        .len()
        .go()
        .await
        .unwrap();
    assert_eq!(len, 1);
}

/// A first write that fails leaves no trace (the created root and name are undone with
/// it); a name of 0 or 1,025 bytes is `InvalidInput`; a pipeline holds named structures
/// and documents together, all or nothing.
#[maybe_async]
#[mode_test]
async fn named_structures_join_plans_all_or_nothing() {
    let t = common::env();
    let r = Counter::named("c").decrement(i64::MIN).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(
        t.keys(),
        Vec::<String>::new(),
        "the failed first write left nothing"
    );
    let r = Counter::named("").increment(1).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    let r = Counter::named("x".repeat(1025)).increment(1).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");

    let g = Gauge::default();
    g.save().await.unwrap();
    let id = g.id.clone();
    let cluster = common::cluster_mode();
    let (n, len) = super::global_pipeline(|p| {
        if cluster {
            // names and the document live on different slots there
            p.per_slot();
        }
        let n = p.add(Counter::named("c").increment(2));
        let len = p.add(PriorityQueue::<String, i64>::named("q").push("j".into(), 1));
        p.add(Gauge::at(&id).big.incr(1));
        Ok((n, len))
    })
    .await
    .unwrap();
    assert_eq!((n.get(), len.get()), (Some(&2), Some(&1)));
    let new = same_slot_name("c").await;
    let before = dump_all(&t);
    let r = super::global_pipeline(|p| {
        p.add(Counter::named("c").increment(5));
        p.add(Counter::named(new.as_str()).increment(1));
        p.add(Counter::named("c").increment(i64::MAX));
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(
        dump_all(&t),
        before,
        "nothing of the failed pipeline, no new name"
    );
    let r = super::global_pipeline(|p| {
        p.add(Counter::named("c").increment(1));
        p.add(Gauge::at(Id::new()).big.incr(1));
        Ok(())
    })
    .await;
    let refused = matches!(r, Err(Error::NotFound { .. }))
        || (cluster && matches!(r, Err(Error::CrossSlot { .. })));
    assert!(refused, "{r:?}");
    assert_eq!(dump_all(&t), before);
}

/// A name whose structure shares the slot of `name`'s (any name on one server; on a
/// cluster, found by asking: a plan across slots is refused before sending).
#[maybe_async]
async fn same_slot_name(name: &str) -> String {
    for i in 0..1000 {
        let candidate = format!("n{i}");
        let r = super::global_pipeline(|p| {
            p.add(Counter::named(name).get());
            p.add(Counter::named(candidate.as_str()).get());
            Ok(())
        })
        .await;
        if !matches!(r, Err(Error::CrossSlot { .. })) {
            r.unwrap();
            return candidate;
        }
    }
    panic!("no name shares a slot with {name}");
}

/// A kind of your own opens by name through `Named::named` and is tagged with its
/// type name; registered, `kinds()` lists it and listings name its kind. A blocking pop
/// waits on a named queue as on a field.
#[maybe_async]
#[mode_test]
async fn user_kinds_register_and_named_queues_pop_blocking() {
    let _t = common::env();
    rapyer::register_kind::<Tally>();
    rapyer::register_kind::<Tally>();
    let kinds = rapyer::kinds();
    let names: Vec<&str> = kinds.iter().map(|k| k.name.as_str()).collect();
    for built_in in [
        "BloomFilter",
        "CircularBuffer",
        "Counter",
        "PriorityQueue",
        "RateLimiter",
    ] {
        assert!(names.contains(&built_in), "{names:?}");
    }
    assert_eq!(
        names.iter().filter(|n| **n == "Tally").count(),
        1,
        "{names:?}"
    );
    let tally = Tally::named("t");
    let n = tally.add(3).go().await.unwrap();
    assert_eq!(n, 3);
    let listed = structures().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tag, "Tally");
    assert_eq!(
        listed[0].kind.as_ref().map(|k| k.storage),
        Some(rapyer::Storage::Bytes)
    );
    let r = Counter::named("t").get().go().await;
    assert!(matches!(r, Err(Error::WrongKind { .. })), "{r:?}");

    let q = PriorityQueue::<String, i64>::named("work");
    q.push("now".into(), 1).go().await.unwrap();
    let got = q.pop_blocking(Duration::from_secs(1)).go().await.unwrap();
    assert_eq!(got, Some(("now".to_string(), 1)));
    let empty = q
        .pop_blocking(Duration::from_millis(50))
        .go()
        .await
        .unwrap();
    assert_eq!(empty, None, "times out empty");
}

/// Every operation of every built-in kind, on named structures: each one runs (the
/// first write creating the name) and gives what the same operation on a field gives.
#[maybe_async]
#[mode_test]
async fn every_operation_of_every_kind_runs_by_name() {
    let _t = common::env();
    let c = Counter::named("count");
    let v = c.increment(5).go().await.unwrap();
    assert_eq!(v, 5);
    let v = c.decrement(2).go().await.unwrap();
    assert_eq!(v, 3);
    let v = c.get().go().await.unwrap();
    assert_eq!(v, 3);
    let v = c.get_and_reset().go().await.unwrap();
    assert_eq!(v, 3);
    c.increment(1).go().await.unwrap();
    c.reset().go().await.unwrap();
    let v = c.get().go().await.unwrap();
    assert_eq!(v, 0);

    let r = CircularBuffer::<String, 3>::named("ring");
    r.push("a".into()).go().await.unwrap();
    r.push_many(["b".to_string(), "c".into(), "d".into()])
        .go()
        .await
        .unwrap();
    let v = r.latest(2).go().await.unwrap();
    assert_eq!(v, ["d", "c"]);
    let v = r.oldest().go().await.unwrap();
    assert_eq!(v, Some("b".to_string()));
    let v = r.all().go().await.unwrap();
    assert_eq!(v, ["b", "c", "d"]);
    let v = r.len().go().await.unwrap();
    assert_eq!(v, 3);
    r.clear().go().await.unwrap();
    let v = r.len().go().await.unwrap();
    assert_eq!(v, 0);

    let q = PriorityQueue::<String, i64>::named("queue");
    q.push("x".into(), 3).go().await.unwrap();
    q.push_many([("y".to_string(), 1), ("z".into(), 2), ("x".into(), 0)])
        .go()
        .await
        .unwrap();
    let v = q.peek().go().await.unwrap();
    assert_eq!(v, Some(("x".to_string(), 0)));
    let v = q.peek_many(2).go().await.unwrap();
    assert_eq!(v.len(), 2);
    let v = q.remove("x".into()).go().await.unwrap();
    assert_eq!(v, 2, "both entries of x");
    let v = q.update_priority("z".into(), 0).go().await.unwrap();
    assert_eq!(v, 1);
    let v = q.pop().go().await.unwrap();
    assert_eq!(v, Some(("z".to_string(), 0)));
    q.push("w".into(), 9).go().await.unwrap();
    let v = q.pop_many(1).go().await.unwrap();
    assert_eq!(v, [("y".to_string(), 1)]);
    let v = q.all().go().await.unwrap();
    assert_eq!(v, [("w".to_string(), 9)]);
    let v = q.len().go().await.unwrap();
    assert_eq!(v, 1);
    q.clear().go().await.unwrap();
    let v = q.len().go().await.unwrap();
    assert_eq!(v, 0);

    let b = BloomFilter::<u64, 1000, 10_000>::named("bloom");
    let v = b.add(1).go().await.unwrap();
    assert!(v);
    let v = b.add_many([1, 2, 3]).go().await.unwrap();
    assert_eq!(v, [false, true, true]);
    let v = b.contains(2).go().await.unwrap();
    assert!(v);
    let v = b.contains_many([3, 1_000_001]).go().await.unwrap();
    assert!(v[0], "an item added is found");
    let n = b.len_estimate().go().await.unwrap();
    assert!((2..=4).contains(&n), "{n}");
    let v = b.saturation().go().await.unwrap();
    assert!(v > 0.0);
    b.clear().go().await.unwrap();
    let v = b.contains(2).go().await.unwrap();
    assert!(!v);

    let l = RateLimiter::<TokenBucket<1, 60_000, 2>>::named("limit");
    let v = l.check().go().await.unwrap();
    assert!(v.allowed);
    let v = l.check_n(2).go().await.unwrap();
    assert!(!v.allowed);
    l.reset().go().await.unwrap();
    let v = l.check_n(2).go().await.unwrap();
    assert!(v.allowed);

    let names: Vec<String> = structures()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        ["bloom", "count", "limit", "queue", "ring"],
        "emptied ones stay named"
    );
}
