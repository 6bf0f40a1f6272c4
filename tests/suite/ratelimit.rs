//! `rapyer::RateLimiter`: each algorithm as a field (allowance, refusal with the time to
//! wait, refill on the server's clock, mirror, reset, pipelines, save/duplicate/delete),
//! keyed standalone limiters, and refused or bad input that changes nothing. Written
//! once for both modes.

use std::time::Duration;

use super::common::{self, models::*};
use super::structures::key_with;
use super::{Api, Go, maybe_async, mode_test};
use rapyer::{Error, Id, Model, RateLimiter, TokenBucket};

fn dump(t: &common::TestEnv, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(&mut t.raw()).unwrap()
}

/// Token bucket (10/s, burst 5): five calls pass at once, counting `remaining` down, the
/// sixth is refused with a `retry_after` of at most one token's time (100 ms); after
/// waiting that long a call passes again. The state is a HASH in the document's slot,
/// the decision is mirrored into the local copy, `check_n(0)` only reports, and `reset`
/// gives the whole burst back.
#[maybe_async]
#[mode_test]
async fn token_buckets_allow_the_burst_then_the_rate() {
    let t = common::env();
    let mut l = Limited {
        id: Id::new(),
        owner: "ann".into(),
        ..Limited::default()
    };
    l.insert().await.unwrap();
    for left in (0..5).rev() {
        let d = l.atomic().bucket.check().go().await.unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, left);
        assert_eq!(d.retry_after, Duration::ZERO);
        assert!(d.reset_after > Duration::ZERO && d.reset_after <= Duration::from_millis(500));
        assert_eq!(l.bucket.last_decision(), Some(d), "mirrored");
    }
    let key = key_with(&t, ":c:bucket:");
    let ty: String = redis::cmd("TYPE").arg(&key).query(&mut t.raw()).unwrap();
    assert_eq!(ty, "hash");
    let denied = Limited::at(&l.id).bucket.check().go().await.unwrap();
    assert!(!denied.allowed, "{denied:?}");
    assert_eq!(denied.remaining, 0);
    assert!(
        denied.retry_after > Duration::ZERO && denied.retry_after <= Duration::from_millis(100),
        "{denied:?}"
    );
    let peek = Limited::at(&l.id).bucket.check_n(0).go().await.unwrap();
    assert!(peek.allowed && peek.remaining == 0, "{peek:?}");
    std::thread::sleep(denied.retry_after + Duration::from_millis(2));
    let again = Limited::at(&l.id).bucket.check().go().await.unwrap();
    assert!(again.allowed, "a token after retry_after: {again:?}");

    // a cost the burst can never hold is refused before sending
    let before = dump(&t, &key);
    let r = l.atomic().bucket.check_n(6).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!(dump(&t, &key), before);

    // a cost that does not fit now takes nothing
    let r = Limited::at(&l.id).bucket.check_n(5).go().await.unwrap();
    assert!(!r.allowed && r.retry_after > Duration::ZERO, "{r:?}");
    l.atomic().bucket.reset().go().await.unwrap();
    assert_eq!(l.bucket.last_decision(), None);
    let full = Limited::at(&l.id).bucket.check_n(5).go().await.unwrap();
    assert!(
        full.allowed && full.remaining == 0,
        "reset gives the burst back: {full:?}"
    );
}

/// Exact sliding window (5 per second): a sorted set with one member per call; the
/// sixth call in the window is refused until the oldest call leaves it (`retry_after`),
/// a cost of 3 is all or nothing, and `reset_after` is when the newest call leaves.
/// Approximate window (5 per second, two counters): five pass, the sixth is refused and
/// passes after `retry_after`.
#[maybe_async]
#[mode_test]
async fn sliding_windows_count_calls_of_the_last_window() {
    let t = common::env();
    let l = Limited::default();
    l.insert().await.unwrap();
    let at = Limited::at(&l.id);
    let first = at.window.check_n(2).go().await.unwrap();
    assert!(first.allowed && first.remaining == 3, "{first:?}");
    std::thread::sleep(Duration::from_millis(30));
    let d = at.window.check_n(3).go().await.unwrap();
    assert!(d.allowed && d.remaining == 0, "{d:?}");
    let key = key_with(&t, ":c:window:");
    let n: usize = redis::cmd("ZCARD").arg(&key).query(&mut t.raw()).unwrap();
    assert_eq!(n, 5, "one member per call");
    let denied = at.window.check().go().await.unwrap();
    assert!(!denied.allowed, "{denied:?}");
    // the first two calls leave the window first, at least 30 ms before the last three
    assert!(
        denied.retry_after > Duration::ZERO && denied.retry_after <= Duration::from_millis(970),
        "{denied:?}"
    );
    assert!(
        denied.reset_after >= denied.retry_after + Duration::from_millis(30),
        "{denied:?}"
    );
    let big = at.window.check_n(3).go().await.unwrap();
    assert!(!big.allowed, "{big:?}");
    // the three newest calls share one time: a cost of 3 waits for them to leave
    assert_eq!(big.retry_after, big.reset_after, "{big:?}");
    let n: usize = redis::cmd("ZCARD").arg(&key).query(&mut t.raw()).unwrap();
    assert_eq!(n, 5, "refused calls take nothing");

    for left in (0..5).rev() {
        let d = at.approx.check().go().await.unwrap();
        assert!(d.allowed && d.remaining == left, "{d:?}");
    }
    let denied = at.approx.check().go().await.unwrap();
    assert!(
        !denied.allowed && denied.retry_after > Duration::ZERO,
        "{denied:?}"
    );
    assert!(
        denied.retry_after <= Duration::from_millis(2000),
        "{denied:?}"
    );
    std::thread::sleep(denied.retry_after + Duration::from_millis(2));
    let again = at.approx.check().go().await.unwrap();
    assert!(again.allowed, "after retry_after: {again:?}");
}

/// A limiter is the document's: a `save` of a stale copy never resets it, a load carries
/// its state, a duplicate copies it (the copy is just as exhausted), delete removes it,
/// checks join a pipeline atomically, and a missing document is `NotFound` with nothing
/// written.
#[maybe_async]
#[mode_test]
async fn limiters_follow_their_document() {
    let t = common::env();
    let mut l = Limited {
        owner: "bo".into(),
        ..Limited::default()
    };
    l.insert().await.unwrap();
    let stale = Limited::get(&l.id).await.unwrap();
    for _ in 0..5 {
        let d = l.atomic().bucket.check().go().await.unwrap();
        assert!(d.allowed);
    }
    let mut stale = stale;
    stale.owner = "cy".into();
    stale.save().await.unwrap();
    let d = Limited::at(&l.id).bucket.check().go().await.unwrap();
    assert!(!d.allowed, "a save leaves the limiter as stored: {d:?}");

    let loaded = Limited::get(&l.id).await.unwrap();
    assert!(loaded.bucket.has_state(), "the state is loaded");
    assert!(!Limited::default().bucket.has_state());
    let copy = loaded.duplicate().await.unwrap();
    let d = Limited::at(&copy.id).bucket.check().go().await.unwrap();
    assert!(!d.allowed, "the duplicate is as exhausted: {d:?}");

    // a pipeline: both checks in one atomic step
    let id = l.id.clone();
    let (sa, sb) = super::global_pipeline(|p| {
        let a = p.add(Limited::at(&id).window.check());
        let b = p.add(Limited::at(&id).api.check_n(20));
        Ok((a, b))
    })
    .await
    .unwrap();
    assert!(sa.get().unwrap().allowed, "{sa:?}");
    assert_eq!(sb.get().unwrap().remaining, 0, "{sb:?}");

    let missing = Limited::at(Id::new()).bucket.check().go().await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    Limited::delete_id(&l.id).await.unwrap();
    Limited::delete_id(&copy.id).await.unwrap();
    assert_eq!(
        t.keys(),
        Vec::<String>::new(),
        "delete removes the limiters' keys"
    );
}

/// Bad stored state is refused with nothing written (the key's `DUMP` unchanged): a key
/// of another Redis type is `WrongType`, a state field that is not a count is
/// `Rejected`, and a load of it is `Decode` naming the field.
#[maybe_async]
#[mode_test]
async fn bad_limiter_state_is_refused_and_kept() {
    let t = common::env();
    let l = Limited::default();
    l.insert().await.unwrap();
    let at = Limited::at(&l.id);
    at.bucket.check().go().await.unwrap();
    let key = key_with(&t, ":c:bucket:");
    let mut raw = t.raw();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("t")
        .arg("many")
        .query(&mut raw)
        .unwrap();
    let before = dump(&t, &key);
    let r = at.bucket.check().go().await;
    assert!(
        matches!(&r, Err(Error::Rejected { reason, .. }) if reason.contains("not a count")),
        "{r:?}"
    );
    assert_eq!(dump(&t, &key), before, "nothing written");
    let r = Limited::get(&l.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { field, .. }) if field == "bucket"),
        "{r:?}"
    );

    let _: () = redis::cmd("DEL").arg(&key).query(&mut raw).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("x")
        .query(&mut raw)
        .unwrap();
    let before = dump(&t, &key);
    let r = at.bucket.check().go().await;
    assert!(
        matches!(
            &r,
            Err(Error::WrongType {
                found: "string",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(dump(&t, &key), before);
}

/// Keyed limiters without a model: each key has its own state key (expiring once the
/// limiter would be full again), keys do not share allowances, names with braces, NUL
/// bytes and `:` stay apart, `reset_key` gives a key its allowance back, a key of the
/// wrong Redis type is `WrongType` with nothing written, and an impossible cost is
/// `InvalidInput`.
#[maybe_async]
#[mode_test]
async fn keyed_limiters_keep_one_state_per_key() {
    let t = common::env();
    let api = RateLimiter::<TokenBucket<1, 60_000, 2>>::keyed("api");
    let odd = "user:{42}\0}";
    for left in [1, 0] {
        let d = api.check_key(odd).go().await.unwrap();
        assert!(d.allowed && d.remaining == left, "{d:?}");
    }
    let d = api.check_key(odd).go().await.unwrap();
    assert!(!d.allowed, "{d:?}");
    assert!(
        d.retry_after > Duration::from_secs(59),
        "one token a minute: {d:?}"
    );
    let other = api.check_key("user:43").go().await.unwrap();
    assert!(
        other.allowed && other.remaining == 1,
        "keys are apart: {other:?}"
    );
    let named = RateLimiter::<TokenBucket<1, 60_000, 2>>::keyed("api2")
        .check_key(odd)
        .go()
        .await
        .unwrap();
    assert!(named.allowed, "names are apart: {named:?}");

    let keys = t.keys();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let key = keys
        .iter()
        .find(|k| k.contains("api:user:{42}"))
        .unwrap()
        .clone();
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut t.raw()).unwrap();
    assert!(
        pttl > 110_000 && pttl <= 120_000,
        "expires when full again: {pttl}"
    );

    let had = api.reset_key(odd).go().await.unwrap();
    assert!(had, "it had used some");
    let had = api.reset_key(odd).go().await.unwrap();
    assert!(!had);
    let d = api.check_key_n(odd, 2).go().await.unwrap();
    assert!(d.allowed, "{d:?}");

    let r = api.check_key_n(odd, 3).go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    let r = api.check_key("").go().await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");

    let _: () = redis::cmd("DEL").arg(&key).query(&mut t.raw()).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg("x")
        .query(&mut t.raw())
        .unwrap();
    let before = dump(&t, &key);
    let r = api.check_key(odd).go().await;
    assert!(
        matches!(
            &r,
            Err(Error::WrongType {
                found: "list",
                what: "rate limiter",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(dump(&t, &key), before, "nothing written");
    let r = api.reset_key(odd).go().await;
    assert!(matches!(&r, Err(Error::WrongType { .. })), "{r:?}");
    assert_eq!(dump(&t, &key), before, "nothing removed");
}
