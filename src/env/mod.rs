//! Environments: named Redis connections with an optional key namespace (DESIGN §9).
//!
//! Resolution order for an operation: the model's pinned environment
//! (`#[rapyer(env = "…")]`), else the task-local scope
//! ([`crate::asynchronous::with_environment`]), else the top of this thread's stack
//! ([`use_environment`]), else the default ([`init`] / [`set_default_environment`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use once_cell::sync::Lazy;
use parking_lot::RwLock;

use crate::error::{Error, Result};

mod functions;
pub(crate) use functions::{FunctionState, LoadClaim};

mod from_vars;
pub use from_vars::{init_from_env, init_from_vars};

#[cfg(feature = "blocking")]
mod connector;
#[cfg(feature = "blocking")]
pub(crate) use connector::{Conn, Connector};

/// Settings of one environment. Build with [`EnvironmentConfig::new`] and the setters.
///
/// ```
/// use std::time::Duration;
/// let cfg = rapyer::EnvironmentConfig::new("redis://127.0.0.1:6379/0")
///     .namespace("staging")
///     .pool_size(16)
///     .connection_timeout(Duration::from_secs(2))
///     .response_timeout(Duration::from_secs(10));
/// # let _ = cfg;
/// ```
///
/// Every call waits at most `connection_timeout + response_timeout` in both APIs: up to
/// `connection_timeout` to get a usable connection (pool checkout and connect in the
/// blocking API, connect or reconnect in the tokio API), then up to `response_timeout`
/// for the reply. A call that gives up returns [`Error::Timeout`] (or
/// [`Error::Connection`] when no connection could be had); a timed-out write may have
/// been applied, and the error says so.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EnvironmentConfig {
    /// Redis URL (`redis://`, `rediss://` for TLS, user/password for ACL, `/db`).
    pub url: String,
    /// Prefix put before every key (`<ns>:{User:0}:…`). Must not contain `{` or `}`.
    pub namespace: Option<String>,
    /// Most connections the blocking pool opens (default 8).
    pub pool_size: u32,
    /// How long a call waits for a usable connection: a free pooled connection or a new
    /// one (blocking), the connection or its reconnection (tokio). Default 5 s.
    pub connection_timeout: Duration,
    /// How long a call waits for Redis' reply once its request is sent, in both APIs.
    /// Default 30 s: generous, so that legitimate large operations (a count over a
    /// million ids, a bulk chunk of 30,000 documents) do not fail. A write that times
    /// out may have been applied.
    pub response_timeout: Duration,
    /// The seed nodes of a Redis Cluster (empty: one server at `url`). Set by
    /// [`cluster`](Self::cluster) or a `redis+cluster://` URL.
    pub cluster_nodes: Vec<String>,
    /// Whether rapyer's scripts run as a Redis Functions library (`FUNCTION LOAD` once
    /// per server, `FCALL` after; Redis 7 and later, Valkey): default `true`. A server
    /// that refuses the library (an older Redis, an ACL without `FUNCTION`) is detected
    /// on first use and gets scripts (`EVALSHA`); `false` always sends scripts.
    pub functions: bool,
}

impl EnvironmentConfig {
    /// Settings for `url` with the defaults. A `redis+cluster://host:port,host:port`
    /// (or `rediss+cluster://`, TLS) URL names the seed nodes of a Redis Cluster, user
    /// and password before the first host applying to every node.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let cluster_nodes = cluster_url_nodes(&url).unwrap_or_default();
        Self {
            url,
            namespace: None,
            pool_size: 8,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            cluster_nodes,
            functions: true,
        }
    }

    /// Settings for a Redis Cluster reached through `nodes` (seed URLs, `redis://host:port`;
    /// the client discovers the others and follows `MOVED`/`ASK` redirections and slot
    /// changes).
    ///
    /// ```
    /// let cfg = rapyer::EnvironmentConfig::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]);
    /// assert!(cfg.is_cluster());
    /// ```
    pub fn cluster<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        let mut cfg = Self::new(nodes.first().cloned().unwrap_or_default());
        cfg.cluster_nodes = nodes;
        cfg
    }

    /// Whether this environment is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        !self.cluster_nodes.is_empty()
    }

    /// Sets the key namespace.
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// Sets the blocking pool's size.
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// Sets how long a call waits for a usable connection (see the field).
    pub fn connection_timeout(mut self, t: Duration) -> Self {
        self.connection_timeout = t;
        self
    }

    /// Sets how long a call waits for a reply (see the field).
    pub fn response_timeout(mut self, t: Duration) -> Self {
        self.response_timeout = t;
        self
    }

    /// Sets whether scripts run as a Redis Functions library (see the field).
    pub fn functions(mut self, on: bool) -> Self {
        self.functions = on;
        self
    }

    /// The longest any one call waits: `connection_timeout + response_timeout`.
    pub fn max_wait(&self) -> Duration {
        self.connection_timeout
            .saturating_add(self.response_timeout)
    }
}

/// The node URLs of a `redis+cluster://a:1,b:2` (`rediss+cluster://`) URL; `None` for
/// any other URL.
fn cluster_url_nodes(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = url.split_once("://")?;
    let base = scheme.strip_suffix("+cluster")?;
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), rest),
    };
    let (hosts, tail) = match hosts.find(['/', '?']) {
        Some(at) => hosts.split_at(at),
        None => (hosts, ""),
    };
    Some(
        hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("{base}://{auth}{h}{tail}"))
            .collect(),
    )
}

/// The first key of `cmd`: its first argument after the name, or for `EVAL`/`EVALSHA`/`FCALL`
/// the first of its keys.
pub(crate) fn first_key(cmd: &redis::Cmd) -> Option<&[u8]> {
    let arg = |i: usize| match cmd.args_iter().nth(i)? {
        redis::Arg::Simple(bytes) => Some(bytes),
        _ => None,
    };
    let name = arg(0)?;
    if [&b"EVALSHA"[..], b"EVAL", b"FCALL"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
    {
        return (arg(2)? != b"0").then(|| arg(3)).flatten();
    }
    arg(1)
}

/// Sums per-slot round trips by the node serving each slot, from a `CLUSTER SLOTS`
/// reply (`host:port` of each range's master).
pub(crate) fn per_node(
    slots: &std::collections::BTreeMap<u16, u64>,
    reply: redis::Value,
) -> Result<std::collections::BTreeMap<String, u64>> {
    let ranges: Vec<(u16, u16, (String, u16))> = match reply {
        redis::Value::Array(items) => items
            .into_iter()
            .filter_map(|item| {
                let redis::Value::Array(parts) = item else {
                    return None;
                };
                let mut parts = parts.into_iter();
                let start: u16 = redis::from_redis_value(parts.next()?).ok()?;
                let end: u16 = redis::from_redis_value(parts.next()?).ok()?;
                let redis::Value::Array(master) = parts.next()? else {
                    return None;
                };
                let mut master = master.into_iter();
                let host: String = redis::from_redis_value(master.next()?).ok()?;
                let port: u16 = redis::from_redis_value(master.next()?).ok()?;
                Some((start, end, (host, port)))
            })
            .collect(),
        other => return Err(crate::error::unexpected("CLUSTER SLOTS", &other)),
    };
    let mut out = std::collections::BTreeMap::new();
    for (&slot, &n) in slots {
        let node = ranges
            .iter()
            .find(|(a, b, _)| *a <= slot && slot <= *b)
            .map_or_else(
                || format!("slot {slot} (unassigned)"),
                |(_, _, (h, p))| format!("{h}:{p}"),
            );
        *out.entry(node).or_default() += n;
    }
    Ok(out)
}

/// The client of an environment: one server, or a cluster.
#[derive(Clone)]
pub(crate) enum Client {
    Single(redis::Client),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// Checks `config`'s URL (or cluster nodes) and makes its client; nothing connects.
pub(crate) fn client_for(config: &EnvironmentConfig) -> std::result::Result<Client, String> {
    if config.url.contains("+cluster://") && config.cluster_nodes.is_empty() {
        return Err("a cluster URL names no node".into());
    }
    if config.cluster_nodes.is_empty() {
        return redis::Client::open(config.url.as_str())
            .map(Client::Single)
            .map_err(|e| e.to_string());
    }
    for node in &config.cluster_nodes {
        redis::Client::open(node.as_str()).map_err(|e| format!("cluster node `{node}`: {e}"))?;
    }
    redis::cluster::ClusterClientBuilder::new(config.cluster_nodes.iter().map(String::as_str))
        .connection_timeout(config.connection_timeout)
        .response_timeout(config.response_timeout.max(Duration::from_millis(1)))
        // redirections (MOVED/ASK) and TRYAGAIN while a slot migrates are retried after
        // 10, 20, 40, … ms (at most 1 s each, 16 times); redis-rs' default waits at
        // least 1.28 s per retry
        .retries(16)
        .retry_wait_formula(10, 2)
        .min_retry_wait(5)
        .max_retry_wait(1000)
        .build()
        .map(|c| Client::Cluster(Box::new(c)))
        .map_err(|e| e.to_string())
}

/// The tokio API's shared connection: to one server (reconnecting), or to a cluster
/// (routing each command by slot). Cheap to clone.
#[cfg(feature = "tokio")]
#[derive(Clone)]
pub(crate) enum AsyncConn {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

#[cfg(feature = "tokio")]
impl redis::aio::ConnectionLike for AsyncConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            AsyncConn::Single(c) => c.req_packed_command(cmd),
            AsyncConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            AsyncConn::Single(c) => c.req_packed_commands(cmd, offset, count),
            AsyncConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            AsyncConn::Single(c) => c.get_db(),
            AsyncConn::Cluster(c) => c.get_db(),
        }
    }
}

/// Default [`EnvironmentConfig::connection_timeout`]: 5 s.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`EnvironmentConfig::response_timeout`]: 30 s.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Round trips and commands an environment has sent since it was registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests that waited for a reply (a pipeline or transaction counts once).
    pub round_trips: u64,
    /// Redis commands sent, `MULTI`/`EXEC` included.
    pub commands: u64,
    /// Of `round_trips`, those spent sending a request again: after `NOSCRIPT` (the
    /// server's script cache was flushed) or, for reads, after a dropped connection.
    /// `round_trips - retries` is what an operation's round-trip budget counts.
    pub retries: u64,
}

impl Stats {
    /// The round trips the operations planned: [`round_trips`](Self::round_trips) minus
    /// [`retries`](Self::retries). This is what the documented round-trip budgets count,
    /// and it stays the same against a server whose script cache is flushed all the time.
    pub fn planned_round_trips(&self) -> u64 {
        self.round_trips.saturating_sub(self.retries)
    }
}

impl std::ops::Sub for Stats {
    type Output = Stats;
    fn sub(self, rhs: Stats) -> Stats {
        Stats {
            round_trips: self.round_trips.saturating_sub(rhs.round_trips),
            commands: self.commands.saturating_sub(rhs.commands),
            retries: self.retries.saturating_sub(rhs.retries),
        }
    }
}

pub(crate) struct EnvInner {
    pub(crate) name: String,
    pub(crate) config: EnvironmentConfig,
    pub(crate) client: Client,
    round_trips: AtomicU64,
    commands: AtomicU64,
    retries: AtomicU64,
    /// SHA1s of the scripts this environment has sent with EVAL (so cached by Redis
    /// unless flushed since: then EVALSHA's NOSCRIPT path reloads them).
    scripts: parking_lot::Mutex<std::collections::HashSet<String>>,
    /// Where this environment stands with the function library (`FunctionState`).
    functions: std::sync::atomic::AtomicU8,
    /// A cluster's topology generation: bumped when a node could not be reached (a
    /// master died, a failover is under way), so that connections made before it, whose
    /// slot maps may name the dead node, are replaced before their next use.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) topology: Arc<AtomicU64>,
    /// A cluster's planned round trips per slot (see `Environment::slot_round_trips`).
    slot_trips: parking_lot::Mutex<std::collections::BTreeMap<u16, u64>>,
    #[cfg(feature = "blocking")]
    pub(crate) pool: once_cell::sync::OnceCell<r2d2::Pool<Connector>>,
    #[cfg(feature = "tokio")]
    /// The shared connection and the runtime that drives it (a connection outlives
    /// neither: another runtime gets a new one, see asynchronous/backend.rs).
    pub(crate) manager: parking_lot::Mutex<Option<(tokio::runtime::Handle, AsyncConn)>>,
}

/// A handle on a registered environment (cheap to clone).
#[derive(Clone)]
pub struct Environment(pub(crate) Arc<EnvInner>);

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("name", &self.0.name)
            .field("namespace", &self.0.config.namespace)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Environment {
    /// The registered name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The key namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.0.config.namespace.as_deref()
    }

    /// Round trips and commands sent so far through this environment (for metrics, and
    /// to check the round-trip budget: `let before = env.stats(); …; env.stats() - before`).
    pub fn stats(&self) -> Stats {
        Stats {
            round_trips: self.0.round_trips.load(Ordering::Relaxed),
            commands: self.0.commands.load(Ordering::Relaxed),
            retries: self.0.retries.load(Ordering::Relaxed),
        }
    }

    /// Whether this environment is a Redis Cluster (operations are routed by slot; see
    /// the README's "Redis Cluster").
    pub fn is_cluster(&self) -> bool {
        matches!(self.0.client, Client::Cluster(_))
    }

    /// After a transport failure on a cluster (unreachable node): every connection made
    /// before is replaced before its next use (its slot map may be stale).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn topology_changed(&self, err: &redis::RedisError) {
        if self.is_cluster()
            && (err.is_timeout()
                || err.is_io_error()
                || err.is_connection_dropped()
                || err.is_connection_refusal())
        {
            self.0.topology.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn same(&self, other: &Environment) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether `sha` was sent here before; marks it sent.
    pub(crate) fn script_known(&self, sha: &str) -> bool {
        let mut known = self.0.scripts.lock();
        if known.contains(sha) {
            return true;
        }
        known.insert(sha.to_owned());
        false
    }

    /// Counts a round trip that re-sends a request (see [`Stats::retries`]).
    pub(crate) fn record_retry(&self, commands: usize) {
        self.0.retries.fetch_add(1, Ordering::Relaxed);
        self.record(commands);
    }

    /// After a call that ran nothing (`NOSCRIPT`: the script cache was flushed;
    /// `Function not found`: the server restarted or its functions were flushed):
    /// every script goes as `EVAL` again, and the function library is loaded again
    /// before the next call.
    pub(crate) fn forget_scripts(&self) {
        self.0.scripts.lock().clear();
        let _ = self.0.functions.compare_exchange(
            FunctionState::Loaded.to_u8(),
            FunctionState::Load.to_u8(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Where this environment stands with the function library.
    pub(crate) fn functions(&self) -> FunctionState {
        FunctionState::from_u8(self.0.functions.load(Ordering::Relaxed))
    }

    /// Whether this call is to load the function library first: the library is to be
    /// loaded and no other call is loading it (this one is now).
    pub(crate) fn take_load(&self) -> bool {
        self.0
            .functions
            .compare_exchange(
                FunctionState::Load.to_u8(),
                FunctionState::Loading.to_u8(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The outcome of a `FUNCTION LOAD` (after [`take_load`](Self::take_load)): loaded;
    /// refused by the server (`Err(Some(reason))`: the library is off for this
    /// environment, scripts from now on); or a transport failure (`Err(None)`: to be
    /// loaded again before a later call).
    pub(crate) fn loaded(&self, outcome: std::result::Result<(), Option<String>>) {
        let state = match outcome {
            Ok(()) => FunctionState::Loaded,
            Err(Some(reason)) => {
                tracing::warn!(
                    env = %self.0.name,
                    %reason,
                    "rapyer: the server refused the function library; scripts are sent with EVALSHA"
                );
                FunctionState::Off
            }
            Err(None) => FunctionState::Load,
        };
        self.0.functions.store(state.to_u8(), Ordering::Relaxed);
    }

    /// On a cluster, the planned round trips sent to each slot so far (retries not
    /// counted), by slot. `rapyer::sync::node_round_trips` /
    /// `rapyer::asynchronous::node_round_trips` sum them per node. Empty on one server.
    pub fn slot_round_trips(&self) -> std::collections::BTreeMap<u16, u64> {
        self.0.slot_trips.lock().clone()
    }

    /// Counts a round trip to the slot of `key` (a cluster's; one server: nothing).
    pub(crate) fn record_slot(&self, key: Option<&[u8]>) {
        if let (true, Some(key)) = (self.is_cluster(), key) {
            *self
                .0
                .slot_trips
                .lock()
                .entry(crate::keys::slot(key))
                .or_default() += 1;
        }
    }

    pub(crate) fn record(&self, commands: usize) {
        self.0.round_trips.fetch_add(1, Ordering::Relaxed);
        self.0
            .commands
            .fetch_add(commands as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Registry {
    envs: HashMap<String, Environment>,
    default: Option<String>,
}

static REGISTRY: Lazy<RwLock<Registry>> = Lazy::new(Default::default);

/// Registers (or replaces) the environment `name`. Nothing connects until first use.
///
/// ```no_run
/// # fn main() -> rapyer::Result<()> {
/// rapyer::register_environment("staging", rapyer::EnvironmentConfig::new("redis://staging:6379").namespace("stg"))?;
/// # Ok(()) }
/// ```
pub fn register_environment(name: &str, config: EnvironmentConfig) -> Result<Environment> {
    if name.is_empty() {
        return Err(Error::InvalidInput("environment name is empty".into()));
    }
    if let Some(ns) = &config.namespace {
        crate::keys::validate_namespace(ns)?;
    }
    let client = client_for(&config)
        .map_err(|e| Error::InvalidInput(format!("environment `{name}`: bad Redis URL: {e}")))?;
    let functions = if config.functions {
        FunctionState::Load
    } else {
        FunctionState::Off
    };
    let env = Environment(Arc::new(EnvInner {
        name: name.to_owned(),
        config,
        client,
        round_trips: AtomicU64::new(0),
        commands: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        scripts: Default::default(),
        functions: std::sync::atomic::AtomicU8::new(functions.to_u8()),
        topology: Default::default(),
        slot_trips: Default::default(),
        #[cfg(feature = "blocking")]
        pool: Default::default(),
        #[cfg(feature = "tokio")]
        manager: Default::default(),
    }));
    REGISTRY.write().envs.insert(name.to_owned(), env.clone());
    Ok(env)
}

/// Registers the environment `"default"` for `url` and makes it the default.
///
/// ```no_run
/// # fn main() -> rapyer::Result<()> {
/// rapyer::init("redis://127.0.0.1:6379")?;
/// # Ok(()) }
/// ```
pub fn init(url: &str) -> Result<Environment> {
    let env = register_environment("default", EnvironmentConfig::new(url))?;
    set_default_environment("default")?;
    Ok(env)
}

/// The names of every registered environment, sorted.
pub(crate) fn registered_names() -> Vec<String> {
    let mut names: Vec<String> = REGISTRY.read().envs.keys().cloned().collect();
    names.sort();
    names
}

/// Makes `name` the default environment.
pub fn set_default_environment(name: &str) -> Result<()> {
    let mut reg = REGISTRY.write();
    if !reg.envs.contains_key(name) {
        return Err(unknown(name));
    }
    reg.default = Some(name.to_owned());
    Ok(())
}

/// The registered environment `name`.
pub fn environment(name: &str) -> Result<Environment> {
    REGISTRY
        .read()
        .envs
        .get(name)
        .cloned()
        .ok_or_else(|| unknown(name))
}

fn unknown(name: &str) -> Error {
    Error::UnknownEnvironment {
        name: name.to_owned(),
        hint: " (register it with rapyer::register_environment or rapyer::init)",
    }
}

thread_local! {
    static STACK: RefCell<Vec<(u64, Environment)>> = const { RefCell::new(Vec::new()) };
}
static GUARD_IDS: AtomicU64 = AtomicU64::new(0);

#[cfg(feature = "tokio")]
tokio::task_local! {
    pub(crate) static TASK_ENV: Environment;
}

/// Switches this thread to environment `name` until the guard drops. Guards nest.
///
/// For blocking code. In async code use
/// [`with_environment`](crate::asynchronous::with_environment): a thread's stack does not
/// follow a task that moves between threads.
///
/// ```no_run
/// # fn main() -> rapyer::Result<()> {
/// let _staging = rapyer::use_environment("staging")?;
/// // every operation on this thread now goes to "staging"
/// # Ok(()) }
/// ```
pub fn use_environment(name: &str) -> Result<EnvironmentGuard> {
    let env = environment(name)?;
    let id = GUARD_IDS.fetch_add(1, Ordering::Relaxed);
    STACK.with(|s| s.borrow_mut().push((id, env)));
    Ok(EnvironmentGuard {
        id,
        _not_send: PhantomData,
    })
}

/// Restores the previous environment of this thread when dropped (see [`use_environment`]).
#[must_use = "the environment switch ends when the guard is dropped"]
#[derive(Debug)]
pub struct EnvironmentGuard {
    id: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnvironmentGuard {
    fn drop(&mut self) {
        // Remove by id, so guards dropped out of order still leave the right stack.
        STACK.with(|s| s.borrow_mut().retain(|(id, _)| *id != self.id));
    }
}

/// The environment an operation issued here would use (ignoring model pins).
pub fn current_environment() -> Result<Environment> {
    resolve(None)
}

pub(crate) fn resolve(pinned: Option<&str>) -> Result<Environment> {
    if let Some(name) = pinned {
        return environment(name);
    }
    #[cfg(feature = "tokio")]
    if let Ok(env) = TASK_ENV.try_with(Environment::clone) {
        return Ok(env);
    }
    if let Some(env) = STACK.with(|s| s.borrow().last().map(|(_, e)| e.clone())) {
        return Ok(env);
    }
    let reg = REGISTRY.read();
    match &reg.default {
        Some(name) => reg.envs.get(name).cloned().ok_or_else(|| unknown(name)),
        None => Err(Error::UnknownEnvironment {
            name: "default".into(),
            hint: " (no default environment: call rapyer::init(url) first)",
        }),
    }
}

/// What `#[rapyer::environment(..)]` needs of the function's return type: a way to
/// report that the environment could not be entered (derive support).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a function under `#[rapyer::environment(..)]` must return a `Result` whose error converts from `rapyer::Error`",
    label = "`{Self}` cannot report an unknown environment",
    note = "return `rapyer::Result<_>`: an unknown environment name is `Error::UnknownEnvironment` at the call"
)]
pub trait EnvironmentResult {
    /// The value returned when the environment cannot be entered.
    fn from_environment_error(e: Error) -> Self;
}

impl<T, E: From<Error>> EnvironmentResult for std::result::Result<T, E> {
    fn from_environment_error(e: Error) -> Self {
        Err(e.into())
    }
}

/// Enters `name` on this thread for a sync function under `#[rapyer::environment(..)]`
/// (derive support).
#[doc(hidden)]
pub fn enter_environment(name: &str) -> Result<EnvironmentGuard> {
    use_environment(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_restore() {
        register_environment("env-test-a", EnvironmentConfig::new("redis://127.0.0.1:1")).unwrap();
        register_environment("env-test-b", EnvironmentConfig::new("redis://127.0.0.1:2")).unwrap();
        let a = use_environment("env-test-a").unwrap();
        assert_eq!(current_environment().unwrap().name(), "env-test-a");
        {
            let _b = use_environment("env-test-b").unwrap();
            assert_eq!(current_environment().unwrap().name(), "env-test-b");
        }
        assert_eq!(current_environment().unwrap().name(), "env-test-a");
        drop(a);
        assert!(matches!(
            use_environment("nope"),
            Err(Error::UnknownEnvironment { .. })
        ));
        assert!(
            register_environment("bad", EnvironmentConfig::new("redis://x").namespace("a{b}"))
                .is_err()
        );
        let e = environment("env-test-a").unwrap();
        assert!(Arc::ptr_eq(&e.0, &environment("env-test-a").unwrap().0));
    }
}
