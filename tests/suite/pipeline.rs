//! Pipelines: many ops over one or many documents, one atomic round trip. Written once
//! for both modes (`Api::pipeline`, `global_pipeline`, `Go` come from the shell).

use super::common::{self, models::*};
use super::{Api, RunQuery, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Id, Model, Pipeline};

/// DUMP of every key of the test's namespace: the byte-for-byte state.
fn snapshot(t: &common::TestEnv) -> Vec<(String, Vec<u8>)> {
    let mut raw = t.raw();
    t.keys()
        .into_iter()
        .map(|k| {
            let dump: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
            (k, dump)
        })
        .collect()
}

#[maybe_async]
#[mode_test]
async fn a_pipeline_applies_many_ops_in_one_round_trip_and_mirrors_them() {
    let t = common::env();
    let mut g = Gauge {
        big: 10,
        name: "a".into(),
        ..Gauge::default()
    };
    g.save().await.unwrap();
    // another client's write: pipeline ops apply to the stored values
    let root = format!("{}:{{Gauge:0}}:d:{}", t.ns, g.id);
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("big")
        .arg("20")
        .query(&mut t.raw())
        .unwrap();
    let before = t.stats();
    let slots = g
        .pipeline(|u, p| {
            let big = p.add(u.big.incr(5));
            p.add(u.name.append("b"));
            let len = p.add(u.log.extend(["x".to_string(), "y".to_string()]));
            p.add(u.counts.set("k".into(), 7));
            p.add(u.labels.add("l".into()));
            p.add(u.home.city.set("Lima".into()));
            Ok((big, len))
        })
        .await
        .unwrap();
    assert_eq!(
        (t.stats() - before).planned_round_trips(),
        1,
        "one round trip for the whole pipeline"
    );
    assert_eq!(slots.0.get(), Some(&25));
    assert_eq!(slots.1.get(), Some(&2));
    assert_eq!(g.big, 25);
    assert_eq!(g.name, "ab");
    assert_eq!(g.log, ["x", "y"]);
    assert_eq!(g.home.city, "Lima");
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(stored, g, "local copy equals Redis");
}

#[maybe_async]
#[mode_test]
async fn a_failing_op_leaves_every_key_byte_for_byte_unchanged() {
    let t = common::env();
    let mut g = Gauge {
        big: 1,
        log: vec!["a".into()],
        ..Gauge::default()
    };
    g.counts.insert("c".into(), 1);
    g.save().await.unwrap();
    let other = Gauge::default();
    other.save().await.unwrap();
    let root = format!("{}:{{Gauge:0}}:d:{}", t.ns, g.id);
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("small")
        .arg("text")
        .query(&mut t.raw())
        .unwrap();
    let before = snapshot(&t);
    let local = g.clone();
    let r = g
        .pipeline(|u, p| {
            p.add(u.big.incr(1));
            p.add(u.log.push("b".into()));
            p.add(u.log.push_front("z".into())); // two ops on one field: both mirror in order
            p.add(u.counts.set("k".into(), 9));
            p.add(u.labels.add("new".into()));
            p.add(u.name.set("changed".into()));
            p.add(u.small.incr(1)); // the stored value is text: refused
            p.add(u.nick.set(Some("never".into())));
            Ok(())
        })
        .await;
    match r {
        Err(Error::Rejected { field, op, .. }) => {
            assert_eq!((field.as_str(), op), ("small", "incr"))
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(snapshot(&t), before, "nothing applied");
    assert_eq!(g, local, "local copy untouched");

    // a global pipeline over two documents fails as a whole too
    let mut o = other.clone();
    let r = global_pipeline(|p| {
        p.add(o.atomic().big.incr(1));
        p.add(g.atomic().small.incr(1));
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })));
    assert_eq!(snapshot(&t), before);
}

#[maybe_async]
#[mode_test]
async fn a_closure_error_sends_nothing() {
    let t = common::env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let before = (snapshot(&t), t.stats());
    let r: rapyer::Result<()> = g
        .pipeline(|u, p| {
            p.add(u.big.incr(1));
            Err(Error::InvalidInput("changed my mind".into()))
        })
        .await;
    assert!(r.is_err());
    assert_eq!(snapshot(&t), before.0);
    assert_eq!(
        (t.stats() - before.1).planned_round_trips(),
        0,
        "nothing was sent"
    );
    // input rejected while building (NaN) also sends nothing
    let r = g
        .pipeline(|u, p| {
            p.add(u.big.incr(1));
            p.add(u.ratio.incr(f64::NAN));
            Ok(())
        })
        .await;
    assert!(matches!(r, Err(Error::InvalidInput(_))));
    assert_eq!((t.stats() - before.1).planned_round_trips(), 0);
    assert_eq!(snapshot(&t), before.0);
}

#[maybe_async]
#[mode_test]
async fn pipelines_across_models_missing_documents_and_nesting() {
    let t = common::env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let acct = Account {
        email: "p@x".into(),
        name: "P".into(),
        age: 30,
    };
    acct.save().await.unwrap();
    let ghost = Id::new();
    let before = t.stats();
    let r = global_pipeline(|p| {
        p.add(g.atomic().big.incr(2));
        p.add(Account::at("p@x").age.incr(1));
        Ok(())
    })
    .await;
    if common::cluster_mode() {
        // two slots: not one atomic script on a cluster, refused before sending
        assert!(
            matches!(&r, Err(Error::CrossSlot { docs, slots: 2 }) if docs.len() == 2),
            "{r:?}"
        );
        assert_eq!((t.stats() - before).planned_round_trips(), 0);
        global_pipeline(|p| {
            p.per_slot();
            p.add(g.atomic().big.incr(2));
            p.add(Account::at("p@x").age.incr(1));
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            (t.stats() - before).planned_round_trips(),
            2,
            "one per slot"
        );
    } else {
        r.unwrap();
        assert_eq!((t.stats() - before).planned_round_trips(), 1);
    }
    assert_eq!(g.big, 2);
    let stored = Account::get("p@x").await.unwrap();
    assert_eq!(stored.age, 31);

    // a missing document fails the pipeline, nothing applied, nothing created
    let keys = t.keys();
    let r = global_pipeline(|p| {
        p.add(g.atomic().big.incr(1));
        p.add(Gauge::at(&ghost).log.push("x".into()));
        Ok(())
    })
    .await;
    assert!(
        matches!(r, Err(Error::NotFound { ref id, .. }) if *id == ghost.to_string()),
        "{r:?}"
    );
    assert_eq!(g.big, 2);
    assert_eq!(t.keys(), keys);
    // ... unless missing documents are skipped ("ignore if deleted")
    let skipped = global_pipeline(|p| {
        p.skip_missing();
        p.add(g.atomic().big.incr(1));
        Ok(p.add(Gauge::at(&ghost).log.push("x".into())))
    })
    .await
    .unwrap();
    assert_eq!(skipped.get(), None);
    assert_eq!(g.big, 3);
    assert_eq!(t.keys(), keys, "no orphan keys");

    // nesting is explicit: join moves an inner pipeline's ops into the outer round trip
    fn inner(id: &Id) -> Pipeline<'static> {
        let mut p = Pipeline::new();
        p.add(Gauge::at(id).labels.add("inner".into()));
        p
    }
    let before = t.stats();
    let gid = g.id.clone();
    g.pipeline(|u, p| {
        p.add(u.big.incr(1));
        p.join(inner(&gid));
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!((t.stats() - before).planned_round_trips(), 1);
    let stored = Gauge::get(&g.id).await.unwrap();
    assert!(stored.labels.contains("inner"));
    assert_eq!(stored.big, 4);

    // empty pipelines send nothing
    let before = t.stats();
    let out = global_pipeline(|_| Ok(5)).await.unwrap();
    assert_eq!(out, 5);
    assert_eq!((t.stats() - before).planned_round_trips(), 0);
}

#[maybe_async]
#[mode_test]
async fn pipelines_survive_script_flush() {
    let t = common::private_env();
    let mut g = Gauge::default();
    g.save().await.unwrap();
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut t.raw())
        .unwrap();
    g.pipeline(|u, p| {
        p.add(u.big.incr(3));
        p.add(u.log.push("once".into()));
        Ok(())
    })
    .await
    .unwrap();
    let stored = Gauge::get(&g.id).await.unwrap();
    assert_eq!(
        (stored.big, stored.log.len()),
        (3, 1),
        "applied exactly once"
    );
    assert_eq!(stored, g);
}

/// Models in one `colocate` group share one hash tag: a pipeline across their documents
/// is one atomic script on one server and on a cluster alike (all or nothing), and their
/// queries work as usual.
#[maybe_async]
#[mode_test]
async fn colocated_models_keep_cross_document_pipelines_atomic() {
    let t = common::env();
    let a = Wallet {
        owner: "ann".into(),
        balance: 100,
        ..Wallet::default()
    };
    let b = Wallet {
        owner: "bob".into(),
        balance: 5,
        ..Wallet::default()
    };
    let l = Ledger::default();
    a.save().await.unwrap();
    b.save().await.unwrap();
    l.save().await.unwrap();
    let keys = t.keys();
    assert!(keys.iter().all(|k| k.contains("{bank}:")), "{keys:?}");
    if common::cluster_mode() {
        let mut raw = t.raw();
        let slots: std::collections::BTreeSet<u16> = keys
            .iter()
            .map(|k| {
                redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(k)
                    .query(&mut raw)
                    .unwrap()
            })
            .collect();
        assert_eq!(slots.len(), 1, "one slot for the group");
    }
    global_pipeline(|p| {
        p.add(Wallet::at(&a.id).balance.incr(-30));
        p.add(Wallet::at(&b.id).balance.incr(30));
        p.add(Ledger::at(&l.id).entries.push("ann->bob 30".into()));
        p.add(Ledger::at(&l.id).total.incr(30));
        Ok(())
    })
    .await
    .unwrap();
    let (a2, b2, l2) = (
        Wallet::get(&a.id).await.unwrap(),
        Wallet::get(&b.id).await.unwrap(),
        Ledger::get(&l.id).await.unwrap(),
    );
    assert_eq!((a2.balance, b2.balance, l2.total), (70, 35, 30));
    // one refused op leaves all three documents as they were
    let r = global_pipeline(|p| {
        p.add(Wallet::at(&a.id).balance.incr(-1));
        p.add(Ledger::at(&l.id).entries.push("x".into()));
        p.add(Wallet::at(&b.id).balance.incr(i64::MAX)); // overflow: refused
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    let a3 = Wallet::get(&a.id).await.unwrap();
    let l3 = Ledger::get(&l.id).await.unwrap();
    assert_eq!((a3.balance, l3.entries.len()), (70, 1));
    let found = Wallet::find(Wallet::fields().owner.eq("bob"))
        .run_all()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
