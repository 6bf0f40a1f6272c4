//! Copying a document with the documents it refers to, sans-IO: the graph is read level
//! by level (one batch of load calls per level, as a graph load), each document to copy
//! gets a new id, the references among the copies are rewritten to the new ids, and the
//! copies are written by one script per server (per slot on a cluster), each new.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;

use redis::Value;

use crate::codec::join;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::keys::DocKeys;
use crate::links::{Node, Target};
use crate::model::Model;
use crate::relation::cascade::{Apply, Part, part_of};
use crate::relation::walk::include_steps;
use crate::schema::ModelSchema;
use crate::scripts::Invocation;

/// A copy of a document with its relations, from
/// [`Model::duplicate_graph`](crate::Model::duplicate_graph); run it with `sync_run()`
/// (blocking) or `run()` (async).
///
/// - By default only the document is copied (new id, references unchanged, as
///   `duplicate`). `cascade_all()` copies every document it reaches through references,
///   each once; `cascade(["reviews", "reviews.reviewer"])` only those relation paths
///   (dotted from the document, as `include`). References among the copies point to
///   the copies; others keep their targets.
/// - `remap("author", id)`: the copy's references at that path refer to `id` (an
///   existing document, not copied).
/// - The copies get new [`crate::Id`]s (a model whose key does not parse from one is
///   `InvalidInput` before anything is written). A reference whose target is missing is
///   kept as it is, not copied.
/// - Round trips: one per level read, then one write script per server (per slot on a
///   cluster: atomic per slot there; on one server the whole copy is one script, all or
///   nothing).
#[must_use = "a GraphCopy does nothing until it is run (`sync_run()` / `run()`)"]
pub struct GraphCopy<M> {
    pub(crate) id: String,
    pub(crate) paths: Option<Vec<String>>,
    pub(crate) remap: Vec<(String, String)>,
    _m: PhantomData<fn() -> M>,
}

impl<M> GraphCopy<M> {
    pub(crate) fn new(id: String) -> Self {
        Self {
            id,
            paths: Some(Vec::new()),
            remap: Vec::new(),
            _m: PhantomData,
        }
    }

    /// Copies every document reached through references (a whole graph: mind its size).
    pub fn cascade_all(mut self) -> Self {
        self.paths = None;
        self
    }

    /// Copies the documents at these relation paths (dotted for deeper ones; a path's
    /// prefixes are copied too). Checked against the schemas before anything is sent.
    pub fn cascade<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = self.paths.get_or_insert_with(Vec::new);
        list.extend(paths.into_iter().map(Into::into));
        self
    }

    /// The copy's references at relation path `path` refer to `id` instead (not copied).
    pub fn remap(mut self, path: impl Into<String>, id: impl std::fmt::Display) -> Self {
        self.remap.push((path.into(), id.to_string()));
        self
    }
}

/// What a [`GraphCopy`] wrote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Copied<M> {
    /// The copy of the document asked for.
    pub root: M,
    /// Every copy, as `(model, original id, new id)`, the document asked for first.
    pub ids: Vec<(&'static str, String, String)>,
}

type Key = (&'static str, String);

/// Every copy: model, original id, new id.
pub(crate) type CopyIds = Vec<(&'static str, String, String)>;

struct Entry {
    target: Target,
    old: String,
    chain: String,
    node: Option<Box<dyn Node>>,
}

/// A graph copy being planned.
pub(crate) struct Copier {
    paths: Option<Vec<String>>,
    remap: Vec<(String, String)>,
    ctxs: HashMap<&'static str, Ctx>,
    new_ids: BTreeMap<Key, String>,
    entries: Vec<Entry>,
    queue: Vec<usize>,
}

/// One batch call of a level: one model's documents (one slot's on a cluster).
pub(crate) struct CopyCall {
    pub call: Invocation,
    model: &'static str,
    docs: Vec<(usize, DocKeys)>,
}

impl Copier {
    pub(crate) fn new<M: Model>(copy: &GraphCopy<M>) -> Result<Self> {
        let root = M::schema();
        for p in copy
            .paths
            .iter()
            .flatten()
            .chain(copy.remap.iter().map(|(p, _)| p))
        {
            include_steps(root, p)?;
        }
        let ctx = Ctx::for_schema(root)?;
        ctx.doc_id(&copy.id)?;
        for (_, id) in &copy.remap {
            ctx.doc_id(id)?;
        }
        let mut c = Self {
            paths: copy.paths.clone(),
            remap: copy.remap.clone(),
            ctxs: HashMap::new(),
            new_ids: BTreeMap::new(),
            entries: Vec::new(),
            queue: Vec::new(),
        };
        c.ctxs.insert(root.name, ctx);
        c.enqueue(super::target_of::<M>(), copy.id.clone(), String::new());
        Ok(c)
    }

    fn enqueue(&mut self, target: Target, old: String, chain: String) {
        let key = ((target.schema)().name, old.clone());
        if self.new_ids.contains_key(&key) {
            return;
        }
        self.new_ids.insert(key, crate::Id::new().to_string());
        self.queue.push(self.entries.len());
        self.entries.push(Entry {
            target,
            old,
            chain,
            node: None,
        });
    }

    fn copies(&self, chain: &str) -> bool {
        match &self.paths {
            None => true,
            Some(paths) => paths
                .iter()
                .any(|p| p == chain || p.strip_prefix(chain).is_some_and(|r| r.starts_with('.'))),
        }
    }

    fn remapped(&self, chain: &str) -> Option<&str> {
        self.remap
            .iter()
            .rev()
            .find(|(p, _)| p == chain)
            .map(|(_, id)| id.as_str())
    }

    pub(crate) fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    fn ctx(&mut self, schema: &'static ModelSchema) -> Result<&Ctx> {
        if !self.ctxs.contains_key(schema.name) {
            self.ctxs.insert(schema.name, Ctx::for_schema(schema)?);
        }
        Ok(&self.ctxs[schema.name])
    }

    pub(crate) fn env_of(&self, c: &CopyCall) -> &crate::env::Environment {
        &self.ctxs[c.model].env
    }

    /// The load calls of the next level, by model (and by slot on a cluster).
    pub(crate) fn level(&mut self) -> Result<Vec<CopyCall>> {
        let mut by_model: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for at in std::mem::take(&mut self.queue) {
            let name = (self.entries[at].target.schema)().name;
            by_model.entry(name).or_default().push(at);
        }
        let mut calls = Vec::new();
        for (model, ats) in by_model {
            let schema = (self.entries[ats[0]].target.schema)();
            let olds: Vec<String> = ats.iter().map(|&at| self.entries[at].old.clone()).collect();
            let ctx = self.ctx(schema)?;
            let docs = olds
                .iter()
                .map(|old| crate::plan::read_keys(ctx, old))
                .collect::<Result<Vec<_>>>()?;
            let groups = if ctx.env.is_cluster() {
                crate::keys::group_by_slot(docs.iter().map(|d| d.root.as_str()))
            } else {
                vec![(0..docs.len()).collect()]
            };
            let spec = schema.refresh_spec(false).unwrap_or_else(|| "0".to_owned());
            for group in groups {
                let sub: Vec<DocKeys> = group.iter().map(|&i| docs[i].clone()).collect();
                let ids: Vec<&str> = group.iter().map(|&i| olds[i].as_str()).collect();
                calls.push(CopyCall {
                    call: crate::plan::load_call(ctx, &sub, &ids, spec.clone()),
                    model,
                    docs: group.iter().map(|&i| (ats[i], docs[i].clone())).collect(),
                });
            }
        }
        Ok(calls)
    }

    /// Takes a level call's reply: decodes each document, queues what it refers to that
    /// is copied. A missing document is not copied (its references keep their ids); the
    /// document asked for missing is `None` from [`Copier::root_missing`].
    pub(crate) fn absorb(&mut self, c: CopyCall, reply: Value) -> Result<()> {
        let ctx = &self.ctxs[c.model];
        let per_doc = crate::plan::load_len(ctx);
        let mut replies = crate::plan::refresh_replies(reply)?.into_iter();
        let mut found = Vec::new();
        for (at, doc) in c.docs {
            let mine: Vec<Value> = replies.by_ref().take(per_doc).collect();
            let entry = &self.entries[at];
            match (entry.target.decode)(ctx, &entry.old, doc, mine)? {
                Some(node) => found.push((at, node)),
                None => {
                    let key = ((entry.target.schema)().name, entry.old.clone());
                    self.new_ids.remove(&key);
                }
            }
        }
        for (at, mut node) in found {
            let chain = self.entries[at].chain.clone();
            let mut next = Vec::new();
            node.relations(&mut |path, rel| {
                let sub = join(&chain, path);
                if self.remapped(&sub).is_none() && self.copies(&sub) {
                    next.push((rel.target(), rel.target_id().to_owned(), sub));
                }
            });
            for (target, id, sub) in next {
                self.enqueue(target, id, sub);
            }
            self.entries[at].node = Some(node);
        }
        Ok(())
    }

    /// Whether the document asked for was missing.
    pub(crate) fn root_missing(&self) -> bool {
        self.entries.first().is_none_or(|e| e.node.is_none())
    }

    /// The write scripts: every copy with its references rewritten, the document asked
    /// for in the last script.
    pub(crate) fn apply(&mut self) -> Result<(Vec<Apply>, CopyIds)> {
        let mut parts: Vec<Part> = Vec::new();
        let mut ids = Vec::new();
        for at in 0..self.entries.len() {
            let Some(mut node) = self.entries[at].node.take() else {
                continue;
            };
            let schema = node.schema();
            let old = self.entries[at].old.clone();
            let chain = self.entries[at].chain.clone();
            let new = self.new_ids[&(schema.name, old.clone())].clone();
            node.relations(&mut |path, rel| {
                let sub = join(&chain, path);
                if let Some(id) = self.remapped(&sub) {
                    rel.retarget(id);
                } else {
                    let to = ((rel.target().schema)().name, rel.target_id().to_owned());
                    if let Some(id) = self.new_ids.get(&to) {
                        rel.retarget(id);
                    }
                }
            });
            node.set_id(&new)?;
            let ctx = &self.ctxs[schema.name];
            let doc = ctx.doc(&new)?;
            let content = node.content(ctx)?;
            let i = part_of(&mut parts, ctx, &doc.root);
            parts[i].write(schema, &new, &doc, content);
            ids.push((schema.name, old, new));
            self.entries[at].node = Some(node);
        }
        if !parts.is_empty() {
            let first = parts.remove(0);
            parts.push(first);
        }
        Ok((parts.into_iter().map(Part::finish).collect(), ids))
    }

    /// The copy of the document asked for, after [`Copier::apply`].
    pub(crate) fn root<M: Model>(&mut self) -> Result<M> {
        let node = self.entries[0].node.take().ok_or_else(|| {
            Error::InvalidInput("graph copy: the document asked for was not read".into())
        })?;
        let shared = node.into_shared();
        let arc = shared
            .downcast::<M>()
            .map_err(|_| Error::InvalidInput("graph copy: the root is of another model".into()))?;
        std::sync::Arc::try_unwrap(arc)
            .map_err(|_| Error::InvalidInput("graph copy: the root is shared".into()))
    }
}
