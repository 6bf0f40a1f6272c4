//! `rapyer::PriorityQueue` as a field: layout, every operation, order at the edges of
//! the priority types, ties first in first out, duplicates, refused input, blocking
//! pops. Written once for both modes.

use std::time::Duration;

use super::common::{self, models::*};
use super::structures::key_with;
use super::{Api, Go, maybe_async, mode_test};
use rapyer::{Error, Id, Model, PriorityQueue};

fn job(name: &str, n: u64) -> Job {
    Job {
        name: name.into(),
        n,
    }
}

fn names(entries: &[(String, i64)]) -> Vec<&str> {
    entries.iter().map(|(v, _)| v.as_str()).collect()
}

fn dump(t: &common::TestEnv, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(&mut t.raw()).unwrap()
}

/// Insert and load, the stored layout (a ZSET, every score 0), push/pop/peek in
/// priority order with ties first in first out, mirrored into the local copy; `i64`
/// priorities at and beyond 2^53 keep their exact order.
#[maybe_async]
#[mode_test]
async fn priority_queues_pop_by_priority_with_ties_in_push_order() {
    let t = common::env();
    let mut queue = PriorityQueue::new();
    queue.push("m9".to_string(), 0);
    queue.push("first".to_string(), i64::MIN);
    queue.push("m8".to_string(), 0);
    let mut j = Jobs {
        id: Id::new(),
        owner: "ann".into(),
        queue,
        ..Jobs::default()
    };
    j.insert().await.unwrap();
    let key = key_with(&t, ":c:queue:");
    let mut raw = t.raw();
    let ty: String = redis::cmd("TYPE").arg(&key).query(&mut raw).unwrap();
    assert_eq!(ty, "zset");
    let scored: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut raw)
        .unwrap();
    assert_eq!(scored.len(), 3);
    assert!(scored.iter().all(|(_, s)| *s == 0.0), "scores are all 0");
    let loaded = Jobs::get(&j.id).await.unwrap();
    assert_eq!(loaded, j, "loads as saved");

    // pushes: equal priorities keep push order, whichever handle pushed (the values
    // of equal priority are pushed in descending byte order: the order is not theirs)
    let big = 1i64 << 53;
    let n = j
        .atomic()
        .queue
        .push("late".into(), big + 1)
        .go()
        .await
        .unwrap();
    assert_eq!(n, 4);
    Jobs::at(&j.id)
        .queue
        .push("early".into(), big)
        .go()
        .await
        .unwrap();
    let n = j
        .atomic()
        .queue
        .push_many([
            ("m7".into(), 0),
            ("last".into(), i64::MAX),
            ("m6".into(), 0),
        ])
        .go()
        .await
        .unwrap();
    assert_eq!(n, 8);
    Jobs::at(&j.id)
        .queue
        .push("m5".into(), 0)
        .go()
        .await
        .unwrap();
    let all = Jobs::at(&j.id).queue.all().go().await.unwrap();
    assert_eq!(
        names(&all),
        [
            "first", "m9", "m8", "m7", "m6", "m5", "early", "late", "last"
        ]
    );
    assert_eq!(all[6].1, big);
    assert_eq!(all[7].1, big + 1, "beyond 2^53 stays exact");
    let local: Vec<&str> = j.queue.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(
        local,
        ["first", "m9", "m8", "m7", "m6", "late", "last"],
        "pushes through the copy are mirrored into it"
    );

    // peeks leave the queue alone; pops take the head
    let head = Jobs::at(&j.id).queue.peek().go().await.unwrap();
    assert_eq!(head, Some(("first".to_string(), i64::MIN)));
    let three = Jobs::at(&j.id).queue.peek_many(3).go().await.unwrap();
    assert_eq!(names(&three), ["first", "m9", "m8"]);
    let none = Jobs::at(&j.id).queue.peek_many(0).go().await.unwrap();
    assert!(none.is_empty());
    let len = Jobs::at(&j.id).queue.len().go().await.unwrap();
    assert_eq!(len, 9);
    let popped = j.atomic().queue.pop().go().await.unwrap();
    assert_eq!(popped, Some(("first".to_string(), i64::MIN)));
    assert_eq!(
        j.queue.peek().map(|(v, _)| v.as_str()),
        Some("m9"),
        "mirrored"
    );
    let two = j.atomic().queue.pop_many(2).go().await.unwrap();
    assert_eq!(names(&two), ["m9", "m8"]);
    let rest = Jobs::at(&j.id).queue.pop_many(100).go().await.unwrap();
    assert_eq!(names(&rest), ["m7", "m6", "m5", "early", "late", "last"]);
    let empty = Jobs::at(&j.id).queue.pop().go().await.unwrap();
    assert_eq!(empty, None);
    assert!(
        t.keys().iter().all(|k| !k.contains(":c:queue:")),
        "an empty queue has no key"
    );
    // a push re-creates the key under the document's TTL
    Jobs::at(&j.id)
        .queue
        .push("again".into(), 1)
        .go()
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(key_with(&t, ":c:queue:"))
        .query(&mut raw)
        .unwrap();
    assert!(ttl > 990_000, "the document's TTL covers it: {ttl}");
}

/// A max-first `f64` queue of msgpack elements: -0.0, 0.0, subnormals and infinities
/// keep their order and bits; NaN is refused with nothing changed; duplicates are
/// entries of their own, removed and re-prioritised together.
#[maybe_async]
#[mode_test]
async fn max_first_float_queues_take_duplicates_and_refuse_nan() {
    let t = common::env();
    let j = Jobs::default();
    j.insert().await.unwrap();
    let at = Jobs::at(&j.id);
    let tiny = f64::from_bits(1);
    let entries = [
        (job("neg-zero", 1), -0.0),
        (job("zero", 2), 0.0),
        (job("tiny", 3), tiny),
        (job("inf", 4), f64::INFINITY),
        (job("neg-inf", 5), f64::NEG_INFINITY),
        (job("dup", 6), 1.5),
        (job("neg-tiny", 7), -tiny),
        (job("dup", 6), 1.5),
    ];
    at.urgent.push_many(entries).go().await.unwrap();
    let all = at.urgent.all().go().await.unwrap();
    let order: Vec<(&str, u64)> = all
        .iter()
        .map(|(v, p)| (v.name.as_str(), p.to_bits()))
        .collect();
    assert_eq!(
        order,
        [
            ("inf", f64::INFINITY.to_bits()),
            ("dup", 1.5f64.to_bits()),
            ("dup", 1.5f64.to_bits()),
            ("tiny", tiny.to_bits()),
            ("zero", 0f64.to_bits()),
            ("neg-zero", (-0f64).to_bits()),
            ("neg-tiny", (-tiny).to_bits()),
            ("neg-inf", f64::NEG_INFINITY.to_bits()),
        ]
    );

    // NaN: refused before sending, nothing changed
    let key = key_with(&t, ":c:urgent:");
    let before = dump(&t, &key);
    let r = at.urgent.push(job("nan", 0), f64::NAN).go().await;
    assert!(
        matches!(&r, Err(Error::Encode { field, reason, .. }) if field == "urgent" && reason.contains("NaN")),
        "{r:?}"
    );
    let r = at
        .urgent
        .update_priority(job("dup", 6), f64::NAN)
        .go()
        .await;
    assert!(matches!(r, Err(Error::Encode { .. })), "{r:?}");
    assert_eq!(dump(&t, &key), before);

    // duplicates move and go together
    let moved = at
        .urgent
        .update_priority(job("dup", 6), -1.0)
        .go()
        .await
        .unwrap();
    assert_eq!(moved, 2);
    let none = at
        .urgent
        .update_priority(job("absent", 0), 9.0)
        .go()
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing is added for a value not queued");
    let names: Vec<String> = at
        .urgent
        .all()
        .go()
        .await
        .unwrap()
        .into_iter()
        .map(|(v, _)| v.name)
        .collect();
    assert_eq!(
        names,
        [
            "inf", "tiny", "zero", "neg-zero", "neg-tiny", "dup", "dup", "neg-inf"
        ]
    );
    let removed = at.urgent.remove(job("dup", 6)).go().await.unwrap();
    assert_eq!(removed, 2);
    let again = at.urgent.remove(job("dup", 6)).go().await.unwrap();
    assert_eq!(again, 0);
    let len = at.urgent.len().go().await.unwrap();
    assert_eq!(len, 6);
    at.urgent.clear().go().await.unwrap();
    let len = at.urgent.len().go().await.unwrap();
    assert_eq!(len, 0);
}

/// Saves, duplicates and deletes carry the queue; a missing document is `NotFound` and
/// creates nothing; a queue key of another type or with entries rapyer did not write is
/// refused or reported with key and field.
#[maybe_async]
#[mode_test]
async fn queues_follow_the_document_and_bad_keys_are_named() {
    let t = common::env();
    let mut j = Jobs::default();
    j.queue.push("a".into(), 2);
    j.queue.push("b".into(), 1);
    j.insert().await.unwrap();
    let copy = j.duplicate().await.unwrap();
    let pops = Jobs::at(&copy.id).queue.pop_many(2).go().await.unwrap();
    assert_eq!(names(&pops), ["b", "a"], "the copy has its own queue");
    let len = Jobs::at(&j.id).queue.len().go().await.unwrap();
    assert_eq!(len, 2);
    // a save of a changed copy replaces the queue
    j.queue.push("c".into(), 0);
    j.save().await.unwrap();
    let all = Jobs::at(&j.id).queue.all().go().await.unwrap();
    assert_eq!(names(&all), ["c", "b", "a"]);

    let ghost = Jobs::at(Id::new());
    for r in [
        ghost.queue.push("x".into(), 1).go().await.map(|_| ()),
        ghost.queue.pop().go().await.map(|_| ()),
        ghost.queue.remove("x".into()).go().await.map(|_| ()),
        ghost
            .queue
            .update_priority("x".into(), 1)
            .go()
            .await
            .map(|_| ()),
        ghost
            .queue
            .pop_blocking(Duration::from_millis(50))
            .go()
            .await
            .map(|_| ()),
    ] {
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    }
    let zero = Jobs::at(&j.id)
        .queue
        .pop_blocking(Duration::ZERO)
        .go()
        .await;
    assert!(matches!(zero, Err(Error::InvalidInput(_))), "{zero:?}");

    let key = key_with(&t, &format!(":c:queue:{}", j.id));
    let mut raw = t.raw();
    // an entry no push wrote: too short for a sequence number
    let _: () = redis::cmd("ZADD")
        .arg(&key)
        .arg(0)
        .arg("\u{0}")
        .query(&mut raw)
        .unwrap();
    let r = Jobs::get(&j.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { key: k, field, .. }) if *k == key && field == "queue"),
        "{r:?}"
    );
    let r = Jobs::at(&j.id).queue.pop().go().await;
    assert!(matches!(r, Err(Error::Decode { .. })), "{r:?}");
    // a key of another Redis type: refused, nothing changed
    let _: () = redis::cmd("DEL").arg(&key).query(&mut raw).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg("x")
        .query(&mut raw)
        .unwrap();
    let before = dump(&t, &key);
    let r = Jobs::at(&j.id).queue.push("d".into(), 1).go().await;
    assert!(matches!(r, Err(Error::WrongType { .. })), "{r:?}");
    let r = Jobs::at(&j.id)
        .queue
        .pop_blocking(Duration::from_millis(50))
        .go()
        .await;
    assert!(matches!(r, Err(Error::WrongType { .. })), "{r:?}");
    assert_eq!(dump(&t, &key), before);
    let deleted = j.delete().await.unwrap();
    assert!(deleted);
    assert!(t.keys().iter().all(|k| !k.ends_with(&j.id.to_string())));
}

/// A blocking pop returns at once when the queue holds an entry, and `None` once the
/// timeout passed on an empty queue (the document left as it was).
#[maybe_async]
#[mode_test]
async fn blocking_pops_take_what_is_there_or_time_out() {
    let _t = common::env();
    let mut j = Jobs::default();
    j.queue.push("ready".into(), 3);
    j.insert().await.unwrap();
    let got = j
        .atomic()
        .queue
        .pop_blocking(Duration::from_secs(5))
        .go()
        .await
        .unwrap();
    assert_eq!(got, Some(("ready".to_string(), 3)));
    assert!(j.queue.is_empty(), "mirrored");
    let started = std::time::Instant::now();
    let none = Jobs::at(&j.id)
        .queue
        .pop_blocking(Duration::from_millis(200))
        .go()
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(started.elapsed() >= Duration::from_millis(190), "it waited");
    let exists = Jobs::exists(&j.id).await.unwrap();
    assert!(exists);
}

/// Queue ops join a pipeline with other ops: applied together, or — when a later op
/// fails on the server — not at all (every key byte-identical, the local copy as it
/// was).
#[maybe_async]
#[mode_test]
async fn queue_ops_in_a_pipeline_are_all_or_nothing() {
    let t = common::env();
    let mut s = Session::default();
    s.jobs.push("kept".into(), 5);
    s.insert().await.unwrap();
    s.pipeline(|p, pipe| {
        pipe.add(p.jobs.push("a".into(), 1));
        pipe.add(p.jobs.update_priority("kept".into(), 0));
        pipe.add(p.counter.increment(i64::MAX));
        Ok(())
    })
    .await
    .unwrap();
    let order: Vec<&str> = s.jobs.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(order, ["kept", "a"], "mirrored after success");
    let stored = Session::at(&s.id).jobs.all().go().await.unwrap();
    assert_eq!(names(&stored), ["kept", "a"]);

    let mut raw = t.raw();
    let dumps = |raw: &mut common::Raw| -> Vec<(String, Option<Vec<u8>>)> {
        t.keys()
            .into_iter()
            .map(|k| {
                let d: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(raw).unwrap();
                (k, d)
            })
            .collect()
    };
    let before = dumps(&mut raw);
    let local = s.jobs.clone();
    let r = s
        .pipeline(|p, pipe| {
            pipe.add(p.jobs.push("b".into(), -1));
            pipe.add(p.jobs.pop().map_any());
            pipe.add(p.jobs.remove("kept".into()));
            pipe.add(p.counter.increment(1)); // overflows: the whole pipeline undone
            Ok(())
        })
        .await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(dumps(&mut raw), before, "every key as it was");
    assert_eq!(s.jobs, local, "the local copy as it was");
}
