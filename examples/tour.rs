//! The tour: define models, save, load, list, delete, switch environment, in both the
//! blocking and the tokio API, printing what happened and what Redis holds.
//!
//! Run it with `bash scripts/tour.sh` (installs redis-server if missing). It uses
//! `REDIS_URL` when set; otherwise it starts a throwaway redis-server on a free port and
//! stops it at the end, so it never touches a server on 6379.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

use rapyer::asynchronous::{AsyncModel, with_environment};
use rapyer::sync::SyncModel;
use rapyer::{Element, Embedded, Id, Model};
use serde::{Deserialize, Serialize};

#[derive(Embedded, Debug, Clone, PartialEq)]
struct Address {
    city: String,
    zip: Option<String>,
    lines: Vec<String>, // embedded structs may hold collections: own keys too
}

#[derive(Element, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Badge {
    name: String,
    level: u8,
}

#[derive(Model, Debug, Clone, PartialEq)]
struct User {
    id: Id, // auto id: UUID v7
    name: String,
    age: i64,
    score: f64,
    active: bool,
    address: Address,
    tags: Vec<String>,
    badges: Vec<Badge>,
    settings: HashMap<String, String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(ttl = 1800, ttl_refresh = "both")]
struct Session {
    id: Id,
    user: String,
    hits: i64,
    pages: Vec<String>,
}

/// A model as first deployed: no index.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "Member", shards = 2)]
struct MemberV1 {
    id: Id,
    name: String,
    age: i64,
    city: String,
}

/// The next version indexes two fields of the same documents.
#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "Member", shards = 2)]
struct Member {
    id: Id,
    name: String,
    #[rapyer(index)]
    age: i64,
    #[rapyer(index)]
    city: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "Acct", shards = 4)]
struct Account {
    #[rapyer(key)]
    email: String,
    plan: String,
}

/// Fields that survive corrupt stored bytes.
#[derive(Model, Debug, Clone)]
#[rapyer(on_error = "log")]
struct Note {
    id: Id,
    title: String,
    views: rapyer::Safe<u64>,        // bad bytes: 0, recorded, kept in Redis
    body: rapyer::Lazy<Vec<String>>, // decoded on first access
}

struct Throwaway(Option<Child>, std::path::PathBuf);

impl Drop for Throwaway {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// `REDIS_URL`, or a throwaway redis-server on a free port.
fn redis_url() -> (String, Throwaway) {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return (url, Throwaway(None, std::path::PathBuf::new()));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("rapyer-tour-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server not found: run `bash scripts/tour.sh`, which installs it");
    let guard = Throwaway(Some(child), dir);
    let url = format!("redis://127.0.0.1:{port}/");
    for _ in 0..200 {
        if redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .is_ok()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    println!("started a throwaway redis-server on port {port}");
    (url, guard)
}

fn show_redis(url: &str, title: &str) {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    // KEYS is fine on a throwaway demo server; rapyer itself never uses it.
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    keys.sort();
    println!("\n  Redis now holds ({title}):");
    for key in keys {
        let ty: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
        println!("    {ty:<5} {key}");
    }
}

fn main() -> rapyer::Result<()> {
    let (url, _server) = redis_url();
    let default_env = rapyer::init(&url)?;
    rapyer::register_environment(
        "staging",
        rapyer::EnvironmentConfig::new(&url).namespace("staging"),
    )?;

    println!("== blocking API (rapyer::sync, sync_ names)");
    let mut ada = User {
        id: Id::new(),
        name: "Ada".into(),
        age: 36,
        score: 99.5,
        active: true,
        address: Address {
            city: "London".into(),
            zip: None,
            lines: vec!["12 St James's Sq".into()],
        },
        tags: vec!["math".into(), "engines".into()],
        badges: vec![Badge {
            name: "pioneer".into(),
            level: 3,
        }],
        settings: HashMap::from([("theme".into(), "dark".into())]),
    };
    ada.sync_insert()?;
    println!(
        "inserted User {} ({} fields, {} collections)",
        ada.id,
        User::schema().fields.len(),
        User::schema().collections().count()
    );
    match ada.sync_insert() {
        Err(e @ rapyer::Error::AlreadyExists { .. }) => println!("insert again -> {e}"),
        other => println!("unexpected: {other:?}"),
    }
    let loaded = User::sync_get(&ada.id)?;
    println!(
        "get -> {} aged {} from {}, tags {:?}",
        loaded.name, loaded.age, loaded.address.city, loaded.tags
    );
    assert_eq!(loaded, ada);

    ada.age += 1;
    ada.tags.push("poetry".into());
    ada.sync_save()?;
    let copy = ada.sync_duplicate()?;
    println!("saved, then duplicated as {}", copy.id);
    println!(
        "ids (from the id index, never KEYS/SCAN): {:?}",
        User::sync_ids()?
    );
    println!("count: {}", User::sync_count()?);
    match User::sync_get("no-such-id") {
        Err(e) => println!("get missing -> {e}"),
        Ok(_) => unreachable!(),
    }
    show_redis(&url, "two users");

    println!("\n== atomic operations, a pipeline, a lock, TTL");
    let before = default_env.stats();
    let age = ada.atomic().age.sync_incr(1)?;
    println!(
        "atomic incr on the stored value -> {age} (local copy: {})",
        ada.age
    );
    let n = ada.atomic().tags.sync_push("chess".into())?;
    println!("atomic push -> {n} tags, local {:?}", ada.tags);
    match ada.atomic().name.sync_len() {
        Ok(len) => println!("name is {len} bytes long"),
        Err(e) => println!("{e}"),
    }
    let spent = default_env.stats() - before;
    println!("3 atomic ops = {} round trips", spent.round_trips);
    let gone = User::at("no-such-id").age.sync_incr(1);
    println!("incr on a missing document -> {}", gone.unwrap_err());
    let overflow = ada.atomic().age.sync_incr(i64::MAX);
    println!("overflow -> {}", overflow.unwrap_err());
    let before = default_env.stats();
    ada.sync_pipeline(|u, p| {
        p.add(u.score.incr(0.5));
        p.add(u.active.toggle());
        p.add(u.settings.set("lang".into(), "en".into()));
        p.add(u.address.lines.push("2nd floor".into()));
        Ok(())
    })?;
    println!(
        "pipeline of 4 ops: {} round trip; score {}, active {}, settings {:?}",
        (default_env.stats() - before).round_trips,
        ada.score,
        ada.active,
        ada.settings
    );
    ada.sync_lock("birthday", |u| {
        u.age += 1; // a plain read-modify-write, safe under the lock
        Ok(())
    })?;
    println!("under a lock: age -> {}", ada.age);
    let session = Session {
        id: Id::new(),
        user: ada.name.clone(),
        hits: 0,
        pages: vec![],
    };
    session.sync_save()?;
    session.sync_set_ttl(std::time::Duration::from_secs(60))?;
    println!(
        "session ttl after set_ttl(60s): {:?}",
        Session::sync_ttl(&session.id)?
    );
    Session::at(&session.id).hits.sync_incr(1)?;
    println!(
        "after a write (ttl_refresh = both): {:?}",
        Session::sync_ttl(&session.id)?
    );
    session.sync_delete()?;

    println!("\n== tokio API (rapyer::asynchronous, plain names)");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        for (email, plan) in [
            ("ada@example.com", "pro"),
            ("alan@example.com", "free"),
            ("grace@example.com", "pro"),
        ] {
            Account {
                email: email.into(),
                plan: plan.into(),
            }
            .insert()
            .await?;
        }
        let grace = Account::get("grace@example.com").await?;
        println!("get -> {grace:?}");
        println!("accounts over 4 shards: {:?}", Account::ids().await?);
        let deleted = copy.delete().await?;
        println!("deleted the duplicate: {deleted}");
        let hits = Account::at("grace@example.com").plan.append("+").await?;
        println!("async atomic append -> {hits}");

        let before = default_env.stats();
        let _ = User::get(&ada.id).await?;
        let spent = default_env.stats() - before;
        println!(
            "one get = {} round trip, {} commands (MULTI, HGETALL, one read per collection, EXEC)",
            spent.round_trips, spent.commands
        );

        with_environment("staging", async {
            Account {
                email: "ada@example.com".into(),
                plan: "trial".into(),
            }
            .save()
            .await?;
            println!(
                "in staging: {} account(s); plan of ada = {}",
                Account::count().await?,
                Account::get("ada@example.com").await?.plan
            );
            Ok::<(), rapyer::Error>(())
        })
        .await??;
        println!(
            "back in default: plan of ada = {}",
            Account::get("ada@example.com").await?.plan
        );
        Ok::<(), rapyer::Error>(())
    })?;

    println!("\n== indexes and queries (plain Redis, no modules)");
    for (i, city) in ["Oslo", "Rome", "Oslo", "Lima", "Oslo", "Rome"]
        .iter()
        .enumerate()
    {
        MemberV1 {
            id: Id::new(),
            name: format!("m{i}"),
            age: 20 + 5 * i as i64,
            city: city.to_string(),
        }
        .sync_save()?;
    }
    let f = Member::fields();
    match Member::find(f.age.gt(25)).sync_count() {
        Err(e) => println!("query before reindex -> {e}"),
        Ok(n) => println!("unexpected: {n}"),
    }
    let done = Member::sync_reindex(|p| {
        println!(
            "  reindex: shard {}/{}: {}/{} documents",
            p.shard + 1,
            p.shards,
            p.done,
            p.total
        )
    })?;
    println!("reindexed up to {:?}", done.cursor);
    let oslo_over_25 = Member::find(f.age.gt(25) & f.city.eq("Oslo"))
        .order_by(f.age.desc())
        .sync_all()?;
    println!(
        "(age > 25) & (city == \"Oslo\"), oldest first: {:?}",
        oslo_over_25
            .iter()
            .map(|m| (&m.name, m.age))
            .collect::<Vec<_>>()
    );
    println!(
        "count(city in [Rome, Lima]) = {}",
        Member::find(f.city.is_in(["Rome", "Lima"])).sync_count()?
    );
    let first = rapyer::find_by!(Member, city = "Rome")
        .order_by(f.age.asc())
        .sync_first()?;
    println!(
        "find_by!(city = \"Rome\"), youngest: {:?}",
        first.map(|m| m.name)
    );
    let removed = Member::find(f.age.lt(30)).sync_delete()?;
    println!("deleted {removed} members under 30 (by filter)");

    println!("\n== bulk operations (chunks of 500, one atomic round trip each)");
    let crowd: Vec<Member> = (0..1_200)
        .map(|i| Member {
            id: Id::new(),
            name: format!("member{i}"),
            age: 18 + i % 60,
            city: ["Oslo", "Rome", "Lima"][(i % 3) as usize].into(),
        })
        .collect();
    let before = default_env.stats();
    let written = Member::bulk()
        .progress(|p| println!("  inserted {}/{}", p.done, p.total))
        .sync_insert(&crowd)?;
    println!(
        "bulk_insert: {written} members in {} round trips",
        (default_env.stats() - before).round_trips
    );
    match Member::sync_bulk_insert(&crowd[..10]) {
        Err(rapyer::Error::Bulk(report)) => println!(
            "inserting 10 again: {} already exist, {} written",
            report.existing.len(),
            report.applied.len()
        ),
        other => println!("unexpected: {other:?}"),
    }
    let ids: Vec<String> = crowd.iter().map(|m| m.id.to_string()).collect();
    let back = Member::sync_bulk_get(&ids[..3])?;
    println!(
        "bulk_get, order kept: {:?}",
        back.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    println!(
        "Rome members now: {}",
        Member::find(f.city.eq("Rome")).sync_count()?
    );
    println!("bulk_delete: {} existed", Member::sync_bulk_delete(&ids)?);

    println!("\n== corrupt data: Safe and Lazy fields");
    let note = Note {
        id: Id::new(),
        title: "hello".into(),
        views: 7.into(),
        body: vec!["line 1".to_string(), "line 2".to_string()].into(),
    };
    note.sync_save()?;
    let mut raw = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .map_err(rapyer::Error::Redis)?;
    let root = format!("{{Note:0}}:d:{}", note.id);
    redis::cmd("HSET")
        .arg(&root)
        .arg("views")
        .arg("seven")
        .query::<()>(&mut raw)
        .map_err(rapyer::Error::Redis)?;
    let mut loaded = Note::sync_get(&note.id)?;
    println!(
        "loaded anyway: views = {} (fallback), body decoded yet: {}",
        *loaded.views,
        loaded.body.is_decoded()
    );
    for f in loaded.failed_fields() {
        println!("failed field: {f}");
    }
    loaded.title = "renamed".into();
    loaded.sync_save()?; // writes "seven" back: quarantined until assigned
    let kept: String = redis::cmd("HGET")
        .arg(&root)
        .arg("views")
        .query(&mut raw)
        .map_err(rapyer::Error::Redis)?;
    println!("after a save that did not touch it, Redis still holds views = {kept:?}");
    *loaded.views = 8;
    loaded.sync_save()?;
    println!(
        "assigned and saved: views = {}, body = {:?}",
        *Note::sync_get(&note.id)?.views,
        loaded.body.get()?
    );
    Note::sync_delete_id(&note.id)?;

    println!("\n== switching environment in blocking code");
    {
        let _staging = rapyer::use_environment("staging")?;
        println!(
            "current environment: {}",
            rapyer::current_environment()?.name()
        );
        println!("users in staging: {}", User::sync_count()?);
    }
    println!(
        "current environment: {}",
        rapyer::current_environment()?.name()
    );
    show_redis(&url, "users, accounts, and staging's namespaced copy");

    println!("\n== cleanup");
    for id in User::sync_ids()? {
        User::sync_delete_id(&id)?;
    }
    for email in Account::sync_ids()? {
        Account::sync_delete_id(&email)?;
    }
    Member::query().sync_delete()?;
    println!(
        "default environment: {} users, {} accounts; stats {:?}",
        User::sync_count()?,
        Account::sync_count()?,
        default_env.stats()
    );
    Ok(())
}
