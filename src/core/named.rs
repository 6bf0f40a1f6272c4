//! Listing and deleting named structures (`kinds::named`), written once in async style
//! and compiled into both APIs like `ops.rs`.

use super::{Backend, maybe_async_mode as maybe_async};
use crate::error::{Result, unexpected};
use crate::failure::Access;
use crate::kinds::named::{KIND_FIELD, NAMED, NamedStructure, VALUE_FIELD};
use crate::plan::{self, Ctx};

/// Names read per round trip when listing.
const CHUNK: usize = 500;

/// Every named structure of the current environment with its tag, by name: one round
/// trip for the names (one script per shard), then one per 500 names for the tags (on a
/// cluster, per slot of names).
#[maybe_async]
pub(crate) async fn structures() -> Result<Vec<NamedStructure>> {
    let ctx = Ctx::for_schema(&NAMED)?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let replies = backend.invoke_batch(&plan::live(&ctx, "ids")).await?;
    let names: Vec<String> = plan::decode_ids(&ctx, replies)?;
    let mut out = Vec::with_capacity(names.len());
    // one pipeline per 500 names; on a cluster, per slot (a pipeline is one slot's)
    let roots: Vec<String> = names
        .iter()
        .map(|n| ctx.doc(n).map(|d| d.root))
        .collect::<Result<_>>()?;
    let groups: Vec<Vec<usize>> = if ctx.env.is_cluster() {
        crate::keys::group_by_slot(roots.iter().map(String::as_str))
    } else {
        vec![(0..names.len()).collect()]
    };
    let mut tags = vec![String::new(); names.len()];
    for group in groups {
        for chunk in group.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for &i in chunk {
                pipe.hget(&roots[i], KIND_FIELD);
            }
            let replies = backend.query_pipe(Access::Read, &pipe).await?;
            for (&i, tag) in chunk.iter().zip(replies) {
                tags[i] = match tag {
                    redis::Value::Nil => String::new(),
                    redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => return Err(unexpected("structure tag", &other)),
                };
            }
        }
    }
    for (name, tag) in names.into_iter().zip(tags) {
        out.push(NamedStructure::new(name, tag));
    }
    Ok(out)
}

/// Deletes the named structure `name` of the current environment, whatever its kind
/// (its key, its root and its name, atomically); whether it existed.
#[maybe_async]
pub(crate) async fn delete_structure(name: &str) -> Result<bool> {
    let ctx = Ctx::for_schema(&NAMED)?;
    let doc = ctx.doc(name)?;
    let value = doc
        .collections
        .iter()
        .find(|(p, _)| p == VALUE_FIELD)
        .map(|(_, k)| k.clone())
        .unwrap_or_default();
    let mut pipe = redis::pipe();
    pipe.atomic()
        .del(&[doc.root.as_str(), value.as_str()])
        .zrem(&doc.ids, name);
    let replies = Backend::connect(&ctx.env)
        .await?
        .query_pipe(Access::Write, &pipe)
        .await?;
    let counts: Vec<i64> = match replies.as_slice() {
        [redis::Value::Array(items)] => items
            .iter()
            .map(|v| match v {
                redis::Value::Int(n) => Ok(*n),
                other => Err(unexpected("delete structure", other)),
            })
            .collect::<Result<_>>()?,
        other => other
            .iter()
            .map(|v| match v {
                redis::Value::Int(n) => Ok(*n),
                other => Err(unexpected("delete structure", other)),
            })
            .collect::<Result<_>>()?,
    };
    Ok(counts.iter().any(|n| *n > 0))
}
