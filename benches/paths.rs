//! Reads by path beside raw redis-rs, in the same process against the same throwaway
//! server: one int field of element 0 of a 100-element list of 10-field structs, read
//! (a) by rapyer's typed path (the server walks the msgpack and returns only the field's
//! bytes), (b) raw: `LINDEX` of the element + client-side msgpack decode, and (c) by
//! loading the whole document. Prints the ratios and the bytes each read transfers.
//!
//! `cargo bench --bench paths` (`BENCH_N` sets the read count, default 3000).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use rapyer::sync::SyncModel;
use rapyer::{Element, Id, Model};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use support::{report, time};

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Row {
    f0: i64,
    f1: i64,
    f2: String,
    f3: i64,
    f4: f64,
    f5: String,
    f6: u32,
    f7: bool,
    f8: String,
    f9: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "Wide")]
struct Wide {
    id: Id,
    rows: Vec<Row>,
}

fn row(i: i64) -> Row {
    Row {
        f0: i,
        f1: i * 1_000_003,
        f2: format!("label number {i}"),
        f3: 4_000_000_000 + i,
        f4: i as f64 / 7.0,
        f5: "a longer text field of the row".into(),
        f6: i as u32,
        f7: i % 2 == 0,
        f8: format!("{i:08}"),
        f9: -i,
    }
}

fn main() {
    let n = support::count_var("BENCH_N", 3000);
    let (server, _g) = support::orm_server();
    let w = Wide {
        id: Id::new(),
        rows: (0..100).map(row).collect(),
    };
    w.sync_save().unwrap();
    let mut raw = server.conn();
    let list = "raw:{Wide:0}:c:rows:x";
    let encoded: Vec<Vec<u8>> = w
        .rows
        .iter()
        .map(|r| rmp_serde::to_vec_named(r).unwrap())
        .collect();
    let _: () = redis::cmd("RPUSH")
        .arg(list)
        .arg(&encoded)
        .query(&mut raw)
        .unwrap();

    let path = Wide::fields().rows.at(0).f3;
    let want = w.rows[0].f3;
    // interleaved rounds, so drift of this machine's speed hits both sides alike
    let rounds = 10;
    let per_round = (n / rounds).max(1);
    let (mut orm, mut lindex) = (Duration::ZERO, Duration::ZERO);
    let (mut orm_cpu, mut raw_cpu) = (0.0, 0.0);
    for _ in 0..rounds {
        reset_stats(&mut raw);
        orm += time(per_round, |_| {
            assert_eq!(path.sync_get(&w.id).unwrap(), Some(want));
        });
        orm_cpu += common::command_stat(&mut raw, "fcall", "usec");
        reset_stats(&mut raw);
        lindex += time(per_round, |_| {
            let bytes: Vec<u8> = redis::cmd("LINDEX")
                .arg(list)
                .arg(0)
                .query(&mut raw)
                .unwrap();
            let r: Row = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!(r.f3, want);
        });
        raw_cpu += common::command_stat(&mut raw, "lindex", "usec");
    }
    let n = per_round * rounds;
    let whole = time(n / 10, |_| {
        let doc = Wide::sync_get(&w.id).unwrap();
        assert_eq!(doc.rows[0].f3, want);
    });
    let lrange = time(n / 10, |_| {
        let all: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(list)
            .arg(0)
            .arg(-1)
            .query(&mut raw)
            .unwrap();
        let r: Row = rmp_serde::from_slice(&all[0]).unwrap();
        assert_eq!(r.f3, want);
    });
    report(
        "one int field of element 0 (100 elements of 10 fields)",
        &[("path read vs LINDEX+decode", orm, lindex)],
        n,
    );
    report(
        "the same from a whole-document load",
        &[("get(id) vs raw LRANGE", whole, lrange)],
        n / 10,
    );
    let per = |d: std::time::Duration, k: usize| d.as_secs_f64() / k as f64;
    println!(
        "path read vs whole-document load: {:.3} of the time",
        per(orm, n) / per(whole, n / 10)
    );
    let field_bytes = rmp_serde::to_vec(&want).unwrap().len();
    let element_bytes = encoded[0].len();
    let all_bytes: usize = encoded.iter().map(Vec::len).sum();
    println!(
        "server CPU per read (INFO commandstats, warm-up included): path {:.1} µs, LINDEX {:.1} µs",
        orm_cpu / (n + 200 * rounds) as f64,
        raw_cpu / (n + 200 * rounds) as f64
    );
    println!(
        "value bytes per read: path {field_bytes}, LINDEX {element_bytes}, whole document {all_bytes}"
    );
}

fn reset_stats(raw: &mut redis::Connection) {
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(raw).unwrap();
}
