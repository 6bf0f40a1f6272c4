//! `PriorityQueue`: values by priority in a sorted set key of its own, ties first in,
//! first out. Built on the plug-in trait, with its own executor ops (`pqueue.lua`).
//!
//! Layout: every member is the priority's order key (`Priority::WIDTH` bytes whose
//! bytewise order is the queue's order), an 8-byte big-endian sequence number, then the
//! value's element bytes; every score is 0, so the set sorts by member: by priority,
//! then by arrival. `ZPOPMIN` pops the head; a push takes the sequence number after the
//! last member of its priority (one `ZREVRANGEBYLEX`), in the same script, so ties come
//! out in push order whichever client pushed. Priorities are exact (an `i64` beyond 2^53
//! keeps its order), because they are bytes, not scores.

use std::marker::PhantomData;

use super::structure::{Storage, Stored, Structure, StructureRef};
use crate::codec::{Element, show};
use crate::error::{Error, Result};
use crate::exec::Pending;

/// A priority type of a [`PriorityQueue`]: every integer type, `f32` and `f64` (NaN
/// refused), or a type of your own mapped onto bytes whose order is its order.
///
/// ```
/// use rapyer::Priority;
///
/// /// Urgent before high before low, in a min-first queue.
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Level { Urgent, High, Low }
///
/// impl Priority for Level {
///     const NAME: &'static str = "level";
///     const WIDTH: usize = 1;
///     fn write_key(&self, out: &mut Vec<u8>) -> Result<(), String> {
///         out.push(*self as u8);
///         Ok(())
///     }
///     fn read_key(key: &[u8]) -> Result<Self, String> {
///         match key {
///             [0] => Ok(Level::Urgent),
///             [1] => Ok(Level::High),
///             [2] => Ok(Level::Low),
///             other => Err(format!("no level {other:?}")),
///         }
///     }
/// }
/// ```
pub trait Priority: Sized + Clone + Send + 'static {
    /// A stable name for the type (`"i64"`), for the type tags of stored queues (keep it
    /// when renaming the Rust type).
    const NAME: &'static str;
    /// The length of every order key (at least 1).
    const WIDTH: usize;
    /// Appends exactly [`Self::WIDTH`] bytes whose bytewise order is the priority order
    /// (smaller bytes: popped first by a [`MinFirst`] queue); `Err`: a priority that has
    /// no place (NaN).
    fn write_key(&self, out: &mut Vec<u8>) -> std::result::Result<(), String>;
    /// The priority from its [`Self::WIDTH`] key bytes.
    fn read_key(key: &[u8]) -> std::result::Result<Self, String>;
}

macro_rules! int_priority {
    ($($t:ty => $u:ty),*) => {$(
        impl Priority for $t {
            const NAME: &'static str = stringify!($t);
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn write_key(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
                // the sign bit flipped: negative numbers sort below positive ones
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                out.extend_from_slice(&flipped.to_be_bytes());
                Ok(())
            }
            fn read_key(key: &[u8]) -> std::result::Result<Self, String> {
                let bytes = key.try_into().map_err(|_| format!("a {} key is {} bytes", Self::NAME, Self::WIDTH))?;
                Ok((<$u>::from_be_bytes(bytes) ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}

macro_rules! uint_priority {
    ($($t:ty),*) => {$(
        impl Priority for $t {
            const NAME: &'static str = stringify!($t);
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn write_key(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
                out.extend_from_slice(&self.to_be_bytes());
                Ok(())
            }
            fn read_key(key: &[u8]) -> std::result::Result<Self, String> {
                let bytes = key.try_into().map_err(|_| format!("a {} key is {} bytes", Self::NAME, Self::WIDTH))?;
                Ok(<$t>::from_be_bytes(bytes))
            }
        }
    )*};
}

macro_rules! float_priority {
    ($($t:ty => $u:ty),*) => {$(
        impl Priority for $t {
            const NAME: &'static str = stringify!($t);
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn write_key(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
                if self.is_nan() {
                    return Err("NaN has no place in a priority order".into());
                }
                // IEEE total order as bytes: negative numbers inverted, positive ones
                // with the sign bit set (-inf < … < -0.0 < 0.0 < … < inf)
                let bits = self.to_bits();
                let sign = 1 << (<$u>::BITS - 1);
                let key = if bits & sign != 0 { !bits } else { bits | sign };
                out.extend_from_slice(&key.to_be_bytes());
                Ok(())
            }
            fn read_key(key: &[u8]) -> std::result::Result<Self, String> {
                let bytes = key.try_into().map_err(|_| format!("a {} key is {} bytes", Self::NAME, Self::WIDTH))?;
                let key = <$u>::from_be_bytes(bytes);
                let sign = 1 << (<$u>::BITS - 1);
                let bits = if key & sign != 0 { key & !sign } else { !key };
                Ok(<$t>::from_bits(bits))
            }
        }
    )*};
}

int_priority!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);
uint_priority!(u8, u16, u32, u64, u128);
float_priority!(f32 => u32, f64 => u64);

/// Which end of a [`PriorityQueue`] pops first: [`MinFirst`] (the default) or
/// [`MaxFirst`].
pub trait QueueOrder: Send + Sync + 'static {
    /// Whether the largest priority pops first.
    const MAX_FIRST: bool;
    /// The order's name in a standalone queue's type tag.
    const NAME: &'static str;
}

/// The smallest priority pops first (ties: first pushed, first popped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MinFirst;

/// The largest priority pops first (ties: first pushed, first popped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MaxFirst;

impl QueueOrder for MinFirst {
    const MAX_FIRST: bool = false;
    const NAME: &'static str = "min";
}

impl QueueOrder for MaxFirst {
    const MAX_FIRST: bool = true;
    const NAME: &'static str = "max";
}

/// Values of type `T` by priority `P`, kept in a Redis sorted set key of its own:
/// [`MinFirst`] (the default) pops the smallest priority first, [`MaxFirst`] the
/// largest; among equal priorities the first pushed pops first, whichever client pushed
/// (a sequence number taken in the push's script). Priorities are exact: an `i64`
/// beyond 2^53 or an `f64`'s last bit keep their order (they are stored as bytes, not
/// as scores).
///
/// The same value may be queued several times (each push is an entry of its own);
/// [`PriorityRef::remove`] and [`PriorityRef::update_priority`] act on every entry of
/// the value, scanning the queue (O(n)); push, pop and peek are O(log n).
///
/// ```no_run
/// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
/// use rapyer::{MaxFirst, PriorityQueue};
/// use std::time::Duration;
///
/// #[derive(Model, Debug, Clone)]
/// struct Worker { id: Id, jobs: PriorityQueue<String, i64>, urgent: PriorityQueue<String, u8, MaxFirst> }
///
/// let mut w = Worker { id: Id::new(), jobs: PriorityQueue::new(), urgent: PriorityQueue::new() };
/// w.sync_insert()?;
/// w.atomic().jobs.sync_push("build".into(), 5)?;           // one round trip, mirrored
/// w.atomic().jobs.sync_push("test".into(), 1)?;
/// let next = Worker::at(&w.id).jobs.sync_pop()?;           // Some(("test", 1))
/// let later = Worker::at(&w.id).jobs.sync_pop_blocking(Duration::from_secs(5))?;
/// # let _ = (next, later); Ok(()) }
/// # #[cfg(not(feature = "blocking"))] fn main() {}
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityQueue<T, P, O = MinFirst> {
    items: Vec<(T, P)>,
    order: PhantomData<O>,
}

impl<T, P, O> Default for PriorityQueue<T, P, O> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            order: PhantomData,
        }
    }
}

/// The order key of `priority` in a queue of order `O` (a max-first queue inverts it).
fn order_key<P: Priority, O: QueueOrder>(priority: &P) -> std::result::Result<Vec<u8>, String> {
    let mut key = Vec::with_capacity(P::WIDTH);
    priority.write_key(&mut key)?;
    if key.len() != P::WIDTH || P::WIDTH == 0 {
        return Err(format!(
            "priority type {} wrote a {}-byte key; its WIDTH is {} (at least 1)",
            P::NAME,
            key.len(),
            P::WIDTH
        ));
    }
    if O::MAX_FIRST {
        key.iter_mut().for_each(|b| *b = !*b);
    }
    Ok(key)
}

/// The priority of an order key (as `order_key` wrote it).
fn priority_of<P: Priority, O: QueueOrder>(key: &[u8]) -> std::result::Result<P, String> {
    if O::MAX_FIRST {
        let plain: Vec<u8> = key.iter().map(|b| !b).collect();
        P::read_key(&plain)
    } else {
        P::read_key(key)
    }
}

/// A member's value and priority (order key, sequence number, element bytes).
fn split_member<T: Element, P: Priority, O: QueueOrder>(
    member: &[u8],
) -> std::result::Result<(T, P), String> {
    if member.len() < P::WIDTH + 8 {
        return Err(format!(
            "entry {} is shorter than a priority and a sequence number",
            show(member)
        ));
    }
    let priority = priority_of::<P, O>(&member[..P::WIDTH])
        .map_err(|r| format!("entry {}: priority: {r}", show(member)))?;
    let value = T::decode_element(&member[P::WIDTH + 8..])
        .map_err(|r| format!("entry {}: {r}", show(member)))?;
    Ok((value, priority))
}

impl<T: Element, P: Priority, O: QueueOrder> PriorityQueue<T, P, O> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries as loaded (or as operations through this copy left them), in pop
    /// order.
    pub fn iter(&self) -> impl Iterator<Item = &(T, P)> {
        self.items.iter()
    }

    /// The entry that pops next, as loaded.
    pub fn peek(&self) -> Option<&(T, P)> {
        self.items.first()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `value` in this copy, after the entries of equal priority (stored by the
    /// next save; [`PriorityRef::push`] pushes on the server). A priority without a
    /// place (NaN) goes last here and fails the save.
    pub fn push(&mut self, value: T, priority: P) {
        let at = match order_key::<P, O>(&priority) {
            Ok(key) => self
                .items
                .iter()
                .position(|(_, p)| order_key::<P, O>(p).is_ok_and(|k| k > key))
                .unwrap_or(self.items.len()),
            Err(_) => self.items.len(),
        };
        self.items.insert(at, (value, priority));
    }

    /// Removes the entry equal (as stored bytes) to `value` and `priority`, if any.
    fn forget(&mut self, value: &[u8], key: &[u8]) {
        let at = self.items.iter().position(|(v, p)| {
            v.encode_element().is_ok_and(|b| b == value)
                && order_key::<P, O>(p).is_ok_and(|k| k == key)
        });
        if let Some(at) = at {
            self.items.remove(at);
        }
    }
}

/// Atomic operations on a [`PriorityQueue`] field (`model.atomic().jobs`,
/// `Model::at(id).jobs`): one round trip each, or part of a pipeline.
pub struct PriorityRef<'a, T, P, O = MinFirst>(pub(crate) StructureRef<'a, PriorityQueue<T, P, O>>);

impl<T, P, O> std::fmt::Debug for PriorityRef<'_, T, P, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PriorityRef({:?})", self.0)
    }
}

/// The queue's structure type, for the atomic handle's bounds.
type Queue<T, P, O> = PriorityQueue<T, P, O>;

impl<'a, T, P, O> PriorityRef<'a, T, P, O>
where
    T: Element + Clone + Send + 'a,
    P: Priority,
    O: QueueOrder,
{
    /// Queues `value` with `priority`; the queue's length after.
    pub fn push(&self, value: T, priority: P) -> Pending<'a, usize> {
        self.push_many([(value, priority)])
    }

    /// Queues every `(value, priority)` in order (equal priorities keep this order), in
    /// one step; the queue's length after.
    pub fn push_many(&self, entries: impl IntoIterator<Item = (T, P)>) -> Pending<'a, usize> {
        let entries: Vec<(T, P)> = entries.into_iter().collect();
        let mut args = vec![P::WIDTH.to_string().into_bytes()];
        for (value, priority) in &entries {
            let mut entry = match order_key::<P, O>(priority) {
                Ok(key) => key,
                Err(reason) => return self.0.refuse_encode(reason),
            };
            match value.encode_element() {
                Ok(bytes) => entry.extend(bytes),
                Err(reason) => return self.0.refuse_encode(reason),
            }
            args.push(entry);
        }
        if entries.is_empty() {
            return self.len();
        }
        self.0.op("pq_push", args, move |reply, local| {
            let len: usize = reply.parse()?;
            if let Some(local) = local {
                for (value, priority) in entries {
                    local.push(value, priority);
                }
            }
            Ok(len)
        })
    }

    /// Takes the entry that pops next (`None`: the queue is empty).
    pub fn pop(&self) -> Pending<'a, Option<(T, P)>> {
        crate::exec::map_pending(self.pop_many(1), |mut v| Ok(v.pop()))
    }

    /// Takes the next `n` entries, in pop order (fewer when the queue holds fewer).
    pub fn pop_many(&self, n: usize) -> Pending<'a, Vec<(T, P)>> {
        let handle = self.0.clone();
        self.0
            .write("ZPOPMIN")
            .arg(n.min(i64::MAX as usize))
            .finish(move |reply, local| {
                let members = members(reply.parse()?, true);
                let entries = decode(&handle, &members)?;
                if let Some(local) = local {
                    for member in &members {
                        let (key, value) = (&member[..P::WIDTH], &member[P::WIDTH + 8..]);
                        local.forget(value, key);
                    }
                }
                Ok(entries)
            })
    }

    /// The entry that pops next, left in the queue.
    pub fn peek(&self) -> Pending<'a, Option<(T, P)>> {
        crate::exec::map_pending(self.peek_many(1), |mut v| Ok(v.pop()))
    }

    /// The next `n` entries in pop order, left in the queue.
    pub fn peek_many(&self, n: usize) -> Pending<'a, Vec<(T, P)>> {
        if n == 0 {
            // still a round trip: a missing document is NotFound as for any n
            return self.0.read("ZCARD").finish(|_, _| Ok(Vec::new()));
        }
        let handle = self.0.clone();
        self.0
            .read("ZRANGE")
            .arg(0)
            .arg((n - 1).min(i64::MAX as usize))
            .finish(move |reply, _| decode(&handle, &members(reply.parse()?, false)))
    }

    /// Every entry in pop order (and the local copy refreshed).
    pub fn all(&self) -> Pending<'a, Vec<(T, P)>> {
        let handle = self.0.clone();
        self.0
            .read("ZRANGE")
            .arg(0)
            .arg(-1)
            .finish(move |reply, local| {
                let entries = decode(&handle, &members(reply.parse()?, false))?;
                if let Some(local) = local {
                    local.items = entries.clone();
                }
                Ok(entries)
            })
    }

    /// Removes every entry of `value` (whatever its priority); how many there were.
    pub fn remove(&self, value: T) -> Pending<'a, usize> {
        let bytes = match value.encode_element() {
            Ok(b) => b,
            Err(reason) => return self.0.refuse_encode(reason),
        };
        let args = vec![P::WIDTH.to_string().into_bytes(), bytes.clone()];
        self.0.op("pq_remove", args, move |reply, local| {
            let n: usize = reply.parse()?;
            if let Some(local) = local {
                local
                    .items
                    .retain(|(v, _)| v.encode_element().map_or(true, |b| b != bytes));
            }
            Ok(n)
        })
    }

    /// Gives every entry of `value` the priority `priority` (they go after the entries
    /// already there, keeping their own order); how many entries moved (0: the value is
    /// not queued, and nothing is added).
    pub fn update_priority(&self, value: T, priority: P) -> Pending<'a, usize> {
        let key = match order_key::<P, O>(&priority) {
            Ok(k) => k,
            Err(reason) => return self.0.refuse_encode(reason),
        };
        let bytes = match value.encode_element() {
            Ok(b) => b,
            Err(reason) => return self.0.refuse_encode(reason),
        };
        let args = vec![P::WIDTH.to_string().into_bytes(), bytes.clone(), key];
        self.0.op("pq_update", args, move |reply, local| {
            let n: usize = reply.parse()?;
            if let Some(local) = local {
                let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut local.items)
                    .into_iter()
                    .partition(|(v, _)| v.encode_element().is_ok_and(|b| b == bytes));
                local.items = kept;
                for (v, _) in moved {
                    local.push(v, priority.clone());
                }
            }
            Ok(n)
        })
    }

    /// How many entries it holds.
    pub fn len(&self) -> Pending<'a, usize> {
        self.0.read("ZCARD").finish(|reply, _| reply.parse())
    }

    /// Removes every entry.
    pub fn clear(&self) -> Pending<'a, ()> {
        self.0.write("DEL").finish(|_, local| {
            if let Some(local) = local {
                local.items.clear();
            }
            Ok(())
        })
    }

    /// Waits up to `timeout` for an entry and takes it (`BZPOPMIN`): `None` when none
    /// came. Run it with `.sync_run()` or `.await`. One round trip when the queue holds
    /// an entry (and a missing document is [`Error::NotFound`], as for [`pop`](Self::pop));
    /// else the wait runs on a connection of its own — a pooled one whose read timeout
    /// is raised above `timeout` (blocking API), a dedicated one (tokio API: the shared
    /// connection never waits) — and neither checks the document again nor refreshes
    /// its TTL. The timeout has millisecond resolution; zero is refused (Redis would
    /// wait forever).
    pub fn pop_blocking(&self, timeout: std::time::Duration) -> BlockingPop<'a, T, P, O> {
        BlockingPop {
            queue: PriorityRef(self.0.clone()),
            timeout,
        }
    }
}

/// A blocking pop being built ([`PriorityRef::pop_blocking`]): `.sync_run()` (blocking
/// API) or `.await` (tokio API).
#[must_use = "a blocking pop does nothing until it is awaited or run"]
pub struct BlockingPop<'a, T, P, O = MinFirst> {
    pub(crate) queue: PriorityRef<'a, T, P, O>,
    pub(crate) timeout: std::time::Duration,
}

impl<T, P, O> std::fmt::Debug for BlockingPop<'_, T, P, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockingPop({:?}, {:?})", self.queue, self.timeout)
    }
}

impl<'a, T, P, O> BlockingPop<'a, T, P, O>
where
    T: Element + Clone + Send + 'a,
    P: Priority,
    O: QueueOrder,
{
    /// The `BZPOPMIN` to send when the queue was empty: the structure's key, the
    /// command, how long the server waits.
    pub(crate) fn wait_cmd(&self) -> Result<(crate::env::Environment, redis::Cmd)> {
        if self.timeout.is_zero() {
            return Err(Error::InvalidInput(format!(
                "{} field `{}`: a blocking pop needs a timeout above zero (zero waits forever)",
                self.queue.0.model(),
                self.queue.0.path()
            )));
        }
        let (env, key) = self.queue.0.key()?;
        let mut cmd = redis::cmd("BZPOPMIN");
        // whole milliseconds, at least one: Redis reads the timeout in seconds
        let ms = self.timeout.as_millis().max(1);
        cmd.arg(&key).arg(format!("{}.{:03}", ms / 1000, ms % 1000));
        Ok((env, cmd))
    }

    /// The entry from `BZPOPMIN`'s reply (`[key, member, score]`, or nil on timeout),
    /// mirrored into the local copy.
    pub(crate) fn finish_wait(self, reply: redis::Value) -> Result<Option<(T, P)>> {
        let handle = &self.queue.0;
        let member = match reply {
            redis::Value::Nil => return Ok(None),
            redis::Value::Array(items) if items.len() == 3 => match items.into_iter().nth(1) {
                Some(redis::Value::BulkString(m)) => m,
                other => return Err(handle.decode_error(format!("BZPOPMIN gave {other:?}"))),
            },
            other => return Err(handle.decode_error(format!("BZPOPMIN gave {other:?}"))),
        };
        let entry = split_member::<T, P, O>(&member).map_err(|r| handle.decode_error(r))?;
        handle.with_local(|local| {
            local.forget(&member[P::WIDTH + 8..], &member[..P::WIDTH]);
        });
        Ok(Some(entry))
    }
}

/// The members of a reply (`ZPOPMIN`'s alternate member and score: `scored`).
fn members(raw: Vec<Vec<u8>>, scored: bool) -> Vec<Vec<u8>> {
    if scored {
        raw.into_iter().step_by(2).collect()
    } else {
        raw
    }
}

fn decode<T: Element + Send, P: Priority, O: QueueOrder>(
    handle: &StructureRef<'_, Queue<T, P, O>>,
    members: &[Vec<u8>],
) -> Result<Vec<(T, P)>> {
    members
        .iter()
        .map(|m| split_member::<T, P, O>(m).map_err(|r| handle.decode_error(r)))
        .collect()
}

impl<T: Element + Send + 'static, P: Priority, O: QueueOrder> PriorityQueue<T, P, O> {
    /// The standalone priority queue named `name` in the current environment: its atomic
    /// handle, as for a field ([`Named`](crate::Named): a write
    /// creates it; a name created as another kind is `Error::WrongKind`).
    pub fn named(name: impl Into<String>) -> PriorityRef<'static, T, P, O> {
        <Self as super::named::Named>::named(name)
    }
}

impl<T: Element + Send, P: Priority, O: QueueOrder> Structure for PriorityQueue<T, P, O> {
    const STORAGE: Storage = Storage::SortedSet;
    type Atomic<'a>
        = PriorityRef<'a, T, P, O>
    where
        Self: 'a;

    fn tag() -> String {
        format!("PriorityQueue({},{})", P::NAME, O::NAME)
    }

    fn atomic(handle: StructureRef<'_, Self>) -> PriorityRef<'_, T, P, O> {
        PriorityRef(handle)
    }

    fn store(&self) -> std::result::Result<Stored, String> {
        let mut out = Vec::with_capacity(self.items.len());
        for (seq, (value, priority)) in self.items.iter().enumerate() {
            let mut member = order_key::<P, O>(priority)?;
            member.extend_from_slice(&(seq as u64).to_be_bytes());
            member.extend(value.encode_element()?);
            out.push((member, 0.0));
        }
        // the saved order is the pop order: sorted by key, stable for ties
        out.sort_by(|a, b| a.0[..P::WIDTH].cmp(&b.0[..P::WIDTH]));
        Ok(Stored::SortedSet(out))
    }

    fn load(stored: Stored) -> std::result::Result<Self, String> {
        match stored {
            Stored::SortedSet(pairs) => {
                let items = pairs
                    .iter()
                    .map(|(m, _)| split_member::<T, P, O>(m))
                    .collect::<std::result::Result<_, _>>()?;
                Ok(Self {
                    items,
                    order: PhantomData,
                })
            }
            other => Err(format!(
                "a priority queue is a sorted set key, not {other:?}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::kinds::pqueue::{
        MaxFirst, MinFirst, Priority, PriorityQueue, QueueOrder, Stored, Structure, order_key,
        priority_of,
    };

    fn keys<P: Priority, O: QueueOrder>(ps: &[P]) -> Vec<Vec<u8>> {
        ps.iter().map(|p| order_key::<P, O>(p).unwrap()).collect()
    }

    /// Order keys sort as the priorities do, and read back exactly.
    #[test]
    fn order_keys_sort_like_their_priorities_and_read_back() {
        let ints = [i64::MIN, -(1 << 53) - 1, -1, 0, 1, (1 << 53) + 1, i64::MAX];
        let k = keys::<i64, MinFirst>(&ints);
        assert!(k.windows(2).all(|w| w[0] < w[1]));
        let k = keys::<i64, MaxFirst>(&ints);
        assert!(k.windows(2).all(|w| w[0] > w[1]));
        for p in ints {
            let key = order_key::<i64, MaxFirst>(&p).unwrap();
            assert_eq!(priority_of::<i64, MaxFirst>(&key).unwrap(), p);
        }
        let floats = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::from_bits(1),
            -0.0,
            0.0,
            f64::from_bits(1),
            1.0,
            f64::INFINITY,
        ];
        let k = keys::<f64, MinFirst>(&floats);
        assert!(k.windows(2).all(|w| w[0] < w[1]), "{k:?}");
        for p in floats {
            let back: f64 =
                priority_of::<f64, MinFirst>(&order_key::<f64, MinFirst>(&p).unwrap()).unwrap();
            assert_eq!(back.to_bits(), p.to_bits());
        }
        assert!(order_key::<f32, MinFirst>(&f32::NAN).is_err());
        let us = [0u64, 1, u64::MAX];
        let k = keys::<u64, MinFirst>(&us);
        assert!(k.windows(2).all(|w| w[0] < w[1]));
        let small = [i8::MIN, -1, 0, i8::MAX];
        assert!(keys::<i8, MinFirst>(&small).windows(2).all(|w| w[0] < w[1]));
    }

    /// The local copy keeps pop order with ties first in, first out.
    #[test]
    fn local_pushes_keep_pop_order() {
        let mut q: PriorityQueue<String, i32, MaxFirst> = PriorityQueue::new();
        for (v, p) in [("a", 1), ("b", 5), ("c", 1), ("d", 5)] {
            q.push(v.into(), p);
        }
        let order: Vec<&str> = q.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(order, ["b", "d", "a", "c"]);
        let Stored::SortedSet(stored) = q.store().unwrap() else {
            panic!()
        };
        let mut members: Vec<Vec<u8>> = stored.into_iter().map(|(m, _)| m).collect();
        members.sort();
        let back = PriorityQueue::<String, i32, MaxFirst>::load(Stored::SortedSet(
            members.into_iter().map(|m| (m, 0.0)).collect(),
        ))
        .unwrap();
        assert_eq!(back, q, "bytewise member order is the pop order");
    }
}
