//! CRUD scenarios, written once and compiled into both modes (tests/sync_crud.rs and
//! tests/async_crud.rs). The shell provides `maybe_async`, `mode_test` and `Api` (the
//! mode's model trait under neutral names).

use super::common::{self, command_calls, models::*};
use super::{Api, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

#[maybe_async]
#[mode_test]
async fn every_field_kind_round_trips_exactly() {
    let t = common::env();
    let doc = Everything::sample();
    doc.save().await.unwrap();
    let back = Everything::get(&doc.id).await.unwrap();
    assert_eq!(back, doc);
    // float bit patterns, not just ==
    assert_eq!(back.f_neg_zero.to_bits(), (-0.0f64).to_bits());
    assert_eq!(back.f_sub.to_bits(), 5e-324f64.to_bits());
    assert_eq!(back.f32_sub.to_bits(), doc.f32_sub.to_bits());
    // layout: what is stored where
    let mut raw = t.raw();
    let root = format!("{}:{{Everything:0}}:d:{}", t.ns, doc.id);
    let fields: std::collections::HashMap<String, Vec<u8>> =
        redis::cmd("HGETALL").arg(&root).query(&mut raw).unwrap();
    assert_eq!(fields["min"], b"-9223372036854775808");
    assert_eq!(fields["umax"], b"18446744073709551615");
    assert_eq!(fields["f_tenth"], b"0.1");
    assert_eq!(fields["address.city"], "Zürich".as_bytes());
    assert_eq!(fields["address.geo.lat"], b"47.3769");
    assert_eq!(fields["bytes"], doc.bytes);
    assert!(!fields.contains_key("none"), "None is an absent field");
    assert!(!fields.contains_key("address.zip"));
    assert_eq!(fields["$v"], b"1");
    let lines: Vec<String> = redis::cmd("LRANGE")
        .arg(format!(
            "{}:{{Everything:0}}:c:address.lines:{}",
            t.ns, doc.id
        ))
        .arg(0)
        .arg(-1)
        .query(&mut raw)
        .unwrap();
    assert_eq!(lines, doc.address.lines);
    let ty: String = redis::cmd("TYPE")
        .arg(format!("{}:{{Everything:0}}:c:scores:{}", t.ns, doc.id))
        .query(&mut raw)
        .unwrap();
    assert_eq!(ty, "hash");
    // empty collections are absent keys
    let empty: bool = redis::cmd("EXISTS")
        .arg(format!("{}:{{Everything:0}}:c:empty_list:{}", t.ns, doc.id))
        .query(&mut raw)
        .unwrap();
    assert!(!empty);
}

#[maybe_async]
#[mode_test]
async fn nan_and_infinities_round_trip() {
    let _t = common::env();
    let odd = Odd {
        id: Id::new(),
        nan: f64::NAN,
        inf: f64::INFINITY,
        neg_inf: f32::NEG_INFINITY,
    };
    odd.save().await.unwrap();
    let back = Odd::get(&odd.id).await.unwrap();
    assert!(back.nan.is_nan());
    assert_eq!(back.inf, f64::INFINITY);
    assert_eq!(back.neg_inf, f32::NEG_INFINITY);
}

#[maybe_async]
#[mode_test]
async fn insert_twice_is_already_exists_and_keeps_the_first() {
    let _t = common::env();
    let first = Account {
        email: "ada@example.com".into(),
        name: "Ada".into(),
        age: 36,
    };
    first.insert().await.unwrap();
    let second = Account {
        name: "Impostor".into(),
        ..first.clone()
    };
    let inserted = second.insert().await;
    match inserted {
        Err(Error::AlreadyExists { model, id, key }) => {
            assert_eq!(model, "Acct");
            assert_eq!(id, "ada@example.com");
            assert!(key.ends_with("{Acct:0}:d:ada@example.com"), "{key}");
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let stored = Account::get("ada@example.com").await.unwrap();
    assert_eq!(stored, first);
    // save is an upsert
    second.save().await.unwrap();
    let stored = Account::get("ada@example.com").await.unwrap();
    assert_eq!(stored.name, "Impostor");
}

#[maybe_async]
#[mode_test]
async fn missing_documents() {
    let _t = common::env();
    let loaded = User::get("nobody").await;
    match loaded {
        Err(Error::NotFound { model, id, .. }) => {
            assert_eq!(model, "User");
            assert_eq!(id, "nobody");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let found = User::try_get("nobody").await.unwrap();
    assert!(found.is_none());
    let exists = User::exists("nobody").await.unwrap();
    assert!(!exists);
    let deleted = User::delete_id("nobody").await.unwrap();
    assert!(!deleted);
    let mut u = User::new("ghost", 1);
    let reloaded = u.reload().await;
    assert!(matches!(reloaded, Err(Error::NotFound { .. })));
}

#[maybe_async]
#[mode_test]
async fn delete_removes_every_key_of_the_document() {
    let t = common::env();
    let keep = Everything::sample();
    keep.save().await.unwrap();
    let keys_before = t.keys();
    let doc = Everything::sample();
    doc.save().await.unwrap();
    assert!(
        t.keys().len() > keys_before.len() + 5,
        "collections have their own keys"
    );
    let exists = Everything::exists(&doc.id).await.unwrap();
    assert!(exists);
    let deleted = doc.delete().await.unwrap();
    assert!(deleted);
    assert_eq!(
        t.keys(),
        keys_before,
        "only the other document's keys remain"
    );
    let deleted_again = doc.delete().await.unwrap();
    assert!(!deleted_again, "second delete reports nothing deleted");
    let ids = Everything::ids().await.unwrap();
    assert_eq!(ids, vec![keep.id.clone()]);
}

#[maybe_async]
#[mode_test]
async fn a_model_without_scalar_fields_still_exists() {
    let _t = common::env();
    let bag = Bag::default();
    bag.save().await.unwrap();
    let exists = Bag::exists(&bag.id).await.unwrap();
    assert!(exists);
    let back = Bag::get(&bag.id).await.unwrap();
    assert_eq!(back, bag);
    let count = Bag::count().await.unwrap();
    assert_eq!(count, 1);
}

#[maybe_async]
#[mode_test]
async fn save_replaces_collections_wholly() {
    let _t = common::env();
    let mut bag = Bag {
        items: vec!["a".into(), "b".into(), "c".into()],
        ..Bag::default()
    };
    bag.members.insert("m".into());
    bag.save().await.unwrap();
    bag.items = vec!["z".into()];
    bag.members.clear();
    bag.save().await.unwrap();
    let back = Bag::get(&bag.id).await.unwrap();
    assert_eq!(back, bag);
}

#[maybe_async]
#[mode_test]
async fn corrupt_root_field_is_a_decode_error_naming_key_and_field() {
    let t = common::env();
    let doc = Everything::sample();
    doc.save().await.unwrap();
    let root = format!("{}:{{Everything:0}}:d:{}", t.ns, doc.id);
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("address.geo.lat")
        .arg("north")
        .query(&mut t.raw())
        .unwrap();
    let loaded = Everything::get(&doc.id).await;
    match loaded {
        Err(Error::Decode {
            key, field, reason, ..
        }) => {
            assert_eq!(key, root);
            assert_eq!(field, "address.geo.lat");
            assert!(reason.contains("north"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    // invalid UTF-8 in a string, garbage msgpack in a blob, a bad list element
    for (field, bad) in [
        ("text", vec![0xff, 0xfe]),
        ("profile", vec![0xc1]),
        ("int8", b"300".to_vec()),
    ] {
        doc.save().await.unwrap();
        let _: () = redis::cmd("HSET")
            .arg(&root)
            .arg(field)
            .arg(bad)
            .query(&mut t.raw())
            .unwrap();
        let loaded = Everything::get(&doc.id).await;
        match loaded {
            Err(Error::Decode { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected Decode for {field}, got {other:?}"),
        }
    }
    doc.save().await.unwrap();
    let list = format!("{}:{{Everything:0}}:c:items:{}", t.ns, doc.id);
    let _: () = redis::cmd("RPUSH")
        .arg(&list)
        .arg(&[0x93u8, 0x01][..])
        .query(&mut t.raw())
        .unwrap();
    let loaded = Everything::get(&doc.id).await;
    match loaded {
        Err(Error::Decode { key, field, .. }) => {
            assert_eq!(key, list);
            assert_eq!(field, "items");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    // a collection key of the wrong Redis type is an error, not a panic
    doc.save().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&list)
        .arg("oops")
        .query(&mut t.raw())
        .unwrap();
    match Everything::get(&doc.id).await {
        Err(Error::WrongType { key, field, .. }) => {
            assert_eq!((key.as_str(), field.as_str()), (list.as_str(), "items"));
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    // a save does not overwrite a key it did not write: repaired by hand first
    let refused = doc.save().await;
    assert!(matches!(refused, Err(Error::WrongType { .. })));
    let _: () = redis::cmd("DEL").arg(&list).query(&mut t.raw()).unwrap();
    // a missing required field
    doc.save().await.unwrap();
    let _: () = redis::cmd("HDEL")
        .arg(&root)
        .arg("text")
        .query(&mut t.raw())
        .unwrap();
    let loaded = Everything::get(&doc.id).await;
    assert!(matches!(loaded, Err(Error::Decode { field, .. }) if field == "text"));
}

#[maybe_async]
#[mode_test]
async fn one_round_trip_per_operation() {
    let t = common::env();
    let doc = Everything::sample();
    let mut before = t.stats();
    let mut check = |what: &str| {
        let now = t.stats();
        assert_eq!((now - before).planned_round_trips(), 1, "{what}");
        before = now;
    };
    doc.save().await.unwrap();
    check("save");
    Everything::get(&doc.id).await.unwrap();
    check("get");
    Everything::try_get("missing").await.unwrap();
    check("try_get");
    Everything::exists(&doc.id).await.unwrap();
    check("exists");
    Everything::ids().await.unwrap();
    check("ids");
    Everything::count().await.unwrap();
    check("count");
    doc.delete().await.unwrap();
    check("delete");
    doc.insert().await.unwrap();
    check("insert");
    let again = doc.insert().await;
    assert!(again.is_err());
    check("insert of an existing id");
    if !common::single_server_budgets() {
        return; // on a cluster: one round trip per slot of the 4 shards, a load is a script
    }
    Event::ids().await.unwrap();
    check("ids over 4 shards (one pipeline)");
    let before = t.stats();
    Everything::get(&doc.id).await.unwrap();
    // MULTI + HGETALL + one read per collection + EXEC
    let collections = Everything::schema().collections().count() as u64;
    assert_eq!((t.stats() - before).commands, 3 + collections);
}

#[maybe_async]
#[mode_test]
async fn ids_and_count_use_the_id_index_across_shards() {
    let t = common::env();
    for seq in 0..40u64 {
        Event {
            seq,
            kind: format!("k{seq}"),
            payload: vec![seq.to_string()],
        }
        .insert()
        .await
        .unwrap();
    }
    let mut ids = Event::ids().await.unwrap();
    let count = Event::count().await.unwrap();
    assert_eq!(count, 40);
    ids.sort_unstable();
    assert_eq!(ids, (0..40).collect::<Vec<u64>>());
    let tags: std::collections::BTreeSet<String> = t
        .keys()
        .iter()
        .filter_map(|k| k.split('}').next().map(str::to_owned))
        .collect();
    assert_eq!(
        tags.len(),
        4,
        "documents spread over 4 shard tags: {tags:?}"
    );
    let e17 = Event::get(17).await.unwrap();
    assert_eq!(e17.kind, "k17");
    let deleted = Event::delete_id(17).await.unwrap();
    assert!(deleted);
    let count = Event::count().await.unwrap();
    assert_eq!(count, 39);
}

#[maybe_async]
#[mode_test]
async fn ids_never_scan() {
    // a private server, so no other test's commands are counted
    let server = common::Server::start();
    let name = format!("scan-check-{}", std::process::id());
    rapyer::register_environment(&name, rapyer::EnvironmentConfig::new(server.url.as_str()))
        .unwrap();
    let _g = rapyer::use_environment(&name).unwrap();
    for i in 0..10 {
        User::new(&format!("u{i}"), i).save().await.unwrap();
    }
    let mut raw = server.raw();
    let (keys, scan) = (
        command_calls(&mut raw, "keys"),
        command_calls(&mut raw, "scan"),
    );
    let ids = User::ids().await.unwrap();
    assert_eq!(ids.len(), 10);
    let count = User::count().await.unwrap();
    assert_eq!(count, 10);
    assert_eq!(command_calls(&mut raw, "keys"), keys);
    assert_eq!(command_calls(&mut raw, "scan"), scan);
    assert!(
        command_calls(&mut raw, "zrange") >= 1,
        "ids come from the id index"
    );
}

#[maybe_async]
#[mode_test]
async fn hostile_ids_round_trip_and_bad_ids_are_rejected() {
    let t = common::env();
    for email in [
        "a:b:c",
        "with space",
        "ünïcödé 🦀",
        "{brace}",
        "}{",
        "*?[]",
        "d:x",
        "\0nul",
    ] {
        let acct = Account {
            email: email.into(),
            name: email.into(),
            age: 1,
        };
        acct.insert().await.unwrap();
        let back = Account::get(email).await.unwrap();
        assert_eq!(back, acct);
    }
    let count = Account::count().await.unwrap();
    assert_eq!(count, 8);
    let before = t.keys();
    let empty = Account {
        email: String::new(),
        name: "x".into(),
        age: 0,
    };
    let saved = empty.save().await;
    assert!(matches!(saved, Err(Error::InvalidInput(_))));
    let long = Account {
        email: "x".repeat(rapyer::MAX_ID_LEN + 1),
        name: "x".into(),
        age: 0,
    };
    let inserted = long.insert().await;
    assert!(matches!(inserted, Err(Error::InvalidInput(_))));
    let loaded = Account::get("").await;
    assert!(matches!(loaded, Err(Error::InvalidInput(_))));
    assert_eq!(t.keys(), before, "rejected input wrote nothing");
}

#[maybe_async]
#[mode_test]
async fn reload_and_duplicate() {
    let _t = common::env();
    let mut user = User::new("ada", 36);
    user.insert().await.unwrap();
    let mut other = User::get(&user.id).await.unwrap();
    other.age = 37;
    other.save().await.unwrap();
    user.reload().await.unwrap();
    assert_eq!(user.age, 37);

    let copy = user.duplicate().await.unwrap();
    assert_ne!(copy.id, user.id);
    let stored_copy = User::get(&copy.id).await.unwrap();
    assert_eq!(stored_copy, copy);
    assert_eq!(
        User {
            id: user.id.clone(),
            ..copy.clone()
        },
        user
    );
    let count = User::count().await.unwrap();
    assert_eq!(count, 2);
    assert!(user.id < copy.id, "UUID v7 ids sort by creation");
    let ids = User::ids().await.unwrap();
    assert_eq!(ids, vec![user.id.clone(), copy.id.clone()]);

    let acct = Account {
        email: "a@x".into(),
        name: "A".into(),
        age: 1,
    };
    acct.insert().await.unwrap();
    let twin = acct.duplicate_as("b@x".to_string()).await.unwrap();
    assert_eq!(twin.email, "b@x");
    let stored_twin = Account::get("b@x").await.unwrap();
    assert_eq!(stored_twin.name, "A");
    let again = acct.duplicate_as("b@x".to_string()).await;
    assert!(matches!(again, Err(Error::AlreadyExists { .. })));
}

#[maybe_async]
#[mode_test]
async fn unparsable_id_in_the_index_is_a_decode_error() {
    let t = common::env();
    Event {
        seq: 1,
        kind: "a".into(),
        payload: vec![],
    }
    .save()
    .await
    .unwrap();
    let shard_key = t.keys().into_iter().find(|k| k.ends_with(":ids")).unwrap();
    // score +inf: a live entry (scores are expiry times)
    let _: () = redis::cmd("ZADD")
        .arg(&shard_key)
        .arg("+inf")
        .arg("not-a-number")
        .query(&mut t.raw())
        .unwrap();
    let ids = Event::ids().await;
    match ids {
        Err(Error::Decode { field, reason, .. }) => {
            assert_eq!(field, "seq");
            assert!(reason.contains("not-a-number"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// A load is one snapshot: while another connection rewrites a document between two
/// self-consistent versions, no load ever mixes them. (The load is a MULTI/EXEC; Redis
/// also rarely splits a plain pipeline, so this guards the property rather than proving
/// the transaction is there; `one_round_trip_per_operation` checks the MULTI/EXEC count.)
#[maybe_async]
#[mode_test]
async fn loads_never_mix_two_versions() {
    let t = common::env();
    let a = Bag {
        items: vec!["a".into(); 3],
        members: ["a".to_string()].into(),
        ..Bag::default()
    };
    let b = Bag {
        id: a.id.clone(),
        items: vec!["b".into(); 5],
        members: ["b".to_string(), "bb".to_string()].into(),
    };
    a.save().await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (a, b, stop, ns) = (a.clone(), b.clone(), stop.clone(), t.ns.clone());
        let mut raw = t.raw();
        std::thread::spawn(move || {
            // another client rewriting the whole document in one transaction, as save does
            let tag = format!("{ns}:{{Bag:0}}");
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let next = if n.is_multiple_of(2) { &b } else { &a };
                let (root, items, members) = (
                    format!("{tag}:d:{}", next.id),
                    format!("{tag}:c:items:{}", next.id),
                    format!("{tag}:c:members:{}", next.id),
                );
                let () = redis::pipe()
                    .atomic()
                    .del(&[&root, &items, &members])
                    .ignore()
                    .hset(&root, "$v", "1")
                    .ignore()
                    .rpush(&items, &next.items)
                    .ignore()
                    .sadd(&members, next.members.iter().collect::<Vec<_>>())
                    .ignore()
                    .query(&mut raw)
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    for _ in 0..300 {
        let seen = Bag::get(&a.id).await.unwrap();
        assert!(seen == a || seen == b, "mixed snapshot: {seen:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0);
}
