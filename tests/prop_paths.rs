//! Property test (proptest): random documents and random valid paths; the typed path
//! and the run-time path (`extract_fields`) return the same value, and both agree with
//! the document as written.
#![allow(missing_docs)]

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use rapyer::sync::SyncModel;
use rapyer::{Element, Id, Model, Value};
use serde::{Deserialize, Serialize};

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Rec {
    a: i64,
    b: u64,
    f: f64,
    s: String,
    xs: Vec<i32>,
    m: BTreeMap<String, i16>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "PropPaths")]
struct Holder {
    id: Id,
    recs: Vec<Rec>,
    by_key: BTreeMap<String, Rec>,
    plain: Vec<i64>,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        any::<i64>(),
        any::<u64>(),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ".{0,8}",
        proptest::collection::vec(any::<i32>(), 0..4),
        proptest::collection::btree_map("[a-c]{1,2}", any::<i16>(), 0..3),
    )
        .prop_map(|(a, b, f, s, xs, m)| Rec { a, b, f, s, xs, m })
}

#[derive(Debug, Clone)]
enum Leaf {
    A,
    B,
    F,
    S,
    X(i64),
    M(String),
    Whole,
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        Just(Leaf::A),
        Just(Leaf::B),
        Just(Leaf::F),
        Just(Leaf::S),
        (-4i64..5).prop_map(Leaf::X),
        "[a-c]{1,2}".prop_map(Leaf::M),
        Just(Leaf::Whole),
    ]
}

/// The typed value as a `Value` (through serde, the way a user converts it).
fn as_value<T: Serialize>(v: &T) -> Value {
    canon(serde_json::from_value(serde_json::to_value(v).unwrap()).unwrap())
}

/// Map entries sorted by key (JSON objects sort their keys; stored maps keep their order).
fn canon(v: Value) -> Value {
    match v {
        Value::Map(mut entries) => {
            entries.sort_by_key(|(k, _)| format!("{k:?}"));
            Value::Map(entries.into_iter().map(|(k, v)| (k, canon(v))).collect())
        }
        Value::List(items) => Value::List(items.into_iter().map(canon).collect()),
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn typed_and_run_time_paths_agree(
        recs in proptest::collection::vec(rec(), 0..4),
        keyed in proptest::collection::btree_map("[a-c]", rec(), 0..3),
        plain in proptest::collection::vec(any::<i64>(), 0..4),
        probes in proptest::collection::vec((any::<bool>(), -5i64..5, "[a-d]", leaf()), 1..8),
    ) {
        let _t = common::env();
        let h = Holder { id: Id::new(), recs, by_key: keyed, plain };
        h.sync_insert().unwrap();
        let f = Holder::fields();
        for (in_list, i, k, leaf) in probes {
            let (text, start) = if in_list {
                (format!("recs[{i}]"), f.recs.at(i))
            } else {
                (format!("by_key[\"{k}\"]"), f.by_key.key(k.clone()))
            };
            let expected_rec: Option<&Rec> = if in_list {
                let n = h.recs.len() as i64;
                let j = if i < 0 { n + i } else { i };
                (0..n).contains(&j).then(|| &h.recs[j as usize])
            } else {
                h.by_key.get(&k)
            };
            let (suffix, typed_value, expected): (String, Option<Value>, Option<Value>) = match &leaf {
                Leaf::A => (".a".into(), start.a.sync_get(&h.id).unwrap().map(|v| as_value(&v)), expected_rec.map(|r| as_value(&r.a))),
                Leaf::B => (".b".into(), start.b.sync_get(&h.id).unwrap().map(|v| as_value(&v)), expected_rec.map(|r| as_value(&r.b))),
                Leaf::F => (".f".into(), start.f.sync_get(&h.id).unwrap().map(|v| as_value(&v)), expected_rec.map(|r| as_value(&r.f))),
                Leaf::S => (".s".into(), start.s.sync_get(&h.id).unwrap().map(|v| as_value(&v)), expected_rec.map(|r| as_value(&r.s))),
                Leaf::X(x) => {
                    let want = expected_rec.and_then(|r| {
                        let n = r.xs.len() as i64;
                        let j = if *x < 0 { n + x } else { *x };
                        (0..n).contains(&j).then(|| as_value(&r.xs[j as usize]))
                    });
                    (format!(".xs[{x}]"), start.xs.at(*x).sync_get(&h.id).unwrap().map(|v| as_value(&v)), want)
                }
                Leaf::M(m) => (
                    format!(".m[\"{m}\"]"),
                    start.m.key(m.clone()).sync_get(&h.id).unwrap().map(|v| as_value(&v)),
                    expected_rec.and_then(|r| r.m.get(m)).map(as_value),
                ),
                Leaf::Whole => (String::new(), start.sync_get(&h.id).unwrap().map(|v| as_value(&v)), expected_rec.map(as_value)),
            };
            let path = format!("{text}{suffix}");
            let dynamic = Holder::sync_extract_fields(&h.id, [&path]).unwrap().remove(&path).map(canon);
            prop_assert_eq!(&typed_value, &expected, "typed {}", path);
            prop_assert_eq!(&dynamic, &expected, "run-time {}", path);
        }
        // scalar list elements
        for i in -5i64..5 {
            let path = format!("plain[{i}]");
            let n = h.plain.len() as i64;
            let j = if i < 0 { n + i } else { i };
            let want = (0..n).contains(&j).then(|| Value::Int(h.plain[j as usize]));
            let typed = f.plain.at(i).sync_get(&h.id).unwrap().map(Value::Int);
            let dynamic = Holder::sync_extract_fields(&h.id, [&path]).unwrap().remove(&path);
            prop_assert_eq!(&typed, &want, "typed {}", path);
            prop_assert_eq!(&dynamic, &want, "run-time {}", path);
        }
    }
}
