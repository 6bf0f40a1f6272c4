//! Lua scripts, loaded from `.lua` files (DESIGN §2.6: user data travels only as
//! KEYS/ARGV). Each script is its helper files (definitions: `clock.lua`, `types.lua`,
//! `refresh.lua`, `index.lua`, `specs.lua`, `read.lua`, `doc.lua`, `erase.lua`, the
//! kinds' op files) then its main files (the program), declared once in `scripts!`.
//!
//! Every script is a function of one Redis Functions library (`library.rs`): loaded once
//! per server (`FUNCTION LOAD`), where the helpers are built once, so that a call
//! (`FCALL`) runs only its program. Where the library cannot be loaded (a server before
//! Redis 7, an ACL without `FUNCTION`, `EnvironmentConfig::functions(false)`) the same
//! sources go as scripts: `EVAL` the first time in an environment, `EVALSHA` after, each
//! defining its helpers anew on every call, so each carries only what it uses. A call
//! that ran nothing because its function or script was missing (`Function not found`
//! after a restart or a `FUNCTION FLUSH`, `NOSCRIPT` after a `SCRIPT FLUSH`) is sent once
//! more as `EVAL` with its source, which no flushing can defeat; the library is loaded
//! again before the next call.

use once_cell::sync::Lazy;

mod library;
mod variants;
pub(crate) use library::{LIBRARY, load_command, unrun_replies};
pub(crate) use variants::exec_for;

/// One of rapyer's scripts: its `EVAL` form (source and SHA1, for `EVAL`/`EVALSHA`) and
/// its name in the function library (`library.rs`), where the same source is a function.
pub(crate) struct Script {
    pub eval: redis::Script,
    pub source: &'static str,
    /// The function's name in the library, without the library's prefix.
    pub function: &'static str,
}

impl Script {
    fn new(function: &'static str, source: &'static str) -> Self {
        Self {
            eval: redis::Script::new(source),
            source,
            function,
        }
    }

    pub(crate) fn hash(&self) -> &str {
        self.eval.get_hash()
    }
}

/// One script of the function library: its helpers (definitions only, built once when
/// the library loads), its main files (run on every call), the function's flags.
pub(crate) struct Part {
    pub function: &'static str,
    pub flags: &'static str,
    pub helpers: &'static [&'static str],
    pub main: &'static [&'static str],
}

/// Declares each script once: a `Lazy<Script>` whose `EVAL` source is its helpers then
/// its main files, and its part of the function library (`PARTS`).
macro_rules! scripts {
    ($($(#[$m:meta])* $stat:ident = $function:literal $(, $flag:literal)?:
        [$($helper:literal),* $(,)?] => [$($main:literal),+ $(,)?];)+) => {
        $($(#[$m])*
        pub(crate) static $stat: Lazy<Script> = Lazy::new(|| Script::new(
            $function,
            concat!($(include_str!($helper),)* $(include_str!($main)),+),
        ));)+
        /// Every script, as the function library holds it.
        pub(crate) const PARTS: &[Part] = &[$(Part {
            function: $function,
            flags: concat!("" $(, $flag)?),
            helpers: &[$(include_str!($helper)),*],
            main: &[$(include_str!($main)),+],
        }),+];
    };
}

scripts! {
    /// Writes a whole document (save / insert), see `save.lua`.
    SAVE = "save": ["types.lua", "clock.lua", "index.lua", "doc.lua"] => ["save.lua"];
    /// Runs a plan of atomic field operations on one document, see `exec/exec.lua`: the
    /// shared helpers, the executor's op table and helpers, every kind's op file (a new
    /// kind's `.lua` joins this list), the program. Its variants with fewer kinds are
    /// `variants.rs`'s; the function library holds this whole one.
    EXEC = "exec": [
        "types.lua",
        "clock.lua",
        "refresh.lua",
        "index.lua",
        "specs.lua",
        "../exec/base.lua",
        "../exec/ops.lua",
        // the kinds' ops (src/kinds/*.lua)
        "../kinds/scalar.lua",
        "../kinds/list.lua",
        "../kinds/map.lua",
        "../kinds/set.lua",
        "../kinds/structure.lua",
        "../kinds/pqueue.lua",
        "../kinds/ratelimit.lua",
        "../kinds/ratelimit_op.lua",
        "../kinds/path_read.lua",
        "../kinds/path.lua",
        "../exec/exec_head.lua",
        "../exec/cond.lua",
    ] => ["../exec/exec.lua"];
    /// The plan script for plans of pure reads without a TTL refresh (`read_plan.lua`):
    /// the executor's front and only the ops it runs, so a path read costs a fraction of
    /// an executor call. The only function flagged `no-writes` (it runs on a read-only
    /// replica, and under `maxmemory`).
    READ_PLAN = "read_plan", "no-writes": [
        "types.lua",
        "index.lua",
        "specs.lua",
        "../exec/base.lua",
        "../kinds/path_read.lua",
        "../exec/exec_head.lua",
    ] => ["../exec/read_plan.lua"];
    /// A keyed rate limiter's check or reset, see `limit.lua`.
    LIMIT = "limit": ["../kinds/ratelimit.lua"] => ["limit.lua"];
    /// Loads a document and refreshes its TTL, see `load.lua`.
    LOAD = "load", "allow-oom": ["types.lua", "clock.lua", "refresh.lua", "read.lua"] => ["load.lua"];
    /// Lists / counts the live ids of one shard, see `live.lua`.
    LIVE = "live", "allow-oom": ["clock.lua"] => ["live.lua"];
    /// Sets or removes a document's TTL, see `ttl.lua`.
    TTL = "ttl", "allow-oom": ["types.lua", "clock.lua", "refresh.lua"] => ["ttl.lua"];
    /// Compare-and-delete lock release, see `unlock.lua`.
    UNLOCK = "unlock", "allow-oom": [] => ["unlock.lua"];
    /// Lock + load in one step, see `lock_load.lua`.
    LOCK_LOAD = "lock_load": ["types.lua", "clock.lua", "refresh.lua", "read.lua"] => ["lock_load.lua"];
    /// Deletes a document with index entries, see `delete.lua`.
    DELETE = "delete", "allow-oom": ["types.lua", "index.lua", "doc.lua", "erase.lua"] => ["delete.lua"];
    /// Writes or deletes many documents of one model (a bulk chunk), see `bulk.lua`.
    BULK = "bulk": ["types.lua", "clock.lua", "index.lua", "doc.lua", "erase.lua"] => ["bulk.lua"];
    /// Who refers to some documents in one shard of a model, see `refs.lua`.
    REFS = "refs", "allow-oom": ["types.lua", "clock.lua", "relations.lua"] => ["refs.lua"];
    /// Every live reference held by one shard, see `links.lua`.
    LINKS = "links", "allow-oom": ["types.lua", "clock.lua", "relations.lua"] => ["links.lua"];
    /// Applies a planned cascading delete, see `cascade.lua`.
    CASCADE = "cascade", "allow-oom": ["types.lua", "clock.lua", "refresh.lua", "index.lua", "relations.lua", "doc.lua", "erase.lua"] => ["cascade.lua"];
    /// Writes the copies of a graph copy, see `copy.lua`.
    COPY = "copy": ["types.lua", "clock.lua", "index.lua", "doc.lua"] => ["copy.lua"];
    /// Runs a query on one shard, see `query.lua`.
    QUERY = "query", "allow-oom": ["types.lua", "clock.lua"] => ["query.lua"];
    /// Rebuilds a shard's indexes, see `reindex.lua`.
    REINDEX = "reindex": ["index.lua", "specs.lua"] => ["reindex.lua"];
}

/// A script call: the script, its keys, its arguments. Built sans-IO, run by a backend.
#[derive(Clone)]
pub(crate) struct Invocation {
    pub script: &'static Script,
    pub keys: Vec<String>,
    pub args: Vec<Vec<u8>>,
}

impl Invocation {
    /// The call as the environment sends it now: `FCALL` when the function library is
    /// loaded, else `EVAL` the first time in the environment and `EVALSHA` after.
    pub(crate) fn command(&self, env: &crate::env::Environment) -> redis::Cmd {
        if env.functions() == crate::env::FunctionState::Loaded {
            return self.fcall();
        }
        if env.script_known(self.script.hash()) {
            self.evalsha()
        } else {
            self.eval()
        }
    }

    /// `FCALL function numkeys keys… args…`.
    fn fcall(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(LIBRARY.function(self.script.function))
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// `EVALSHA sha numkeys keys… args…`.
    fn evalsha(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.hash())
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// `EVAL source numkeys keys… args…`: the first call of a script in an environment
    /// without the function library (which also caches it on the server), and the retry
    /// of a call that ran nothing (`NOSCRIPT`, `Function not found`).
    pub(crate) fn eval(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(self.script.source)
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// Whether this script only reads (or is idempotent: TTL refresh on load, dropping
    /// expired ids), so that it may be sent again after a dropped connection.
    pub(crate) fn access(&self) -> crate::failure::Access {
        if matches!(
            self.script.function,
            "load" | "live" | "query" | "refs" | "links"
        ) {
            crate::failure::Access::Read
        } else {
            crate::failure::Access::Write
        }
    }
}

/// Idempotent script calls sent in one pipeline (one round trip), each as
/// [`Invocation::command`] says.
pub(crate) fn batch(calls: &[Invocation], env: &crate::env::Environment) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for call in calls {
        pipe.add_command(call.command(env));
    }
    pipe
}

/// The positions of `calls` grouped by the cluster slot of their first key, groups in
/// the order of their first call (a cluster runs one pipeline per slot; every key of a
/// call shares one slot).
pub(crate) fn slot_groups(calls: &[Invocation]) -> Vec<Vec<usize>> {
    crate::keys::group_by_slot(
        calls
            .iter()
            .map(|c| c.keys.first().map_or("", String::as_str)),
    )
}

/// A batch only reads when each of its calls does.
pub(crate) fn batch_access(calls: &[Invocation]) -> crate::failure::Access {
    use crate::failure::Access;
    if calls.iter().all(|c| c.access() == Access::Read) {
        Access::Read
    } else {
        Access::Write
    }
}

/// The calls at `positions` again, as `EVAL` with their source, in one pipeline: they
/// got `NOSCRIPT` or `Function not found`, so they ran nothing, and `EVAL` can meet
/// neither however often the server's caches are flushed. The other calls of the batch are not sent
/// again (their replies stand, so a replay never changes a result).
pub(crate) fn batch_eval(calls: &[Invocation], positions: &[usize]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for &i in positions {
        pipe.add_command(calls[i].eval());
    }
    pipe
}

/// The replies of a batch, or its first error.
pub(crate) fn batch_replies(replies: Vec<redis::Value>) -> redis::RedisResult<Vec<redis::Value>> {
    replies
        .into_iter()
        .map(|v| match v {
            redis::Value::ServerError(e) => Err(e.into()),
            v => Ok(v),
        })
        .collect()
}

/// True for an error saying the call ran nothing because its script or function was
/// missing (`NOSCRIPT`, `Function not found`; for a cluster's failed pipeline: one of
/// its replies said so).
pub(crate) fn is_unrun(err: &redis::RedisError) -> bool {
    library::ran_nothing(err.code(), err.detail())
        || err.clone().into_server_errors().is_some_and(|errors| {
            errors
                .iter()
                .any(|(_, e)| library::ran_nothing(Some(e.code()), e.details()))
        })
}

/// What a failed `FUNCTION LOAD` says for the environment (`Environment::loaded`): the
/// server's refusal (`Some`: it has no functions, or the ACL denies them) or a passing
/// failure (`None`: the transport, or a server over `maxmemory`, busy, loading or
/// read-only: to be tried again).
pub(crate) fn refusal(err: &crate::Error) -> Option<String> {
    match err {
        crate::Error::Redis(e) if e.code().is_some() && !library::passing(e.code()) => {
            Some(e.to_string())
        }
        _ => None,
    }
}
