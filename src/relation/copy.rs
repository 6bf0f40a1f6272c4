//! Copying a document with the documents it refers to, sans-IO: the graph is read level
//! by level (one batch of load calls per level, as a graph load), each document to copy
//! gets a new id, the references among the copies are rewritten to the new ids, and the
//! copies are written by one script per server (per slot on a cluster), each new.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::codec::join;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::relation::cascade::{Apply, Part, part_of};
use crate::relation::reach::Reach;

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

/// Every copy: model, original id, new id.
pub(crate) type CopyIds = Vec<(&'static str, String, String)>;

/// A graph copy being planned: the graph read ([`Reach`]), then new ids.
pub(crate) struct Copier {
    pub(crate) reach: Reach,
    remap: Vec<(String, String)>,
}

impl Copier {
    pub(crate) fn new<M: Model>(copy: &GraphCopy<M>) -> Result<Self> {
        let stop: Vec<String> = copy.remap.iter().map(|(p, _)| p.clone()).collect();
        let reach = Reach::new::<M>(&copy.id, copy.paths.clone(), stop)?;
        for (_, id) in &copy.remap {
            reach.root_ctx().doc_id(id)?;
        }
        Ok(Self {
            reach,
            remap: copy.remap.clone(),
        })
    }

    fn remapped(&self, chain: &str) -> Option<&str> {
        self.remap
            .iter()
            .rev()
            .find(|(p, _)| p == chain)
            .map(|(_, id)| id.as_str())
    }

    /// The write scripts: every copy with its references rewritten, the document asked
    /// for in the last script.
    pub(crate) fn apply(&mut self) -> Result<(Vec<Apply>, CopyIds)> {
        let new_ids: BTreeMap<(&'static str, String), String> = self
            .reach
            .entries
            .iter()
            .filter(|e| e.node.is_some())
            .map(|e| {
                (
                    ((e.target.schema)().name, e.id.clone()),
                    crate::Id::new().to_string(),
                )
            })
            .collect();
        let mut parts: Vec<Part> = Vec::new();
        let mut ids = Vec::new();
        for at in 0..self.reach.entries.len() {
            let Some(mut node) = self.reach.entries[at].node.take() else {
                continue;
            };
            let schema = node.schema();
            let old = self.reach.entries[at].id.clone();
            let chain = self.reach.entries[at].chain.clone();
            let new = new_ids[&(schema.name, old.clone())].clone();
            node.relations(&mut |path, rel| {
                let sub = join(&chain, path);
                if let Some(id) = self.remapped(&sub) {
                    rel.retarget(id);
                } else {
                    let to = ((rel.target().schema)().name, rel.target_id().to_owned());
                    if let Some(id) = new_ids.get(&to) {
                        rel.retarget(id);
                    }
                }
            });
            node.set_id(&new)?;
            let ctx = self.reach.ctx_of(schema);
            let doc = ctx.doc(&new)?;
            let content = node.content(ctx)?;
            let i = part_of(&mut parts, ctx, &doc.root);
            parts[i].write(schema, &new, &doc, content);
            ids.push((schema.name, old, new));
            self.reach.entries[at].node = Some(node);
        }
        if !parts.is_empty() {
            let first = parts.remove(0);
            parts.push(first);
        }
        Ok((parts.into_iter().map(Part::finish).collect(), ids))
    }

    /// The copy of the document asked for, after [`Copier::apply`].
    pub(crate) fn root<M: Model>(&mut self) -> Result<M> {
        let node = self.reach.entries[0].node.take().ok_or_else(|| {
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
