//! Checking and repairing a model's references, sans-IO: every live reference it holds,
//! read from its foreign-key indexes (one call per shard, one batch), then whether each
//! target exists (one pipeline of `EXISTS` per environment), then, to repair, the
//! dangling ones removed by the cascade's apply script (per server, or slot).

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use redis::Value;

use crate::context::Ctx;
use crate::error::{Result, unexpected};
use crate::schema::{FieldSchema, ModelSchema};
use crate::scripts::{self, Invocation};

/// A check of every reference a model holds, from
/// [`Model::validate_relations`](crate::Model::validate_relations) (report only) or
/// [`Model::cleanup_relations`](crate::Model::cleanup_relations) (also removes them);
/// run it with `sync_run()` (blocking) or `run()` (async).
///
/// Round trips: one for the references (every shard of the model in one batch), one per
/// environment of the target models for their existence, and for a cleanup one per
/// server (per slot on a cluster). The references are read whole: for millions of them,
/// run it per model at a quiet time.
#[must_use = "a RelationAudit does nothing until it is run (`sync_run()` / `run()`)"]
pub struct RelationAudit<M> {
    pub(crate) cleanup: bool,
    _m: PhantomData<fn() -> M>,
}

impl<M> RelationAudit<M> {
    pub(crate) fn new(cleanup: bool) -> Self {
        Self {
            cleanup,
            _m: PhantomData,
        }
    }
}

/// A delete of a model's orphans, from
/// [`Model::cleanup_orphans`](crate::Model::cleanup_orphans): documents whose required
/// foreign key (`ForeignKey<T>`, not `Option` or a list) refers to a document that does
/// not exist. Found as [`RelationAudit`] finds dangling references, then deleted in
/// batches (`batch(n)`, default 100), each batch one cascading delete with the declared
/// strategies ([`crate::Cascade::declared`]), `on_progress` told after each. Run it with
/// `sync_run()` (blocking) or `run()` (async). A batch refused (a `Restrict` relation)
/// stops the cleanup with that error; the batches before it stay deleted.
#[must_use = "an OrphanCleanup does nothing until it is run (`sync_run()` / `run()`)"]
pub struct OrphanCleanup<M> {
    pub(crate) batch: usize,
    pub(crate) progress: Option<std::sync::Arc<dyn Fn(OrphanProgress) + Send + Sync>>,
    _m: PhantomData<fn() -> M>,
}

impl<M> OrphanCleanup<M> {
    pub(crate) fn new() -> Self {
        Self {
            batch: 100,
            progress: None,
            _m: PhantomData,
        }
    }

    /// How many orphans each cascading delete takes (at least 1).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Called after each batch.
    pub fn on_progress(mut self, f: impl Fn(OrphanProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(std::sync::Arc::new(f));
        self
    }
}

/// How far an [`OrphanCleanup`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrphanProgress {
    /// Orphans deleted so far (that existed).
    pub deleted: usize,
    /// Orphans handled so far (deleted, or gone already).
    pub done: usize,
    /// Orphans found.
    pub total: usize,
}

/// What an [`OrphanCleanup`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrphanReport {
    /// The orphans found: each with the required reference that dangles.
    pub orphans: Vec<DanglingRef>,
    /// Every document deleted, orphans and what their cascades deleted, as
    /// `(model, id)`.
    pub deleted: Vec<(&'static str, String)>,
}

pub use crate::error::DanglingRef;

/// What a [`RelationAudit`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelationReport {
    /// Every dangling reference found, sorted.
    pub dangling: Vec<DanglingRef>,
    /// Those a cleanup removed (an `Option<ForeignKey<_>>` set to `None`, an id taken
    /// out of a list or set). A required `ForeignKey<_>` is never removed: its document
    /// stays in `dangling` only (delete it, or point it elsewhere).
    pub removed: Vec<DanglingRef>,
}

impl RelationReport {
    /// The report when no dangling reference is left (none found, or every one found
    /// removed); else [`crate::Error::DanglingReferences`] listing those left.
    pub fn into_result(self) -> crate::Result<Self> {
        let left: Vec<DanglingRef> = self
            .dangling
            .iter()
            .filter(|d| !self.removed.contains(d))
            .cloned()
            .collect();
        match left.first() {
            None => Ok(self),
            Some(first) => Err(crate::Error::DanglingReferences {
                model: first.model,
                refs: left,
            }),
        }
    }
}

/// The model's foreign-key fields, in schema order.
pub(crate) fn fk_fields(schema: &'static ModelSchema) -> Vec<&'static FieldSchema> {
    schema
        .fields
        .iter()
        .filter(|f| f.relation.is_some())
        .collect()
}

/// One `links` call per shard: its id index, then the foreign-key indexes.
pub(crate) fn link_calls(ctx: &Ctx, fields: &[&'static FieldSchema]) -> Vec<Invocation> {
    (0..ctx.schema.shards.max(1))
        .map(|shard| {
            let mut keys = vec![ctx.keys.ids(shard)];
            keys.extend(fields.iter().map(|f| ctx.keys.index(shard, &f.path)));
            Invocation {
                script: &scripts::LINKS,
                keys,
                args: Vec::new(),
            }
        })
        .collect()
}

/// A reference read: field, referring id, id referred to.
pub(crate) type Link = (&'static FieldSchema, String, String);

/// The references in the `links` replies.
pub(crate) fn links(fields: &[&'static FieldSchema], replies: Vec<Value>) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    for reply in replies {
        let Value::Array(per_field) = reply else {
            return Err(unexpected("links", &reply));
        };
        for (field, flat) in fields.iter().zip(per_field) {
            let Value::Array(items) = flat else {
                return Err(unexpected("links", &flat));
            };
            let mut it = items.into_iter();
            while let (Some(target), Some(id)) = (it.next(), it.next()) {
                let target = text(target)?;
                out.push((*field, text(id)?, target));
            }
        }
    }
    Ok(out)
}

fn text(v: Value) -> Result<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b)
            .map_err(|e| unexpected("links", &Value::BulkString(e.into_bytes()))),
        other => Err(unexpected("links", &other)),
    }
}

/// The distinct ids referred to, by target model.
pub(crate) fn targets(
    links: &[Link],
) -> BTreeMap<&'static str, (&'static ModelSchema, BTreeSet<String>)> {
    let mut out: BTreeMap<&'static str, (&'static ModelSchema, BTreeSet<String>)> = BTreeMap::new();
    for (field, _, target) in links {
        let schema = field.relation.expect("a foreign-key field").target();
        out.entry(schema.name)
            .or_insert_with(|| (schema, BTreeSet::new()))
            .1
            .insert(target.clone());
    }
    out
}

/// The dangling references among `links`, given the ids found missing per target model.
pub(crate) fn dangling(
    model: &'static str,
    links: &[Link],
    missing: &BTreeMap<&'static str, BTreeSet<String>>,
) -> Vec<DanglingRef> {
    let mut out: Vec<DanglingRef> = links
        .iter()
        .filter_map(|(field, id, target_id)| {
            let target = field.relation.expect("a foreign-key field").target().name;
            missing
                .get(target)
                .is_some_and(|m| m.contains(target_id))
                .then(|| DanglingRef {
                    model,
                    id: id.clone(),
                    field: field.path.clone(),
                    target,
                    target_id: target_id.clone(),
                })
        })
        .collect();
    out.sort();
    out
}
