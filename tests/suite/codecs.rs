//! Pluggable serialization (`rapyer::Codec`, `Coded<T, C>`, `Json<T>`): what Redis holds
//! for each field kind, exact round trips at the integer bounds, atomic operations, a
//! user codec, decode errors naming key, field and codec, refused encodes that send
//! nothing, and a named structure of JSON elements. Written once for both modes.

use super::common::{self, models::*};
use super::structures::key_with;
use super::{Api, Go, maybe_async, mode_test};
use rapyer::{Error, Json, Model, PriorityQueue};

fn job(name: &str, n: u64) -> Json<Job> {
    Json::new(Job {
        name: name.into(),
        n,
    })
}

/// Every field of `Coded` stores its codec's bytes (JSON text where JSON is asked for,
/// msgpack for `Msgpack<T>`, the user codec's prefix) and loads back equal, `u64::MAX`
/// included; atomic operations encode the same way and mirror into the local copy.
#[maybe_async]
#[mode_test]
async fn each_field_stores_its_codecs_bytes() {
    let t = common::env();
    let mut c = Coded {
        tasks: vec![job("a", u64::MAX), job("b", 0)],
        tags: [Json::new("x\0y".to_string())].into(),
        profile: Json::new(Profile {
            bio: "bio".into(),
            links: vec![("k".into(), "v".into())],
            extra: None,
        }),
        packed: rapyer::Msgpack::new(Profile::default()),
        versioned: vec![rapyer::Coded::new(Job {
            name: "v".into(),
            n: 7,
        })],
        meta: [("max".to_string(), u64::MAX)].into(),
        ..Coded::default()
    };
    c.by_name.insert("m".into(), job("m", 1));
    c.queue.push(job("q", 2), -5);
    c.insert().await.unwrap();
    let mut raw = t.raw();
    let first: Vec<u8> = redis::cmd("LINDEX")
        .arg(key_with(&t, ":c:tasks:"))
        .arg(0)
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        first,
        format!(r#"{{"name":"a","n":{}}}"#, u64::MAX).as_bytes()
    );
    let tag: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
        .arg(key_with(&t, ":c:tags:"))
        .query(&mut raw)
        .unwrap();
    assert_eq!(tag, [br#""x\u0000y""#.to_vec()]);
    let root = key_with(&t, ":d:");
    let profile: Vec<u8> = redis::cmd("HGET")
        .arg(&root)
        .arg("profile")
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        profile,
        br#"{"bio":"bio","links":[["k","v"]],"extra":null}"#
    );
    let packed: Vec<u8> = redis::cmd("HGET")
        .arg(&root)
        .arg("packed")
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        packed,
        rmp_serde::to_vec_named(&Profile::default()).unwrap()
    );
    let v: Vec<u8> = redis::cmd("LINDEX")
        .arg(key_with(&t, ":c:versioned:"))
        .arg(0)
        .query(&mut raw)
        .unwrap();
    assert_eq!(v, b"\x01{\"name\":\"v\",\"n\":7}");
    let settings: Vec<u8> = redis::cmd("HGET")
        .arg(&root)
        .arg("settings")
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        settings, br#"{"bio":"","links":[],"extra":null}"#,
        "#[rapyer(codec = \"json\")]"
    );
    let meta: Vec<u8> = redis::cmd("HGET")
        .arg(&root)
        .arg("meta")
        .query(&mut raw)
        .unwrap();
    assert_eq!(meta, b"\x01{\"max\":18446744073709551615}");
    let loaded = Coded::get(&c.id).await.unwrap();
    assert_eq!(loaded, c, "loads as saved");
    assert_eq!(loaded.tasks[0].n, u64::MAX, "exact through JSON");

    // atomic operations: same bytes, mirrored
    c.atomic().tasks.push(job("c", 3)).go().await.unwrap();
    c.atomic()
        .by_name
        .set("z".into(), job("z", 26))
        .go()
        .await
        .unwrap();
    c.atomic()
        .profile
        .set(Profile {
            bio: "new".into(),
            ..Profile::default()
        })
        .go()
        .await
        .unwrap();
    c.atomic().recent.push(job("r", 9)).go().await.unwrap();
    c.atomic()
        .settings
        .set(Profile {
            bio: "s".into(),
            ..Profile::default()
        })
        .go()
        .await
        .unwrap();
    let settings: Vec<u8> = redis::cmd("HGET")
        .arg(&root)
        .arg("settings")
        .query(&mut raw)
        .unwrap();
    assert_eq!(settings, br#"{"bio":"s","links":[],"extra":null}"#);
    let popped = c.atomic().queue.pop().go().await.unwrap();
    assert_eq!(popped, Some((job("q", 2), -5)));
    let z: Vec<u8> = redis::cmd("HGET")
        .arg(key_with(&t, ":c:by_name:"))
        .arg("z")
        .query(&mut raw)
        .unwrap();
    assert_eq!(z, br#"{"name":"z","n":26}"#);
    assert_eq!(c.profile.bio, "new");
    let stored = Coded::get(&c.id).await.unwrap();
    assert_eq!(stored, c, "local copy equals Redis");

    // run-time paths see a codec's element as its stored bytes, and go no deeper
    let got = Coded::extract_fields(&c.id, ["tasks[0]"]).await.unwrap();
    let first = format!(r#"{{"name":"a","n":{}}}"#, u64::MAX);
    assert_eq!(
        got.get("tasks[0]"),
        Some(&rapyer::Value::Bytes(first.into_bytes())),
        "{got:?}"
    );
    let r = Coded::extract_fields(&c.id, ["tasks[0].name"]).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
}

/// Bytes a codec cannot read are `Decode` naming the key, the field and the codec; a
/// value a codec cannot write is `Encode`, with nothing sent (every key unchanged); a
/// named structure of JSON elements works like a field.
#[maybe_async]
#[mode_test]
async fn codec_errors_name_the_codec_and_change_nothing() {
    let t = common::env();
    let mut c = Coded {
        tasks: vec![job("a", 1)],
        versioned: vec![rapyer::Coded::new(Job {
            name: "v".into(),
            n: 7,
        })],
        ..Coded::default()
    };
    c.insert().await.unwrap();
    let mut raw = t.raw();
    let tasks = key_with(&t, ":c:tasks:");
    let _: () = redis::cmd("LSET")
        .arg(&tasks)
        .arg(0)
        .arg("{not json")
        .query(&mut raw)
        .unwrap();
    let r = Coded::get(&c.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { key, field, reason, .. })
            if key.contains(":c:tasks:") && field == "tasks" && reason.contains("json:")),
        "{r:?}"
    );
    let _: () = redis::cmd("LSET")
        .arg(&tasks)
        .arg(0)
        .arg(r#"{"name":"a","n":1}"#)
        .query(&mut raw)
        .unwrap();
    let versioned = key_with(&t, ":c:versioned:");
    let _: () = redis::cmd("LSET")
        .arg(&versioned)
        .arg(0)
        .arg("{}")
        .query(&mut raw)
        .unwrap();
    let r = Coded::get(&c.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { field, reason, .. })
            if field == "versioned" && reason.contains("versioned: no version 1 prefix")),
        "{r:?}"
    );
    let _: () = redis::cmd("DEL").arg(&versioned).query(&mut raw).unwrap();
    c.versioned.clear();
    let root = key_with(&t, ":d:");
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("meta")
        .arg("{}")
        .query(&mut raw)
        .unwrap();
    let r = Coded::get(&c.id).await;
    assert!(
        matches!(&r, Err(Error::Decode { field, reason, .. })
            if field == "meta" && reason.contains("versioned:")),
        "{r:?}"
    );
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("meta")
        .arg("\x01{}")
        .query(&mut raw)
        .unwrap();
    Coded::get(&c.id).await.unwrap();

    let keys = t.keys();
    let dump = |raw: &mut common::Raw| -> Vec<Vec<u8>> {
        keys.iter()
            .map(|k| redis::cmd("DUMP").arg(k).query(raw).unwrap())
            .collect()
    };
    let before = dump(&mut raw);
    let bad = Json::new(std::collections::BTreeMap::from([(vec![1u8], 1)]));
    let r = c.atomic().odd.push(bad.clone()).go().await;
    assert!(
        matches!(&r, Err(Error::Encode { field, .. }) if field == "odd"),
        "{r:?}"
    );
    c.odd.push(bad);
    let r = c.save().await;
    assert!(matches!(&r, Err(Error::Encode { .. })), "{r:?}");
    assert_eq!(dump(&mut raw), before, "nothing written");

    let named = PriorityQueue::<Json<Job>, i64>::named("json-jobs");
    named.push(job("n", u64::MAX), 1).go().await.unwrap();
    let got = named.pop().go().await.unwrap();
    assert_eq!(got, Some((job("n", u64::MAX), 1)));
}
