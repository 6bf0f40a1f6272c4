//! Lua scripts, loaded from `.lua` files (DESIGN §2.6: user data travels only as
//! KEYS/ARGV), each with the helper files it calls prepended (`clock.lua`,
//! `types.lua`, `refresh.lua`, `index.lua`, `specs.lua`, `read.lua`, `doc.lua`, `erase.lua`): a script
//! defines its helpers anew on every call, so each one carries only what it uses. Sent
//! with `EVAL` the first time in an environment, `EVALSHA` after; after `NOSCRIPT` the
//! mode shells send the calls that got it once more as `EVAL` (one retry, which a
//! flushing server cannot defeat).

use once_cell::sync::Lazy;

mod variants;
pub(crate) use variants::exec_for;

/// Writes a whole document (save / insert), see `save.lua`.
pub(crate) static SAVE: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(SAVE_SRC));
pub(crate) const SAVE_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("save.lua")
);

/// Runs a plan of atomic field operations on one document, see `exec/exec.lua`.
pub(crate) static EXEC: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(EXEC_SRC));
/// The executor script: the shared helpers, the executor's op table and helpers, every
/// kind's op file (a new kind's `.lua` joins this list), the program.
pub(crate) const EXEC_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("../exec/base.lua"),
    include_str!("../exec/ops.lua"),
    // the kinds' ops (src/kinds/*.lua)
    include_str!("../kinds/scalar.lua"),
    include_str!("../kinds/list.lua"),
    include_str!("../kinds/map.lua"),
    include_str!("../kinds/set.lua"),
    include_str!("../kinds/structure.lua"),
    include_str!("../kinds/pqueue.lua"),
    include_str!("../kinds/ratelimit.lua"),
    include_str!("../kinds/ratelimit_op.lua"),
    include_str!("../kinds/path_read.lua"),
    include_str!("../kinds/path.lua"),
    include_str!("../exec/exec_head.lua"),
    include_str!("../exec/cond.lua"),
    include_str!("../exec/exec.lua")
);

/// The plan script for plans of pure reads without a TTL refresh (`read_plan.lua`):
/// the executor's front and only the ops it runs, so a path read costs a fraction of an
/// executor call (defining every kind's ops is most of that call's server time).
pub(crate) static READ_PLAN: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(READ_PLAN_SRC));
pub(crate) const READ_PLAN_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("../exec/base.lua"),
    include_str!("../kinds/path_read.lua"),
    include_str!("../exec/exec_head.lua"),
    include_str!("../exec/read_plan.lua")
);

/// A keyed rate limiter's check or reset, see `limit.lua`.
pub(crate) static LIMIT: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(LIMIT_SRC));
pub(crate) const LIMIT_SRC: &str = concat!(
    include_str!("../kinds/ratelimit.lua"),
    include_str!("limit.lua")
);

/// Loads a document and refreshes its TTL, see `load.lua`.
pub(crate) static LOAD: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(LOAD_SRC));
pub(crate) const LOAD_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("read.lua"),
    include_str!("load.lua")
);

/// Lists / counts the live ids of one shard, see `live.lua`.
pub(crate) static LIVE: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(LIVE_SRC));
pub(crate) const LIVE_SRC: &str = concat!(include_str!("clock.lua"), include_str!("live.lua"));

/// Sets or removes a document's TTL, see `ttl.lua`.
pub(crate) static TTL: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(TTL_SRC));
pub(crate) const TTL_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("ttl.lua")
);

/// Compare-and-delete lock release, see `unlock.lua`.
pub(crate) static UNLOCK: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(UNLOCK_SRC));
pub(crate) const UNLOCK_SRC: &str = concat!(include_str!("unlock.lua"));

/// Lock + load in one step, see `lock_load.lua`.
pub(crate) static LOCK_LOAD: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(LOCK_LOAD_SRC));
pub(crate) const LOCK_LOAD_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("read.lua"),
    include_str!("lock_load.lua")
);

/// Deletes a document with index entries, see `delete.lua`.
pub(crate) static DELETE: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(DELETE_SRC));
pub(crate) const DELETE_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("erase.lua"),
    include_str!("delete.lua")
);

/// Writes or deletes many documents of one model (a bulk chunk), see `bulk.lua`.
pub(crate) static BULK: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(BULK_SRC));
pub(crate) const BULK_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("erase.lua"),
    include_str!("bulk.lua")
);

/// Runs a query on one shard, see `query.lua`.
pub(crate) static QUERY: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(QUERY_SRC));
pub(crate) const QUERY_SRC: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("query.lua")
);

/// Rebuilds a shard's indexes, see `reindex.lua`.
pub(crate) static REINDEX: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(REINDEX_SRC));
pub(crate) const REINDEX_SRC: &str = concat!(
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("reindex.lua")
);

/// A script call: the script, its keys, its arguments. Built sans-IO, run by a backend.
#[derive(Clone)]
pub(crate) struct Invocation {
    pub script: &'static redis::Script,
    pub source: &'static str,
    pub keys: Vec<String>,
    pub args: Vec<Vec<u8>>,
}

impl Invocation {
    /// `EVALSHA sha numkeys keys… args…`.
    pub(crate) fn evalsha(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.get_hash())
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// `EVAL source numkeys keys… args…`: the first call of a script in an environment
    /// (which also caches it on the server), and the retry after `NOSCRIPT`.
    pub(crate) fn eval(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(self.source)
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// Whether this script only reads (or is idempotent: TTL refresh on load, dropping
    /// expired ids), so that it may be sent again after a dropped connection.
    pub(crate) fn access(&self) -> crate::failure::Access {
        let sha = self.script.get_hash();
        if sha == LOAD.get_hash() || sha == LIVE.get_hash() || sha == QUERY.get_hash() {
            crate::failure::Access::Read
        } else {
            crate::failure::Access::Write
        }
    }
}

/// Idempotent script calls sent in one pipeline (one round trip); a script not yet sent
/// in this environment goes as `EVAL` once.
pub(crate) fn batch(calls: &[Invocation], env: &crate::env::Environment) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for call in calls {
        let first = !env.script_known(call.script.get_hash());
        pipe.add_command(if first { call.eval() } else { call.evalsha() });
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

/// The positions of the replies that are `NOSCRIPT` (those calls ran nothing).
pub(crate) fn noscript_replies(replies: &[redis::Value]) -> Vec<usize> {
    replies
        .iter()
        .enumerate()
        .filter(|(_, v)| match v {
            redis::Value::ServerError(e) => e.kind() == Some(redis::ServerErrorKind::NoScript),
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}

/// The calls at `positions` again, as `EVAL` with their source, in one pipeline: they
/// got `NOSCRIPT`, so they ran nothing, and `EVAL` cannot meet `NOSCRIPT` however often
/// the server's script cache is flushed. The other calls of the batch are not sent
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

/// True for the server's `NOSCRIPT` reply.
pub(crate) fn is_noscript(err: &redis::RedisError) -> bool {
    err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}
