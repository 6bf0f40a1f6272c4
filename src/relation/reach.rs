//! The documents a document reaches through its references, read level by level (one
//! batch of load calls per level and environment, as a graph load), each decoded once,
//! kept mutable and untyped: what a graph copy and a TTL cascade start from. Sans-IO.

use std::collections::{BTreeMap, HashMap, HashSet};

use redis::Value;

use crate::codec::join;
use crate::context::Ctx;
use crate::error::Result;
use crate::keys::DocKeys;
use crate::links::{Node, Target};
use crate::model::Model;
use crate::relation::walk::include_steps;
use crate::schema::ModelSchema;
use crate::scripts::Invocation;

/// One document reached: its model, id, the relation path it was first reached by
/// (`""` for the document asked for), and once read the document (`None` when missing).
pub(crate) struct Entry {
    pub target: Target,
    pub id: String,
    pub chain: String,
    pub node: Option<Box<dyn Node>>,
}

/// The walk: which relation paths it follows (`None`: every one; a path's prefixes are
/// followed too), and which it never follows.
pub(crate) struct Reach {
    paths: Option<Vec<String>>,
    stop: Vec<String>,
    ctxs: HashMap<&'static str, Ctx>,
    seen: HashSet<(&'static str, String)>,
    pub entries: Vec<Entry>,
    queue: Vec<usize>,
    root: &'static str,
}

/// One batch call of a level: one model's documents (one slot's on a cluster).
pub(crate) struct ReachCall {
    pub call: Invocation,
    model: &'static str,
    docs: Vec<(usize, DocKeys)>,
}

impl Reach {
    /// From document `id` of `M`, after checking every path against the schemas.
    pub(crate) fn new<M: Model>(
        id: &str,
        paths: Option<Vec<String>>,
        stop: Vec<String>,
    ) -> Result<Self> {
        let root = M::schema();
        for p in paths.iter().flatten().chain(stop.iter()) {
            include_steps(root, p)?;
        }
        let ctx = Ctx::for_schema(root)?;
        ctx.doc_id(id)?;
        let mut r = Self {
            paths,
            stop,
            ctxs: HashMap::new(),
            seen: HashSet::new(),
            entries: Vec::new(),
            queue: Vec::new(),
            root: root.name,
        };
        r.ctxs.insert(root.name, ctx);
        r.enqueue(super::target_of::<M>(), id.to_owned(), String::new());
        Ok(r)
    }

    fn enqueue(&mut self, target: Target, id: String, chain: String) {
        if !self.seen.insert(((target.schema)().name, id.clone())) {
            return;
        }
        self.queue.push(self.entries.len());
        self.entries.push(Entry {
            target,
            id,
            chain,
            node: None,
        });
    }

    /// Whether the walk follows relation path `chain`.
    pub(crate) fn follows(&self, chain: &str) -> bool {
        if self.stop.iter().any(|s| s == chain) {
            return false;
        }
        match &self.paths {
            None => true,
            Some(paths) => paths
                .iter()
                .any(|p| p == chain || p.strip_prefix(chain).is_some_and(|r| r.starts_with('.'))),
        }
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

    /// The context of a model read (every entry's model has one).
    pub(crate) fn ctx_of(&self, schema: &'static ModelSchema) -> &Ctx {
        &self.ctxs[schema.name]
    }

    pub(crate) fn root_ctx(&self) -> &Ctx {
        &self.ctxs[self.root]
    }

    pub(crate) fn env_of(&self, c: &ReachCall) -> &crate::env::Environment {
        &self.ctxs[c.model].env
    }

    /// The load calls of the next level, by model (and by slot on a cluster).
    pub(crate) fn level(&mut self) -> Result<Vec<ReachCall>> {
        let mut by_model: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for at in std::mem::take(&mut self.queue) {
            let name = (self.entries[at].target.schema)().name;
            by_model.entry(name).or_default().push(at);
        }
        let mut calls = Vec::new();
        for (model, ats) in by_model {
            let schema = (self.entries[ats[0]].target.schema)();
            let ids: Vec<String> = ats.iter().map(|&at| self.entries[at].id.clone()).collect();
            let ctx = self.ctx(schema)?;
            for (call, docs) in crate::relation::walk::load_groups(ctx, &ids)? {
                calls.push(ReachCall {
                    call,
                    model,
                    docs: docs.into_iter().map(|(i, d)| (ats[i], d)).collect(),
                });
            }
        }
        Ok(calls)
    }

    /// Takes a level call's reply: decodes each document and queues what it refers to
    /// along followed paths. A missing document stays an entry without a node.
    pub(crate) fn absorb(&mut self, c: ReachCall, reply: Value) -> Result<()> {
        let ctx = &self.ctxs[c.model];
        let per_doc = crate::plan::load_len(ctx);
        let mut replies = crate::plan::refresh_replies(reply)?.into_iter();
        let mut found = Vec::new();
        for (at, doc) in c.docs {
            let mine: Vec<Value> = replies.by_ref().take(per_doc).collect();
            let entry = &self.entries[at];
            if let Some(node) = (entry.target.decode)(ctx, &entry.id, doc, mine)? {
                found.push((at, node));
            }
        }
        for (at, mut node) in found {
            let chain = self.entries[at].chain.clone();
            let mut next = Vec::new();
            node.relations(&mut |path, rel| {
                let sub = join(&chain, path);
                if self.follows(&sub) {
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

    /// Whether the document asked for was missing (after the first level).
    pub(crate) fn root_missing(&self) -> bool {
        self.entries.first().is_none_or(|e| e.node.is_none())
    }
}

impl crate::relation::Levels for Reach {
    type Call = ReachCall;
    fn calls(&mut self) -> Result<Vec<ReachCall>> {
        self.level()
    }
    fn env_of(&self, call: &ReachCall) -> &crate::env::Environment {
        Reach::env_of(self, call)
    }
    fn invocation(call: &ReachCall) -> &crate::scripts::Invocation {
        &call.call
    }
    fn absorb(&mut self, call: ReachCall, reply: Value) -> Result<()> {
        Reach::absorb(self, call, reply)
    }
}
