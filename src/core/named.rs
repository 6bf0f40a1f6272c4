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
/// trip for the names (one script per shard), then one per 500 names for the tags.
#[maybe_async]
pub(crate) async fn structures() -> Result<Vec<NamedStructure>> {
    let ctx = Ctx::for_schema(&NAMED)?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let replies = backend.invoke_batch(&plan::live(&ctx, "ids")).await?;
    let names: Vec<String> = plan::decode_ids(&ctx, replies)?;
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for name in chunk {
            pipe.hget(ctx.doc(name)?.root, KIND_FIELD);
        }
        let tags = backend.query_pipe(Access::Read, &pipe).await?;
        for (name, tag) in chunk.iter().zip(tags) {
            let tag = match tag {
                redis::Value::Nil => String::new(),
                redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                other => return Err(unexpected("structure tag", &other)),
            };
            out.push(NamedStructure::new(name.clone(), tag));
        }
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
