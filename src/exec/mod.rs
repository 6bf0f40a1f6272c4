//! The executor: what an atomic operation is (`Op` on a `Target` of a `DocRef`), the
//! pending call that runs it (`Pending`), the op plan that batches many into one
//! `exec.lua` call (`ExecPlan`), pipelines (`Pipeline`, `Slot`) and the reply protocol
//! (`reply`). Sans-IO; the mode shells run a [`Pending`] (`.await` or `.sync_run()`). It
//! knows no field kind: the kinds (`crate::kinds`) build their handles on it.
//!
//! Each operation is one `exec.lua` call: it checks that the document exists (no orphans),
//! applies the op to the value stored on the server, and replies with what the local copy
//! needs to end equal to Redis.

use std::fmt;
use std::sync::Arc;

use redis::Value;

use crate::context::Ctx;
use crate::error::{Error, Result, unexpected};
use crate::schema::ModelSchema;
use crate::scripts::{self, Invocation};

mod cond;
mod context;
mod pipeline;
mod reply;

pub(crate) use cond::{ArgRef, PathSpec, RefSrc};
pub use cond::{Branch, Cond, Length, LoopOver, When};
pub use context::Computed;
pub(crate) use context::{Src, with_value};
pub use pipeline::{Pipeline, Slot};
pub(crate) use reply::*;

/// The document an atomic handle addresses.
#[doc(hidden)]
#[derive(Debug)]
pub struct DocRef {
    pub(crate) schema: &'static ModelSchema,
    pub(crate) id: String,
    /// A named structure's type tag (`kinds::named`): its plan creates the root on a
    /// write and checks the tag first.
    pub(crate) tag: Option<String>,
}

impl DocRef {
    #[doc(hidden)]
    pub fn new(schema: &'static ModelSchema, id: String) -> Arc<Self> {
        Arc::new(Self {
            schema,
            id,
            tag: None,
        })
    }

    /// The document of the named structure `id` with type tag `tag`.
    pub(crate) fn named(schema: &'static ModelSchema, id: String, tag: String) -> Self {
        Self {
            schema,
            id,
            tag: Some(tag),
        }
    }
}

/// Where an op applies: a root hash field, or a collection key, by field path.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Root(String),
    Collection(String),
}

impl Target {
    fn path(&self) -> &str {
        match self {
            Target::Root(p) | Target::Collection(p) => p,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub code: &'static str,
    pub target: Target,
    pub args: Vec<Vec<u8>>,
    /// Arguments the plan fills in: a document's number, or a key's index in it
    /// (conditions, `cond.rs`).
    pub refs: Vec<cond::ArgRef>,
    /// Which part of its script result later ops may use ([`Computed`]; `None`: its
    /// result cannot be used).
    pub yields: Option<context::Yield>,
}

/// Reads the op's reply (`None`: the document is missing and the op was `if_exists`).
/// The local copy an atomic handle mirrors into (none for `Model::at(id)` handles).
/// Shared, so several ops of one pipeline may address the same field; applied in op
/// order after the server replied.
pub(crate) type Mirror<'a, T> = Option<Arc<parking_lot::Mutex<&'a mut T>>>;

/// Applies `f` to the local copy, if there is one.
pub(crate) fn mirror_apply<T>(local: Mirror<'_, T>, f: impl FnOnce(&mut T)) {
    if let Some(local) = local {
        f(&mut local.lock());
    }
}

pub(crate) fn mirror<T>(local: Option<&mut T>) -> Mirror<'_, T> {
    local.map(|l| Arc::new(parking_lot::Mutex::new(l)))
}

type Finish<'a, R> = Box<dyn FnOnce(Option<Value>) -> Result<R> + Send + 'a>;

/// One atomic operation, built and ready to run: `.await` it (feature `tokio`) or call
/// `.sync_run()` (feature `blocking`). Nothing is sent before that.
#[must_use = "an atomic operation does nothing until it is awaited or run"]
pub struct Pending<'a, R> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) op: Op,
    pub(crate) finish: Finish<'a, R>,
    pub(crate) early: Option<Error>,
    pub(crate) skip_missing: bool,
    pub(crate) refresh: bool,
}

impl<R> fmt::Debug for Pending<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("model", &self.doc.schema.name)
            .field("id", &self.doc.id)
            .field("op", &self.op.code)
            .field("field", &self.op.target.path())
            .finish()
    }
}

impl<'a, R> Pending<'a, R> {
    pub(crate) fn new(
        doc: &Arc<DocRef>,
        code: &'static str,
        target: Target,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(Value) -> Result<R> + Send + 'a,
    ) -> Self {
        Self {
            doc: doc.clone(),
            op: Op {
                code,
                target,
                args,
                refs: Vec::new(),
                yields: None,
            },
            finish: Box::new(move |v: Option<Value>| finish(v.unwrap_or(Value::Nil))),
            early: None,
            skip_missing: false,
            refresh: true,
        }
    }

    /// The same operation with its result dropped (for lists of mixed operations).
    #[doc(hidden)]
    pub fn map_any(self) -> Pending<'a, ()>
    where
        R: 'a,
    {
        map_pending(self, |_| Ok(()))
    }

    /// Leaves the document's TTL as it is for this call, whatever the model's
    /// `ttl_refresh` policy says.
    pub fn no_refresh(mut self) -> Self {
        self.refresh = false;
        self
    }

    /// Skips the operation silently when the document does not exist ("ignore if
    /// deleted"): the result is `None` then, and nothing is written.
    pub fn if_exists(self) -> Pending<'a, Option<R>>
    where
        R: 'a,
    {
        let finish = self.finish;
        Pending {
            doc: self.doc,
            op: self.op,
            finish: Box::new(move |v: Option<Value>| match v {
                None => Ok(None),
                some => finish(some).map(Some),
            }),
            early: self.early,
            skip_missing: true,
            refresh: self.refresh,
        }
    }

    /// Builds the script call, or the error found before sending.
    pub(crate) fn prepare(&mut self) -> Result<ExecPlan> {
        if let Some(e) = self.early.take() {
            return Err(e);
        }
        ExecPlan::build(&[PlanItem {
            id: 0,
            doc: &self.doc,
            op: &self.op,
            skip_missing: self.skip_missing,
            refresh: self.refresh,
            cond: None,
            guard: &[],
            loop_id: None,
            in_loop: None,
        }])
    }

    /// Reads the script's reply.
    pub(crate) fn complete(self, plan: &ExecPlan, reply: Result<Value>) -> Result<R> {
        let mut values = plan.results(reply)?;
        (self.finish)(values.pop().flatten())
    }

    /// An op whose input was rejected before anything could be sent.
    pub(crate) fn rejected(doc: &Arc<DocRef>, target: Target, err: Error) -> Self {
        Self {
            doc: doc.clone(),
            op: Op {
                code: "get",
                target,
                args: vec![],
                refs: Vec::new(),
                yields: None,
            },
            finish: Box::new(|_| unreachable_finish()),
            early: Some(err),
            skip_missing: false,
            refresh: false,
        }
    }
}

/// Maps the result of a pending op.
pub(crate) fn map_pending<'a, A: 'a, B>(
    p: Pending<'a, A>,
    f: impl FnOnce(A) -> Result<B> + Send + 'a,
) -> Pending<'a, B> {
    let finish = p.finish;
    Pending {
        doc: p.doc,
        op: p.op,
        finish: Box::new(move |v| finish(v).and_then(f)),
        early: p.early,
        skip_missing: p.skip_missing,
        refresh: p.refresh,
    }
}

pub(crate) fn unreachable_finish<R>() -> Result<R> {
    Err(Error::InvalidInput(
        "operation was rejected before sending".into(),
    ))
}

/// The ops `read_plan.lua` runs (the `OPS` its source defines: `path_read.lua`).
fn in_read_plan(code: &str) -> bool {
    code == "path_get"
}

/// Ops a loop's body may run on the collection it loops over: all but those that move the
/// positions of a list's elements not yet visited (the element's own removal `lrem_at`,
/// appends, in-place writes and reads keep them).
fn keeps_positions(code: &str) -> bool {
    !matches!(
        code,
        "lpush" | "linsert" | "lrem" | "lpop" | "rpop" | "ltrim" | "del"
    )
}

/// Ops that only read (they refresh the TTL under a `read` policy, not `write`).
pub(crate) fn is_read(code: &str) -> bool {
    matches!(
        code,
        "get"
            | "strlen"
            | "llen"
            | "lrange"
            | "lindex"
            | "hget"
            | "hkeys"
            | "hlen"
            | "hgetall"
            | "sismember"
            | "scard"
            | "smembers"
            | "structure_read"
            | "structure_chain_read"
            | "path_get"
            | "when"
            | "whenp"
            | "guard"
            | "loop"
            | "bind"
    )
}

/// One `exec.lua` call over one or more documents, and how to read its reply.
pub(crate) struct ExecPlan {
    pub(crate) env: crate::env::Environment,
    pub(crate) call: Invocation,
    ops: Vec<(usize, &'static str, Target)>,
    docs: Vec<(&'static str, String, crate::keys::DocKeys)>,
    /// Per document, a named structure's tag.
    tags: Vec<Option<String>>,
    /// Per planned item: its op's number, the `when`s (numbers, outcomes) it needs, and
    /// whether it sits in a loop's body (ran per element: no single result).
    items: Vec<ItemOp>,
}

/// A planned item: its op's number in the script, the `when`s (numbers, outcomes) it
/// runs under, and whether it sits in a loop's body.
type ItemOp = (usize, Vec<(usize, bool)>, bool);

/// The index in a document's KEYS (root 1, id index 2, collections from 3) of the
/// collection at `path`.
fn collection_index(keys: &crate::keys::DocKeys, model: &str, path: &str) -> Result<usize> {
    keys.collections
        .iter()
        .position(|(p, _)| p == path)
        .map(|i| 3 + i)
        .ok_or_else(|| Error::InvalidInput(format!("{model}: no collection field `{path}`")))
}

/// What one op asks of the plan: its document, the op, whether a missing document is
/// skipped, whether it may refresh the TTL.
pub(crate) struct PlanItem<'p> {
    /// The id a [`Slot`]'s origin names it by.
    pub id: u64,
    pub doc: &'p Arc<DocRef>,
    pub op: &'p Op,
    pub skip_missing: bool,
    pub refresh: bool,
    /// The id of the condition this `when` op evaluates.
    pub cond: Option<u64>,
    /// The conditions (ids) and outcomes the op runs under (branches, `cond.rs`).
    pub guard: &'p [(u64, bool)],
    /// A `loop` op: its id; an op of a loop's body: the loop's id.
    pub loop_id: Option<u64>,
    pub in_loop: Option<u64>,
}

/// The documents of a plan being built, in first-seen order.
#[derive(Default)]
struct PlanDocs {
    env: Option<crate::env::Environment>,
    docs: Vec<(&'static str, String, crate::keys::DocKeys)>,
    /// Per document: skip it when missing; its TTL refresh spec.
    flags: Vec<(bool, Option<String>)>,
    /// Per document: a named structure's tag, and whether an op on it writes.
    named: Vec<Option<(String, bool)>>,
}

impl PlanDocs {
    /// The document's number in the plan, added when first seen (flags: skip when
    /// missing, unless a real op needs it); `real`: an op on it, not a condition's read.
    fn number(
        &mut self,
        doc: &DocRef,
        skip: bool,
        real: bool,
        code: &'static str,
    ) -> Result<usize> {
        let schema = doc.schema;
        match self
            .docs
            .iter()
            .position(|(m, id, _)| *m == schema.name && *id == doc.id)
        {
            Some(d) => {
                // a doc skips only if every op on it asks to
                if real {
                    self.flags[d].0 &= skip;
                }
                if let Some((tag, writes)) = &mut self.named[d] {
                    if doc.tag.as_deref() != Some(tag.as_str()) {
                        return Err(Error::InvalidInput(format!(
                            "structure `{}` is opened as {} and as {} in one plan",
                            doc.id,
                            tag,
                            doc.tag.as_deref().unwrap_or("a document")
                        )));
                    }
                    *writes |= !is_read(code);
                }
                Ok(d)
            }
            None => {
                let ctx = Ctx::for_schema(schema)?;
                match &self.env {
                    None => self.env = Some(ctx.env.clone()),
                    Some(e) if !e.same(&ctx.env) => {
                        return Err(Error::InvalidInput(format!(
                            "a pipeline runs in one environment; {} `{}` resolves to `{}`, not `{}`",
                            schema.name,
                            doc.id,
                            ctx.env.name(),
                            e.name()
                        )));
                    }
                    Some(_) => {}
                }
                self.docs
                    .push((schema.name, doc.id.clone(), ctx.doc(&doc.id)?));
                self.flags.push((skip || !real, None));
                self.named
                    .push(doc.tag.clone().map(|t| (t, !is_read(code))));
                Ok(self.docs.len() - 1)
            }
        }
    }
}

impl ExecPlan {
    /// Groups `items` by document (in first-seen order) into one script call. All
    /// documents must resolve to the same environment.
    pub(crate) fn build(items: &[PlanItem<'_>]) -> Result<Self> {
        let mut pd = PlanDocs::default();
        let mut ops = Vec::with_capacity(items.len());
        let mut op_args: Vec<Vec<u8>> = Vec::new();
        // per item: its op's number in the script, and its guard as (when's number, outcome)
        let mut item_ops: Vec<ItemOp> = Vec::with_capacity(items.len());
        // per loop id: the position of its body-length argument, the body's length, and
        // the document and key it loops over
        let mut loops: std::collections::HashMap<u64, (usize, usize, usize, usize)> =
            Default::default();
        let mut cond_at: std::collections::HashMap<u64, usize> = Default::default();
        // per item id: its op's number, what later ops may use of its result, its loop
        let mut results_at: std::collections::HashMap<
            u64,
            (usize, Option<context::Yield>, Option<u64>),
        > = Default::default();
        let mut push_op = |ops: &mut Vec<(usize, &'static str, Target)>,
                           d: usize,
                           code: &'static str,
                           target: &Target,
                           index: usize,
                           args: &[Vec<u8>]|
         -> usize {
            let field = match target {
                Target::Root(path) => path.as_str(),
                Target::Collection(_) => "",
            };
            op_args.push((d + 1).to_string().into_bytes());
            op_args.push(code.as_bytes().to_vec());
            op_args.push(index.to_string().into_bytes());
            op_args.push(field.as_bytes().to_vec());
            op_args.push(args.len().to_string().into_bytes());
            let first = op_args.len();
            op_args.extend(args.iter().cloned());
            ops.push((d, code, target.clone()));
            first
        };
        for item in items {
            let schema = item.doc.schema;
            // a condition's documents, and its arguments naming them
            let mut args = std::borrow::Cow::Borrowed(&item.op.args);
            let mut binds = Vec::new();
            for r in &item.op.refs {
                let value = match &r.src {
                    RefSrc::Value(src) => {
                        let spec = context::spec(src, &results_at, item.in_loop)?;
                        if item.cond.is_none() {
                            // an op's argument: bound when it runs ("<arg>=<spec>")
                            let mut b = format!("{}=", r.at + 1).into_bytes();
                            b.extend(spec);
                            binds.push(b);
                            continue;
                        }
                        spec
                    }
                    RefSrc::Doc => {
                        let rd = pd.number(&r.doc, true, false, "when")?;
                        (rd + 1).to_string().into_bytes()
                    }
                    RefSrc::Key(path) => {
                        let rd = pd.number(&r.doc, true, false, "when")?;
                        collection_index(&pd.docs[rd].2, r.doc.schema.name, path)?
                            .to_string()
                            .into_bytes()
                    }
                };
                args.to_mut()[r.at] = value;
            }
            let d = pd.number(
                item.doc,
                item.skip_missing,
                item.cond.is_none(),
                item.op.code,
            )?;
            if item.refresh
                && let Some(spec) = schema.refresh_spec(!is_read(item.op.code))
            {
                // one spec per model: a document's ops share it
                pd.flags[d].1 = Some(spec);
            }
            let index = match &item.op.target {
                Target::Root(_) => 1,
                Target::Collection(path) => collection_index(&pd.docs[d].2, schema.name, path)?,
            };
            let before = ops.len();
            if !binds.is_empty() {
                push_op(&mut ops, d, "bind", &Target::Root(String::new()), 1, &binds);
            }
            let mut guard = Vec::with_capacity(item.guard.len());
            if !item.guard.is_empty() {
                let mut gargs = Vec::with_capacity(item.guard.len() * 2);
                for (id, want) in item.guard {
                    let at = *cond_at.get(id).ok_or_else(|| {
                        Error::InvalidInput(
                            "a branch's condition is not part of this pipeline (it was split off)"
                                .into(),
                        )
                    })?;
                    guard.push((at, *want));
                    gargs.push(at.to_string().into_bytes());
                    gargs.push(if *want { b"1".to_vec() } else { b"0".to_vec() });
                }
                push_op(
                    &mut ops,
                    d,
                    "guard",
                    &Target::Root(String::new()),
                    1,
                    &gargs,
                );
            }
            if item.loop_id.is_some() && item.in_loop.is_some() {
                return Err(Error::InvalidInput("loops do not nest".into()));
            }
            let first = push_op(&mut ops, d, item.op.code, &item.op.target, index, &args);
            if let Some(id) = item.loop_id {
                // the body's length (its first argument) is filled in once it is planned
                loops.insert(id, (first, 0usize, d, index));
            }
            if let Some(id) = item.cond {
                cond_at.insert(id, ops.len());
            }
            results_at.insert(item.id, (ops.len(), item.op.yields, item.in_loop));
            if let Some(id) = item.in_loop {
                let (_, body, ld, lindex) = loops.get_mut(&id).ok_or_else(|| {
                    Error::InvalidInput("an op of a loop's body without its loop".into())
                })?;
                *body += ops.len() - before;
                if (*ld, *lindex) == (d, index) && !keeps_positions(item.op.code) {
                    return Err(Error::InvalidInput(format!(
                        "{} `{}`: a loop's body cannot `{}` the collection it loops over (only the element's own ops, appends and reads)",
                        schema.name, item.doc.id, item.op.code
                    )));
                }
            }
            item_ops.push((ops.len(), guard, item.in_loop.is_some()));
        }
        for (at, body, _, _) in loops.into_values() {
            op_args[at] = body.to_string().into_bytes();
        }
        let PlanDocs {
            env,
            docs,
            flags: doc_flags,
            named,
        } = pd;
        let named: Vec<Option<(&str, bool)>> = named
            .iter()
            .map(|n| n.as_ref().map(|(t, w)| (t.as_str(), *w)))
            .collect();
        let env = env.ok_or_else(|| Error::InvalidInput("empty plan".into()))?;
        if env.is_cluster() {
            let groups = crate::keys::group_by_slot(docs.iter().map(|(_, _, dk)| dk.root.as_str()));
            if groups.len() > 1 {
                return Err(Error::CrossSlot {
                    docs: docs
                        .iter()
                        .map(|(m, id, _)| format!("{m} `{id}`"))
                        .collect(),
                    slots: groups.len(),
                });
            }
        }
        let mut keys = Vec::new();
        let mut args = vec![docs.len().to_string().into_bytes()];
        for (((_, id, dk), (skip, refresh)), named) in docs.iter().zip(&doc_flags).zip(&named) {
            let before = keys.len();
            keys.push(dk.root.clone());
            keys.push(dk.ids.clone());
            keys.extend(dk.collections.iter().map(|(_, k)| k.clone()));
            // flags: "i" skip if missing; a named structure "c<tag>" (create on a write)
            // or "r<tag>" (reads only)
            args.push(match named {
                Some((tag, true)) => format!("c{tag}").into_bytes(),
                Some((tag, false)) => format!("r{tag}").into_bytes(),
                None if *skip => b"i".to_vec(),
                None => Vec::new(),
            });
            args.push(id.as_bytes().to_vec());
            args.push(refresh.as_deref().unwrap_or("0").as_bytes().to_vec());
            args.push((keys.len() - before).to_string().into_bytes());
            args.extend(dk.index_specs(keys.len() + 1));
            keys.extend(dk.indexes.iter().map(|ix| ix.key.clone()));
        }
        args.push(ops.len().to_string().into_bytes());
        args.extend(op_args);
        // pure reads that refresh no TTL run in the lean read script (same KEYS, ARGV and
        // reply); everything else in the executor
        let lean = ops.iter().all(|(_, code, _)| in_read_plan(code))
            && doc_flags.iter().all(|(_, refresh)| refresh.is_none());
        let script: &'static scripts::Script = if lean {
            &scripts::READ_PLAN
        } else {
            // only the kinds this plan's ops use (scripts/variants.rs)
            scripts::exec_for(ops.iter().map(|(_, code, _)| code))
        };
        let tags = named.iter().map(|n| n.map(|(t, _)| t.to_owned())).collect();
        Ok(Self {
            env,
            call: Invocation { script, keys, args },
            ops,
            docs,
            tags,
            items: item_ops,
        })
    }

    /// One value per op (`None`: its document was missing and skipped), or the error:
    /// `NotFound` for a missing document, `Rejected` naming the op that failed.
    pub(crate) fn results(&self, reply: Result<Value>) -> Result<Vec<Option<Value>>> {
        let reply = match reply {
            Err(Error::Redis(e)) if e.code() == Some("RAPYER") => {
                let detail = e.detail().unwrap_or_default();
                let (n, reason) = detail.split_once(' ').unwrap_or((detail, ""));
                let op = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.ops.get(i.wrapping_sub(1)));
                let Some((d, code, target)) = op else {
                    return Err(Error::Redis(e));
                };
                let (model, _, keys) = &self.docs[*d];
                let key = match target {
                    Target::Collection(p) => keys
                        .collections
                        .iter()
                        .find(|(q, _)| q == p)
                        .map(|(_, k)| k.clone())
                        .unwrap_or_else(|| keys.root.clone()),
                    Target::Root(_) => keys.root.clone(),
                };
                return Err(Error::Rejected {
                    model,
                    key,
                    field: target.path().to_owned(),
                    op: code,
                    reason: reason.to_owned(),
                });
            }
            other => other?,
        };
        let mut items = match reply {
            Value::Array(items) => items.into_iter(),
            other => return Err(unexpected("atomic operation", &other)),
        };
        match items.next() {
            Some(Value::Int(1)) => {
                let skipped: Vec<usize> = match items.next() {
                    Some(Value::Array(ds)) => ds
                        .into_iter()
                        .map(|v| int(v, "skipped").map(|d| d as usize - 1))
                        .collect::<Result<_>>()?,
                    _ => Vec::new(),
                };
                let values: Vec<Value> = items.collect();
                if values.len() != self.ops.len() {
                    return Err(unexpected("atomic operation", &Value::Array(values)));
                }
                let mut values: Vec<Option<Value>> = values
                    .into_iter()
                    .zip(&self.ops)
                    .map(|(v, (d, _, _))| match v {
                        // skipped: its document was missing, or a value it takes absent
                        _ if skipped.contains(d) => None,
                        Value::SimpleString(s) if s == "RAPYER_ABSENT" => None,
                        v => Some(v),
                    })
                    .collect();
                // an op whose branch did not run has no result (cond.lua's guards)
                let outcome = |at: usize| match values.get(at - 1) {
                    Some(Some(Value::Int(n))) => Some(*n == 1),
                    _ => None,
                };
                let ran: Vec<bool> = self
                    .items
                    .iter()
                    .map(|(_, guard, looped)| {
                        !looped && guard.iter().all(|(at, want)| outcome(*at) == Some(*want))
                    })
                    .collect();
                Ok(self
                    .items
                    .iter()
                    .zip(ran)
                    .map(|((at, _, _), ran)| if ran { values[at - 1].take() } else { None })
                    .collect())
            }
            Some(Value::Int(2)) => {
                let d = items
                    .next()
                    .map(|v| int(v, "structure"))
                    .transpose()?
                    .unwrap_or(1) as usize;
                let found = items
                    .next()
                    .map(|v| bytes(v, "structure tag"))
                    .transpose()?
                    .unwrap_or_default();
                let (_, name, keys) = self.docs.get(d.wrapping_sub(1)).unwrap_or(&self.docs[0]);
                Err(Error::WrongKind {
                    name: name.clone(),
                    key: keys.root.clone(),
                    expected: self
                        .tags
                        .get(d.wrapping_sub(1))
                        .cloned()
                        .flatten()
                        .unwrap_or_default(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                })
            }
            Some(Value::Int(0)) => {
                let d = items
                    .next()
                    .map(|v| int(v, "missing document"))
                    .transpose()?
                    .unwrap_or(1) as usize;
                let (model, id, keys) = self.docs.get(d.wrapping_sub(1)).unwrap_or(&self.docs[0]);
                Err(Error::NotFound {
                    model,
                    id: id.clone(),
                    key: keys.root.clone(),
                })
            }
            other => Err(unexpected(
                "atomic operation",
                other.as_ref().unwrap_or(&Value::Nil),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    /// `in_read_plan` names exactly the ops `read_plan.lua`'s source defines.
    #[test]
    fn the_read_plan_runs_the_ops_it_is_chosen_for() {
        let defined: Vec<&str> = crate::scripts::READ_PLAN
            .source
            .lines()
            .filter_map(|l| l.strip_prefix("OPS."))
            .filter_map(|l| l.split_once(" = ").map(|(code, _)| code))
            .collect();
        assert_eq!(defined, ["path_get"]);
        assert!(defined.iter().all(|c| super::in_read_plan(c)));
        assert!(!super::in_read_plan("path_set") && !super::in_read_plan("hget"));
    }
}
