//! `Counter`: an exact 64-bit counter in a STRING key of its own, changed only by its
//! atomic operations (a save never overwrites it). Built on the plug-in trait.

use super::structure::{Storage, Stored, Structure, StructureRef};
use crate::error::Result;
use crate::exec::Pending;

/// An exact `i64` counter kept in a Redis STRING key of its own (`INCRBY`), for counts
/// that many writers change at once.
///
/// Only its atomic operations change it: a `save` of an existing document leaves the
/// stored count alone (so a save of a stale copy never undoes increments), an `insert` —
/// and `duplicate`, a save that creates the document — write the value the copy holds.
/// Loads, TTL and delete carry it like every key of the document. Increments that would
/// leave the `i64` range are refused by Redis ([`crate::Error::Rejected`], nothing
/// applied). A zero counter has no key.
///
/// ```no_run
/// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
/// use rapyer::Counter;
///
/// #[derive(Model, Debug, Clone)]
/// struct Page { id: Id, title: String, views: Counter }
///
/// let mut page = Page { id: Id::new(), title: "home".into(), views: Counter::default() };
/// page.sync_insert()?;
/// page.atomic().views.sync_increment(5)?;                  // 5, mirrored into page.views
/// let seen = Page::at(&page.id).views.sync_get_and_reset()?; // 5; the counter is 0 again
/// # let _ = seen; Ok(()) }
/// # #[cfg(not(feature = "blocking"))] fn main() {}
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counter(i64);

impl Counter {
    /// A counter starting at `value` (written by an insert).
    pub fn new(value: i64) -> Self {
        Self(value)
    }

    /// The count as loaded (or as the last operation through this copy left it).
    pub fn value(&self) -> i64 {
        self.0
    }
}

impl From<i64> for Counter {
    fn from(value: i64) -> Self {
        Self(value)
    }
}

/// Atomic operations on a [`Counter`] field (`model.atomic().views`,
/// `Model::at(id).views`): one round trip each, or part of a pipeline.
pub struct CounterRef<'a>(StructureRef<'a, Counter>);

impl std::fmt::Debug for CounterRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CounterRef({:?})", self.0)
    }
}

impl<'a> CounterRef<'a> {
    /// Adds `n`; the new count.
    pub fn increment(&self, n: i64) -> Pending<'a, i64> {
        self.by("INCRBY", n)
    }

    /// Subtracts `n` (`i64::MIN` included); the new count.
    pub fn decrement(&self, n: i64) -> Pending<'a, i64> {
        self.by("DECRBY", n)
    }

    /// `INCRBY`/`DECRBY` by `n`, replying with the stored value (exact beyond 2^53).
    fn by(&self, command: &str, n: i64) -> Pending<'a, i64> {
        let handle = self.0.clone();
        self.0
            .write(command)
            .arg(n)
            .reply_value()
            .finish(move |reply, local| {
                let total = count(&handle, reply.parse()?)?;
                if let Some(local) = local {
                    local.0 = total;
                }
                Ok(total)
            })
            .yields(0, Some("0"))
    }

    /// The stored count.
    pub fn get(&self) -> Pending<'a, i64> {
        let handle = self.0.clone();
        self.0
            .read("GET")
            .finish(move |reply, local| {
                let n = count(&handle, reply.parse()?)?;
                if let Some(local) = local {
                    local.0 = n;
                }
                Ok(n)
            })
            .yields(0, Some("0"))
    }

    /// Sets the count back to 0.
    pub fn reset(&self) -> Pending<'a, ()> {
        self.0.write("DEL").finish(|_, local| {
            if let Some(local) = local {
                local.0 = 0;
            }
            Ok(())
        })
    }

    /// The stored count, and the counter back to 0, in one step (`GETDEL`): no increment
    /// between the read and the reset is lost.
    pub fn get_and_reset(&self) -> Pending<'a, i64> {
        let handle = self.0.clone();
        self.0
            .write("GETDEL")
            .finish(move |reply, local| {
                let n = count(&handle, reply.parse()?)?;
                if let Some(local) = local {
                    local.0 = 0;
                }
                Ok(n)
            })
            .yields(0, Some("0"))
    }
}

/// A stored count from `GET`/`GETDEL`'s reply (absent: 0).
fn count(handle: &StructureRef<'_, Counter>, text: Option<String>) -> Result<i64> {
    match text {
        None => Ok(0),
        Some(t) => t
            .parse()
            .map_err(|_| handle.decode_error(format!("not a counter: {t:?}"))),
    }
}

impl Counter {
    /// The standalone counter named `name` in the current environment: its atomic
    /// handle, as for a field ([`Named`](crate::Named): a write
    /// creates it; a name created as another kind is `Error::WrongKind`).
    pub fn named(name: impl Into<String>) -> CounterRef<'static> {
        <Self as super::named::Named>::named(name)
    }
}

impl Structure for Counter {
    const STORAGE: Storage = Storage::Bytes;
    const KEEP_ON_SAVE: bool = true;
    type Atomic<'a> = CounterRef<'a>;

    fn tag() -> String {
        "Counter".to_owned()
    }

    fn atomic(handle: StructureRef<'_, Self>) -> CounterRef<'_> {
        CounterRef(handle)
    }

    fn store(&self) -> std::result::Result<Stored, String> {
        Ok(Stored::Bytes(
            (self.0 != 0).then(|| self.0.to_string().into_bytes()),
        ))
    }

    fn load(stored: Stored) -> std::result::Result<Self, String> {
        match stored {
            Stored::Bytes(None) => Ok(Self(0)),
            Stored::Bytes(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                text.parse()
                    .map(Self)
                    .map_err(|_| format!("not a counter: {text:?}"))
            }
            other => Err(format!("a counter is a string key, not {other:?}")),
        }
    }
}
