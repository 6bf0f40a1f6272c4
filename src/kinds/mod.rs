//! The field kinds: one module per kind, each with what makes it (its `Field` impls,
//! its atomic handle and every operation, its reply decoding and mirror, the Lua op
//! functions it needs). A new kind is a new module here, a line in the re-exports and,
//! when it has executor ops, its `.lua` file in the executor's script (scripts/mod.rs).

pub mod blob;
pub mod bloom;
pub mod circular;
pub mod coded;
pub(crate) mod collection;
mod computed_ops;
mod conditions;
mod loops;
pub use loops::{Each, Entry};
pub mod counter;
pub mod list;
pub mod map;
pub mod named;
pub mod nested;
pub mod option;
pub mod pqueue;
pub mod ratelimit;
pub mod safe;
pub mod scalar;
pub mod set;
pub mod structure;

pub use blob::BlobRef;
pub use bloom::{BloomFilter, BloomRef};
pub use circular::{CircularBuffer, CircularRef};
pub use coded::CodedRef;
pub use counter::{Counter, CounterRef};
pub use list::{ListLike, ListRef};
pub use map::{MapLike, MapRef};
pub use named::{KindInfo, NAMED_MODEL, Named, NamedStructure, kinds, register_kind};
pub use nested::{At, ById, DictPath, MemberPath, Nested, OnDoc, PathMode, PathNumber, SeqPath};
pub use option::OptionRef;
pub use pqueue::{
    BlockingPop, MaxFirst, MinFirst, Priority, PriorityQueue, PriorityRef, QueueOrder,
};
pub use ratelimit::{
    ApproxWindow, Decision, KeyedLimiter, Limit, LimitCall, RateLimitRef, RateLimiter,
    SlidingWindow, TokenBucket,
};
pub use scalar::{AtomicInt, AtomicNumber, ScalarRef};
pub use set::{SetLike, SetRef};
pub use structure::{Storage, Stored, Structure, StructureCmd, StructureRef, StructureReply};
