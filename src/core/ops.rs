//! CRUD orchestration, written once in async style and compiled twice (DESIGN §4): into
//! `rapyer::sync` with `maybe_async::must_be_sync` and into `rapyer::asynchronous` with
//! `maybe_async::must_be_async`. Each function is one round trip unless it says otherwise.

use super::{Backend, maybe_async_mode as maybe_async};
use crate::bulk::{self, Bulk, BulkMode};
use crate::codec::{AutoKey, Key};
use crate::error::{Error, Result};
use crate::exec::{Pending, Pipeline};
use crate::failure::Access;
use crate::model::Model;
use crate::plan::{self, Ctx, WriteMode};
use crate::query::Query;

/// Loads document `id`; `refresh`: push its TTL back when the model's policy says so.
#[maybe_async]
pub(crate) async fn try_get<M: Model>(id: &str, refresh: bool) -> Result<Option<M>> {
    let ctx = Ctx::of::<M>()?;
    let doc = ctx.doc(id)?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let docs = std::slice::from_ref(&doc);
    let replies = load_replies(&ctx, &mut backend, docs, &[id], refresh).await?;
    plan::decode_load(&ctx, id, doc, replies)
}

#[maybe_async]
pub(crate) async fn get<M: Model>(id: &str, refresh: bool) -> Result<M> {
    match try_get::<M>(id, refresh).await? {
        Some(m) => Ok(m),
        None => Err(not_found::<M>(id)),
    }
}

pub(crate) fn not_found<M: Model>(id: &str) -> Error {
    let root = Ctx::of::<M>()
        .map(|ctx| ctx.keys.doc(ctx.schema, id).root)
        .unwrap_or_default();
    Error::NotFound {
        model: M::schema().name,
        id: id.to_owned(),
        key: root,
    }
}

#[maybe_async]
pub(crate) async fn exists<M: Model>(id: &str) -> Result<bool> {
    let ctx = Ctx::of::<M>()?;
    let doc = ctx.doc(id)?;
    let reply = Backend::connect(&ctx.env)
        .await?
        .query_cmd(&plan::exists(&doc))
        .await?;
    Ok(plan::int_reply("EXISTS", reply)? == 1)
}

#[maybe_async]
pub(crate) async fn write<M: Model>(model: &M, id: &str, mode: WriteMode<'_>) -> Result<()> {
    let ctx = Ctx::of::<M>()?;
    let call = plan::write(&ctx, model, id, mode)?;
    let reply = Backend::connect(&ctx.env).await?.invoke(&call).await?;
    plan::written(&ctx, id, reply)?;
    // `#[rapyer(inherit_ttl)]` references get the model's TTL (one more round trip)
    for (part, events) in crate::relation::ttl::inherited(&ctx, model, id)? {
        let reply = Backend::connect(&part.env)
            .await?
            .invoke(&part.call)
            .await?;
        if let Some((_, _, set)) = crate::relation::cascade::outcome(reply)? {
            let set: Vec<_> = events
                .into_iter()
                .zip(set)
                .filter(|(_, s)| *s)
                .map(|(e, _)| e)
                .collect();
            crate::events::ttl_changed(&set);
        }
    }
    Ok(())
}

#[maybe_async]
pub(crate) async fn delete_id<M: Model>(id: &str) -> Result<bool> {
    let ctx = Ctx::of::<M>()?;
    let doc = ctx.doc(id)?;
    let mut backend = Backend::connect(&ctx.env).await?;
    // maybe-async does not rewrite `.await` inside macro calls such as vec![]
    let reply = backend.invoke(&plan::delete_call(&ctx, &doc, id)).await?;
    plan::deleted(vec![reply])
}

#[maybe_async]
pub(crate) async fn reload<M: Model>(model: &mut M) -> Result<()> {
    *model = get::<M>(&model.id(), true).await?;
    Ok(())
}

#[maybe_async]
pub(crate) async fn duplicate<M: Model + Clone>(model: &M) -> Result<M>
where
    M::Key: AutoKey,
{
    duplicate_as(model, M::Key::generate()).await
}

#[maybe_async]
pub(crate) async fn duplicate_as<M: Model + Clone>(model: &M, key: M::Key) -> Result<M> {
    let mut copy = model.clone();
    let id = key.to_key();
    copy.__set_key(key);
    write(&copy, &id, WriteMode::Insert).await?;
    Ok(copy)
}

/// Every id, from the shards' id indexes (one pipelined round trip; never `KEYS`/`SCAN`).
#[maybe_async]
pub(crate) async fn ids<M: Model>() -> Result<Vec<M::Key>> {
    let ctx = Ctx::of::<M>()?;
    let replies = Backend::connect(&ctx.env)
        .await?
        .invoke_batch(&plan::live(&ctx, "ids"))
        .await?;
    plan::decode_ids(&ctx, replies)
}

#[maybe_async]
pub(crate) async fn count<M: Model>() -> Result<u64> {
    let ctx = Ctx::of::<M>()?;
    let replies = Backend::connect(&ctx.env)
        .await?
        .invoke_batch(&plan::live(&ctx, "count"))
        .await?;
    plan::decode_count(replies)
}

/// Sets (`Some`) or removes (`None`) the TTL of every key of document `id`; `false`
/// when it does not exist (nothing is created).
#[maybe_async]
pub(crate) async fn set_ttl<M: Model>(id: &str, ttl: Option<std::time::Duration>) -> Result<bool> {
    let ctx = Ctx::of::<M>()?;
    let call = plan::set_ttl(&ctx, id, ttl)?;
    let reply = Backend::connect(&ctx.env).await?.invoke(&call).await?;
    let existed = plan::int_reply("ttl script", reply)? == 1;
    if existed {
        crate::events::ttl_changed(&[crate::events::TtlEvent {
            env: ctx.env.name().to_owned(),
            model: ctx.schema.name,
            id: id.to_owned(),
            ttl,
            cause: crate::events::TtlCause::Direct,
        }]);
    }
    Ok(existed)
}

/// The TTL of document `id` (`None`: it never expires).
#[maybe_async]
pub(crate) async fn ttl<M: Model>(id: &str) -> Result<Option<std::time::Duration>> {
    let ctx = Ctx::of::<M>()?;
    let doc = ctx.doc(id)?;
    let reply = Backend::connect(&ctx.env)
        .await?
        .query_cmd(&plan::pttl(&doc))
        .await?;
    plan::decode_pttl(&ctx, id, reply)
}

/// Runs one atomic operation: one `exec.lua` call.
#[maybe_async]
pub(crate) async fn run<R>(mut pending: Pending<'_, R>) -> Result<R> {
    let plan = pending.prepare()?;
    let reply = Backend::connect(&plan.env).await?.invoke(&plan.call).await;
    pending.complete(&plan, reply)
}

/// Runs a pipeline: one `exec.lua` call for all of its ops (none when it is empty).
#[maybe_async]
pub(crate) async fn run_pipeline(pipeline: Pipeline<'_>) -> Result<()> {
    for mut part in pipeline.into_parts()? {
        let Some(plan) = part.prepare()? else {
            continue;
        };
        let reply = Backend::connect(&plan.env).await?.invoke(&plan.call).await;
        part.complete(&plan, reply)?;
    }
    Ok(())
}

/// Takes lock `action` on document `id` and loads it (one round trip per attempt),
/// retrying with backoff until `opts.timeout`. A missing document is `NotFound` (the lock
/// is not kept).
#[maybe_async]
pub(crate) async fn lock_and_load<M: Model>(
    id: &str,
    action: &str,
    opts: &crate::LockOptions,
) -> Result<(plan::HeldLock, M)> {
    let ctx = Ctx::of::<M>()?;
    let start = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let (held, call) = plan::lock_load(&ctx, id, action, opts.lease)?;
        // a connection per attempt: a waiter must not hold a pooled connection while it
        // sleeps, or waiters could starve the holder
        let attempt_reply = Backend::connect(&ctx.env).await?.invoke(&call).await;
        let outcome = match attempt_reply {
            Ok(reply) => plan::lock_attempt(reply),
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                // the lock may have been taken (a lost reply): release it if it is ours
                // (compare-and-delete by token), so no one waits out the lease
                let _ = release(&held).await;
                return Err(e);
            }
        };
        match outcome {
            plan::LockAttempt::Loaded(replies) => {
                let doc = ctx.doc(id)?;
                return match plan::decode_load::<M>(&ctx, id, doc, replies) {
                    Ok(Some(model)) => Ok((held, model)),
                    Ok(None) => Err(not_found::<M>(id)),
                    Err(e) => {
                        // undecodable data: do not keep the lock
                        release(&held).await?;
                        Err(e)
                    }
                };
            }
            plan::LockAttempt::Missing => return Err(not_found::<M>(id)),
            plan::LockAttempt::Busy => {}
        }
        let waited = start.elapsed();
        if waited >= opts.timeout {
            return Err(Error::LockTimeout {
                model: ctx.schema.name,
                id: id.to_owned(),
                action: action.to_owned(),
                waited,
            });
        }
        let pause = crate::lock::backoff(attempt).min(opts.timeout - waited);
        Backend::sleep(pause).await;
        attempt += 1;
    }
}

/// Releases `held` if this holder still has it; `false` when the lease had run out.
#[maybe_async]
pub(crate) async fn release(held: &plan::HeldLock) -> Result<bool> {
    let reply = Backend::connect(&held.env)
        .await?
        .invoke(&plan::unlock(held))
        .await?;
    Ok(plan::int_reply("unlock", reply)? == 1)
}

/// Ids of a query's page, from the shards' indexes (one round trip: a pipeline of one
/// script call per shard). When the index alone is not exact (integer operands beyond
/// ±2^53), the candidates' documents decide (one more round trip).
#[maybe_async]
pub(crate) async fn query_ids<M: Model>(q: &Query<M>) -> Result<Vec<String>> {
    if !q.index_exact() {
        let docs = query_all(q).await?;
        return Ok(docs.iter().map(Model::id).collect());
    }
    let ctx = Ctx::of::<M>()?;
    let plan = q.plan(&ctx, false)?;
    let replies = Backend::connect(&ctx.env)
        .await?
        .invoke_batch(&plan.calls)
        .await
        .map_err(|e| crate::query::stale(&ctx, e))?;
    plan.page(replies)
}

/// Number of matching documents (one round trip when the index is exact).
#[maybe_async]
pub(crate) async fn query_count<M: Model>(q: &Query<M>) -> Result<u64> {
    if !q.index_exact() {
        return Ok(query_all(&q.uncut()).await?.len() as u64);
    }
    let ctx = Ctx::of::<M>()?;
    let plan = q.plan(&ctx, true)?;
    let replies = Backend::connect(&ctx.env)
        .await?
        .invoke_batch(&plan.calls)
        .await
        .map_err(|e| crate::query::stale(&ctx, e))?;
    plan::decode_count(replies)
}

/// The matching documents of the page, in order: ids from the indexes, then every
/// document in one snapshot, each re-checked against the expression.
#[maybe_async]
pub(crate) async fn query_all<M: Model>(q: &Query<M>) -> Result<Vec<M>> {
    let ctx = Ctx::of::<M>()?;
    // with a re-check that can drop candidates, cut the page after it
    let exact = q.index_exact();
    let fetch = if exact { q.clone() } else { q.uncut() };
    let plan = fetch.plan(&ctx, false)?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let replies = backend
        .invoke_batch(&plan.calls)
        .await
        .map_err(|e| crate::query::stale(&ctx, e))?;
    let ids = plan.page(replies)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = load_docs(&ctx, &mut backend, &ids, Some(q), !q.peek).await?;
    let mut out: Vec<M> = out.into_iter().flatten().collect();
    if !exact {
        out = out
            .into_iter()
            .skip(q.offset)
            .take(q.limit.unwrap_or(usize::MAX))
            .collect();
    }
    Ok(out)
}

/// Loads documents `ids` in one snapshot (one round trip), in order; `None` for a missing
/// document, or one that fails the re-check of `recheck`.
#[maybe_async]
pub(crate) async fn load_docs<M: Model>(
    ctx: &Ctx,
    backend: &mut Backend,
    ids: &[String],
    recheck: Option<&Query<M>>,
    refresh: bool,
) -> Result<Vec<Option<M>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let docs = ids
        .iter()
        .map(|id| plan::read_keys(ctx, id))
        .collect::<Result<Vec<_>>>()?;
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let per_doc = plan::load_len(ctx);
    let groups = if ctx.env.is_cluster() {
        crate::keys::group_by_slot(docs.iter().map(|d| d.root.as_str()))
    } else {
        vec![(0..docs.len()).collect()]
    };
    let replies = if groups.len() == 1 {
        load_replies(ctx, backend, &docs, &id_refs, refresh).await?
    } else {
        // a cluster: one snapshot script per slot (each atomic on its own), the slots
        // concurrently (one batch), replies put back in the order of `ids`
        let mut calls = Vec::with_capacity(groups.len());
        for group in &groups {
            let sub: Vec<_> = group.iter().map(|&i| docs[i].clone()).collect();
            let sub_ids: Vec<&str> = group.iter().map(|&i| id_refs[i]).collect();
            match plan::load_many_plan(ctx, &sub, &sub_ids, refresh) {
                plan::Load::Refresh(call) => calls.push(call),
                plan::Load::Snapshot(_) => unreachable_snapshot()?,
            }
        }
        let mut by_doc: Vec<Vec<redis::Value>> = vec![Vec::new(); docs.len()];
        for (group, reply) in groups.into_iter().zip(backend.invoke_batch(&calls).await?) {
            let mut got = plan::refresh_replies(reply)?.into_iter();
            for i in group {
                by_doc[i] = got.by_ref().take(per_doc).collect();
            }
        }
        by_doc.into_iter().flatten().collect()
    };
    let mut replies = replies.into_iter();
    let mut out = Vec::with_capacity(ids.len());
    for (id, doc) in ids.iter().zip(docs) {
        let mine: Vec<_> = replies.by_ref().take(per_doc).collect();
        let rejected = recheck.is_some_and(|q| {
            !q.matches(&plan::raw_root(&mine), &plan::raw_collections(ctx, &mine))
        });
        if rejected {
            // expired since, or the index was approximate: the document decides
            out.push(None);
            continue;
        }
        out.push(plan::decode_load::<M>(ctx, id, doc, mine)?);
    }
    Ok(out)
}

/// Clusters load with the script (`plan::load_many_plan`): a `MULTI` plan here is a bug.
fn unreachable_snapshot() -> Result<()> {
    Err(Error::InvalidInput(
        "internal: a cluster load planned as MULTI".into(),
    ))
}

/// The replies of one snapshot load of `docs` (one slot on a cluster).
#[maybe_async]
async fn load_replies(
    ctx: &Ctx,
    backend: &mut Backend,
    docs: &[crate::keys::DocKeys],
    ids: &[&str],
    refresh: bool,
) -> Result<Vec<redis::Value>> {
    Ok(match plan::load_many_plan(ctx, docs, ids, refresh) {
        plan::Load::Snapshot(pipe) => match backend.query_pipe(Access::Read, &pipe).await {
            // over `maxmemory` the server refuses each read queued in a `MULTI`: the
            // snapshot goes as the load script (which reads there), refreshing nothing
            Err(Error::Redis(e)) if plan::over_maxmemory(&e) => {
                let call = plan::load_call(ctx, docs, ids, "0".to_owned());
                plan::refresh_replies(backend.invoke(&call).await?)?
            }
            other => other?,
        },
        plan::Load::Refresh(call) => plan::refresh_replies(backend.invoke(&call).await?)?,
    })
}

/// Documents `ids` in order, one round trip (one snapshot) per chunk; missing ids are
/// left out (`bulk.skip_missing`) or reported together as [`Error::Missing`].
#[maybe_async]
pub(crate) async fn bulk_get<M: Model>(ids: &[String], bulk: &mut Bulk<'_, M>) -> Result<Vec<M>> {
    let ctx = Ctx::of::<M>()?;
    let chunk = bulk.chunk()?;
    for id in ids {
        ctx.doc_id(id)?;
    }
    let mut backend = Backend::connect(&ctx.env).await?;
    let mut out = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    let mut done = 0;
    for part in ids.chunks(chunk) {
        let found = load_docs::<M>(&ctx, &mut backend, part, None, !bulk.peek).await?;
        for (id, m) in part.iter().zip(found) {
            match m {
                Some(m) => out.push(m),
                None => missing.push(id.clone()),
            }
        }
        done += part.len();
        bulk.report(done, ids.len());
    }
    if !missing.is_empty() && !bulk.skip_missing {
        return Err(Error::Missing {
            model: ctx.schema.name,
            ids: missing,
        });
    }
    Ok(out)
}

/// Writes `models` chunk by chunk (one script call each, atomic per chunk): `insert`
/// refuses a chunk holding an existing id and goes on with the next; any other error
/// stops the call. Returns how many were written, else [`Error::Bulk`].
#[maybe_async]
pub(crate) async fn bulk_write<M: Model>(
    models: &[M],
    mode: BulkMode,
    bulk: &mut Bulk<'_, M>,
) -> Result<u64> {
    let ctx = Ctx::of::<M>()?;
    let chunks = plan::write_chunks(&ctx, models, mode, bulk.chunk()?)?;
    run_chunks(&ctx, chunks, bulk).await
}

/// Deletes documents `ids` chunk by chunk (one script call each, atomic per chunk);
/// returns how many existed, else [`Error::Bulk`].
#[maybe_async]
pub(crate) async fn bulk_delete<M: Model>(ids: &[String], bulk: &mut Bulk<'_, M>) -> Result<u64> {
    let ctx = Ctx::of::<M>()?;
    let chunks = bulk::delete_chunks(&ctx, ids, bulk.chunk()?)?;
    run_chunks(&ctx, chunks, bulk).await
}

#[maybe_async]
async fn run_chunks<M: Model>(
    ctx: &Ctx,
    chunks: Vec<bulk::Chunk>,
    bulk: &mut Bulk<'_, M>,
) -> Result<u64> {
    let total: usize = chunks.iter().map(|c| c.ids.len()).sum();
    let mut tally = bulk::Tally::new(ctx);
    let mut backend = match Backend::connect(&ctx.env).await {
        Ok(b) => b,
        Err(e) => return tally.finish(Some(e), chunks.into_iter().flat_map(|c| c.ids)),
    };
    let mut done = 0;
    let mut chunks = chunks.into_iter();
    while let Some(chunk) = chunks.next() {
        let reply = backend.invoke(&chunk.call).await;
        done += chunk.ids.len();
        if let Err(e) = tally.chunk(chunk.ids, reply) {
            return tally.finish(Some(e), chunks.flat_map(|c| c.ids));
        }
        bulk.report(done, total);
    }
    tally.finish(None, std::iter::empty())
}

/// Moves the documents written with `from_shards` shards to the shards they have now
/// (`#[rapyer(shards = S)]` changed), old shard by old shard, `batch` documents at a time:
/// each batch is loaded from its old keys, saved under the new ones, then deleted from
/// the old ones (index entries and id index entries move with them). Re-running after an
/// interruption continues: moved documents are no longer in the old shards, and one
/// saved but not yet deleted is saved again (same content) and then deleted. Documents
/// are copied with the model's full TTL. Run it while nothing else writes the model.
#[maybe_async]
pub(crate) async fn reshard<M: Model>(
    from_shards: u32,
    batch: usize,
    progress: &mut (dyn FnMut(&crate::ReshardProgress) + Send),
) -> Result<crate::ReshardProgress> {
    let ctx = Ctx::of::<M>()?;
    let old = crate::reshard::old_ctx(&ctx, from_shards)?;
    let batch = batch.max(1);
    let mut backend = Backend::connect(&ctx.env).await?;
    let mut report = crate::ReshardProgress {
        shard: 0,
        from_shards,
        to_shards: ctx.keys.shards(),
        moved: 0,
        kept: 0,
    };
    // every old shard's ids first: documents moved into a shard that exists in both
    // layouts are not read again as that shard's own
    let mut stored = Vec::with_capacity(from_shards as usize);
    for shard in 0..from_shards {
        let mut read = redis::pipe();
        read.cmd("ZRANGE").arg(old.keys.ids(shard)).arg(0).arg(-1);
        let ids: Vec<String> = match backend.query_pipe(Access::Read, &read).await?.pop() {
            Some(v) => redis::from_redis_value(v).map_err(|e| Error::UnexpectedReply {
                context: format!("ids of `{}`", old.keys.ids(shard)),
                reply: e.to_string(),
            })?,
            None => Vec::new(),
        };
        stored.push(ids);
    }
    for (shard, ids) in (0..from_shards).zip(stored) {
        report.shard = shard;
        let (moving, kept) = crate::reshard::movers(&ctx, shard, ids);
        report.kept += kept;
        for ids in moving.chunks(batch) {
            let docs: Vec<M> = load_docs::<M>(&old, &mut backend, ids, None, false)
                .await?
                .into_iter()
                .flatten()
                .collect();
            let mut bulk: Bulk<'_, M> = Bulk::new();
            let chunks = plan::write_chunks(&ctx, &docs, BulkMode::Save, batch)?;
            run_chunks(&ctx, chunks, &mut bulk).await?;
            let chunks = bulk::delete_chunks(&old, ids, batch)?;
            run_chunks(&old, chunks, &mut bulk).await?;
            report.moved += docs.len() as u64;
            progress(&report);
        }
    }
    // the shards that no longer exist keep no index manifest
    for shard in report.to_shards..from_shards {
        let mut del = redis::pipe();
        del.cmd("DEL").arg(old.keys.manifest(shard));
        backend.query_pipe(Access::Write, &del).await?;
    }
    Ok(report)
}

/// A cluster environment's planned round trips per node (`host:port` of each master),
/// from its per-slot counts and the cluster's current slot map (`CLUSTER SLOTS`, one
/// round trip, not counted per slot). Empty for one server.
#[maybe_async]
pub(crate) async fn node_round_trips(
    env: &crate::Environment,
) -> Result<std::collections::BTreeMap<String, u64>> {
    if !env.is_cluster() {
        return Ok(Default::default());
    }
    let slots = env.slot_round_trips();
    let reply = Backend::connect(env).await?.cluster_slots().await?;
    crate::env::per_node(&slots, reply)
}

/// Inserts `n` copies of `model` under fresh auto ids (bulk insert) and returns them.
#[maybe_async]
pub(crate) async fn duplicate_many<M: Model + Clone>(
    model: &M,
    n: usize,
    bulk: &mut Bulk<'_, M>,
) -> Result<Vec<M>>
where
    M::Key: AutoKey,
{
    let copies = copies(model, n);
    bulk_write(&copies, BulkMode::Insert, bulk).await?;
    Ok(copies)
}

/// One batch of a query's documents (`ids`), re-checked: one round trip.
#[maybe_async]
pub(crate) async fn query_batch<M: Model>(q: &Query<M>, ids: &[String]) -> Result<Vec<M>> {
    let ctx = Ctx::of::<M>()?;
    let mut backend = Backend::connect(&ctx.env).await?;
    Ok(load_docs(&ctx, &mut backend, ids, Some(q), !q.peek)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Deletes every matching document (ids, then one pipeline of deletes); returns how many
/// existed.
#[maybe_async]
pub(crate) async fn query_delete<M: Model>(q: &Query<M>) -> Result<u64> {
    let ids = query_ids(q).await?;
    let ctx = Ctx::of::<M>()?;
    let mut deleted = 0;
    let mut backend = Backend::connect(&ctx.env).await?;
    for chunk in ids.chunks(500) {
        let calls: Vec<_> = chunk
            .iter()
            .map(|id| plan::delete_call(&ctx, &ctx.keys.doc(ctx.schema, id), id))
            .collect();
        for reply in backend.invoke_batch(&calls).await? {
            deleted += u64::from(plan::int_reply("delete", reply)? > 0);
        }
    }
    Ok(deleted)
}

/// Rebuilds the model's indexes shard by shard from `from`, in batches of `batch`
/// documents (one round trip each), reporting progress after each batch. Writes that
/// happen meanwhile keep their own entries right; running it again is harmless.
#[maybe_async]
pub(crate) async fn reindex<M: Model>(
    from: crate::query::ReindexCursor,
    batch: usize,
    progress: &mut (dyn FnMut(&crate::query::ReindexProgress) + Send),
) -> Result<crate::query::ReindexProgress> {
    use crate::query::{ReindexCursor, ReindexProgress, old_index_keys, reindex_call};
    let ctx = Ctx::of::<M>()?;
    let shards = ctx.keys.shards();
    let mut backend = Backend::connect(&ctx.env).await?;
    let mut last = ReindexProgress {
        shard: from.shard,
        shards,
        done: 0,
        total: 0,
        cursor: from.clone(),
    };
    for shard in from.shard..shards {
        let mut read = redis::pipe();
        read.cmd("ZRANGE").arg(ctx.keys.ids(shard)).arg(0).arg(-1);
        read.cmd("HGET")
            .arg(ctx.keys.manifest(shard))
            .arg("indexes");
        let mut replies = backend.query_pipe(Access::Read, &read).await?.into_iter();
        let mut ids: Vec<String> = match replies.next() {
            Some(redis::Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    redis::Value::BulkString(b) => String::from_utf8(b).ok(),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        ids.sort_unstable();
        let stored = match replies.next() {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        let resume = if shard == from.shard {
            from.after.clone()
        } else {
            None
        };
        let total = ids.len();
        let mut done = 0;
        match &resume {
            None => {
                let clear = reindex_call(
                    &ctx,
                    shard,
                    "clear",
                    old_index_keys(&ctx, shard, &stored),
                    &[],
                );
                backend.invoke(&clear).await?;
            }
            Some(after) => {
                done = ids.iter().take_while(|id| *id <= after).count();
                ids.drain(..done);
            }
        }
        let chunks = ids.len().div_ceil(batch.max(1));
        for (i, chunk) in ids.chunks(batch.max(1)).enumerate() {
            // per document: root, id index, collections (the layout the specs assume)
            let roots = chunk
                .iter()
                .flat_map(|id| {
                    let doc = ctx.keys.doc(ctx.schema, id);
                    let mut keys = vec![doc.root, doc.ids];
                    keys.extend(doc.collections.into_iter().map(|(_, k)| k));
                    keys
                })
                .collect();
            backend
                .invoke(&reindex_call(&ctx, shard, "batch", roots, chunk))
                .await?;
            done += chunk.len();
            last = ReindexProgress {
                shard,
                shards,
                done,
                total,
                cursor: ReindexCursor {
                    shard,
                    after: chunk.last().cloned(),
                },
            };
            // the shard's last batch is reported once, with the finished shard's cursor
            if i + 1 < chunks {
                progress(&last);
            }
        }
        backend
            .invoke(&reindex_call(&ctx, shard, "finish", Vec::new(), &[]))
            .await?;
        last = ReindexProgress {
            shard,
            shards,
            done,
            total,
            cursor: ReindexCursor {
                shard: shard + 1,
                after: None,
            },
        };
        progress(&last);
    }
    Ok(last)
}

/// The ids matching the text query `text` on the model named `model` (by name, through
/// the model registry): one round trip, as a typed query's `ids`.
#[maybe_async]
pub(crate) async fn search_ids_by_name(model: &str, text: &str) -> Result<Vec<String>> {
    let schema = match crate::registry::schemas_named(model).as_slice() {
        [] => {
            return Err(Error::InvalidInput(format!(
                "no model named `{model}` in this program (models: {:?})",
                crate::registry::model_names()
            )));
        }
        [one] => *one,
        // versions of one model under its name: they must index alike
        [first, rest @ ..] => {
            if rest
                .iter()
                .any(|s| s.index_fingerprint() != first.index_fingerprint())
            {
                return Err(Error::InvalidInput(format!(
                    "several models are named `{model}` with different indexes; search through the type (Model::search)"
                )));
            }
            *first
        }
    };
    let q: Query<()> = Query::new(crate::text::parse(schema, text)?);
    if !q.index_exact() {
        return Err(Error::InvalidInput(format!(
            "{model}: an integer beyond ±2^53 needs the model's documents to decide; use {model}::search"
        )));
    }
    let ctx = Ctx::for_schema(schema)?;
    let plan = q.plan(&ctx, false)?;
    let replies = Backend::connect(&ctx.env)
        .await?
        .invoke_batch(&plan.calls)
        .await
        .map_err(|e| crate::query::stale(&ctx, e))?;
    plan.page(replies)
}

/// Fresh copies of `model` under new auto ids, for `duplicate`.
fn copies<M: Model + Clone>(model: &M, n: usize) -> Vec<M>
where
    M::Key: crate::codec::AutoKey,
{
    (0..n)
        .map(|_| {
            let mut copy = model.clone();
            copy.__set_key(<M::Key as crate::codec::AutoKey>::generate());
            copy
        })
        .collect()
}
