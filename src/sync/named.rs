//! Named structures from blocking code: listing and deleting them (their operations are
//! those of each kind's atomic handle, `Named::named`).

use maybe_async::must_be_sync as maybe_async_mode;

use super::Backend;
use crate::error::Result;
use crate::kinds::NamedStructure;

#[allow(clippy::duplicate_mod)]
#[path = "../core/named.rs"]
mod core;

/// Blocking: every named structure of the current environment (see
/// [`Named`](crate::Named)), by name, with its type tag and kind.
/// One round trip for the names, one per 500 names for their tags.
pub fn sync_structures() -> Result<Vec<NamedStructure>> {
    core::structures()
}

/// Blocking: deletes the named structure `name` of the current environment, whatever its
/// kind (its key, root and name, atomically: one round trip); whether it existed.
pub fn sync_delete_structure(name: &str) -> Result<bool> {
    core::delete_structure(name)
}
