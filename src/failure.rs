//! What a failed request means, shared by both mode shells (compiled once): whether it
//! may be sent again, and the typed error a caller sees (README "Failure behaviour").

use std::time::Duration;

use crate::env::Environment;
use crate::error::Error;

/// Whether a request only reads (so sending it again cannot apply anything twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads, or scripts that are idempotent (TTL refresh on load, expired-id cleanup).
    Read,
    /// Anything else: never sent twice, except after `NOSCRIPT` (which ran nothing).
    Write,
}

/// A read may be sent once more on a fresh connection when the connection broke before
/// a reply came (server restarted, `CLIENT KILL`, idle connection closed). A timeout is
/// not retried: the bound is the caller's.
pub(crate) fn retry_read(access: Access, err: &redis::RedisError) -> bool {
    access == Access::Read
        && !err.is_timeout()
        && (err.is_connection_dropped() || err.is_connection_refusal() || err.is_io_error())
}

/// The typed error for a transport failure after `waited`.
pub(crate) fn transport(
    env: &Environment,
    access: Access,
    waited: Duration,
    err: redis::RedisError,
) -> Error {
    if err.is_timeout() {
        return timeout(env, access, waited);
    }
    Error::from(err)
}

/// [`Error::Timeout`] for a request of `access` that waited `waited`.
pub(crate) fn timeout(env: &Environment, access: Access, waited: Duration) -> Error {
    Error::Timeout {
        env: env.name().to_owned(),
        waited,
        may_have_applied: access == Access::Write,
    }
}
