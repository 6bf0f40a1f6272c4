//! Paths into stored values (issue 15): reads by path from `Model::fields()`, reads and
//! writes by path on atomic handles, exact values at the edges, absent and malformed
//! data. Written once for both modes.

use super::common::{self, models::*};
use super::{Api, GetMany, Go, RunBulk, RunQuery, maybe_async, mode_test};
use rapyer::{Error, Model};

/// `DUMP` of `key`.
fn dump(t: &common::TestEnv, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(&mut t.raw()).unwrap()
}

fn key_with(t: &common::TestEnv, part: &str) -> String {
    let keys: Vec<String> = t.keys().into_iter().filter(|k| k.contains(part)).collect();
    assert_eq!(keys.len(), 1, "one key with {part}: {keys:?}");
    keys.into_iter().next().unwrap()
}

/// Every kind of step, one round trip each, only the addressed value returned.
#[maybe_async]
#[mode_test]
async fn typed_paths_read_one_value_in_one_round_trip() {
    let t = common::env();
    let s = Sheet::sample();
    s.insert().await.unwrap();
    let f = Sheet::fields();
    let before = t.stats();

    // root and embedded fields
    let got = f.title.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some("sheet".to_string()));
    let got = f.place.lon.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(-2.25));
    let got = f.note.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some("n".to_string()));
    // list index, negative from the end, element fields
    let got = f.cells.at(0).n.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(0));
    let got = f.cells.at(-1).s.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some("cell 2".to_string()));
    let got = f.cells.at(1).get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(Cell::sample(1)));
    // depth ≥ 3: list → struct → struct → list → struct field
    let got = f
        .cells
        .at(2)
        .inner
        .leaves
        .at(-1)
        .label
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(got, Some("two".to_string()));
    let got = f
        .cells
        .at(2)
        .inner
        .leaves
        .at(0)
        .x
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(got, Some(1));
    // map value by key, a map inside an element, a serde-renamed field
    let got = f.named.key("home".into()).n.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(7));
    let got = f
        .named
        .key("home".into())
        .counts
        .key("k".into())
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(got, Some(7));
    let got = f.cells.at(0).original.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(9));
    let got = f.by_id.key(5).label.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some("five".to_string()));
    // scalar list elements, set membership
    let got = f.nums.at(1).get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(i64::MIN));
    let got = f.marks.has("m".into()).get(&s.id).go().await.unwrap();
    assert!(got);
    let got = f.marks.has("zz".into()).get(&s.id).go().await.unwrap();
    assert!(!got);
    let used = (t.stats() - before).planned_round_trips();
    assert_eq!(used, 15, "one round trip per read (15 reads)");

    // absent: element, key, field of an absent element, document
    let got = f.cells.at(3).n.get(&s.id).go().await.unwrap();
    assert_eq!(got, None);
    let got = f.cells.at(-4).get(&s.id).go().await.unwrap();
    assert_eq!(got, None);
    let got = f
        .cells
        .at(0)
        .inner
        .leaves
        .at(9)
        .x
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(got, None);
    let got = f.named.key("away".into()).n.get(&s.id).go().await.unwrap();
    assert_eq!(got, None);
    let got = f
        .named
        .key("home".into())
        .counts
        .key("none".into())
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(got, None);
    let got = f.cells.at(0).opt.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(None));
    let gone = rapyer::Id::new();
    let got = f.cells.at(0).n.get(&gone).go().await.unwrap();
    assert_eq!(got, None);
    let got = f.title.get(&gone).go().await.unwrap();
    assert_eq!(got, None);
    let got = f.marks.has("m".into()).get(&gone).go().await.unwrap();
    assert!(!got);
    let r = f.cells.at(0).n.get_existing(&gone).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    let got = f.cells.at(7).n.get_existing(&s.id).go().await.unwrap();
    assert_eq!(got, None);
}

/// Values at the edges come back exactly: the walker returns the stored bytes.
#[maybe_async]
#[mode_test]
async fn path_reads_are_exact_at_the_edges() {
    let _t = common::env();
    let mut s = Sheet::sample();
    s.cells[0] = Cell {
        n: i64::MIN,
        u: u64::MAX,
        f: f64::from_bits(1), // the smallest subnormal
        g: f32::MIN_POSITIVE,
        s: String::new(),
        opt: Some(i64::MAX),
        ..Cell::sample(0)
    };
    s.cells[1].f = f64::NAN;
    s.cells[1].s = "nul \0 and ünïcödé".into();
    s.insert().await.unwrap();
    let c = Sheet::fields().cells;
    // binary list elements, NUL and invalid UTF-8 included, and an empty one
    let got = Sheet::fields().blobs.at(0).get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(b"\0\xff raw".to_vec()));
    let got = Sheet::fields().blobs.at(1).get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(Vec::new()));
    let got = c.at(0).n.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(i64::MIN));
    let got = c.at(0).u.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(u64::MAX));
    let f = c.at(0).f.get(&s.id).go().await.unwrap().unwrap();
    assert_eq!(f.to_bits(), 1);
    let got = c.at(0).g.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(f32::MIN_POSITIVE));
    let got = c.at(0).s.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(String::new()));
    let got = c.at(0).opt.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some(Some(i64::MAX)));
    let got = c.at(1).f.get(&s.id).go().await.unwrap().unwrap().is_nan();
    assert!(got);
    let got = c.at(1).s.get(&s.id).go().await.unwrap();
    assert_eq!(got, Some("nul \0 and ünïcödé".to_string()));
}

/// Writes by path: set, incr (exact or refused), push/remove inside an element; the local
/// copy mirrored; refused writes change nothing.
#[maybe_async]
#[mode_test]
async fn path_writes_are_atomic_exact_and_mirrored() {
    let t = common::env();
    let mut s = Sheet::sample();
    s.insert().await.unwrap();

    let before = t.stats();
    let n = s.atomic().cells.at(1).n.incr(41).go().await.unwrap();
    assert_eq!(
        (t.stats() - before).planned_round_trips(),
        1,
        "one round trip per write"
    );
    assert_eq!(n, 42);
    assert_eq!(s.cells[1].n, 42, "mirrored");
    let g = s.atomic().cells.at(1).g.incr(0.25).go().await.unwrap();
    assert_eq!(g, 0.75f32);
    assert_eq!(s.cells[1].g, 0.75);
    s.atomic()
        .cells
        .at(-1)
        .inner
        .leaves
        .at(0)
        .label
        .set("uno".into())
        .go()
        .await
        .unwrap();
    assert_eq!(s.cells[2].inner.leaves[0].label, "uno");
    let len = s
        .atomic()
        .cells
        .at(0)
        .tags
        .push("c".into())
        .go()
        .await
        .unwrap();
    assert_eq!(len, 3);
    assert_eq!(s.cells[0].tags, ["a", "b", "c"]);
    let removed = s
        .atomic()
        .cells
        .at(0)
        .tags
        .remove("a".into())
        .go()
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(s.cells[0].tags, ["b", "c"]);
    s.atomic()
        .named
        .key("home".into())
        .counts
        .key("k".into())
        .incr(-10)
        .go()
        .await
        .unwrap();
    assert_eq!(s.named["home"].counts["k"], -3);
    s.atomic().cells.at(0).opt.set(Some(5)).go().await.unwrap();
    // a scalar list element (stored as text): exact over the whole i64 range
    let top = s.atomic().nums.at(0).incr(1).go().await.unwrap();
    assert_eq!(top, i64::MAX);
    assert_eq!(s.nums[0], i64::MAX);
    // the whole struct at a path
    let leaf = Leaf {
        x: -1,
        label: "new".into(),
    };
    s.atomic()
        .by_id
        .key(5)
        .set(leaf.clone())
        .go()
        .await
        .unwrap();
    assert_eq!(s.by_id[&5], leaf);
    // an indexed string list element keeps its index right
    s.atomic()
        .words
        .at(0)
        .set("gamma".into())
        .go()
        .await
        .unwrap();
    let found = Sheet::find(Sheet::fields().words.contains("gamma"))
        .run_ids()
        .await
        .unwrap();
    assert_eq!(found, [s.id.clone()]);
    let old = Sheet::find(Sheet::fields().words.contains("alpha"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(old, 0);
    // a 1,000-byte value grows the element's msgpack in place
    let long = "x".repeat(1000);
    s.atomic()
        .cells
        .at(0)
        .s
        .set(long.clone())
        .go()
        .await
        .unwrap();
    let got = Sheet::get(&s.id).await.unwrap();
    assert_eq!(got, s, "stored equals the mirrored copy");
    assert_eq!(s.cells[0].s, long);

    // refused: overflow of the type, beyond 2^53 inside msgpack, absent element
    let cells = key_with(&t, ":c:cells:");
    let nums = key_with(&t, ":c:nums:");
    let (dc, dn) = (dump(&t, &cells), dump(&t, &nums));
    let r = s.atomic().nums.at(0).incr(1).go().await;
    assert!(
        matches!(&r, Err(Error::Rejected { reason, .. }) if reason.contains("overflow")),
        "{r:?}"
    );
    s.cells[0].u = u64::MAX;
    s.save().await.unwrap();
    let dc2 = dump(&t, &cells);
    let r = s.atomic().cells.at(0).u.incr(1).go().await;
    assert!(
        matches!(&r, Err(Error::Rejected { reason, .. }) if reason.contains("2^53")),
        "{r:?}"
    );
    let r = s.atomic().cells.at(9).n.incr(1).go().await;
    assert!(
        matches!(&r, Err(Error::Rejected { reason, .. }) if reason.contains("no element")),
        "{r:?}"
    );
    let r = s
        .atomic()
        .cells
        .at(0)
        .inner
        .leaves
        .at(7)
        .x
        .set(1)
        .go()
        .await;
    assert!(
        matches!(&r, Err(Error::Rejected { reason, .. }) if reason.contains("cells[0].inner.leaves[7].x")),
        "{r:?}"
    );
    assert_eq!(
        dump(&t, &cells),
        dc2,
        "refused writes leave the list byte-identical"
    );
    assert_eq!(dump(&t, &nums), dn);
    assert_ne!(dc, dc2);
    assert_eq!(
        s.cells[0].u,
        u64::MAX,
        "nothing mirrored from a refused write"
    );

    // remote handles write too; a missing document is NotFound and creates nothing
    let n = Sheet::at(&s.id).cells.at(2).n.incr(1).go().await.unwrap();
    assert_eq!(n, 3);
    let gone = rapyer::Id::new();
    let r = Sheet::at(&gone).cells.at(0).n.set(1).go().await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    assert!(t.keys().iter().all(|k| !k.contains(&gone.to_string())));
}

/// Stored bytes that do not have the path's shape are a typed error naming the key and
/// the path; a key of the wrong Redis type is `WrongType`; nothing panics.
#[maybe_async]
#[mode_test]
async fn malformed_stored_data_is_reported_with_key_and_path() {
    let t = common::env();
    let s = Sheet::sample();
    s.insert().await.unwrap();
    let cells = key_with(&t, ":c:cells:");
    let mut raw = t.raw();
    let _: () = redis::cmd("LSET")
        .arg(&cells)
        .arg(0)
        .arg(b"\xc1 not msgpack".as_slice())
        .query(&mut raw)
        .unwrap();
    let _: () = redis::cmd("LSET")
        .arg(&cells)
        .arg(1)
        .arg(b"\x93\x01\x02\x03".as_slice())
        .query(&mut raw)
        .unwrap();
    let _: () = redis::cmd("LSET")
        .arg(&cells)
        .arg(2)
        .arg(b"\x81\xa1n\xa3abc".as_slice())
        .query(&mut raw)
        .unwrap();
    let c = Sheet::fields().cells;
    for (r, path) in [
        (c.at(0).n.get(&s.id).go().await, "cells[0].n"),
        (c.at(1).n.get(&s.id).go().await, "cells[1].n"),
        (c.at(2).n.get(&s.id).go().await, "cells[2].n"),
    ] {
        assert!(
            matches!(&r, Err(Error::Decode { key, field, .. }) if *key == cells && field == path),
            "{path}: {r:?}"
        );
    }
    let before = dump(&t, &cells);
    let r = s.atomic_remote().cells.at(2).n.incr(1).go().await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(dump(&t, &cells), before);

    // the list key holding a string
    let _: () = redis::cmd("DEL").arg(&cells).query(&mut raw).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&cells)
        .arg("x")
        .query(&mut raw)
        .unwrap();
    let r = c.at(0).n.get(&s.id).go().await;
    assert!(matches!(r, Err(Error::WrongType { .. })), "{r:?}");
    let r = Sheet::at(&s.id).cells.at(0).n.set(1).go().await;
    assert!(matches!(r, Err(Error::WrongType { .. })), "{r:?}");
    let v: String = redis::cmd("GET").arg(&cells).query(&mut raw).unwrap();
    assert_eq!(v, "x");

    // the root hash replaced by a list: every path read (lean read plan, refreshing or
    // not) and every write is WrongType naming the root key, and nothing changes
    let root = key_with(&t, ":d:");
    let _: () = redis::cmd("DEL").arg(&root).query(&mut raw).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&root)
        .arg("not a hash")
        .query(&mut raw)
        .unwrap();
    let before = dump(&t, &root);
    let f = Sheet::fields();
    for r in [
        c.at(0).n.get(&s.id).go().await.map(|_| ()),
        f.title.get(&s.id).go().await.map(|_| ()),
        f.place.lat.get(&s.id).go().await.map(|_| ()),
        Sheet::at(&s.id)
            .title
            .set("t".into())
            .go()
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(&r, Err(Error::WrongType { key, field, .. }) if *key == root && field.is_empty()),
            "{r:?}"
        );
    }
    assert_eq!(dump(&t, &root), before);
}

trait Remote {
    fn atomic_remote(&self) -> <Sheet as Model>::Atomic<'static>;
}
impl Remote for Sheet {
    fn atomic_remote(&self) -> <Sheet as Model>::Atomic<'static> {
        Sheet::at(&self.id)
    }
}

/// Many paths of one document in one pipeline (one round trip); one path over many ids
/// in one round trip per 500 (`get_many`), absent documents `None`.
#[maybe_async]
#[mode_test]
async fn many_paths_and_many_documents_take_one_round_trip_per_chunk() {
    let t = common::env();
    let sheets: Vec<Sheet> = (0..700)
        .map(|i| {
            let mut s = Sheet::sample();
            s.cells[0].n = i;
            s
        })
        .collect();
    Sheet::bulk().run_insert(&sheets).await.unwrap();
    let mut ids: Vec<String> = sheets.iter().map(|s| s.id.to_string()).collect();
    ids.insert(3, rapyer::Id::new().to_string());

    let before = t.stats();
    let got = Sheet::fields()
        .cells
        .at(0)
        .n
        .run_get_many(&ids)
        .await
        .unwrap();
    let used = (t.stats() - before).planned_round_trips();
    assert_eq!(got.len(), 701);
    assert_eq!(got[3], None, "a missing document");
    assert_eq!(got[0], Some(0));
    assert_eq!(got[700], Some(699));
    let expected: Vec<Option<i64>> = ids
        .iter()
        .map(|id| {
            sheets
                .iter()
                .find(|s| s.id.to_string() == *id)
                .map(|s| s.cells[0].n)
        })
        .collect();
    assert_eq!(got, expected);
    if !common::cluster_mode() {
        assert_eq!(used, 2, "ceil(701 / 500) round trips");
    }

    let mut s = sheets[5].clone();
    let sid = s.id.clone();
    let before = t.stats();
    let (n, label, city) = s
        .pipeline(|at, p| {
            let n = p.add(at.cells.at(0).n.get());
            let label = p.add(at.cells.at(1).inner.leaves.at(1).label.get());
            let city = p.add(
                Sheet::fields()
                    .named
                    .key("home".into())
                    .s
                    .get_existing(&sid),
            );
            Ok((n, label, city))
        })
        .await
        .unwrap();
    assert_eq!((t.stats() - before).planned_round_trips(), 1);
    assert_eq!(n.get(), Some(&Some(5)));
    assert_eq!(label.get(), Some(&Some("two".to_string())));
    assert_eq!(city.get(), Some(&Some("cell 7".to_string())));
}

/// Run-time paths: parsed, checked against the schema before sending, one round trip for
/// all of them, the same values as the typed paths.
#[maybe_async]
#[mode_test]
async fn extract_fields_reads_run_time_paths_like_the_typed_ones() {
    use rapyer::Value;
    let t = common::env();
    let mut s = Sheet::sample();
    s.cells[0].u = u64::MAX;
    s.cells[0].g = 0.1;
    s.named.insert("key with . and ]\"".into(), Cell::sample(4));
    s.insert().await.unwrap();
    let paths = [
        "title",
        "place.lon",
        "cells[0].n",
        "cells[0].u",
        "cells[0].g",
        "cells[-1].inner.leaves[1].label",
        "cells[1].counts[\"k\"]",
        "named[\"home\"].s",
        "named[\"key with . and ]\\\"\"].n",
        "by_id[5].x",
        "nums[1]",
        "cells[0].opt",
        "cells[9].n",
        "cells[1]",
    ];
    let before = t.stats();
    let got = Sheet::extract_fields(&s.id, paths).await.unwrap();
    assert_eq!((t.stats() - before).planned_round_trips(), 1);
    assert_eq!(got["title"], Value::Str("sheet".into()));
    assert_eq!(got["place.lon"], Value::F64(-2.25));
    assert_eq!(got["cells[0].n"], Value::Int(0));
    assert_eq!(got["cells[0].u"], Value::UInt(u64::MAX));
    assert_eq!(got["cells[0].g"], Value::F32(0.1));
    assert_eq!(
        got["cells[-1].inner.leaves[1].label"],
        Value::Str("two".into())
    );
    assert_eq!(got["cells[1].counts[\"k\"]"], Value::Int(1));
    assert_eq!(got["named[\"home\"].s"], Value::Str("cell 7".into()));
    assert_eq!(got["named[\"key with . and ]\\\"\"].n"], Value::Int(4));
    assert_eq!(got["by_id[5].x"], Value::Int(50));
    assert_eq!(got["nums[1]"], Value::Int(i64::MIN));
    assert_eq!(got["cells[0].opt"], Value::Nil);
    assert!(
        !got.contains_key("cells[9].n"),
        "absent values are left out"
    );
    // the whole element converts back to the typed value through serde
    let json = serde_json::to_value(&got["cells[1]"]).unwrap();
    let cell: Cell = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(cell, s.cells[1]);
    let back: Value = serde_json::from_value(json).unwrap();
    assert!(matches!(back, Value::Map(_)));
    // the same values as the typed paths
    let typed = Sheet::fields()
        .cells
        .at(-1)
        .inner
        .leaves
        .at(1)
        .label
        .get(&s.id)
        .go()
        .await
        .unwrap();
    assert_eq!(
        got["cells[-1].inner.leaves[1].label"],
        Value::Str(typed.unwrap())
    );

    // bad paths: InvalidInput naming the path, the position and the fields there; nothing sent
    let before = t.stats();
    for (bad, needle) in [
        ("titel", "fields here: "),
        (
            "cells[0].nn",
            "at position 9: no field `nn`; fields here: n, u, f, g, s, opt, tags, counts, inner, renamed",
        ),
        ("cells.n", "is a list"),
        ("place", "embedded struct"),
        ("title[0]", "no steps inside"),
        ("cells[x]", "not an index"),
        ("named[3]", "keyed by text"),
        ("cells[0", "unterminated"),
        ("by_id[\"a\"]", "keyed by an integer"),
        ("", "expected a field name"),
    ] {
        let r = Sheet::extract_fields(&s.id, [bad]).await;
        assert!(
            matches!(&r, Err(Error::InvalidInput(m)) if m.contains(needle) && m.contains(&format!("`{bad}`")) && m.contains("position")),
            "{bad}: {r:?}"
        );
    }
    assert_eq!((t.stats() - before).planned_round_trips(), 0);
    let r = Sheet::extract_fields(rapyer::Id::new(), ["title"]).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
}
