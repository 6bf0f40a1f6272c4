//! The field kinds: one module per kind, each with what makes it (its `Field` impls,
//! its atomic handle and every operation, its reply decoding and mirror, the Lua op
//! functions it needs). A new kind is a new module here, a line in the re-exports and,
//! when it has executor ops, its `.lua` file in [`LUA_OPS`].

pub mod blob;
pub(crate) mod collection;
pub mod list;
pub mod map;
pub mod option;
pub mod safe;
pub mod scalar;
pub mod set;

pub use blob::BlobRef;
pub use list::{ListLike, ListRef};
pub use map::{MapLike, MapRef};
pub use option::OptionRef;
pub use scalar::{AtomicInt, AtomicNumber, ScalarRef};
pub use set::{SetLike, SetRef};

/// The kinds' executor op files (`OPS.<code> = function…`, `OP_TYPES`), in the order the
/// executor script is assembled from them (scripts/mod.rs).
pub(crate) const LUA_OPS: &[&str] = &[
    include_str!("scalar.lua"),
    include_str!("list.lua"),
    include_str!("map.lua"),
    include_str!("set.lua"),
];
