//! Bulk writes, reads and deletes (DESIGN §12: `ceil(n / chunk)` round trips): the
//! options, the progress report, the partial-result error, and the chunk plans. Sans-IO;
//! the mode shells run them (`sync_*` / async runners on [`Bulk`]).

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use redis::Value;

use crate::context::Ctx;
pub use crate::error::BulkError;
use crate::error::{Error, Result, unexpected};
use crate::keys;
use crate::scripts::{self, Invocation};

/// Documents per chunk unless [`Bulk::chunk_size`] says otherwise.
pub const DEFAULT_CHUNK: usize = 500;

/// Where a bulk call stands, passed to its progress callback after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Documents handled so far (written, read or deleted, or refused).
    pub done: usize,
    /// Documents in the call.
    pub total: usize,
}

type ProgressFn<'a> = Box<dyn FnMut(BulkProgress) + Send + 'a>;

/// A bulk operation on model `M`: chunk size, progress callback and missing-id policy,
/// then one of `insert`, `save`, `get`, `delete`, `duplicate` (`sync_`-prefixed in the
/// blocking API). Each chunk is one round trip and one atomic unit (one script, or one
/// `MULTI` for reads); indexes and TTLs are kept exactly as by single writes.
///
/// ```no_run
/// # #[cfg(feature = "blocking")]
/// # fn main() -> rapyer::Result<()> {
/// use rapyer::sync::prelude::*;
///
/// #[derive(Model, Clone)]
/// struct User { id: Id, name: String }
///
/// let users: Vec<User> = (0..10_000)
///     .map(|i| User { id: Id::new(), name: format!("user{i}") })
///     .collect();
/// let written = User::bulk()
///     .chunk_size(1_000)
///     .progress(|p| println!("{}/{}", p.done, p.total))
///     .sync_insert(&users)?;
/// assert_eq!(written, 10_000);
/// # Ok(()) }
/// # #[cfg(not(feature = "blocking"))]
/// # fn main() {}
/// ```
pub struct Bulk<'a, M> {
    pub(crate) chunk: usize,
    pub(crate) skip_missing: bool,
    pub(crate) peek: bool,
    pub(crate) progress: Option<ProgressFn<'a>>,
    _model: PhantomData<fn() -> M>,
}

impl<M> fmt::Debug for Bulk<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulk")
            .field("chunk", &self.chunk)
            .field("skip_missing", &self.skip_missing)
            .field("peek", &self.peek)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<M> Default for Bulk<'_, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, M> Bulk<'a, M> {
    /// Chunks of [`DEFAULT_CHUNK`] documents, no progress callback, missing ids are an
    /// error for `get`.
    pub fn new() -> Self {
        Self {
            chunk: DEFAULT_CHUNK,
            skip_missing: false,
            peek: false,
            progress: None,
            _model: PhantomData,
        }
    }

    /// Documents per chunk (one round trip and one atomic unit each). `0` is refused
    /// with [`Error::InvalidInput`] when the call runs. Larger chunks mean fewer round
    /// trips but longer scripts, during which the server serves nobody else.
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk = n;
        self
    }

    /// Calls `f` after each chunk with the documents done so far and the total.
    pub fn progress(mut self, f: impl FnMut(BulkProgress) + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// `get` leaves out ids without a document instead of failing with
    /// [`Error::Missing`].
    pub fn skip_missing(mut self) -> Self {
        self.skip_missing = true;
        self
    }

    /// `get` leaves the documents' TTLs alone, as `peek` does for one document (by
    /// default a load refreshes them when the model says `ttl_refresh = "read"` or
    /// `"both"`).
    pub fn peek(mut self) -> Self {
        self.peek = true;
        self
    }

    pub(crate) fn chunk(&self) -> Result<usize> {
        if self.chunk == 0 {
            return Err(Error::InvalidInput(
                "bulk chunk size must be at least 1".into(),
            ));
        }
        Ok(self.chunk)
    }

    pub(crate) fn report(&mut self, done: usize, total: usize) {
        if let Some(f) = self.progress.as_mut() {
            f(BulkProgress { done, total });
        }
    }
}

/// One chunk of a bulk write or delete: its ids, in input order, and its script call.
pub(crate) struct Chunk {
    pub ids: Vec<String>,
    pub call: Invocation,
}

/// What bulk.lua does with a chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkMode {
    Save,
    Insert,
    Delete,
}

impl BulkMode {
    fn word(self) -> &'static [u8] {
        match self {
            Self::Save => b"save",
            Self::Insert => b"insert",
            Self::Delete => b"delete",
        }
    }
}

/// Builds one chunk's call in `bulk.lua`'s layout: the model's layout and each shard's
/// keys once, then each document (`per_doc` appends its arguments after shard and id).
pub(crate) fn chunk_call(
    ctx: &Ctx,
    mode: BulkMode,
    ids: &[String],
    mut per_doc: impl FnMut(usize, &mut Vec<Vec<u8>>) -> Result<()>,
) -> Result<Invocation> {
    let schema = ctx.schema;
    let mut shards: Vec<u32> = Vec::new();
    let mut shard_no = Vec::with_capacity(ids.len());
    for id in ids {
        ctx.doc_id(id)?;
        let shard = ctx.keys.shard_of(id);
        let no = match shards.iter().position(|s| *s == shard) {
            Some(i) => i,
            None => {
                shards.push(shard);
                shards.len() - 1
            }
        };
        shard_no.push(no + 1);
    }
    let mut keys = Vec::new();
    for &shard in &shards {
        keys.push(ctx.keys.ids(shard));
        let indexes = ctx.keys.index_keys(schema, shard);
        let indexed = !indexes.is_empty();
        keys.extend(indexes.into_iter().map(|ix| ix.key));
        if indexed {
            keys.push(ctx.keys.manifest(shard));
        }
    }
    let mut args: Vec<Vec<u8>> = vec![
        mode.word().to_vec(),
        ids.len().to_string().into_bytes(),
        shards.len().to_string().into_bytes(),
        schema.ttl_ms.unwrap_or(0).to_string().into_bytes(),
    ];
    args.extend_from_slice(&keys::write_layout(schema).args);
    for (i, id) in ids.iter().enumerate() {
        let shard = shards[shard_no[i] - 1];
        args.push(shard_no[i].to_string().into_bytes());
        args.push(id.as_bytes().to_vec());
        keys.push(ctx.keys.root(shard, id));
        keys.extend(
            ctx.keys
                .collections(schema, shard, id)
                .into_iter()
                .map(|(_, k)| k),
        );
        per_doc(i, &mut args)?;
    }
    Ok(Invocation {
        script: &scripts::BULK,
        keys,
        args,
    })
}

/// Refuses an id that appears twice in one call (the second write would silently
/// replace the first, and an insert could not say which one it stored).
pub(crate) fn no_repeats<'i>(ctx: &Ctx, ids: impl Iterator<Item = &'i str>) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(Error::InvalidInput(format!(
                "{}: id `{id}` appears more than once in one bulk call",
                ctx.schema.name
            )));
        }
    }
    Ok(())
}

/// The positions of `ids` as chunks of at most `chunk`, in input order; on a Redis
/// Cluster first grouped by slot (ids in their input order within each slot), so each
/// chunk is one slot and one atomic script.
pub(crate) fn chunk_positions(ctx: &Ctx, ids: &[String], chunk: usize) -> Vec<Vec<usize>> {
    let groups = if ctx.env.is_cluster() {
        let roots: Vec<String> = ids
            .iter()
            .map(|id| ctx.keys.root(ctx.keys.shard_of(id), id))
            .collect();
        crate::keys::group_by_slot(roots.iter().map(String::as_str))
    } else {
        vec![(0..ids.len()).collect()]
    };
    groups
        .iter()
        .flat_map(|g| g.chunks(chunk).map(<[usize]>::to_vec))
        .collect()
}

/// Plans the chunks deleting documents `ids` (repeats are harmless and kept).
pub(crate) fn delete_chunks(ctx: &Ctx, ids: &[String], chunk: usize) -> Result<Vec<Chunk>> {
    chunk_positions(ctx, ids, chunk)
        .into_iter()
        .map(|at| {
            let ids: Vec<String> = at.iter().map(|&i| ids[i].clone()).collect();
            Ok(Chunk {
                call: chunk_call(ctx, BulkMode::Delete, &ids, |_, _| Ok(()))?,
                ids,
            })
        })
        .collect()
}

/// What one chunk's reply says.
pub(crate) enum ChunkOutcome {
    /// Applied; for a delete, how many documents existed.
    Applied(u64),
    /// An insert chunk refused: these ids exist; nothing was written.
    Existing(Vec<String>),
}

pub(crate) fn chunk_reply(v: Value) -> Result<ChunkOutcome> {
    match v {
        Value::Int(n) => Ok(ChunkOutcome::Applied(n.max(0) as u64)),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                other => Err(unexpected("bulk script", &other)),
            })
            .collect::<Result<Vec<_>>>()
            .map(ChunkOutcome::Existing),
        other => Err(unexpected("bulk script", &other)),
    }
}

/// Collects what a bulk write or delete did, chunk by chunk.
pub(crate) struct Tally {
    pub model: &'static str,
    pub applied: Vec<String>,
    pub existing: Vec<String>,
    pub not_applied: Vec<String>,
    pub in_doubt: Vec<String>,
    /// Sum of the applied chunks' counts (documents written, or deleted that existed).
    pub count: u64,
}

impl Tally {
    pub(crate) fn new(ctx: &Ctx) -> Self {
        Self {
            model: ctx.schema.name,
            applied: Vec::new(),
            existing: Vec::new(),
            not_applied: Vec::new(),
            in_doubt: Vec::new(),
            count: 0,
        }
    }

    /// Records one chunk's reply (or transport error).
    pub(crate) fn chunk(&mut self, ids: Vec<String>, reply: Result<Value>) -> Result<()> {
        let outcome = match reply {
            Ok(v) => chunk_reply(v),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(ChunkOutcome::Applied(n)) => {
                self.count += n;
                self.applied.extend(ids);
                Ok(())
            }
            Ok(ChunkOutcome::Existing(taken)) => {
                let taken_set: HashSet<&str> = taken.iter().map(String::as_str).collect();
                self.not_applied.extend(
                    ids.into_iter()
                        .filter(|id| !taken_set.contains(id.as_str())),
                );
                self.existing.extend(taken);
                Ok(())
            }
            Err(e) => {
                if lost_reply(&e) {
                    self.in_doubt.extend(ids);
                } else {
                    self.not_applied.extend(ids);
                }
                Err(e)
            }
        }
    }

    /// The call's result: the count when everything was applied, else [`Error::Bulk`]
    /// with every id accounted for (`rest`: chunks never sent).
    pub(crate) fn finish(
        mut self,
        cause: Option<Error>,
        rest: impl IntoIterator<Item = String>,
    ) -> Result<u64> {
        self.not_applied.extend(rest);
        if cause.is_none() && self.existing.is_empty() && self.not_applied.is_empty() {
            return Ok(self.count);
        }
        Err(Error::Bulk(Box::new(BulkError {
            model: self.model,
            applied: self.applied,
            existing: self.existing,
            not_applied: self.not_applied,
            in_doubt: self.in_doubt,
            cause,
        })))
    }
}

/// Whether the request may have reached the server without its reply reaching us.
fn lost_reply(e: &Error) -> bool {
    match e {
        Error::Redis(e) => e.is_io_error() || e.is_timeout() || e.is_connection_dropped(),
        // no reply within the environment's bounds: the chunk may have been applied
        Error::Timeout {
            may_have_applied, ..
        } => *may_have_applied,
        // the script ran, but its reply is not one we know
        Error::UnexpectedReply { .. } => true,
        _ => false,
    }
}
