//! Fuzz-style property test (proptest): random bytes written into random stored fields
//! (root hash fields, collection members, wrong key types, missing fields) never cause a
//! panic in any load path — `get`, `try_get`, `bulk_get`, queries, `reload`, both APIs —
//! nor in `Lazy` access, `failed_fields` or a following save. Models whose hits land only
//! on `Safe`/`Lazy`/`safe_all` fields must still load, and keep loading after a save.
#![allow(missing_docs)]

mod common;

use common::models::*;
use proptest::prelude::*;
use rapyer::asynchronous::{AsyncModel, with_environment};
use rapyer::sync::SyncModel;
use rapyer::{FieldKind, Model};

#[derive(Debug, Clone)]
enum Hit {
    /// Overwrite root hash field (index into the stored fields) with these bytes.
    Root(usize, Vec<u8>),
    /// Add a member with these bytes to a collection (index into the collections).
    Member(usize, Vec<u8>),
    /// Remove a root hash field.
    Drop(usize),
    /// Turn a collection key into a string.
    WrongType(usize),
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        // plausible text: digits, signs, dots, letters
        "[-+0-9.eEa-z]{0,12}".prop_map(String::into_bytes),
        // msgpack-looking prefixes
        proptest::collection::vec(0x80u8..0xe0, 1..6),
    ]
}

fn hit() -> impl Strategy<Value = Hit> {
    prop_oneof![
        4 => (any::<usize>(), bytes()).prop_map(|(i, b)| Hit::Root(i, b)),
        3 => (any::<usize>(), bytes()).prop_map(|(i, b)| Hit::Member(i, b)),
        1 => any::<usize>().prop_map(Hit::Drop),
        1 => any::<usize>().prop_map(Hit::WrongType),
    ]
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Applies `hits` to document `id` of `M`; returns whether every hit landed on a field
/// in `tolerant` (and none changed a key's type).
fn apply<M: Model>(t: &common::TestEnv, id: &str, hits: &[Hit], tolerant: &[&str]) -> bool {
    let schema = M::schema();
    let tag = format!("{}:{{{}:0}}", t.ns, schema.name);
    let root = format!("{tag}:d:{id}");
    let roots: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| !f.kind.is_collection())
        .map(|f| f.path.as_str())
        .collect();
    let colls: Vec<(&str, FieldKind)> = schema
        .collections()
        .map(|f| (f.path.as_str(), f.kind))
        .collect();
    let mut conn = t.raw();
    let mut survivable = true;
    for h in hits {
        let (path, cmd) = match h {
            Hit::Root(i, _) | Hit::Drop(i) if !roots.is_empty() => {
                let path = roots[i % roots.len()];
                let mut cmd = redis::cmd(if matches!(h, Hit::Drop(_)) {
                    "HDEL"
                } else {
                    "HSET"
                });
                cmd.arg(&root).arg(path);
                if let Hit::Root(_, b) = h {
                    cmd.arg(b.as_slice());
                }
                (path, cmd)
            }
            Hit::Member(i, _) | Hit::WrongType(i) if !colls.is_empty() => {
                let (path, kind) = colls[i % colls.len()];
                let key = format!("{tag}:c:{path}:{id}");
                let mut cmd;
                if let Hit::Member(_, b) = h {
                    cmd = redis::cmd(match kind {
                        FieldKind::List => "RPUSH",
                        FieldKind::Set => "SADD",
                        _ => "HSET",
                    });
                    cmd.arg(&key);
                    if kind == FieldKind::Map {
                        cmd.arg(b.as_slice());
                    }
                    cmd.arg(b.as_slice());
                } else {
                    survivable = false;
                    let _: () = redis::cmd("DEL").arg(&key).query(&mut conn).unwrap();
                    cmd = redis::cmd("SET");
                    cmd.arg(&key).arg("not a collection");
                }
                (path, cmd)
            }
            _ => continue,
        };
        // a member added to a key a previous hit turned into a string: WRONGTYPE, no write
        let _: redis::RedisResult<()> = cmd.query(&mut conn);
        survivable &= tolerant.contains(&path);
    }
    survivable
}

/// Every load path of `M` on document `id`; `touch` reads the model's lazy fields.
fn load_all<M>(
    env: &str,
    id: &str,
    must_load: bool,
    touch: fn(&M),
) -> Result<Option<M>, TestCaseError>
where
    M: Model + SyncModel + AsyncModel + Clone,
{
    let got = M::sync_get(id);
    let tried = M::sync_try_get(id);
    let bulk = M::sync_bulk_get([id]);
    let listed = M::query().sync_all();
    let async_got = rt().block_on(with_environment(env, M::get(id.to_owned())));
    let async_bulk = rt().block_on(with_environment(env, M::bulk_get(vec![id.to_owned()])));
    let mut loaded: Vec<M> = got.iter().cloned().collect();
    if let Ok(Ok(m)) = async_got {
        loaded.push(m);
    }
    for m in &loaded {
        let _ = m.failed_fields();
        touch(m);
        let mut again = m.clone();
        let _ = again.sync_reload();
    }
    if let Ok(v) = &bulk {
        v.iter().for_each(touch);
    }
    if let Ok(v) = &listed {
        v.iter().for_each(touch);
    }
    let _ = async_bulk;
    if must_load {
        prop_assert!(got.is_ok(), "get: {:?}", got.as_ref().err());
        prop_assert!(matches!(tried, Ok(Some(_))), "try_get: {:?}", tried.err());
        prop_assert!(bulk.is_ok(), "bulk_get: {:?}", bulk.err());
        prop_assert!(listed.is_ok(), "query: {:?}", listed.err());
    }
    Ok(got.ok())
}

fn attack<M>(sample: M, hits: &[Hit], tolerant: &[&str], touch: fn(&M)) -> Result<(), TestCaseError>
where
    M: Model + SyncModel + AsyncModel + Clone,
{
    let t = common::env();
    let env = t.env.name().to_owned();
    sample.sync_save().unwrap();
    let id = sample.id();
    let must_load = apply::<M>(&t, &id, hits, tolerant);
    let loaded = load_all::<M>(&env, &id, must_load, touch)?;
    if let Some(m) = loaded {
        // a save of what loaded keeps the quarantined bytes: it loads again as well
        let saved = m.sync_save();
        if must_load {
            prop_assert!(saved.is_ok(), "save: {:?}", saved.err());
            let again = load_all::<M>(&env, &id, true, touch)?;
            let again = again.expect("loaded");
            prop_assert!(
                again.failed_fields().len() >= m.failed_fields().len(),
                "quarantined failures survive the save"
            );
        }
    }
    Ok(())
}

fn touch_lazy_defer(m: &LazyDefer) {
    let _ = (m.body.get(), m.stops.get(), m.count.get());
}

fn touch_lazy_log(m: &LazyLog) {
    let _ = (m.body.get(), m.stops.get(), m.count.get());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_in_stored_fields_never_panic(
        model in 0usize..5,
        hits in proptest::collection::vec(hit(), 1..5),
    ) {
        match model {
            0 => attack(Everything::sample(), &hits, &[], |_| {})?,
            1 => attack(
                Sturdy::sample(),
                &hits,
                &["visits", "title", "profile", "stops", "scores", "level", "place.beds"],
                |_| {},
            )?,
            2 => attack(
                Tolerant { code: 1, count: 2, label: "l".into(), tags: vec!["t".into()], rank: 3, level: 1, load: Default::default() },
                &hits,
                &["count", "label", "tags", "level"],
                |_| {},
            )?,
            3 => attack(LazyDefer::sample("body"), &hits, &["body", "stops", "count"], touch_lazy_defer)?,
            _ => attack(LazyLog::sample("body"), &hits, &["body", "stops", "count"], touch_lazy_log)?,
        }
    }
}
