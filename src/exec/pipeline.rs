//! Pipelines: many operations on one or more documents, one atomic `exec.lua` call.

use std::fmt;
use std::sync::{Arc, OnceLock};

use redis::Value;

use super::{DocRef, ExecPlan, Op, Pending, PlanItem};
use crate::error::{Error, Result};

// ---- pipelines -----------------------------------------------------------------------------

/// The result of one operation added to a [`Pipeline`], readable once the pipeline ran;
/// [`value`](Self::value) uses it inside the same program, on the server.
#[derive(Debug)]
pub struct Slot<R>(
    pub(crate) Arc<OnceLock<R>>,
    pub(crate) super::context::Origin,
);

impl<R> Clone for Slot<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), self.1.clone())
    }
}

impl<R> Slot<R> {
    /// The result, once the pipeline ran (`None` before, or when the op was skipped
    /// because its document was missing).
    pub fn get(&self) -> Option<&R> {
        self.0.get()
    }

    /// The op's result as the server computes it, for later ops and conditions of the
    /// same pipeline (pipeline context): `pipe.add(todo.jobs.pop())` then
    /// `done.jobs.push_value(&job.value())` moves the item on the server, in the same
    /// atomic step. Results of reads, increments, pops, lengths, `when`s (1/0) and loops
    /// (the elements visited) can be used; using another op's is
    /// [`Error::InvalidInput`] when the pipeline runs, as is using it in a pipeline that
    /// does not hold the op, or before it.
    pub fn value(&self) -> crate::Computed<R> {
        crate::Computed::new(self.1.doc.clone(), super::context::Src::Result(self.1.id))
    }
}

type Entry<'a> = (
    PlanItemOwned,
    Box<dyn FnOnce(Option<Value>) -> Result<()> + Send + 'a>,
);

pub(crate) struct PlanItemOwned {
    /// Its id (a slot's origin names it).
    id: u64,
    doc: Arc<DocRef>,
    op: Op,
    skip_missing: bool,
    refresh: bool,
    /// A `when` op: the id of its condition.
    cond: Option<u64>,
    /// The conditions (ids) and outcomes the op runs under.
    guard: Vec<(u64, bool)>,
    /// A `loop` op: its id.
    loop_id: Option<u64>,
    /// An op of a loop's body: the loop's id.
    in_loop: Option<u64>,
}

/// Many atomic operations, over one or many documents, applied in **one atomic round
/// trip**: all of them or none. Build it, then run it (`.sync_run()` / `.run().await`),
/// like a redis-rs pipeline; or use [`crate::Model`]'s `pipeline` / `sync_pipeline`.
///
/// Semantics: every op applies to the value stored on the server when the pipeline runs;
/// an op that fails (a refusal, a wrong type) aborts the whole pipeline with nothing
/// applied; a document that does not exist fails it with `NotFound` unless
/// [`skip_missing`](Self::skip_missing) is set. Local copies are updated from the
/// server's replies after success, and not at all on failure.
///
/// Nesting is explicit: a helper that takes `&mut Pipeline` adds to (joins) the caller's
/// pipeline; a helper that builds its own and runs it is a separate round trip;
/// [`join`](Self::join) moves another pipeline's ops into this one.
#[must_use = "a pipeline does nothing until it is run"]
pub struct Pipeline<'a> {
    entries: Vec<Entry<'a>>,
    skip_missing: bool,
    per_slot: bool,
    early: Option<Error>,
    /// The branch being built: the conditions (ids) and outcomes its ops run under.
    guards: Vec<(u64, bool)>,
    /// The loop whose body is being built.
    in_loop: Option<u64>,
}

impl fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "ops",
                &self
                    .entries
                    .iter()
                    .map(|(i, _)| (i.doc.schema.name, i.doc.id.as_str(), i.op.code))
                    .collect::<Vec<_>>(),
            )
            .field("skip_missing", &self.skip_missing)
            .finish()
    }
}

impl Default for Pipeline<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Pipeline<'a> {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            skip_missing: false,
            per_slot: false,
            early: None,
            guards: Vec::new(),
            in_loop: None,
        }
    }

    /// A loop over the elements of a list, set or map field, run by the server: `body`
    /// adds the ops to run for each element (`item`: conditions on the element and on its
    /// fields, `item.remove()`, writes to its fields, `item.value()` for other ops; over
    /// a map an [`Entry`](crate::Entry) with its `key()`; any other op and `when` too).
    /// The loop runs over the collection as it is when the loop starts: a list by
    /// position (removals shift the positions after them; body ops that would move them
    /// otherwise are refused), a set's members and a map's keys in byte order (one
    /// removed by an earlier iteration is skipped), so no element is skipped or visited
    /// twice. The slot holds how many elements the loop visited. Ops inside a loop run
    /// once per element: they have no single result (their slots stay empty, branch
    /// reports inside stay `None`) and mirror nothing into local copies. Loops do not
    /// nest; a loop over more than 10,000 elements is refused with nothing applied.
    ///
    /// ```no_run
    /// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
    /// use rapyer::sync::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone, Default)]
    /// struct Cart { id: Id, items: Vec<String>, removed: i64 }
    ///
    /// # let id = Id::new();
    /// let visited = rapyer::sync_pipeline(|pipe| {
    ///     let c = Cart::at(&id);
    ///     Ok(pipe.for_each(&c.items, |item, b| {
    ///         let _ = b.when(item.starts_with("expired:")).then(|b| {
    ///             b.add(item.remove());
    ///             b.add(c.removed.incr(1));
    ///         });
    ///     }))
    /// })?;
    /// println!("looked at {:?} items", visited.get());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "blocking"))] fn main() {}
    /// ```
    pub fn for_each<L: crate::exec::LoopOver>(
        &mut self,
        over: &L,
        body: impl FnOnce(&L::Item, &mut Pipeline<'a>),
    ) -> Slot<u64> {
        let id = super::cond::next_id();
        let (doc, path) = over.loop_target();
        let slot: Slot<u64> = super::cond::new_slot(id, &doc);
        if self.in_loop.is_some() {
            self.early
                .get_or_insert(Error::InvalidInput("loops do not nest".into()));
        }
        let out = slot.clone();
        self.entries.push((
            PlanItemOwned {
                id,
                doc,
                op: Op {
                    code: "loop",
                    target: super::Target::Collection(path),
                    args: vec![Vec::new()],
                    refs: Vec::new(),
                    yields: Some(super::context::Yield {
                        part: 0,
                        absent: None,
                    }),
                },
                skip_missing: false,
                refresh: true,
                cond: None,
                guard: self.guards.clone(),
                loop_id: Some(id),
                in_loop: self.in_loop,
            },
            Box::new(move |v: Option<Value>| {
                if let Some(Value::Int(n)) = v {
                    let _ = out.0.set(n.max(0) as u64);
                }
                Ok(())
            }),
        ));
        let item = over.loop_item();
        let outer = self.in_loop.replace(id);
        body(&item, self);
        self.in_loop = outer;
        slot
    }

    /// Starts a `when` chain: `cond` is evaluated by the server, on the values stored when
    /// the pipeline runs (after the ops added before it), and `.then(..)`,
    /// `.else_when(..)`, `.otherwise(..)` add the ops of each branch. Only the taken
    /// branch's ops run (and mirror into local copies); the whole pipeline stays one
    /// atomic script: a failure in any branch undoes everything.
    ///
    /// ```no_run
    /// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
    /// use rapyer::sync::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone, Default)]
    /// struct User { id: Id, age: i64, status: String, score: i64, badges: Vec<String> }
    ///
    /// let mut user = User { age: 20, score: 120, ..User::default() };
    /// user.sync_insert()?;
    /// let id = user.id.clone();
    /// let (adult, premium) = rapyer::sync_pipeline(|pipe| {
    ///     let u = User::at(&id);
    ///     let adult = pipe
    ///         .when(u.age.gt(17))
    ///         .then(|b| b.add(u.status.set("adult".into())))
    ///         .otherwise(|b| b.add(u.status.set("minor".into())));
    ///     let premium = pipe
    ///         .when(u.score.ge(100) & !u.status.eq("banned".into()))
    ///         .then(|b| {
    ///             b.add(u.badges.push("high_scorer".into()));
    ///         })
    ///         .branch();
    ///     Ok((adult, premium))
    /// })?;
    /// assert_eq!(adult.taken(), Some(0));     // `then` ran
    /// assert_eq!(premium.taken(), Some(0));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "blocking"))] fn main() {}
    /// ```
    #[must_use = "a condition without branches runs nothing"]
    pub fn when<'p>(&'p mut self, cond: crate::exec::Cond) -> crate::exec::When<'p, 'a> {
        crate::exec::When::new(self, cond)
    }

    /// Adds the `when` op of `cond` (under the current branch); its id and outcome slot.
    pub(crate) fn add_when(&mut self, cond: crate::exec::Cond) -> (u64, Slot<bool>) {
        let id = super::cond::next_id();
        let (doc, op, invalid) = cond.into_op();
        let slot = super::cond::new_slot(id, &doc);
        if let Some(reason) = invalid {
            self.early.get_or_insert(Error::InvalidInput(reason));
        }
        self.entries.push((
            PlanItemOwned {
                id,
                doc,
                op,
                skip_missing: true,
                refresh: true,
                cond: Some(id),
                guard: self.guards.clone(),
                loop_id: None,
                in_loop: self.in_loop,
            },
            Box::new(super::cond::outcome_finish(slot.clone())),
        ));
        (id, slot)
    }

    /// Runs `f` with `extra` added to the current branch's guard.
    pub(crate) fn guarded<R>(
        &mut self,
        extra: &[(u64, bool)],
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let depth = self.guards.len();
        self.guards.extend_from_slice(extra);
        let r = f(self);
        self.guards.truncate(depth);
        r
    }

    /// Adds an operation; its result is readable from the returned slot after the run.
    pub fn add<R: Send + Sync + 'static>(&mut self, op: Pending<'a, R>) -> Slot<R> {
        let id = super::cond::next_id();
        let slot = super::cond::new_slot(id, &op.doc);
        let Pending {
            doc,
            op,
            finish,
            early,
            skip_missing,
            refresh,
        } = op;
        if let Some(e) = early {
            self.early.get_or_insert(e);
        }
        let out = slot.clone();
        let handles_none = skip_missing;
        self.entries.push((
            PlanItemOwned {
                id,
                doc,
                op,
                skip_missing,
                refresh,
                cond: None,
                guard: self.guards.clone(),
                loop_id: None,
                in_loop: self.in_loop,
            },
            Box::new(move |v: Option<Value>| {
                if v.is_none() && !handles_none {
                    return Ok(()); // skipped with the pipeline's skip_missing: no mirror
                }
                let r = finish(v)?;
                let _ = out.0.set(r);
                Ok(())
            }),
        ));
        slot
    }

    /// Ops on documents that do not exist are skipped silently ("ignore if deleted")
    /// instead of failing the pipeline; nothing is created for them.
    pub fn skip_missing(&mut self) -> &mut Self {
        self.skip_missing = true;
        self
    }

    /// Moves every op of `other` into this pipeline (they run in this one's round trip).
    pub fn join(&mut self, other: Pipeline<'a>) -> &mut Self {
        if let Some(e) = other.early {
            self.early.get_or_insert(e);
        }
        self.skip_missing |= other.skip_missing;
        self.per_slot |= other.per_slot;
        self.entries.extend(other.entries);
        self
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no operation was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// On a Redis Cluster, runs the pipeline as one atomic script per slot instead of
    /// refusing documents in several slots ([`Error::CrossSlot`]): each slot's operations
    /// apply together or not at all, but one slot's may apply while another's fail (the
    /// slots run in the order their first operation was added, and the first failure
    /// stops the rest). On one server it changes nothing: the pipeline stays one atomic
    /// script.
    pub fn per_slot(&mut self) -> &mut Self {
        self.per_slot = true;
        self
    }

    /// The pipelines to run in turn: this one, or with [`per_slot`](Self::per_slot) on a
    /// cluster, one per slot (operations in their order).
    pub(crate) fn into_parts(self) -> Result<Vec<Pipeline<'a>>> {
        if !self.per_slot || self.early.is_some() || self.entries.is_empty() {
            return Ok(vec![self]);
        }
        let mut roots = Vec::with_capacity(self.entries.len());
        for (item, _) in &self.entries {
            let ctx = crate::context::Ctx::for_schema(item.doc.schema)?;
            if !ctx.env.is_cluster() {
                return Ok(vec![self]);
            }
            roots.push(ctx.doc(&item.doc.id)?.root);
        }
        let groups = crate::keys::group_by_slot(roots.iter().map(String::as_str));
        if groups.len() == 1 {
            return Ok(vec![self]);
        }
        if self
            .entries
            .iter()
            .any(|(i, _)| i.cond.is_some() || i.loop_id.is_some())
        {
            return Err(Error::InvalidInput(
                "a pipeline with conditions runs as one script: its documents must share one Cluster slot (per_slot cannot split it)".into(),
            ));
        }
        let mut slots: Vec<Option<Entry<'a>>> = self.entries.into_iter().map(Some).collect();
        Ok(groups
            .into_iter()
            .map(|group| Pipeline {
                entries: group.into_iter().filter_map(|i| slots[i].take()).collect(),
                skip_missing: self.skip_missing,
                per_slot: false,
                early: None,
                guards: Vec::new(),
                in_loop: None,
            })
            .collect())
    }

    /// The plan to send (`None` for an empty pipeline), or the input error found first.
    pub(crate) fn prepare(&mut self) -> Result<Option<ExecPlan>> {
        if let Some(e) = self.early.take() {
            return Err(e);
        }
        if self.entries.is_empty() {
            return Ok(None);
        }
        let items: Vec<PlanItem<'_>> = self
            .entries
            .iter()
            .map(|(i, _)| PlanItem {
                id: i.id,
                doc: &i.doc,
                op: &i.op,
                skip_missing: i.skip_missing || self.skip_missing,
                refresh: i.refresh,
                cond: i.cond,
                guard: &i.guard,
                loop_id: i.loop_id,
                in_loop: i.in_loop,
            })
            .collect();
        ExecPlan::build(&items).map(Some)
    }

    /// Applies the replies to every op's local mirror and slot.
    pub(crate) fn complete(self, plan: &ExecPlan, reply: Result<Value>) -> Result<()> {
        let values = plan.results(reply)?;
        for ((_, finish), v) in self.entries.into_iter().zip(values) {
            finish(v)?;
        }
        Ok(())
    }
}
