//! TTL change events: listeners registered with [`on_ttl_extended`] are called after
//! each operation that set a document's TTL (a `set_ttl` / `persist`, a TTL cascade),
//! once per document, in the calling thread or task; every such change is also a
//! `tracing` event (target `rapyer::ttl`, level `debug`).

use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A document's TTL was set (after the operation ran).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TtlEvent {
    /// The environment the document is in.
    pub env: String,
    /// Model name as used in keys.
    pub model: &'static str,
    /// The document id.
    pub id: String,
    /// Its new TTL (`None`: it no longer expires).
    pub ttl: Option<Duration>,
    /// Why it changed.
    pub cause: TtlCause,
}

/// Why a TTL changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtlCause {
    /// Set on the document itself (`set_ttl`, `persist`, or the document a TTL cascade
    /// started from).
    Direct,
    /// Reached by a TTL cascade ([`crate::TtlCascade`]) from `model`'s document `id`
    /// through relation path `path`.
    Cascade {
        /// The model the cascade started from.
        model: &'static str,
        /// The document it started from.
        id: String,
        /// The relation path that reached this document (`"reviews.reviewer"`).
        path: String,
    },
}

type Listener = Arc<dyn Fn(&TtlEvent) + Send + Sync>;

static LISTENERS: RwLock<Vec<(u64, Listener)>> = RwLock::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A registered TTL listener; [`remove_ttl_listener`] takes it away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Calls `listener` after every TTL change (see [`TtlEvent`]). A listener runs in the
/// thread or task of the operation, after it succeeded; keep it short (a panic in it
/// propagates to the caller of the operation).
///
/// ```
/// let id = rapyer::on_ttl_extended(|e| println!("{} {} -> {:?} ({:?})", e.model, e.id, e.ttl, e.cause));
/// rapyer::remove_ttl_listener(id);
/// ```
pub fn on_ttl_extended(listener: impl Fn(&TtlEvent) + Send + Sync + 'static) -> ListenerId {
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    LISTENERS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, Arc::new(listener)));
    ListenerId(id)
}

/// Removes a listener; `false` when it was not registered.
pub fn remove_ttl_listener(id: ListenerId) -> bool {
    let mut all = LISTENERS.write().unwrap_or_else(|e| e.into_inner());
    let before = all.len();
    all.retain(|(i, _)| *i != id.0);
    all.len() != before
}

/// Reports TTL changes: a `tracing` event each, then every listener (called with no lock
/// held, so a listener may register or remove listeners).
pub(crate) fn ttl_changed(events: &[TtlEvent]) {
    if events.is_empty() {
        return;
    }
    for e in events {
        tracing::debug!(
            target: "rapyer::ttl",
            env = %e.env,
            model = e.model,
            id = %e.id,
            ttl_ms = e.ttl.map(|d| d.as_millis() as u64),
            cause = ?e.cause,
            "rapyer: TTL set"
        );
    }
    let listeners: Vec<Listener> = LISTENERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    for l in &listeners {
        for e in events {
            l(e);
        }
    }
}
