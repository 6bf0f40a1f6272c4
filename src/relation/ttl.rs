//! TTL cascades, sans-IO: the documents a document reaches along the chosen relation
//! paths ([`Reach`]), each given its path's TTL by one script per server (per slot on a
//! cluster).

use std::marker::PhantomData;
use std::time::Duration;

use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::relation::cascade::{Apply, Part, part_of};
use crate::relation::reach::Reach;

/// A TTL set on a document and, as the options say, on the documents it refers to; from
/// [`Model::extend_ttl`](crate::Model::extend_ttl). Run it with `sync_run()` (blocking)
/// or `run()` (async).
///
/// - Alone (no option): the document's TTL, one round trip (as `set_ttl`).
/// - `cascade_all()`: every document reached through references gets the same TTL;
///   `cascade(["author", "reviews"])`: those relation paths (dotted for deeper, a path's
///   prefixes too); `cascade_ttl([("author", d1), ("reviews", d2)])`: those paths with
///   their own TTLs (a path without one gets the document's).
/// - Round trips: one per level read (the documents are read to find their references),
///   then one script per server (per slot on a cluster, atomic per slot there).
/// - Every document whose TTL was set is reported to the TTL listeners
///   ([`crate::on_ttl_extended`]) after the operation, the one asked for as
///   [`crate::TtlCause::Direct`], the others as [`crate::TtlCause::Cascade`].
#[must_use = "a TtlCascade does nothing until it is run (`sync_run()` / `run()`)"]
pub struct TtlCascade<M> {
    pub(crate) id: String,
    pub(crate) ttl: Duration,
    pub(crate) paths: Option<Vec<String>>,
    pub(crate) per: Vec<(String, Duration)>,
    _m: PhantomData<fn() -> M>,
}

impl<M> TtlCascade<M> {
    pub(crate) fn new(id: String, ttl: Duration) -> Self {
        Self {
            id,
            ttl,
            paths: Some(Vec::new()),
            per: Vec::new(),
            _m: PhantomData,
        }
    }

    /// The same TTL for every document reached through references.
    pub fn cascade_all(mut self) -> Self {
        self.paths = None;
        self
    }

    /// The same TTL for the documents at these relation paths.
    pub fn cascade<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Some(list) = &mut self.paths {
            list.extend(paths.into_iter().map(Into::into));
        }
        self
    }

    /// The documents at these relation paths, each path with its own TTL.
    pub fn cascade_ttl<I, S>(mut self, per_path: I) -> Self
    where
        I: IntoIterator<Item = (S, Duration)>,
        S: Into<String>,
    {
        for (p, d) in per_path {
            let p = p.into();
            if let Some(list) = &mut self.paths {
                list.push(p.clone());
            }
            self.per.push((p, d));
        }
        self
    }

    pub(crate) fn alone(&self) -> bool {
        self.paths.as_ref().is_some_and(Vec::is_empty)
    }
}

/// What a [`TtlCascade`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TtlReport {
    /// Every document whose TTL was set: model, id, TTL, relation path (`""` for the
    /// document asked for).
    pub extended: Vec<(&'static str, String, Duration, String)>,
    /// Documents referred to that do not exist (nothing set for them): model, id.
    pub missing: Vec<(&'static str, String)>,
}

/// Milliseconds of a TTL, at least 1.
pub(crate) fn millis(d: Duration) -> Result<u64> {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return Err(Error::InvalidInput(
            "a TTL must be at least 1 ms (use persist to remove it)".into(),
        ));
    }
    Ok(ms)
}

/// Per document of a TTL script, in its order: its relation path and TTL.
pub(crate) type PathTtls = Vec<(String, Duration)>;

/// The TTL scripts for what `reach` read, and per script the relation path of each
/// document (in the script's order).
pub(crate) fn ttl_calls<M>(
    cascade: &TtlCascade<M>,
    reach: &Reach,
    report: &mut TtlReport,
) -> Result<Vec<(Apply, PathTtls)>> {
    millis(cascade.ttl)?;
    for (_, d) in &cascade.per {
        millis(*d)?;
    }
    let mut parts: Vec<Part> = Vec::new();
    // beside each part: the relation path and TTL of each of its documents
    let mut chains: Vec<Vec<(String, Duration)>> = Vec::new();
    for e in &reach.entries {
        let schema = (e.target.schema)();
        if e.node.is_none() {
            report.missing.push((schema.name, e.id.clone()));
            continue;
        }
        let ttl = cascade
            .per
            .iter()
            .rev()
            .find(|(p, _)| *p == e.chain)
            .map_or(cascade.ttl, |(_, d)| *d);
        let ctx = reach.ctx_of(schema);
        let doc = ctx.doc(&e.id)?;
        let i = part_of(&mut parts, ctx, &doc.root);
        if i == chains.len() {
            chains.push(Vec::new());
        }
        parts[i].ttl(schema, &e.id, &doc, millis(ttl)?);
        chains[i].push((e.chain.clone(), ttl));
    }
    Ok(parts.into_iter().map(Part::finish).zip(chains).collect())
}

/// After a save of `model` (its id `id`): the TTL scripts giving the documents its
/// `#[rapyer(inherit_ttl)]` fields refer to its model's TTL, and the TTL events to report
/// once they ran (none without such fields or without a TTL).
pub(crate) fn inherited<M: crate::Model>(
    ctx: &Ctx,
    model: &M,
    id: &str,
) -> Result<Vec<(Apply, Vec<crate::events::TtlEvent>)>> {
    let Some(ms) = ctx.schema.ttl_ms else {
        return Ok(Vec::new());
    };
    let fields: Vec<&crate::schema::FieldSchema> = ctx
        .schema
        .fields
        .iter()
        .filter(|f| f.relation.is_some_and(|r| r.inherits_ttl()))
        .collect();
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let enc = crate::plan::encode(ctx, model)?;
    let colls: Vec<&str> = ctx.schema.collections().map(|c| c.path.as_str()).collect();
    let mut parts: Vec<Part> = Vec::new();
    let mut events: Vec<Vec<crate::events::TtlEvent>> = Vec::new();
    let mut ctxs: Vec<Ctx> = Vec::new();
    for f in fields {
        let target = f.relation.expect("a relation").target();
        let ids: Vec<Vec<u8>> = match colls.iter().position(|c| *c == f.path) {
            Some(i) => enc.collections.get(i).cloned().unwrap_or_default(),
            None => enc
                .root
                .iter()
                .filter(|(p, _)| *p == f.path)
                .map(|(_, v)| v.clone())
                .collect(),
        };
        if !ctxs.iter().any(|c| std::ptr::eq(c.schema, target)) {
            ctxs.push(Ctx::for_schema(target)?);
        }
        let tctx = ctxs
            .iter()
            .find(|c| std::ptr::eq(c.schema, target))
            .expect("just added");
        for raw in ids {
            let target_id = String::from_utf8_lossy(&raw).into_owned();
            let doc = tctx.doc(&target_id)?;
            let i = part_of(&mut parts, tctx, &doc.root);
            if i == events.len() {
                events.push(Vec::new());
            }
            parts[i].ttl(target, &target_id, &doc, ms);
            events[i].push(crate::events::TtlEvent {
                env: tctx.env.name().to_owned(),
                model: target.name,
                id: target_id,
                ttl: Some(Duration::from_millis(ms)),
                cause: crate::events::TtlCause::Cascade {
                    model: ctx.schema.name,
                    id: id.to_owned(),
                    path: f.path.clone(),
                },
            });
        }
    }
    Ok(parts.into_iter().map(Part::finish).zip(events).collect())
}
