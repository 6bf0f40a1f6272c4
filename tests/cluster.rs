//! Redis Cluster by nature: topology changes under load, on a cluster each test starts
//! for itself (3 masters on loopback ports; the failover test adds a replica per master).
//! The shared suites run on a cluster too (`RAPYER_TEST_CLUSTER=1`, `.ci/run`).
#![allow(missing_docs)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::models::{Home, Person};
use rapyer::Model;
use rapyer::sync::SyncModel;

fn node_id(url: &str) -> String {
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query(&mut common::Raw::open(url))
        .unwrap()
}

fn keyslot(conn: &mut common::Raw, key: &str) -> u16 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(conn)
        .unwrap()
}

/// The node (URL) serving `slot`, by `CLUSTER SHARDS`-free means: the node whose
/// `CLUSTER COUNTKEYSINSLOT` answers instead of redirecting.
/// Retried for up to 30 s: right after a move, the nodes' views converge by gossip, slowly
/// on a loaded 2-core host.
fn owner(nodes: &[String], slot: u16) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(at) = owner_now(nodes, slot) {
            return at;
        }
        assert!(Instant::now() < deadline, "no node serves slot {slot}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn owner_now(nodes: &[String], slot: u16) -> Option<usize> {
    nodes.iter().position(|n| {
        let r: redis::RedisResult<i64> = redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .query(&mut common::Raw::open(n));
        r.is_ok()
            && redis::cmd("CLUSTER")
                .arg("NODES")
                .query::<String>(&mut common::Raw::open(n))
                .unwrap()
                .lines()
                .any(|l| l.contains("myself") && serves(l, slot))
    })
}

/// Whether a `CLUSTER NODES` line lists `slot` among its ranges.
fn serves(line: &str, slot: u16) -> bool {
    line.split_whitespace()
        .skip(8)
        .any(|r| match r.split_once('-') {
            Some((a, b)) => {
                a.parse::<u16>().is_ok_and(|a| a <= slot)
                    && b.parse::<u16>().is_ok_and(|b| slot <= b)
            }
            None => r.parse::<u16>() == Ok(slot),
        })
}

/// Moves `slot` from node `from` to node `to` as `redis-cli --cluster reshard` does:
/// IMPORTING / MIGRATING, `MIGRATE` of its keys in batches, then `SETSLOT NODE` on
/// every master.
fn move_slot(nodes: &[String], slot: u16, from: usize, to: usize) {
    let (src, dst) = (&nodes[from], &nodes[to]);
    let (src_id, dst_id) = (node_id(src), node_id(dst));
    let mut s = common::Raw::open(src);
    let mut d = common::Raw::open(dst);
    let _: () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("IMPORTING")
        .arg(&src_id)
        .query(&mut d)
        .unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("MIGRATING")
        .arg(&dst_id)
        .query(&mut s)
        .unwrap();
    let port = dst
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    loop {
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(50)
            .query(&mut s)
            .unwrap();
        if keys.is_empty() {
            break;
        }
        let _: () = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(&port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("REPLACE")
            .arg("KEYS")
            .arg(&keys)
            .query(&mut s)
            .unwrap();
        // leave the workers a window inside the migration
        std::thread::sleep(Duration::from_millis(5));
    }
    for n in nodes {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("NODE")
            .arg(&dst_id)
            .query(&mut common::Raw::open(n))
            .unwrap();
    }
}

/// Every key of a document and its shard's indexes are in one slot (the server's own
/// `CLUSTER KEYSLOT` says so), for every shard of a 4-shard model.
#[test]
fn every_key_of_a_document_and_its_indexes_share_one_slot() {
    let server = common::Server::start_cluster(3);
    let t = common::env_with(&server.url, |c| c);
    for age in 0..40 {
        Person {
            age,
            tags: vec!["a".into()],
            ..Person::default()
        }
        .sync_insert()
        .unwrap();
    }
    let mut raw = t.raw();
    let mut by_tag: HashMap<String, Vec<u16>> = HashMap::new();
    for key in t.keys() {
        let tag = key
            .split_once('{')
            .unwrap()
            .1
            .split_once('}')
            .unwrap()
            .0
            .to_owned();
        let slot = keyslot(&mut raw, &key);
        by_tag.entry(tag).or_default().push(slot);
    }
    assert_eq!(by_tag.len(), 4, "four shards: {by_tag:?}");
    for (tag, slots) in &by_tag {
        assert!(slots.windows(2).all(|w| w[0] == w[1]), "{tag}: {slots:?}");
        assert!(
            slots.len() > 5,
            "{tag}: documents, index keys and the id index"
        );
    }
}

/// Slots of a 4-shard model move between masters (IMPORTING/MIGRATING + MIGRATE, four
/// times over) while four workers increment indexed fields, save documents and query: every
/// acknowledged write is there afterwards, and the indexes match the documents.
#[test]
fn slots_move_under_load_without_losing_writes_or_index_entries() {
    let server = common::Server::start_cluster(3);
    let nodes = server.node_urls();
    let t = common::env_with(&server.url, |c| c.response_timeout(Duration::from_secs(10)));
    let ids: Vec<String> = (0..16)
        .map(|i| {
            let p = Person {
                age: 0,
                status: format!("s{}", i % 3),
                ..Person::default()
            };
            p.sync_insert().unwrap();
            p.id.to_string()
        })
        .collect();
    // the slots of the model's 4 shard tags (a shard may hold no document yet)
    let slots: Vec<u16> = {
        let mut raw = t.raw();
        (0..4)
            .map(|s| keyslot(&mut raw, &format!("{{Person:{s}}}")))
            .collect()
    };

    let stop = Arc::new(AtomicBool::new(false));
    // per document: acknowledged increments, and increments whose outcome is unknown
    let acked = Arc::new(Mutex::new(HashMap::<String, (i64, i64)>::new()));
    let saved = Arc::new(Mutex::new(Vec::<Person>::new()));
    let name = t.env.name().to_owned();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (ids, stop, acked, saved, name) = (
                ids.clone(),
                stop.clone(),
                acked.clone(),
                saved.clone(),
                name.clone(),
            );
            std::thread::spawn(move || {
                let _env = rapyer::use_environment(&name).unwrap();
                let mut i = w;
                let mut errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let id = &ids[i % ids.len()];
                    match Person::at(id).age.sync_incr(1) {
                        Ok(_) => acked.lock().unwrap().entry(id.clone()).or_default().0 += 1,
                        Err(e) => {
                            acked.lock().unwrap().entry(id.clone()).or_default().1 += 1;
                            errors.push(e.to_string());
                        }
                    }
                    if i % 5 == 0 {
                        let p = Person {
                            age: 1000 + i as i64,
                            home: Home {
                                city: format!("c{}", i % 4),
                                ..Home::default()
                            },
                            ..Person::default()
                        };
                        match p.sync_insert() {
                            Ok(()) => saved.lock().unwrap().push(p),
                            Err(e) => errors.push(e.to_string()),
                        }
                    }
                    if i % 7 == 0
                        && let Err(e) = Person::find(Person::fields().status.eq("s1")).sync_count()
                    {
                        errors.push(e.to_string());
                    }
                    i += 4;
                }
                errors
            })
        })
        .collect();

    // every slot of the model moves to the next master and back
    let start = Instant::now();
    for round in 0..4 {
        for &slot in &slots {
            let from = owner(&nodes, slot);
            let to = (from + 1 + round % 2) % nodes.len();
            move_slot(&nodes, slot, from, to);
            let deadline = Instant::now() + Duration::from_secs(10);
            while owner(&nodes, slot) != to {
                assert!(
                    Instant::now() < deadline,
                    "slot {slot} did not move to {to}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let moved_in = start.elapsed();
    let done: i64 = acked.lock().unwrap().values().map(|v| v.0).sum();
    eprintln!(
        "16 slot moves in {moved_in:?}; {done} acknowledged increments, {} saves; {} failed calls: {:?}",
        saved.lock().unwrap().len(),
        errors.len(),
        errors.iter().take(5).collect::<Vec<_>>()
    );
    assert!(done > 100, "the workers ran during the moves: {done}");

    // every acknowledged increment is stored (one whose reply was lost may be too)
    for (id, (ok, unknown)) in acked.lock().unwrap().iter() {
        let age = Person::sync_get(id).unwrap().age;
        assert!(
            age >= *ok && age <= ok + unknown,
            "{id}: stored {age}, acknowledged {ok}, unknown {unknown}"
        );
    }
    // every acknowledged insert is there, and queries see them through the indexes
    for p in saved.lock().unwrap().iter() {
        assert_eq!(&Person::sync_get(&p.id).unwrap(), p);
    }
    let total = Person::sync_count().unwrap() as usize;
    assert!(total >= 16 + saved.lock().unwrap().len());
    // no index drift: every entry matches its document, every document has its entries
    assert!(common::check_person_indexes(&t) >= total);
    let city = Person::find(Person::fields().home.city.eq("c1"))
        .sync_count()
        .unwrap();
    let want = saved
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.home.city == "c1")
        .count() as u64;
    assert!(city >= want, "{city} < {want}");
    assert!(
        errors.len() * 10
            <= acked
                .lock()
                .unwrap()
                .values()
                .map(|v| v.0 as usize)
                .sum::<usize>()
                .max(10),
        "most calls go through during the moves: {} errors",
        errors.len()
    );
}

/// A master dies (`kill -9`) and its replica takes over: operations fail with typed
/// errors for a bounded time, then resume in both APIs; what was replicated before the
/// crash is all there (Redis replication is asynchronous: a write acknowledged but not
/// yet replicated when a master dies can be lost, see the README).
#[test]
fn operations_resume_after_a_failover() {
    let server = common::Server::start_cluster_with(3, 1, 1000);
    let nodes = server.node_urls();
    let t = common::env_with(&server.url, |c| {
        c.response_timeout(Duration::from_secs(2))
            .connection_timeout(Duration::from_secs(1))
    });
    let people: Vec<Person> = (0..40)
        .map(|i| Person {
            age: i,
            status: format!("s{}", i % 2),
            ..Person::default()
        })
        .collect();
    Person::sync_bulk_insert(&people).unwrap();
    // wait until every master's replica has it all (a WAIT on another connection would
    // not wait for these writes: it waits for its own client's)
    for n in &nodes {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut common::Raw::open(n))
                .unwrap();
            let master: u64 = info
                .lines()
                .find_map(|l| l.strip_prefix("master_repl_offset:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap();
            let caught_up = info
                .lines()
                .filter(|l| l.starts_with("slave"))
                .filter_map(|l| l.split("offset=").nth(1))
                .filter_map(|v| v.split(',').next()?.parse::<u64>().ok())
                .any(|o| o >= master);
            if caught_up {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{n}'s replica did not catch up: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let victim_slot = {
        let mut raw = t.raw();
        let key = t
            .keys()
            .into_iter()
            .find(|k| k.contains("{Person:0}"))
            .unwrap();
        keyslot(&mut raw, &key)
    };
    let victim = owner(&nodes, victim_slot);
    let pid: String = {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut common::Raw::open(&nodes[victim]))
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let keys = t.keys();
    let in_shard: Vec<&Person> = people
        .iter()
        .filter(|p| keys.contains(&format!("{}:{{Person:0}}:d:{}", t.ns, p.id)))
        .collect();
    assert!(!in_shard.is_empty());
    let target = in_shard[0].id.to_string();
    // the tokio API's shared connection exists before the crash
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = t.env.name().to_owned();
    let n = rt
        .block_on(rapyer::asynchronous::with_environment(&env, async {
            Person::find(Person::fields().status.eq("s0")).count().await
        }))
        .unwrap()
        .unwrap();
    assert_eq!(n, 20);
    std::process::Command::new("kill")
        .arg("-9")
        .arg(&pid)
        .status()
        .unwrap();

    let killed = Instant::now();
    let mut failures = Vec::new();
    let resumed = loop {
        match Person::at(&target).age.sync_incr(1000) {
            Ok(_) => break killed.elapsed(),
            Err(e) => failures.push(e.to_string()),
        }
        if killed.elapsed() > Duration::from_secs(60) {
            let live = &nodes[(victim + 1) % nodes.len()];
            let view: String = redis::cmd("CLUSTER")
                .arg("NODES")
                .query(&mut common::Raw::open(live))
                .unwrap_or_default();
            panic!("no failover within 60 s: {:?}\n{view}", failures.last());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!(
        "resumed {resumed:?} after the kill, {} failed calls first (e.g. {:?})",
        failures.len(),
        failures.first()
    );
    // everything replicated before the crash is there, with its index entries
    for p in &people {
        let got = Person::sync_get(&p.id).unwrap();
        let want = if p.id.to_string() == target {
            p.age + 1000
        } else {
            p.age
        };
        assert_eq!(got.age, want);
    }
    let s1 = Person::find(Person::fields().status.eq("s1"))
        .sync_count()
        .unwrap();
    assert_eq!(s1, 20);
    let old = Person::find(Person::fields().age.ge(1000))
        .sync_count()
        .unwrap();
    assert_eq!(old, 1);
    // the tokio API too: its connection predates the crash
    let async_resumed = rt
        .block_on(rapyer::asynchronous::with_environment(&env, async {
            let start = Instant::now();
            let mut failed = 0;
            loop {
                match Person::at(&target).age.incr(1).await {
                    Ok(_) => break (start.elapsed(), failed),
                    Err(e) => {
                        failed += 1;
                        assert!(start.elapsed() < Duration::from_secs(30), "tokio API: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }))
        .unwrap();
    eprintln!("tokio API resumed after {async_resumed:?} (time, failed calls)");
    let n = rt
        .block_on(rapyer::asynchronous::with_environment(&env, async {
            Person::find(Person::fields().status.eq("s0")).count().await
        }))
        .unwrap()
        .unwrap();
    assert_eq!(n, 20);
    assert_eq!(
        Person::sync_get(&target).unwrap().age,
        in_shard[0].age + 1001
    );
}

/// Round trips per node: the per-slot counts summed by each slot's master add up to the
/// environment's planned round trips, spread over the masters the shards live on.
#[test]
fn round_trips_are_counted_per_node() {
    let server = common::Server::start_cluster(3);
    let t = common::env_with(&server.url, |c| c);
    for age in 0..40 {
        Person {
            age,
            ..Person::default()
        }
        .sync_insert()
        .unwrap();
    }
    for _ in 0..10 {
        Person::find(Person::fields().age.ge(10))
            .sync_count()
            .unwrap();
    }
    let planned = t.stats().planned_round_trips();
    let per_node = rapyer::sync::sync_node_round_trips(&t.env).unwrap();
    assert_eq!(per_node.values().sum::<u64>(), planned, "{per_node:?}");
    assert!(per_node.len() >= 2, "4 shards over 3 masters: {per_node:?}");
    let nodes = server.node_urls();
    assert!(
        per_node
            .keys()
            .all(|n| nodes.iter().any(|u| u.contains(n.as_str()))),
        "{per_node:?} names masters of {nodes:?}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let again = rt
        .block_on(rapyer::asynchronous::node_round_trips(&t.env))
        .unwrap();
    assert_eq!(again, per_node, "CLUSTER SLOTS is not counted per node");
    // one server: no per-node figures (stats() has the totals)
    let single = common::Server::start();
    let s = common::env_with(&single.url, |c| c);
    Person::default().sync_insert().unwrap();
    assert!(
        rapyer::sync::sync_node_round_trips(&s.env)
            .unwrap()
            .is_empty()
    );
}
