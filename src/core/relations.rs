//! Graph loads (`Model::load(..).depth(..)`) and fetching one reference, written once
//! in async style and compiled into both APIs (like `ops.rs`): the documents (one round
//! trip), then one batch of load calls per level of references and environment.

use super::{Backend, maybe_async_mode as maybe_async, ops};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::graph::GraphLoad;
use crate::model::Model;
use crate::relation::ForeignKey;
use crate::relation::audit::{
    self, OrphanCleanup, OrphanProgress, OrphanReport, RelationAudit, RelationReport,
};
use crate::relation::cascade::{self, CascadeDelete, CascadeReport, Planner};
use crate::relation::copy::{Copied, Copier, GraphCopy};
use crate::relation::reach::Reach;
use crate::relation::ttl::{TtlCascade, TtlReport};
use crate::relation::update::UpdateCascade;
use crate::relation::walk::GraphOutput;
use crate::relation::walk::Walk;

#[maybe_async]
pub(crate) async fn run<M: Model, Out: GraphOutput<M>>(load: &GraphLoad<M, Out>) -> Result<Out> {
    let mut walk = Walk::new(load, M::schema())?;
    let ctx = Ctx::of::<M>()?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let mut roots = ops::load_docs::<M>(&ctx, &mut backend, &load.ids, None, true).await?;
    walk.start(&mut roots);
    while walk.pending() {
        read_level(&mut walk).await?;
        walk.advance();
    }
    walk.finish(&mut roots)?;
    let found = load.ids.iter().cloned().zip(roots).collect();
    Out::collect(found).map_err(|mut missing| {
        if Out::ONE {
            ops::not_found::<M>(&missing.remove(0))
        } else {
            Error::Missing {
                model: ctx.schema.name,
                ids: missing,
            }
        }
    })
}

#[maybe_async]
pub(crate) async fn fetch<T: Model>(fk: &mut ForeignKey<T>) -> Result<&T> {
    let target = ops::get::<T>(fk.id(), true).await?;
    Ok(fk.hold(target))
}

#[maybe_async]
pub(crate) async fn delete_cascade<M: Model>(del: &CascadeDelete<M>) -> Result<CascadeReport> {
    // fences first, where must_exist writers could keep adding references; taken down
    // whatever the outcome (and they expire)
    let fences = cascade::fences(M::schema(), &del.ids, &del.cascade)?;
    if let Some((env, keys)) = &fences {
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("SET")
                .arg(k)
                .arg(1)
                .arg("PX")
                .arg(cascade::FENCE_MS)
                .ignore();
        }
        Backend::connect(env)
            .await?
            .query_pipe(crate::failure::Access::Write, &pipe)
            .await?;
    }
    let out = delete_attempts(del).await;
    if let Some((env, keys)) = &fences {
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("DEL").arg(k).ignore();
        }
        let cleared = match Backend::connect(env).await {
            Ok(mut b) => b
                .query_pipe(crate::failure::Access::Write, &pipe)
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        if out.is_ok() {
            cleared?;
        }
    }
    out
}

#[maybe_async]
async fn delete_attempts<M: Model>(del: &CascadeDelete<M>) -> Result<CascadeReport> {
    let mut report = CascadeReport::default();
    for attempt in 1..=cascade::ATTEMPTS {
        report.attempts = attempt;
        let mut plan = Planner::new(M::schema(), &del.ids, &del.cascade)?;
        while plan.pending() {
            read_level(&mut plan).await?;
        }
        plan.restrictions()?;
        let mut fresh = true;
        for part in plan.apply()? {
            let mut backend = Backend::connect(&part.env).await?;
            let reply = backend.invoke(&part.call).await?;
            if !cascade::applied(&part, reply, &mut report)? {
                fresh = false;
                break;
            }
        }
        if fresh {
            return Ok(report);
        }
    }
    Err(Error::Conflict {
        model: M::schema().name,
        key: del.ids.join(", "),
        reason: format!(
            "the documents referring to it kept changing: the cascade was planned {} times",
            cascade::ATTEMPTS
        ),
    })
}

#[maybe_async]
pub(crate) async fn audit<M: Model>(a: &RelationAudit<M>) -> Result<RelationReport> {
    let schema = M::schema();
    let fields = audit::fk_fields(schema);
    let mut report = RelationReport::default();
    if fields.is_empty() {
        return Ok(report);
    }
    let ctx = Ctx::of::<M>()?;
    let mut backend = Backend::connect(&ctx.env).await?;
    let replies = backend
        .invoke_batch(&audit::link_calls(&ctx, &fields))
        .await?;
    let links = audit::links(&fields, replies)?;
    // the targets' existence: one pipeline per environment (per slot on a cluster, whose
    // pipelines stay in one slot), whatever the target models
    let mut by_env: Vec<ExistsBatch> = Vec::new();
    for (name, (target, ids)) in audit::targets(&links) {
        let tctx = Ctx::for_schema(target)?;
        for id in ids {
            let root = tctx.keys.doc(target, &id).root;
            let slot = if tctx.env.is_cluster() {
                crate::keys::slot(root.as_bytes())
            } else {
                0
            };
            let at = match by_env
                .iter()
                .position(|(e, s, _, _)| *s == slot && e.name() == tctx.env.name())
            {
                Some(i) => i,
                None => {
                    by_env.push((tctx.env.clone(), slot, redis::pipe(), Vec::new()));
                    by_env.len() - 1
                }
            };
            by_env[at].2.cmd("EXISTS").arg(root);
            by_env[at].3.push((name, id));
        }
    }
    let mut missing: std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> =
        Default::default();
    for (env, _, pipe, asked) in by_env {
        let mut b = Backend::connect(&env).await?;
        let replies = b.query_pipe(crate::failure::Access::Read, &pipe).await?;
        for ((name, id), v) in asked.into_iter().zip(replies) {
            if matches!(v, redis::Value::Int(0)) {
                missing.entry(name).or_default().insert(id);
            }
        }
    }
    report.dangling = audit::dangling(schema.name, &links, &missing);
    if a.cleanup {
        let refs: Vec<_> = report
            .dangling
            .iter()
            .filter_map(|d| {
                let f = fields.iter().find(|f| f.path == d.field)?;
                Some((*f, d.id.clone(), d.target_id.clone()))
            })
            .collect();
        for part in cascade::removal_calls(schema, &refs)? {
            let mut b = Backend::connect(&part.env).await?;
            let reply = b.invoke(&part.call).await?;
            let Some((_, removed, _)) = cascade::outcome(reply)? else {
                continue;
            };
            for ((_, id, field, target), hit) in part.nulled.iter().zip(removed) {
                if let Some(d) = report
                    .dangling
                    .iter()
                    .find(|d| hit && d.id == *id && d.field == *field && d.target_id == *target)
                {
                    report.removed.push(d.clone());
                }
            }
        }
        report.removed.sort();
    }
    Ok(report)
}

#[maybe_async]
pub(crate) async fn copy_graph<M: Model>(copy: &GraphCopy<M>) -> Result<Copied<M>> {
    let mut plan = Copier::new(copy)?;
    read_reach::<M>(&mut plan.reach).await?;
    let (parts, ids) = plan.apply()?;
    for part in parts {
        let mut backend = Backend::connect(&part.env).await?;
        let reply = backend.invoke(&part.call).await?;
        if cascade::outcome(reply)?.is_none() {
            return Err(crate::error::unexpected("graph copy", &redis::Value::Nil));
        }
    }
    Ok(Copied {
        root: plan.root::<M>()?,
        ids,
    })
}

/// Reads the graph `reach` walks, level by level ([`Error::NotFound`] when the document
/// asked for is missing).
#[maybe_async]
async fn read_reach<M: Model>(reach: &mut Reach) -> Result<()> {
    while reach.pending() {
        read_level(reach).await?;
        if reach.root_missing() {
            return Err(ops::not_found::<M>(&reach.entries[0].id));
        }
    }
    Ok(())
}

#[maybe_async]
pub(crate) async fn ttl_cascade<M: Model>(c: &TtlCascade<M>) -> Result<TtlReport> {
    let mut report = TtlReport::default();
    let ctx = Ctx::of::<M>()?;
    let mut events = Vec::new();
    if c.alone() {
        crate::relation::ttl::millis(c.ttl)?;
        let call = crate::plan::set_ttl(&ctx, &c.id, Some(c.ttl))?;
        let reply = Backend::connect(&ctx.env).await?.invoke(&call).await?;
        if crate::plan::int_reply("ttl script", reply)? != 1 {
            return Err(ops::not_found::<M>(&c.id));
        }
        events.push(ttl_event(&ctx.env, ctx.schema.name, &c.id, c.ttl, "", c));
        report
            .extended
            .push((ctx.schema.name, c.id.clone(), c.ttl, String::new()));
    } else {
        let mut reach = Reach::new::<M>(&c.id, c.paths.clone(), Vec::new())?;
        read_reach::<M>(&mut reach).await?;
        for (part, chains) in crate::relation::ttl::ttl_calls(c, &reach, &mut report)? {
            let mut backend = Backend::connect(&part.env).await?;
            let reply = backend.invoke(&part.call).await?;
            let Some((_, _, set)) = cascade::outcome(reply)? else {
                return Err(Error::UnexpectedReply {
                    context: "ttl cascade".into(),
                    reply: "a check failed where none was sent".into(),
                });
            };
            for (((model, id), (chain, ttl)), hit) in part.ttled.iter().zip(chains).zip(set) {
                if hit {
                    events.push(ttl_event(&part.env, model, id, ttl, &chain, c));
                    report.extended.push((model, id.clone(), ttl, chain));
                } else {
                    report.missing.push((model, id.clone()));
                }
            }
        }
    }
    crate::events::ttl_changed(&events);
    Ok(report)
}

fn ttl_event<M: Model>(
    env: &crate::env::Environment,
    model: &'static str,
    id: &str,
    ttl: std::time::Duration,
    chain: &str,
    c: &TtlCascade<M>,
) -> crate::events::TtlEvent {
    use crate::events::TtlCause;
    crate::events::TtlEvent {
        env: env.name().to_owned(),
        model,
        id: id.to_owned(),
        ttl: Some(ttl),
        cause: if chain.is_empty() {
            TtlCause::Direct
        } else {
            TtlCause::Cascade {
                model: M::schema().name,
                id: c.id.clone(),
                path: chain.to_owned(),
            }
        },
    }
}

#[maybe_async]
pub(crate) async fn orphans<M: Model>(o: &OrphanCleanup<M>) -> Result<OrphanReport> {
    let found = audit(&RelationAudit::<M>::new(false)).await?;
    let required = |field: &str| {
        M::schema()
            .fields
            .iter()
            .any(|f| f.path == field && cascade::null_kind(f).is_none())
    };
    let mut report = OrphanReport {
        orphans: found
            .dangling
            .into_iter()
            .filter(|d| required(&d.field))
            .collect(),
        deleted: Vec::new(),
    };
    let mut ids: Vec<String> = report.orphans.iter().map(|d| d.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut progress = OrphanProgress {
        deleted: 0,
        done: 0,
        total: ids.len(),
    };
    for chunk in ids.chunks(o.batch) {
        let del = CascadeDelete::<M>::new(chunk.to_vec(), crate::Cascade::declared());
        let done = delete_cascade(&del).await?;
        progress.deleted += done
            .deleted
            .iter()
            .filter(|(m, _)| *m == M::schema().name)
            .count();
        progress.done += chunk.len();
        report.deleted.extend(done.deleted);
        if let Some(f) = &o.progress {
            f(progress);
        }
    }
    Ok(report)
}

#[maybe_async]
pub(crate) async fn update_cascade<M: Model>(
    u: &UpdateCascade<M>,
) -> Result<Vec<(&'static str, String)>> {
    let mut reach = Reach::new::<M>(&u.id, Some(u.paths()), Vec::new())?;
    read_reach::<M>(&mut reach).await?;
    let (pipe, changed) = u.pipeline(M::schema(), &reach)?;
    ops::run_pipeline(pipe).await?;
    Ok(changed)
}

/// One level of `walk`: its calls in one batch per environment (one, unless a model is
/// pinned elsewhere), each reply handed back.
#[maybe_async]
async fn read_level<L>(walk: &mut L) -> Result<()>
where
    L: crate::relation::Levels + Send,
    L::Call: Send,
{
    let mut groups: Vec<(crate::env::Environment, Vec<L::Call>)> = Vec::new();
    for call in walk.calls()? {
        let env = walk.env_of(&call).clone();
        match groups.iter_mut().find(|(e, _)| e.name() == env.name()) {
            Some((_, calls)) => calls.push(call),
            None => groups.push((env, vec![call])),
        }
    }
    for (env, calls) in groups {
        let mut backend = Backend::connect(&env).await?;
        let invocations: Vec<_> = calls.iter().map(|c| L::invocation(c).clone()).collect();
        let replies = backend.invoke_batch(&invocations).await?;
        for (call, reply) in calls.into_iter().zip(replies) {
            walk.absorb(call, reply)?;
        }
    }
    Ok(())
}

/// The existence checks of one environment (and slot): its pipeline of `EXISTS`, and per
/// command the model and id asked.
type ExistsBatch = (
    crate::env::Environment,
    u16,
    redis::Pipeline,
    Vec<(&'static str, String)>,
);
