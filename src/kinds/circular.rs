//! `CircularBuffer`: the latest `N` items in a LIST key of its own; a push drops the
//! oldest beyond `N` in the same atomic step. Built on the plug-in trait.

use std::collections::VecDeque;

use super::structure::{Storage, Stored, Structure, StructureRef};
use crate::codec::{Element, show};
use crate::error::Result;
use crate::exec::Pending;

/// The latest `N` items (oldest first), kept in a Redis LIST key of its own: a push
/// appends and trims to `N` in one atomic step (`RPUSH` + `LTRIM`), so the list never
/// holds more than `N` items, whoever pushes. Items are any [`Element`].
///
/// A change of `N` on a model takes effect on the next push (and the next save).
///
/// ```no_run
/// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
/// use rapyer::CircularBuffer;
///
/// #[derive(Model, Debug, Clone)]
/// struct Sensor { id: Id, recent: CircularBuffer<f64, 100> }
///
/// let mut s = Sensor { id: Id::new(), recent: CircularBuffer::new() };
/// s.sync_insert()?;
/// s.atomic().recent.sync_push(21.5)?;                 // one round trip, mirrored
/// let last3: Vec<f64> = Sensor::at(&s.id).recent.sync_latest(3)?;   // newest first
/// # let _ = last3; Ok(()) }
/// # #[cfg(not(feature = "blocking"))] fn main() {}
/// ```
///
/// ```compile_fail,E0080
/// // a capacity of 0 does not compile
/// let _ = rapyer::CircularBuffer::<String, 0>::new();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CircularBuffer<T, const N: usize> {
    items: VecDeque<T>,
}

impl<T, const N: usize> CircularBuffer<T, N> {
    const CAPACITY: usize = {
        assert!(N > 0, "a CircularBuffer holds at least one item");
        N
    };

    /// An empty buffer.
    pub fn new() -> Self {
        let _ = Self::CAPACITY;
        Self {
            items: VecDeque::new(),
        }
    }

    /// `N`.
    pub fn capacity(&self) -> usize {
        Self::CAPACITY
    }

    /// The items as loaded (or as operations through this copy left them), oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends `item` to this copy, dropping the oldest beyond `N` (stored by the next
    /// save; [`CircularRef::push`] pushes on the server).
    pub fn push(&mut self, item: T) {
        self.items.push_back(item);
        while self.items.len() > Self::CAPACITY {
            self.items.pop_front();
        }
    }
}

impl<T, const N: usize> Default for CircularBuffer<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Atomic operations on a [`CircularBuffer`] field.
pub struct CircularRef<'a, T, const N: usize>(StructureRef<'a, CircularBuffer<T, N>>);

impl<T, const N: usize> std::fmt::Debug for CircularRef<'_, T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CircularRef<{N}>({:?})", self.0)
    }
}

impl<'a, T: Element + Clone + Send + 'a, const N: usize> CircularRef<'a, T, N> {
    /// Appends `item` and drops the oldest beyond `N`, in one step; the length after.
    pub fn push(&self, item: T) -> Pending<'a, usize> {
        self.push_many([item])
    }

    /// Appends `items` in order and drops the oldest beyond `N`, in one step; the
    /// length after.
    pub fn push_many(&self, items: impl IntoIterator<Item = T>) -> Pending<'a, usize> {
        let items: Vec<T> = items.into_iter().collect();
        let encoded: std::result::Result<Vec<Vec<u8>>, String> =
            items.iter().map(Element::encode_element).collect();
        let encoded = match encoded {
            Ok(e) => e,
            Err(reason) => return self.0.refuse_encode(reason),
        };
        if encoded.is_empty() {
            return self.len();
        }
        let keep = -(N.min(i64::MAX as usize) as i64);
        // at most 1,000 items per RPUSH (Lua unpacks a few thousand values), the trim
        // after the last: one step; the reply is every RPUSH's length, the last counts
        let mut cmd = self.0.write("RPUSH").reply_all();
        for (i, item) in encoded.into_iter().enumerate() {
            if i > 0 && i % 1000 == 0 {
                cmd = cmd.then("RPUSH");
            }
            cmd = cmd.arg(item);
        }
        cmd.then("LTRIM")
            .arg(keep)
            .arg(-1)
            .finish(move |reply, local| {
                let lengths: Vec<usize> = reply.parse()?;
                let pushed = lengths.last().copied().unwrap_or(0);
                if let Some(local) = local {
                    for item in items {
                        local.push(item);
                    }
                }
                Ok(pushed.min(N))
            })
    }

    /// The latest `n` items, newest first.
    pub fn latest(&self, n: usize) -> Pending<'a, Vec<T>> {
        if n == 0 {
            // still a round trip: a missing document is NotFound as for any n
            return self.0.read("LLEN").finish(|_, _| Ok(Vec::new()));
        }
        let from = -(n.min(N).min(i64::MAX as usize) as i64);
        let handle = self.0.clone();
        self.0
            .read("LRANGE")
            .arg(from)
            .arg(-1)
            .finish(move |reply, _| {
                let mut items = decode_all::<T, N>(&handle, reply.parse()?)?;
                items.reverse();
                Ok(items)
            })
    }

    /// The oldest item still held.
    pub fn oldest(&self) -> Pending<'a, Option<T>> {
        let handle = self.0.clone();
        self.0.read("LINDEX").arg(0).finish(move |reply, _| {
            let raw: Option<Vec<u8>> = reply.parse()?;
            raw.map(|b| decode_one::<T, N>(&handle, &b)).transpose()
        })
    }

    /// Every item held, oldest first (and the local copy refreshed).
    pub fn all(&self) -> Pending<'a, Vec<T>> {
        let handle = self.0.clone();
        self.0
            .read("LRANGE")
            .arg(0)
            .arg(-1)
            .finish(move |reply, local| {
                let items = decode_all::<T, N>(&handle, reply.parse()?)?;
                if let Some(local) = local {
                    local.items = items.iter().cloned().collect();
                }
                Ok(items)
            })
    }

    /// How many items it holds.
    pub fn len(&self) -> Pending<'a, usize> {
        self.0.read("LLEN").finish(|reply, _| reply.parse())
    }

    /// Removes every item.
    pub fn clear(&self) -> Pending<'a, ()> {
        self.0.write("DEL").finish(|_, local| {
            if let Some(local) = local {
                local.items.clear();
            }
            Ok(())
        })
    }
}

fn decode_one<T: Element + Send, const N: usize>(
    handle: &StructureRef<'_, CircularBuffer<T, N>>,
    raw: &[u8],
) -> Result<T> {
    T::decode_element(raw).map_err(|r| handle.decode_error(format!("item {}: {r}", show(raw))))
}

fn decode_all<T: Element + Send, const N: usize>(
    handle: &StructureRef<'_, CircularBuffer<T, N>>,
    raw: Vec<Vec<u8>>,
) -> Result<Vec<T>> {
    raw.iter().map(|b| decode_one(handle, b)).collect()
}

impl<T: Element + Send + 'static, const N: usize> CircularBuffer<T, N> {
    /// The standalone circular buffer named `name` in the current environment: its atomic
    /// handle, as for a field ([`Named`](crate::Named): a write
    /// creates it; a name created as another kind is `Error::WrongKind`).
    pub fn named(name: impl Into<String>) -> CircularRef<'static, T, N> {
        <Self as super::named::Named>::named(name)
    }
}

impl<T: Element + Send, const N: usize> Structure for CircularBuffer<T, N> {
    const STORAGE: Storage = Storage::List;
    type Atomic<'a>
        = CircularRef<'a, T, N>
    where
        Self: 'a;

    fn tag() -> String {
        "CircularBuffer".to_owned()
    }

    fn atomic(handle: StructureRef<'_, Self>) -> CircularRef<'_, T, N> {
        CircularRef(handle)
    }

    fn store(&self) -> std::result::Result<Stored, String> {
        let skip = self.items.len().saturating_sub(Self::CAPACITY);
        self.items
            .iter()
            .skip(skip)
            .map(Element::encode_element)
            .collect::<std::result::Result<_, _>>()
            .map(Stored::List)
    }

    fn load(stored: Stored) -> std::result::Result<Self, String> {
        match stored {
            Stored::List(items) => items
                .iter()
                .map(|b| T::decode_element(b).map_err(|r| format!("item {}: {r}", show(b))))
                .collect::<std::result::Result<VecDeque<T>, _>>()
                .map(|items| Self { items }),
            other => Err(format!("a circular buffer is a list key, not {other:?}")),
        }
    }
}
