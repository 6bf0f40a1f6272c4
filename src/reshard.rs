//! Moving a model's documents after its `#[rapyer(shards = S)]` changed: the progress
//! report and the plan of one old shard. Sans-IO; `core::ops::reshard` runs it.

use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::keys::Keyspace;

/// Where a reshard stands, passed to its progress callback after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReshardProgress {
    /// The old shard being emptied (`0..from_shards`).
    pub shard: u32,
    /// The shard count the documents were written with.
    pub from_shards: u32,
    /// The model's shard count now.
    pub to_shards: u32,
    /// Documents moved to their new shard so far.
    pub moved: u64,
    /// Documents already in the right shard (their shard number did not change).
    pub kept: u64,
}

/// The context of the model's old layout, after checking the shard counts.
pub(crate) fn old_ctx(ctx: &Ctx, from_shards: u32) -> Result<Ctx> {
    if from_shards == 0 {
        return Err(Error::InvalidInput(format!(
            "{}: reshard from 0 shards",
            ctx.schema.name
        )));
    }
    Ok(Ctx {
        env: ctx.env.clone(),
        schema: ctx.schema,
        keys: Keyspace::with_shards(ctx.env.namespace(), ctx.schema, from_shards),
    })
}

/// Of the ids stored in old shard `shard`, those whose shard is another one now (in
/// order), and how many stay.
pub(crate) fn movers(new: &Ctx, shard: u32, ids: Vec<String>) -> (Vec<String>, u64) {
    let before = ids.len();
    let moving: Vec<String> = ids
        .into_iter()
        .filter(|id| new.keys.shard_of(id) != shard)
        .collect();
    let kept = (before - moving.len()) as u64;
    (moving, kept)
}
