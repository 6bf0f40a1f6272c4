//! rapyer's Redis Functions library: every script of `scripts!` as one function of one
//! library, so that the helpers a script carries (every kind's ops, for the executor)
//! are built once when the library loads instead of on every call.
//!
//! The library's text, for each script: its helpers inside a `do … end` block (their
//! locals stay private to that script), its main files as a local function `main`, and
//! the registration of a function that sets `KEYS` and `ARGV` (two locals of the library
//! that the helpers read as a script reads its globals) and runs `main`. The same
//! sources run unchanged as `EVAL` scripts. Helpers must only define at load time: a
//! library's load runs without Lua's globals (no `ipairs`, `type`, `string`), so their
//! top level holds definitions and table constructors, and loops over constants are
//! numeric. Each call starts from the same definitions: the helpers keep no state
//! between calls (a main file's locals are new on every call).
//!
//! The library and its functions are named after a hash of its text
//! (`rapyer_<12 hex>`, `rapyer_<12 hex>_exec`), so that two versions of rapyer share a
//! server without replacing each other's functions.

use std::collections::HashMap;

use once_cell::sync::Lazy;

use super::PARTS;

/// The library's text and the full names of its functions.
pub(crate) struct Library {
    pub text: String,
    names: HashMap<&'static str, String>,
}

impl Library {
    /// The full name of the function for script `function`.
    pub(crate) fn function(&self, function: &str) -> &str {
        self.names
            .get(function)
            .map_or("rapyer_unknown_function", String::as_str)
    }
}

/// Stands for the library's name until its hash is known.
const NAME: &str = "@RAPYER_LIBRARY@";

fn text() -> String {
    let mut body = String::with_capacity(256 * 1024);
    body.push_str("local KEYS, ARGV\n");
    body.push_str("local function done(...) KEYS, ARGV = nil, nil return ... end\n");
    for part in PARTS {
        body.push_str("do\n");
        for helper in part.helpers {
            body.push_str(helper);
            body.push('\n');
        }
        body.push_str("local function main()\n");
        for file in part.main {
            body.push_str(file);
            body.push('\n');
        }
        body.push_str("end\n");
        let flags = if part.flags.is_empty() {
            String::new()
        } else {
            format!(", flags = {{'{}'}}", part.flags)
        };
        body.push_str(&format!(
            "redis.register_function{{function_name = '{NAME}_{}', callback = function(keys, args) KEYS, ARGV = keys, args return done(main()) end{flags}}}\nend\n",
            part.function
        ));
    }
    body
}

/// The library, built once per process.
pub(crate) static LIBRARY: Lazy<Library> = Lazy::new(|| {
    let body = text();
    let hash = redis::Script::new(&body).get_hash()[..12].to_owned();
    let name = format!("rapyer_{hash}");
    let names = PARTS
        .iter()
        .map(|p| (p.function, format!("{name}_{}", p.function)))
        .collect();
    Library {
        text: format!("#!lua name={name}\n{}", body.replace(NAME, &name)),
        names,
    }
});

/// `FUNCTION LOAD REPLACE <library>` (a cluster client sends it to every master).
pub(crate) fn load_command() -> redis::Cmd {
    let mut cmd = redis::cmd("FUNCTION");
    cmd.arg("LOAD").arg("REPLACE").arg(LIBRARY.text.as_str());
    cmd
}

/// Whether a server's error says the call ran nothing because its script or function
/// was missing: `NOSCRIPT` (the script cache was flushed), `Function not found` (the
/// server restarted, or its functions were flushed). Such a call may be sent again.
pub(crate) fn ran_nothing(code: Option<&str>, detail: Option<&str>) -> bool {
    match code {
        Some("NOSCRIPT") => true,
        Some("ERR") => detail.is_some_and(|d| d.starts_with("Function not found")),
        _ => false,
    }
}

/// Whether a server's error on `FUNCTION LOAD` passes (the server is over `maxmemory`,
/// busy, loading, read-only after a failover, or its cluster is changing): the library
/// is to be loaded again later, not turned off.
pub(crate) fn passing(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "OOM"
                | "BUSY"
                | "LOADING"
                | "TRYAGAIN"
                | "MASTERDOWN"
                | "READONLY"
                | "CLUSTERDOWN"
                | "MOVED"
                | "ASK"
        )
    )
}

/// The positions of the replies that ran nothing (see [`ran_nothing`]).
pub(crate) fn unrun_replies(replies: &[redis::Value]) -> Vec<usize> {
    replies
        .iter()
        .enumerate()
        .filter(|(_, v)| match v {
            redis::Value::ServerError(e) => ran_nothing(Some(e.code()), e.details()),
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::LIBRARY;

    /// Every script is a function of the library, under the library's name.
    #[test]
    fn every_script_is_a_function() {
        let lib = &LIBRARY.text;
        let name = lib
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("#!lua name="))
            .unwrap();
        assert!(name.starts_with("rapyer_") && name.len() == 19, "{name}");
        for part in super::PARTS {
            let f = LIBRARY.function(part.function);
            assert_eq!(f, format!("{name}_{}", part.function));
            assert!(lib.contains(&format!("function_name = '{f}'")), "{f}");
        }
        assert!(!lib.contains(super::NAME));
    }

    /// A function flagged `allow-oom` runs over `maxmemory`, so its own code calls only
    /// commands that add no memory: reads, deletes, TTL changes, `ZADD XX` (a new score
    /// for a member that exists). Its helpers are shared with writing functions; the
    /// suite's `over_maxmemory_…` test shows what the calls do there.
    #[test]
    fn functions_allowed_over_maxmemory_add_no_memory() {
        const FREE: &[&str] = &[
            "GET",
            "HGET",
            "HDEL",
            "LREM",
            "SREM",
            "HMGET",
            "HGETALL",
            "LRANGE",
            "SMEMBERS",
            "TYPE",
            "EXISTS",
            "PTTL",
            "TIME",
            "ZCARD",
            "ZCOUNT",
            "ZLEXCOUNT",
            "ZRANGE",
            "ZRANGEBYLEX",
            "ZRANGEBYSCORE",
            "ZREVRANGE",
            "ZSCORE",
            "DEL",
            "ZREM",
            "ZREMRANGEBYSCORE",
            "PEXPIRE",
            "PERSIST",
        ];
        let mut seen = 0;
        for part in super::PARTS.iter().filter(|p| p.flags == "allow-oom") {
            for src in part.main {
                let calls = src.split("redis.call(").skip(1);
                for call in calls.chain(src.split("redis.pcall(").skip(1)) {
                    let cmd = call.split([',', ')']).next().unwrap().trim_matches('\'');
                    let xx = cmd == "ZADD" && call.split(')').next().unwrap().contains("'XX'");
                    assert!(FREE.contains(&cmd) || xx, "{}: {cmd}", part.function);
                    seen += 1;
                }
            }
        }
        assert!(seen > 10, "{seen} calls checked");
    }
}
