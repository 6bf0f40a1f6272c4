//! Lock options (the lock operations live on the mode traits).

use std::time::Duration;

/// How a lock is taken and used: `User::sync_lock_with(…)` / `User::lock_with(…)`.
///
/// ```
/// use std::time::Duration;
/// let opts = rapyer::LockOptions::default()
///     .lease(Duration::from_secs(30))
///     .timeout(Duration::from_secs(2))
///     .save(false);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LockOptions {
    /// How long the lock lives if never released (default 10 s). A lock never lives
    /// forever: a crashed holder frees it when the lease ends.
    pub lease: Duration,
    /// How long to wait for a lock someone else holds before [`crate::Error::LockTimeout`]
    /// (default 10 s; zero: try once).
    pub timeout: Duration,
    /// Save the model at the end, while still holding the lock (default true). The
    /// save checks the lock is still held and fails with [`crate::Error::Conflict`]
    /// (writing nothing) if the lease ran out.
    pub save: bool,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            save: true,
        }
    }
}

impl LockOptions {
    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the wait limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether to save at the end.
    pub fn save(mut self, save: bool) -> Self {
        self.save = save;
        self
    }
}

/// Backoff between attempts: doubles from 2 ms up to 100 ms, with jitter so waiters do
/// not retry in lockstep.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 2u64.saturating_mul(1 << attempt.min(6)).min(100);
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}
