//! Test harness: a throwaway `redis-server` per test binary (or `REDIS_URL` when set),
//! and a fresh, namespaced environment per test. It never touches a server it did not
//! start, except the one named by `REDIS_URL`, where it only uses its own namespaces
//! (found with `SCAN`, never `KEYS`).
//!
//! `RAPYER_SERVER_BIN` names another server binary to start (`valkey-server`).
//!
//! Not every test follows `REDIS_URL`: `private_env()` and `Server::start()` always start
//! a private server (for tests that flush the script cache or count commands
//! server-wide), and `faulty::Faulty` is a server a fault test owns outright (killed,
//! frozen, restarted on its port).
#![allow(dead_code)]

pub mod faulty;
pub mod models;
pub mod structures;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

/// A running Redis the tests may use: one server, or a cluster (`url` is then a
/// `redis+cluster://` URL naming every master).
pub struct Server {
    pub url: String,
}

/// Whether the suites run against a local Redis Cluster (`RAPYER_TEST_CLUSTER=1`, set by
/// `.ci/run`'s cluster pass): `server()` is then a 3-master cluster.
pub fn cluster_mode() -> bool {
    std::env::var("RAPYER_TEST_CLUSTER").is_ok_and(|v| v == "1")
}

/// True, with a note on stderr, when a test is single-server by nature (databases,
/// `SELECT`, server-wide counters) and the suites run against a cluster: the test
/// returns early then.
pub fn single_server_only(why: &str) -> bool {
    if cluster_mode() {
        eprintln!("single-server test, skipped on the cluster: {why}");
        return true;
    }
    false
}

/// True, with a note on stderr, when a long test (a minute in a debug build) should be
/// left out: `RAPYER_SKIP_SLOW=1`, which `.ci/run` sets for its repeated passes (feature
/// combinations, Valkey, cluster) after the full run of the README's test command.
pub fn skip_slow(what: &str) -> bool {
    if std::env::var("RAPYER_SKIP_SLOW").is_ok_and(|v| v == "1") {
        eprintln!("slow test left out (RAPYER_SKIP_SLOW=1): {what}");
        return true;
    }
    false
}

/// Whether round-trip budgets are those of one server. On a cluster, an operation over
/// several slots takes one round trip per slot (README, "Redis Cluster"): exact
/// single-server budgets are checked only off the cluster.
pub fn single_server_budgets() -> bool {
    !cluster_mode()
}

static SHARED: Lazy<Server> = Lazy::new(|| match std::env::var("REDIS_URL") {
    Ok(url) if !url.is_empty() => Server { url },
    _ if cluster_mode() => Server::start_cluster(3),
    _ => Server::start(),
});

/// The server shared by the tests of this binary.
pub fn server() -> &'static Server {
    &SHARED
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

/// A free port for a cluster node: its cluster bus listens 10,000 above it, so that port
/// must exist (≤ 65535) and be free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// The server binary the harness starts: `RAPYER_SERVER_BIN` when set (CI runs the
/// suites once more with `valkey-server` this way), else `redis-server` from `PATH`.
fn redis_server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("RAPYER_SERVER_BIN").filter(|b| !b.is_empty()) {
        return PathBuf::from(bin);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain([
        "/usr/bin",
        "/usr/local/bin",
        "/usr/sbin",
    ]) {
        let p = PathBuf::from(dir).join("redis-server");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "redis-server not found: run scripts/ensure-redis.sh (or apt-get install redis-server), or set REDIS_URL"
    );
}

impl Server {
    /// Starts a private server on a free port. A shell watchdog stops it (and removes its
    /// directory) when this test process exits, since Rust never drops statics.
    pub fn start() -> Server {
        for _attempt in 0..5 {
            let port = free_port();
            spawn_server(port, "");
            let url = format!("redis://127.0.0.1:{port}/");
            if wait_for_ping(&url) {
                return Server { url };
            }
        }
        panic!("redis-server did not start");
    }

    /// Starts a local Redis Cluster of `masters` masters on free loopback ports (no
    /// replicas): the nodes meet, the 16384 slots are split between them, and this
    /// returns once every node reports `cluster_state:ok` and knows every slot. The
    /// watchdogs stop the nodes when the test process exits.
    pub fn start_cluster(masters: usize) -> Server {
        Self::start_cluster_with(masters, 0, 5000)
    }

    /// [`start_cluster`](Self::start_cluster) with `replicas` replicas per master and the
    /// given `cluster-node-timeout` (how long a master may be unreachable before its
    /// replica takes over). The URL names the masters only.
    pub fn start_cluster_with(masters: usize, replicas: usize, node_timeout_ms: u64) -> Server {
        let total = masters * (1 + replicas);
        let all_ports: Vec<u16> = (0..total).map(|_| free_cluster_port()).collect();
        for &port in &all_ports {
            spawn_server(
                port,
                &format!(
                    "--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout {node_timeout_ms}"
                ),
            );
        }
        let ports = &all_ports[..masters];
        let urls: Vec<String> = ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect();
        for url in &urls {
            assert!(wait_for_ping(url), "cluster node {url} did not start");
        }
        let conn = |url: &str| {
            redis::Client::open(url)
                .and_then(|c| c.get_connection())
                .expect("cluster node connection")
        };
        for &port in &all_ports[masters..] {
            assert!(
                wait_for_ping(&format!("redis://127.0.0.1:{port}/")),
                "cluster replica {port} did not start"
            );
        }
        let mut first = conn(&urls[0]);
        for &port in &all_ports[1..] {
            let _: () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(port)
                .query(&mut first)
                .expect("CLUSTER MEET");
        }
        let per = 16384 / masters;
        for (i, url) in urls.iter().enumerate() {
            let lo = i * per;
            let hi = if i + 1 == masters {
                16383
            } else {
                lo + per - 1
            };
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(lo)
                .arg(hi)
                .query(&mut conn(url))
                .expect("CLUSTER ADDSLOTSRANGE");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        // each replica follows one master, once it knows that master
        for (r, &port) in all_ports[masters..].iter().enumerate() {
            let master: String = redis::cmd("CLUSTER")
                .arg("MYID")
                .query(&mut conn(&urls[r % masters]))
                .expect("CLUSTER MYID");
            let replica = format!("redis://127.0.0.1:{port}/");
            while redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&master)
                .query::<()>(&mut conn(&replica))
                .is_err()
            {
                assert!(
                    Instant::now() < deadline,
                    "replica {port} cannot follow {master}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let all_urls: Vec<String> = all_ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect();
        loop {
            let ready = all_urls.iter().all(|url| {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut conn(url))
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{total}"))
                    && info.contains("cluster_slots_ok:16384")
            }) && all_urls[masters..].iter().all(|url| {
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut conn(url))
                    .unwrap_or_default();
                info.contains("master_link_status:up")
            });
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        Server {
            url: format!("redis+cluster://{}", hosts.join(",")),
        }
    }

    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        self.url.contains("+cluster://")
    }

    /// The URL of every node (one for a single server).
    pub fn node_urls(&self) -> Vec<String> {
        match self.url.strip_prefix("redis+cluster://") {
            Some(hosts) => hosts
                .split(',')
                .map(|h| format!("redis://{}/", h.trim_end_matches('/')))
                .collect(),
            None => vec![self.url.clone()],
        }
    }

    /// A redis-rs connection for checking what is stored (a cluster connection routing
    /// by key on a cluster).
    pub fn raw(&self) -> Raw {
        Raw::open(&self.url)
    }

    /// A plain connection to a single server (the benches' raw side).
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection())
            .expect("raw connection")
    }
}

/// A raw connection to the test server: one server, or a cluster (commands routed by
/// their key). `scan_keys` walks every node of a cluster.
pub enum Raw {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>, Vec<String>),
}

impl Raw {
    pub fn open(url: &str) -> Raw {
        let server = Server {
            url: url.to_owned(),
        };
        if server.is_cluster() {
            let nodes = server.node_urls();
            let conn = redis::cluster::ClusterClient::new(nodes.clone())
                .and_then(|c| c.get_connection())
                .expect("raw cluster connection");
            Raw::Cluster(Box::new(conn), nodes)
        } else {
            Raw::Single(
                redis::Client::open(url)
                    .and_then(|c| c.get_connection())
                    .expect("raw connection"),
            )
        }
    }
}

impl redis::ConnectionLike for Raw {
    fn req_packed_command(&mut self, cmd: &[u8]) -> redis::RedisResult<redis::Value> {
        match self {
            Raw::Single(c) => c.req_packed_command(cmd),
            Raw::Cluster(c, _) => c.req_packed_command(cmd),
        }
    }
    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> redis::RedisResult<Vec<redis::Value>> {
        match self {
            Raw::Single(c) => c.req_packed_commands(cmd, offset, count),
            Raw::Cluster(c, _) => c.req_packed_commands(cmd, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        match self {
            Raw::Single(c) => c.get_db(),
            Raw::Cluster(c, _) => c.get_db(),
        }
    }
    fn check_connection(&mut self) -> bool {
        match self {
            Raw::Single(c) => c.check_connection(),
            Raw::Cluster(c, _) => c.check_connection(),
        }
    }
    fn is_open(&self) -> bool {
        match self {
            Raw::Single(c) => c.is_open(),
            Raw::Cluster(c, _) => c.is_open(),
        }
    }
}

/// Starts `redis-server` (or `RAPYER_SERVER_BIN`) on `port` with `extra` options, under a
/// shell watchdog that stops it and removes its directory when this process exits.
fn spawn_server(port: u16, extra: &str) {
    let bin = redis_server_binary();
    {
        {
            let dir =
                std::env::temp_dir().join(format!("rapyer-test-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let script = format!(
                "cd {dir} && {bin} --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {dir} --logfile '' --daemonize no {extra} >/dev/null 2>&1 & r=$!; \
                 while kill -0 {parent} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.3; done; kill $r 2>/dev/null; wait $r 2>/dev/null; rm -rf {dir}",
                bin = bin.display(),
                dir = dir.display(),
                parent = std::process::id(),
            );
            // Detached on purpose: the watchdog outlives this process to stop the server.
            #[allow(clippy::zombie_processes)]
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server watchdog");
        }
    }
}

/// Waits up to 10 s for the server at `url` to answer `PING`.
fn wait_for_ping(url: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut c) = redis::Client::open(url).and_then(|c| c.get_connection())
            && redis::cmd("PING").query::<String>(&mut c).is_ok()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    false
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh environment with its own namespace on the shared server, current on this
/// thread until the guard drops.
pub struct TestEnv {
    pub env: rapyer::Environment,
    pub ns: String,
    url: String,
    _guard: rapyer::EnvironmentGuard,
}

impl TestEnv {
    pub fn raw(&self) -> Raw {
        Raw::open(&self.url)
    }

    /// Every key of this test's namespace (test-side check only), found with `SCAN`: the
    /// server may be a shared one (`REDIS_URL`), where `KEYS` would block everyone.
    pub fn keys(&self) -> Vec<String> {
        scan_keys(&mut self.raw(), &format!("{}:*", self.ns))
    }

    pub fn stats(&self) -> rapyer::Stats {
        self.env.stats()
    }
}

/// The keys matching `pattern`, sorted, found with `SCAN` (never `KEYS`, which would
/// block a shared server).
pub fn scan_keys(conn: &mut Raw, pattern: &str) -> Vec<String> {
    match conn {
        Raw::Single(c) => scan_node(c, pattern),
        Raw::Cluster(_, nodes) => {
            let mut keys: Vec<String> = nodes
                .iter()
                .flat_map(|n| scan_node(&mut Raw::open(n), pattern))
                .collect();
            keys.sort();
            keys
        }
    }
}

fn scan_node(conn: &mut impl redis::ConnectionLike, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Registers a uniquely named environment + namespace and makes it current.
pub fn env() -> TestEnv {
    env_on(server())
}

/// The same on a private server: for tests that flush server-wide state (SCRIPT FLUSH),
/// which would disturb the round-trip counts of the tests sharing a server.
pub fn private_env() -> TestEnv {
    env_on(Box::leak(Box::new(Server::start())))
}

fn env_on(server: &Server) -> TestEnv {
    env_with(server.url.as_str(), |c| c)
}

/// A fresh environment on the server at `url`, its configuration adjusted by `config`
/// (timeouts, say), current on this thread until the guard drops.
pub fn env_with(
    url: &str,
    config: impl FnOnce(rapyer::EnvironmentConfig) -> rapyer::EnvironmentConfig,
) -> TestEnv {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("test-{}-{n}", std::process::id());
    let ns = format!("t{}x{n}", std::process::id());
    let env = rapyer::register_environment(
        &name,
        config(rapyer::EnvironmentConfig::new(url).namespace(ns.as_str())),
    )
    .unwrap();
    let guard = rapyer::use_environment(&name).unwrap();
    TestEnv {
        env,
        ns,
        url: url.to_owned(),
        _guard: guard,
    }
}

/// `INFO commandstats` call counts, by command name (`keys`, `scan`, …).
pub fn command_calls(conn: &mut impl redis::ConnectionLike, name: &str) -> u64 {
    command_stat(conn, name, "calls") as u64
}

/// One figure of `INFO commandstats` for command `name`: `stat` is `calls`, `usec`,
/// `usec_per_call`, … (0 when the command has not run since the last reset).
pub fn command_stat(conn: &mut impl redis::ConnectionLike, name: &str, stat: &str) -> f64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(conn).unwrap();
    let prefix = format!("cmdstat_{name}:");
    let key = format!("{stat}=");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').find_map(|kv| kv.strip_prefix(key.as_str())))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0)
}

/// Checks that every index entry of `Person` in this namespace matches the stored value
/// exactly, and that no entry is missing or stale. Returns the number of entries.
pub fn check_person_indexes(t: &TestEnv) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let mut raw = t.raw();
    let keys = t.keys();
    // expected entries from the stored documents
    let mut numeric: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut lex: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for root in keys
        .iter()
        .filter(|k| k.contains("{Person:") && k.contains("}:d:"))
    {
        let (tag, id) = root.split_once(":d:").unwrap();
        let stored: std::collections::HashMap<String, Vec<u8>> =
            redis::cmd("HGETALL").arg(root).query(&mut raw).unwrap();
        for path in ["age", "score", "active"] {
            if let Some(v) = stored.get(path) {
                let n: f64 = std::str::from_utf8(v).unwrap().parse().unwrap();
                numeric
                    .entry(format!("{tag}:i:{path}"))
                    .or_default()
                    .insert(id.to_owned(), n);
            }
        }
        for path in ["status", "nick", "home.city"] {
            if let Some(v) = stored.get(path) {
                lex.entry(format!("{tag}:i:{path}"))
                    .or_default()
                    .insert(lex_entry(v, id));
            }
        }
    }
    compare_indexes(t, "Person", &["age", "score", "active"], numeric, lex)
}

/// A string index entry of document `id` for stored `value` (`index.lua`'s `lex_member`).
pub fn lex_entry(value: &[u8], id: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(value.len() + id.len() + 6);
    for b in value {
        m.push(*b);
        if *b == 0 {
            m.push(1);
        }
    }
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(id.as_bytes());
    m.push(0);
    m.extend_from_slice(id.len().to_string().as_bytes());
    m
}

/// Checks every index key of `model` in this namespace against the expected entries:
/// `numeric` (key -> id -> score, for the indexes on `numeric_paths`) and `lex` (key ->
/// members), keyed by index key. Every expected key must exist and no other entry may.
/// Returns the number of entries.
pub fn compare_indexes(
    t: &TestEnv,
    model: &str,
    numeric_paths: &[&str],
    mut numeric: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    mut lex: std::collections::BTreeMap<String, std::collections::BTreeSet<Vec<u8>>>,
) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let mut raw = t.raw();
    let tag = format!("{{{model}:");
    let mut entries = 0;
    for key in t
        .keys()
        .iter()
        .filter(|k| k.contains(tag.as_str()) && k.contains("}:i:"))
    {
        let path = key.split("}:i:").nth(1).unwrap();
        if numeric_paths.contains(&path) {
            let got: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(&mut raw)
                .unwrap();
            let got: BTreeMap<String, f64> = got.into_iter().collect();
            assert_eq!(
                got,
                numeric.remove(key.as_str()).unwrap_or_default(),
                "index {key}"
            );
            entries += got.len();
        } else {
            let got: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query(&mut raw)
                .unwrap();
            let got: BTreeSet<Vec<u8>> = got.into_iter().collect();
            assert_eq!(
                got,
                lex.remove(key.as_str()).unwrap_or_default(),
                "index {key}"
            );
            entries += got.len();
        }
    }
    assert!(
        numeric.values().all(|m| m.is_empty()),
        "missing numeric index keys: {numeric:?}"
    );
    assert!(
        lex.values().all(|m| m.is_empty()),
        "missing lex index keys: {lex:?}"
    );
    entries
}

/// Collects the `tracing` events at warn level or above emitted on this thread while the
/// guard lives (each as "message field=value …").
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    pub fn capture() -> (Warnings, tracing::subscriber::DefaultGuard) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let guard = tracing::subscriber::set_default(Warnings(seen.clone()));
        (Warnings(seen), guard)
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Line(String);

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        meta.is_event() && *meta.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A hash's fields and values as stored.
pub fn hash_of(conn: &mut impl redis::ConnectionLike, key: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    redis::cmd("HGETALL").arg(key).query(conn).unwrap()
}

/// A list's items as stored.
pub fn list_of(conn: &mut impl redis::ConnectionLike, key: &str) -> Vec<Vec<u8>> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(conn)
        .unwrap()
}

/// Every op code of the executor (`OPS.<code> = …` in the script as sent to Redis), for
/// coverage checks.
pub fn exec_op_codes() -> std::collections::BTreeSet<String> {
    rapyer::__private::exec_source()
        .lines()
        .filter_map(|l| l.strip_prefix("OPS."))
        .filter_map(|r| r.split(" = ").next())
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_owned)
        .collect()
}

/// The URL of database `db` on the server at `url`.
pub fn with_db(url: &str, db: u8) -> String {
    let base = url.trim_end_matches('/');
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    match after_scheme.rsplit_once('/') {
        Some(_) => format!("{}/{db}", base.rsplit_once('/').unwrap().0),
        None => format!("{base}/{db}"),
    }
}

/// Registers three environments for cross-environment queries: `a` (this server,
/// database 0) and `b` (database 1), each with its own namespace, and `down` (nothing
/// listens there). Returns their names.
pub fn three_environments(t: &TestEnv, tag: &str) -> [String; 3] {
    let names = [
        format!("{tag}-a-{}", t.ns),
        format!("{tag}-b-{}", t.ns),
        format!("{tag}-down-{}", t.ns),
    ];
    let url = server().url.clone();
    rapyer::register_environment(
        &names[0],
        rapyer::EnvironmentConfig::new(url.as_str()).namespace(format!("{}a", t.ns)),
    )
    .unwrap();
    rapyer::register_environment(
        &names[1],
        rapyer::EnvironmentConfig::new(with_db(&url, 1)).namespace(format!("{}b", t.ns)),
    )
    .unwrap();
    rapyer::register_environment(
        &names[2],
        rapyer::EnvironmentConfig::new("redis://127.0.0.1:1/")
            .connection_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    names
}

/// `blocked_clients` of `INFO clients`, summed over the nodes of a cluster.
pub fn blocked_clients(conn: &mut impl redis::ConnectionLike) -> u64 {
    fn texts(v: redis::Value, out: &mut Vec<String>) {
        match v {
            redis::Value::BulkString(b) => out.push(String::from_utf8_lossy(&b).into_owned()),
            redis::Value::VerbatimString { text, .. } => out.push(text),
            redis::Value::SimpleString(s) => out.push(s),
            redis::Value::Map(pairs) => pairs.into_iter().for_each(|(_, v)| texts(v, out)),
            redis::Value::Array(items) => items.into_iter().for_each(|v| texts(v, out)),
            _ => {}
        }
    }
    let info: redis::Value = redis::cmd("INFO").arg("clients").query(conn).unwrap();
    let mut all = Vec::new();
    texts(info, &mut all);
    all.iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.strip_prefix("blocked_clients:"))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

/// The server's clock (`TIME`) in microseconds.
pub fn server_time_us(raw: &mut Raw) -> u64 {
    let (s, us): (u64, u64) = redis::cmd("TIME").query(raw).unwrap();
    s * 1_000_000 + us
}

/// The rate limiter test's pace: 8 clients × 1,000 calls, one call per client every 3 ms
/// (3 s in all), against a token bucket of 100/s with bursts of 20. A bucket allows
/// `20 + 100·t` calls over `t` seconds of such demand; `allowed` must be that ± 1 %, `t`
/// measured on the server's clock around the whole run.
pub const RATE_CLIENTS: usize = 8;
pub const RATE_CALLS: usize = 1_000;
pub const RATE_PACE: std::time::Duration = std::time::Duration::from_millis(3);

pub fn assert_rate_limited(allowed: usize, start_us: u64, end_us: u64) {
    let seconds = (end_us - start_us) as f64 / 1e6;
    let expected = 20.0 + 100.0 * seconds;
    assert!(
        seconds >= 2.99,
        "the run lasted {seconds} s, less than 1,000 calls at the pace"
    );
    let off = (allowed as f64 - expected).abs() / expected;
    eprintln!("rate limiter: {allowed} allowed in {seconds:.3} s, expected {expected:.1}");
    assert!(
        off <= 0.01,
        "allowed {allowed} of {} calls in {seconds:.3} s: expected {expected:.1} ± 1 % (off by {:.2} %)",
        RATE_CLIENTS * RATE_CALLS,
        off * 100.0
    );
}
