//! Loading documents with their relations, sans-IO: a breadth-first walk that asks
//! for one batch of loads per level (one round trip per level and environment, whatever
//! the number of parents), then the references filled from what was read, each
//! document decoded from the one read of it.

use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use redis::Value;

use crate::codec::join;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::graph::GraphLoad;
use crate::keys::DocKeys;
use crate::links::{Node, Target};
use crate::model::Model;
use crate::schema::ModelSchema;
use crate::scripts::Invocation;

impl Walk {
    /// The walk that `load`'s options describe for model `schema`, after checking them.
    pub(crate) fn new<M, Out>(
        load: &GraphLoad<M, Out>,
        schema: &'static ModelSchema,
    ) -> Result<Self> {
        let mut steps = 0;
        if let Some(include) = &load.include {
            for entry in include {
                steps = steps.max(include_steps(schema, entry)?);
            }
        }
        let left = match (load.depth, &load.include) {
            (Some(-1), _) => None,
            (Some(d), _) if d < -1 => {
                return Err(Error::InvalidInput(format!(
                    "load depth {d}: a depth is 0 or more, or -1 for the whole graph"
                )));
            }
            (Some(d), _) => Some(d as usize),
            (None, Some(_)) => Some(steps),
            (None, None) => Some(0),
        };
        Ok(Self {
            left,
            include: load.include.clone(),
            max_circular: load.max_circular,
            skip_missing: load.skip_missing,
            ctxs: HashMap::new(),
            cache: HashMap::new(),
            queue: Vec::new(),
            queued: HashSet::new(),
            frontier: Vec::new(),
            seen: HashSet::new(),
            memo: HashMap::new(),
            dangling: BTreeMap::new(),
        })
    }
}

/// The number of relation steps in include entry `entry` from `schema`, after checking
/// that each step names a foreign-key field (field paths may hold dots themselves).
pub(crate) fn include_steps(mut schema: &'static ModelSchema, entry: &str) -> Result<usize> {
    let mut rest = entry;
    let mut steps = 0;
    while !rest.is_empty() {
        let relations: Vec<_> = schema
            .fields
            .iter()
            .filter_map(|f| f.relation.map(|r| (f.path.as_str(), r)))
            .collect();
        let hit = relations
            .iter()
            .filter(|(path, _)| {
                rest == *path || rest.strip_prefix(path).is_some_and(|r| r.starts_with('.'))
            })
            .max_by_key(|(path, _)| path.len());
        let Some((path, rel)) = hit else {
            let names: Vec<&str> = relations.iter().map(|(p, _)| *p).collect();
            return Err(Error::InvalidInput(format!(
                "include `{entry}`: `{rest}` does not start with a relation of {} (its relations: {})",
                schema.name,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        };
        steps += 1;
        schema = rel.target();
        rest = rest[path.len()..].trim_start_matches('.');
    }
    Ok(steps)
}

/// One load call and its documents: position in the ids asked, keys.
pub(crate) type LoadGroup = (Invocation, Vec<(usize, DocKeys)>);

/// The load calls reading documents `ids` of `ctx`'s model: one, or one per slot on a
/// cluster; each with the positions in `ids` and the keys of its documents.
pub(crate) fn load_groups(ctx: &Ctx, ids: &[String]) -> Result<Vec<LoadGroup>> {
    let docs = ids
        .iter()
        .map(|id| crate::plan::read_keys(ctx, id))
        .collect::<Result<Vec<_>>>()?;
    let groups = if ctx.env.is_cluster() {
        crate::keys::group_by_slot(docs.iter().map(|d| d.root.as_str()))
    } else {
        vec![(0..docs.len()).collect()]
    };
    let spec = ctx
        .schema
        .refresh_spec(false)
        .unwrap_or_else(|| "0".to_owned());
    Ok(groups
        .into_iter()
        .map(|group| {
            let sub: Vec<DocKeys> = group.iter().map(|&i| docs[i].clone()).collect();
            let sub_ids: Vec<&str> = group.iter().map(|&i| ids[i].as_str()).collect();
            let call = crate::plan::load_call(ctx, &sub, &sub_ids, spec.clone());
            (call, group.into_iter().zip(sub).collect())
        })
        .collect())
}

/// Turns what was found for the ids asked into what the load returns, or the missing
/// ids (derive support).
#[doc(hidden)]
pub trait GraphOutput<M: Model>: Sized {
    /// One document asked (a missing one is `NotFound`), or many (`Missing`).
    const ONE: bool;
    fn collect(found: Vec<(String, Option<M>)>) -> std::result::Result<Self, Vec<String>>;
}

impl<M: Model> GraphOutput<M> for M {
    const ONE: bool = true;
    fn collect(found: Vec<(String, Option<M>)>) -> std::result::Result<Self, Vec<String>> {
        match found.into_iter().next() {
            Some((_, Some(m))) => Ok(m),
            Some((id, None)) => Err(vec![id]),
            None => Err(vec![String::new()]),
        }
    }
}

impl<M: Model> GraphOutput<M> for Vec<M> {
    const ONE: bool = false;
    fn collect(found: Vec<(String, Option<M>)>) -> std::result::Result<Self, Vec<String>> {
        let missing: Vec<String> = found
            .iter()
            .filter(|(_, m)| m.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(found.into_iter().filter_map(|(_, m)| m).collect())
    }
}

/// A document by model name and id.
type Key = (&'static str, String);

enum Cached {
    Missing,
    Loaded {
        target: Target,
        doc: DocKeys,
        replies: Vec<Value>,
        /// The decoding made when it was read (taken by the first reference built).
        first: Option<Box<dyn Node>>,
    },
}

/// A place in the graph whose references the next level follows.
struct Occ {
    key: Key,
    chain: String,
    ancestors: Vec<Key>,
    left: Option<usize>,
}

/// One load call of a level: the documents it reads, of the model `model`.
pub(crate) struct LevelCall {
    pub(crate) model: &'static str,
    target: Target,
    pub(crate) call: Invocation,
    docs: Vec<(String, DocKeys)>,
}

enum Built {
    Found(Arc<dyn Any + Send + Sync>),
    Missing,
    NotRead,
}

pub(crate) struct Walk {
    left: Option<usize>,
    include: Option<Vec<String>>,
    max_circular: usize,
    skip_missing: bool,
    ctxs: HashMap<&'static str, Ctx>,
    cache: HashMap<Key, Cached>,
    queue: Vec<(Target, String)>,
    queued: HashSet<Key>,
    frontier: Vec<Occ>,
    seen: HashSet<(Key, String, Option<usize>)>,
    memo: HashMap<(Key, String, Option<usize>), Arc<dyn Any + Send + Sync>>,
    dangling: BTreeMap<(&'static str, String, &'static str), Vec<String>>,
}

impl Walk {
    /// Whether the load follows relation `field` of `schema` reached by `chain`: every
    /// eager one without `include`, else those `include` names (lazy ones too).
    fn allows(&self, schema: &ModelSchema, chain: &str, field: &str) -> bool {
        let Some(include) = &self.include else {
            return !schema
                .fields
                .iter()
                .any(|f| f.path == field && f.relation.is_some_and(|r| r.is_lazy()));
        };
        let full = join(chain, field);
        include
            .iter()
            .any(|e| *e == full || e.strip_prefix(&full).is_some_and(|r| r.starts_with('.')))
    }

    /// The chain as far as it matters: only `include` looks at it.
    fn norm(&self, chain: String) -> String {
        if self.include.is_some() {
            chain
        } else {
            String::new()
        }
    }

    /// The references of `node` (at `key`, reached by `chain`, `left` levels to go)
    /// that the next level loads.
    fn follow(
        &mut self,
        node: &mut dyn Node,
        key: &Key,
        chain: &str,
        ancestors: &[Key],
        left: Option<usize>,
    ) {
        if left == Some(0) {
            return;
        }
        let mut found = Vec::new();
        let schema = node.schema();
        node.relations(&mut |path, rel| {
            if self.allows(schema, chain, path) {
                found.push((path.to_owned(), rel.target(), rel.target_id().to_owned()));
            }
        });
        let mut ancestors = ancestors.to_vec();
        ancestors.push(key.clone());
        for (path, target, id) in found {
            let to: Key = ((target.schema)().name, id);
            if ancestors.iter().filter(|a| **a == to).count() > self.max_circular {
                continue;
            }
            let chain = self.norm(join(chain, &path));
            let next = left.map(|l| l - 1);
            if !self.seen.insert((to.clone(), chain.clone(), next)) {
                continue;
            }
            if !self.cache.contains_key(&to) && self.queued.insert(to.clone()) {
                self.queue.push((target, to.1.clone()));
            }
            self.frontier.push(Occ {
                key: to,
                chain,
                ancestors: ancestors.clone(),
                left: next,
            });
        }
    }

    /// The references of the loaded roots that level 1 loads.
    pub(crate) fn start<M: Model>(&mut self, roots: &mut [Option<M>]) {
        for root in roots.iter_mut().flatten() {
            let key = (M::schema().name, root.id());
            self.follow(root, &key, "", &[], self.left);
        }
    }

    /// Whether a level has documents to read.
    pub(crate) fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    fn ctx(&mut self, schema: &'static ModelSchema) -> Result<&Ctx> {
        if !self.ctxs.contains_key(schema.name) {
            self.ctxs.insert(schema.name, Ctx::for_schema(schema)?);
        }
        Ok(&self.ctxs[schema.name])
    }

    /// The load calls of the next level, by model (and by slot on a cluster).
    pub(crate) fn level(&mut self) -> Result<Vec<LevelCall>> {
        let mut by_model: BTreeMap<&'static str, (Target, Vec<String>)> = BTreeMap::new();
        for (target, id) in std::mem::take(&mut self.queue) {
            by_model
                .entry((target.schema)().name)
                .or_insert_with(|| (target, Vec::new()))
                .1
                .push(id);
        }
        let mut calls = Vec::new();
        for (model, (target, ids)) in by_model {
            let ctx = self.ctx((target.schema)())?;
            for (call, docs) in load_groups(ctx, &ids)? {
                calls.push(LevelCall {
                    model,
                    target,
                    call,
                    docs: docs.into_iter().map(|(i, d)| (ids[i].clone(), d)).collect(),
                });
            }
        }
        Ok(calls)
    }

    /// The environment level call `c` goes to.
    pub(crate) fn env_of(&self, c: &LevelCall) -> &crate::env::Environment {
        &self.ctxs[c.model].env
    }

    /// Takes the reply of level call `c`: decodes each document read.
    pub(crate) fn absorb(&mut self, c: LevelCall, reply: Value) -> Result<()> {
        let ctx = &self.ctxs[c.model];
        let per_doc = crate::plan::load_len(ctx);
        let mut replies = crate::plan::refresh_replies(reply)?.into_iter();
        for (id, doc) in c.docs {
            let mine: Vec<Value> = replies.by_ref().take(per_doc).collect();
            let entry = match (c.target.decode)(ctx, &id, doc.clone(), mine.clone())? {
                None => Cached::Missing,
                Some(node) => Cached::Loaded {
                    target: c.target,
                    doc,
                    replies: mine,
                    first: Some(node),
                },
            };
            self.cache.insert((c.model, id), entry);
        }
        Ok(())
    }

    /// After a level was read: the references its documents hold that the next level
    /// loads.
    pub(crate) fn advance(&mut self) {
        for occ in std::mem::take(&mut self.frontier) {
            let Some(Cached::Loaded { first, .. }) = self.cache.get_mut(&occ.key) else {
                continue;
            };
            let Some(mut node) = first.take() else {
                continue;
            };
            self.follow(&mut *node, &occ.key, &occ.chain, &occ.ancestors, occ.left);
            if let Some(Cached::Loaded { first, .. }) = self.cache.get_mut(&occ.key) {
                *first = Some(node);
            }
        }
    }

    /// Fills the references of `roots` (and of everything they reach) from what was
    /// read; [`Error::Dangling`] for references to missing documents unless skipped.
    pub(crate) fn finish<M: Model>(&mut self, roots: &mut [Option<M>]) -> Result<()> {
        for root in roots.iter_mut().flatten() {
            let mut ancestors = vec![(M::schema().name, root.id())];
            self.attach(root, M::schema().name, "", &mut ancestors, self.left)?;
        }
        if let Some(((model, field, target), ids)) =
            std::mem::take(&mut self.dangling).into_iter().next()
        {
            return Err(Error::Dangling {
                model,
                field,
                target,
                ids,
            });
        }
        Ok(())
    }

    fn attach(
        &mut self,
        node: &mut dyn Node,
        model: &'static str,
        chain: &str,
        ancestors: &mut Vec<Key>,
        left: Option<usize>,
    ) -> Result<()> {
        if left == Some(0) {
            return Ok(());
        }
        let mut err = None;
        let schema = node.schema();
        node.relations(&mut |path, rel| {
            if err.is_some() || !self.allows(schema, chain, path) {
                return;
            }
            let target = (rel.target().schema)().name;
            let key: Key = (target, rel.target_id().to_owned());
            if ancestors.iter().filter(|a| **a == key).count() > self.max_circular {
                return;
            }
            let sub = self.norm(join(chain, path));
            match self.build(key, &sub, ancestors, left.map(|l| l - 1)) {
                Ok(Built::Found(shared)) => rel.attach(shared),
                Ok(Built::Missing) if !self.skip_missing => {
                    let ids = self
                        .dangling
                        .entry((model, path.to_owned(), target))
                        .or_default();
                    if !ids.iter().any(|i| i == rel.target_id()) {
                        ids.push(rel.target_id().to_owned());
                    }
                }
                Ok(_) => {}
                Err(e) => err = Some(e),
            }
        });
        err.map_or(Ok(()), Err)
    }

    /// The document at `key` with its references filled, shared when it was built
    /// before for the same place.
    fn build(
        &mut self,
        key: Key,
        chain: &str,
        ancestors: &mut Vec<Key>,
        left: Option<usize>,
    ) -> Result<Built> {
        let memo = (key, chain.to_owned(), left);
        if let Some(shared) = self.memo.get(&memo) {
            return Ok(Built::Found(shared.clone()));
        }
        let key = &memo.0;
        let mut node = match self.cache.get_mut(key) {
            None => return Ok(Built::NotRead),
            Some(Cached::Missing) => return Ok(Built::Missing),
            Some(Cached::Loaded {
                first,
                target,
                doc,
                replies,
            }) => match first.take() {
                Some(node) => node,
                None => {
                    let ctx = &self.ctxs[key.0];
                    match (target.decode)(ctx, &key.1, doc.clone(), replies.clone())? {
                        Some(node) => node,
                        None => return Ok(Built::Missing),
                    }
                }
            },
        };
        ancestors.push(key.clone());
        let done = self.attach(&mut *node, key.0, chain, ancestors, left);
        ancestors.pop();
        done?;
        let shared = node.into_shared();
        self.memo.insert(memo, shared.clone());
        Ok(Built::Found(shared))
    }
}

impl crate::relation::Levels for Walk {
    type Call = LevelCall;
    fn calls(&mut self) -> Result<Vec<LevelCall>> {
        self.level()
    }
    fn env_of(&self, call: &LevelCall) -> &crate::env::Environment {
        Walk::env_of(self, call)
    }
    fn invocation(call: &LevelCall) -> &crate::scripts::Invocation {
        &call.call
    }
    fn absorb(&mut self, call: LevelCall, reply: Value) -> Result<()> {
        Walk::absorb(self, call, reply)
    }
}
