//! Lua scripts, loaded from `.lua` files (DESIGN §2.6: user data travels only as
//! KEYS/ARGV), each with the helper files it calls prepended (`clock.lua`,
//! `refresh.lua`, `index.lua`, `specs.lua`, `read.lua`, `doc.lua`, `erase.lua`): a script
//! defines its helpers anew on every call, so each one carries only what it uses. Sent
//! with `EVAL` the first time in an environment, `EVALSHA` after; the mode shells reload
//! on `NOSCRIPT`.

use once_cell::sync::Lazy;

/// Writes a whole document (save / insert), see `save.lua`.
pub(crate) static SAVE: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(SAVE_SRC));
pub(crate) const SAVE_SRC: &str = concat!(
    include_str!("clock.lua"),
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("save.lua")
);

/// Runs a plan of atomic field operations on one document, see `exec.lua`.
pub(crate) static EXEC: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(EXEC_SRC));
pub(crate) const EXEC_SRC: &str = concat!(
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("exec.lua")
);

/// Loads a document and refreshes its TTL, see `load.lua`.
pub(crate) static LOAD: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(LOAD_SRC));
pub(crate) const LOAD_SRC: &str = concat!(
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
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("read.lua"),
    include_str!("lock_load.lua")
);

/// Deletes a document with index entries, see `delete.lua`.
pub(crate) static DELETE: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(DELETE_SRC));
pub(crate) const DELETE_SRC: &str = concat!(
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("erase.lua"),
    include_str!("delete.lua")
);

/// Writes or deletes many documents of one model (a bulk chunk), see `bulk.lua`.
pub(crate) static BULK: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(BULK_SRC));
pub(crate) const BULK_SRC: &str = concat!(
    include_str!("clock.lua"),
    include_str!("index.lua"),
    include_str!("doc.lua"),
    include_str!("erase.lua"),
    include_str!("bulk.lua")
);

/// Runs a query on one shard, see `query.lua`.
pub(crate) static QUERY: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(QUERY_SRC));
pub(crate) const QUERY_SRC: &str = concat!(include_str!("clock.lua"), include_str!("query.lua"));

/// Rebuilds a shard's indexes, see `reindex.lua`.
pub(crate) static REINDEX: Lazy<redis::Script> = Lazy::new(|| redis::Script::new(REINDEX_SRC));
pub(crate) const REINDEX_SRC: &str = concat!(
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("reindex.lua")
);

/// A script call: the script, its keys, its arguments. Built sans-IO, run by a backend.
pub(crate) struct Invocation {
    pub script: &'static Lazy<redis::Script>,
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

    /// `EVAL source numkeys keys… args…`: the first call of a script in an environment,
    /// which also caches it on the server (no NOSCRIPT round trip).
    pub(crate) fn eval(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(self.source)
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }

    /// `SCRIPT LOAD` then `EVALSHA` in one pipeline, after a `NOSCRIPT` reply. The first
    /// attempt failed before running anything, so running it again applies it once.
    pub(crate) fn reload_pipe(&self) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        // errors stay in the replies, so the script's own error reaches the caller as it
        // would from a direct EVALSHA
        pipe.ignore_errors();
        pipe.cmd("SCRIPT").arg("LOAD").arg(self.source).ignore();
        pipe.add_command(self.evalsha());
        pipe
    }

    /// The script's reply out of [`Self::reload_pipe`]'s replies.
    pub(crate) fn reloaded_reply(
        mut replies: Vec<redis::Value>,
    ) -> redis::RedisResult<redis::Value> {
        match replies.pop() {
            Some(redis::Value::ServerError(e)) => Err(e.into()),
            Some(v) => Ok(v),
            None => Ok(redis::Value::Nil),
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

/// The same batch with every distinct script loaded first, after a `NOSCRIPT` reply.
/// Only for idempotent scripts: the calls that did run before run again.
pub(crate) fn batch_reload(calls: &[Invocation]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    let mut loaded: Vec<&str> = Vec::new();
    for call in calls {
        if !loaded.contains(&call.source) {
            loaded.push(call.source);
            pipe.cmd("SCRIPT").arg("LOAD").arg(call.source).ignore();
        }
    }
    for call in calls {
        pipe.add_command(call.evalsha());
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
