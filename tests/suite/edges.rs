//! Exact edge values: ordering beyond 2^53, string indexes over every byte (NUL too),
//! float increments as IEEE additions, u64 over its whole range, large collection ops.
//! Written once for both modes.

use super::common::{self, models::*};
use super::{Api, Go, RunQuery, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

fn extreme(n: i64, u: u64, s: &str) -> Extreme {
    Extreme {
        id: Id::new(),
        n,
        u,
        s: s.into(),
        ..Default::default()
    }
}

/// Item 10: i64 and u64 values that share one score beyond 2^53 are ordered by their
/// exact values, with and without a page limit, both directions.
#[maybe_async]
#[mode_test]
async fn order_beyond_2_pow_53_is_exact() {
    let _t = common::env();
    let ns = [
        i64::MAX,
        i64::MAX - 1,
        i64::MAX - 2,
        i64::MIN,
        i64::MIN + 1,
        i64::MIN + 2,
        0,
    ];
    let us = [u64::MAX, u64::MAX - 1, u64::MAX - 2, 0, 1, 2, (1 << 53) + 1];
    let docs: Vec<Extreme> = ns
        .iter()
        .zip(us)
        .map(|(n, u)| extreme(*n, u, "x"))
        .collect();
    Extreme::bulk_save(&docs).await.unwrap();
    let f = Extreme::fields();
    let mut by_n: Vec<i64> = ns.to_vec();
    by_n.sort();
    let mut by_u: Vec<u64> = us.to_vec();
    by_u.sort();
    for limit in [1usize, 2, 3, 7] {
        let asc = Extreme::find(f.s.eq("x"))
            .order_by(f.n.asc())
            .limit(limit)
            .run_all()
            .await
            .unwrap();
        let got: Vec<i64> = asc.iter().map(|d| d.n).collect();
        assert_eq!(got, by_n[..limit].to_vec(), "n asc limit {limit}");
        let desc = Extreme::find(f.s.eq("x"))
            .order_by(f.n.desc())
            .limit(limit)
            .run_all()
            .await
            .unwrap();
        let got: Vec<i64> = desc.iter().map(|d| d.n).collect();
        let want: Vec<i64> = by_n.iter().rev().take(limit).copied().collect();
        assert_eq!(got, want, "n desc limit {limit}");
        let desc = Extreme::find(f.s.eq("x"))
            .order_by(f.u.desc())
            .limit(limit)
            .run_all()
            .await
            .unwrap();
        let got: Vec<u64> = desc.iter().map(|d| d.u).collect();
        let want: Vec<u64> = by_u.iter().rev().take(limit).copied().collect();
        assert_eq!(got, want, "u desc limit {limit}");
    }
    // without a limit: every match, exactly ordered
    let all = Extreme::find(f.s.eq("x"))
        .order_by(f.u.asc())
        .run_all()
        .await
        .unwrap();
    let got: Vec<u64> = all.iter().map(|d| d.u).collect();
    assert_eq!(got, by_u);
}

/// A reference predicate on a stored value.
type Reference = Box<dyn Fn(&str) -> bool>;

/// Item 11: string indexes agree with a bytewise reference for values with NUL and other
/// low bytes, for every comparison and the order.
#[maybe_async]
#[mode_test]
async fn string_index_is_bytewise_for_every_byte() {
    let _t = common::env();
    let values = [
        "", "\0", "\0\0", "\u{1}", "a", "a\0", "a\0\0", "a\0b", "a\u{1}", "ab", "b", "\u{7f}", "é",
    ];
    let docs: Vec<Extreme> = values.iter().map(|v| extreme(1, 1, v)).collect();
    Extreme::bulk_save(&docs).await.unwrap();
    let f = Extreme::fields();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let mut disagreements = Vec::new();
    for probe in values {
        let cases: Vec<(&str, rapyer::Expr, Reference)> = vec![
            ("eq", f.s.eq(probe), Box::new(move |v: &str| v == probe)),
            (
                "lt",
                f.s.lt(probe),
                Box::new(move |v: &str| v.as_bytes() < probe.as_bytes()),
            ),
            (
                "le",
                f.s.le(probe),
                Box::new(move |v: &str| v.as_bytes() <= probe.as_bytes()),
            ),
            (
                "gt",
                f.s.gt(probe),
                Box::new(move |v: &str| v.as_bytes() > probe.as_bytes()),
            ),
            (
                "ge",
                f.s.ge(probe),
                Box::new(move |v: &str| v.as_bytes() >= probe.as_bytes()),
            ),
            (
                "between",
                f.s.between(probe, "a\0b"),
                Box::new(move |v: &str| {
                    v.as_bytes() >= probe.as_bytes() && v.as_bytes() <= "a\0b".as_bytes()
                }),
            ),
            (
                "starts_with",
                f.s.starts_with(probe),
                Box::new(move |v: &str| v.starts_with(probe)),
            ),
        ];
        for (name, expr, reference) in cases {
            let got = Extreme::find(expr).run_all().await.unwrap();
            let got = sorted(got.into_iter().map(|d| d.s).collect());
            let want = sorted(
                values
                    .iter()
                    .filter(|v| reference(v))
                    .map(|v| v.to_string())
                    .collect(),
            );
            if got != want {
                disagreements.push(format!("{name} {probe:?}: got {got:?}, want {want:?}"));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    let asc = Extreme::find(f.n.eq(1))
        .order_by(f.s.asc())
        .run_all()
        .await
        .unwrap();
    let got: Vec<String> = asc.into_iter().map(|d| d.s).collect();
    let want = sorted(values.iter().map(|v| v.to_string()).collect());
    assert_eq!(got, want);
    let first = Extreme::find(f.n.eq(1))
        .order_by(f.s.asc())
        .limit(3)
        .run_all()
        .await
        .unwrap();
    let got: Vec<String> = first.into_iter().map(|d| d.s).collect();
    assert_eq!(got, want[..3].to_vec());
}

/// Item 12: `incr` on a float is the IEEE addition (HINCRBYFLOAT rounds to 17 decimals).
#[maybe_async]
#[mode_test]
async fn float_incr_is_ieee_addition() {
    let _t = common::env();
    for (start, by) in [
        (1e-20, 1e-20),
        (-0.0, 5e-324),
        (0.1, 0.2),
        (1e308, 1e308),
        (f64::MIN_POSITIVE, -f64::MIN_POSITIVE / 2.0),
    ] {
        let mut d = Extreme {
            f: start,
            ..Default::default()
        };
        d.save().await.unwrap();
        let got = d.atomic().f.incr(by).go().await.unwrap();
        assert_eq!(got.to_bits(), (start + by).to_bits(), "{start:e} + {by:e}");
        let stored = Extreme::get(&d.id).await.unwrap().f;
        assert_eq!(
            stored.to_bits(),
            (start + by).to_bits(),
            "stored {start:e} + {by:e}"
        );
    }
}

/// Item 13: u64 operations are exact over the whole range; leaving it is refused with
/// nothing changed; the same for u64 map values.
#[maybe_async]
#[mode_test]
async fn u64_arithmetic_covers_the_whole_range() {
    let _t = common::env();
    let mut d = Extreme {
        wide: u64::MAX,
        ..Default::default()
    };
    d.save().await.unwrap();
    let v = d.atomic().wide.decr(1).go().await.unwrap();
    assert_eq!(v, u64::MAX - 1);
    let v = d.atomic().wide.incr(1).go().await.unwrap();
    assert_eq!(v, u64::MAX);
    let r = d.atomic().wide.incr(1).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    let stored = Extreme::get(&d.id).await.unwrap();
    assert_eq!(stored.wide, u64::MAX);
    d.wide = i64::MAX as u64;
    d.save().await.unwrap();
    let v = d.atomic().wide.incr(1).go().await.unwrap();
    assert_eq!(v, i64::MAX as u64 + 1);
    let v = d.atomic().wide.decr(i64::MAX).go().await.unwrap();
    assert_eq!(v, 1);
    let r = d.atomic().wide.decr(2).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    let stored = Extreme::get(&d.id).await.unwrap();
    assert_eq!(stored.wide, 1);
    // i64 at its bounds
    d.n = i64::MAX;
    d.save().await.unwrap();
    let r = d.atomic().n.incr(1).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    let v = d.atomic().n.decr(i64::MAX).go().await.unwrap();
    assert_eq!(v, 0);
    // map values
    d.counts.insert("k".into(), u64::MAX - 1);
    d.save().await.unwrap();
    let v = d.atomic().counts.incr("k".into(), 1).go().await.unwrap();
    assert_eq!(v, u64::MAX);
    let r = d.atomic().counts.incr("k".into(), 1).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    let stored = Extreme::get(&d.id).await.unwrap();
    assert_eq!(stored.counts["k"], u64::MAX);
}

/// Item 14: collection ops with many items work in one call (batched in the script).
#[maybe_async]
#[mode_test]
async fn large_collection_ops_are_batched() {
    let _t = common::env();
    let mut d = Extreme::default();
    d.save().await.unwrap();
    let items: Vec<String> = (0..10_000).map(|i| format!("item {i}")).collect();
    let len = d.atomic().items.extend(items.clone()).go().await.unwrap();
    assert_eq!(len, 10_000);
    let entries: Vec<(String, u64)> = (0..5_000).map(|i| (format!("k{i}"), i)).collect();
    d.atomic()
        .counts
        .update(entries.clone())
        .go()
        .await
        .unwrap();
    let stored = Extreme::get(&d.id).await.unwrap();
    assert_eq!(stored.items, items);
    assert_eq!(stored.counts.len(), 5_000);
    assert_eq!(stored.counts["k4999"], 4_999);
}
