//! Conditional pipelines: conditions the server evaluates on stored values when the
//! program runs ([`Cond`]), branches ([`Pipeline::when`]) and which branch ran
//! ([`Branch`]). The server side is `cond.lua`: a `when` op evaluates a condition, a
//! `guard` op lets the op after it run only under the outcomes it names.

use std::ops::{BitAnd, BitOr, Not};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use redis::Value;

use super::context::Src;
use super::pipeline::Pipeline;
use super::{DocRef, Op, Slot, Target};
use crate::error::Result;

/// An argument the plan fills in (`at`: its index among the op's arguments).
#[derive(Debug, Clone)]
pub(crate) struct ArgRef {
    pub at: usize,
    pub doc: Arc<DocRef>,
    pub src: RefSrc,
}

/// What an [`ArgRef`] is filled with.
#[derive(Debug, Clone)]
pub(crate) enum RefSrc {
    /// The document's number in the plan.
    Doc,
    /// The index of the document's collection key at this path.
    Key(String),
    /// A value the server computes (in a condition: its spec; in an op: bound when the
    /// op runs).
    Value(Src),
}

/// Where a path condition reads (cond.lua's `p` / `w` locations): a loop's element, or a
/// document's root field (`container: None`), list element or map value; then msgpack
/// steps inside it.
#[derive(Debug, Clone)]
pub(crate) struct PathSpec {
    pub loop_elem: bool,
    pub field: String,
    /// A list element (`true`, its index) or a map value (`false`, its key's bytes).
    pub container: Option<(bool, Vec<u8>)>,
    pub steps: Vec<Vec<u8>>,
}

impl PathSpec {
    /// Its location tokens, on the condition's document `d`.
    fn toks(&self, d: usize) -> Vec<Tok> {
        let mut toks = if self.loop_elem {
            vec![lit("w")]
        } else {
            match &self.container {
                None => vec![
                    lit("p"),
                    Tok::Doc(d),
                    lit("1"),
                    lit("hash"),
                    lit(&self.field),
                ],
                Some((list, sel)) => vec![
                    lit("p"),
                    Tok::Doc(d),
                    Tok::Key(d, self.field.clone()),
                    lit(if *list { "list" } else { "hash" }),
                    Tok::Lit(sel.clone()),
                ],
            }
        };
        toks.push(lit(if self.steps.is_empty() { "t" } else { "m" }));
        toks.push(Tok::Lit(self.steps.len().to_string().into_bytes()));
        toks.extend(self.steps.iter().cloned().map(Tok::Lit));
        toks
    }
}

#[derive(Debug, Clone)]
enum Tok {
    Lit(Vec<u8>),
    /// The number of `refs[i]`.
    Doc(usize),
    /// The key index of `refs[i]`'s collection at the path.
    Key(usize, String),
    /// The spec of a computed value (of `refs[i]`'s document).
    Value(usize, Src),
}

/// A condition on stored values, evaluated by the server when the pipeline runs (not on
/// a local copy): comparisons of fields (`p.age.gt(17)`, `p.name.starts_with("a")`),
/// collection lengths (`p.tags.length().ge(3)`), a document's existence
/// ([`Cond::exists`]), combined with `&`, `|` and `!`. It may read any documents of the
/// pipeline's environment (on a Cluster: of one slot). A missing field satisfies only
/// `ne`; a missing collection has length 0. Integers compare exactly at any size.
#[derive(Debug, Clone)]
pub struct Cond {
    refs: Vec<Arc<DocRef>>,
    toks: Vec<Tok>,
    invalid: Option<String>,
    /// It reads inside stored msgpack values (tokens `p`, `w`).
    paths: bool,
}

fn lit(s: &str) -> Tok {
    Tok::Lit(s.as_bytes().to_vec())
}

/// Appends a comparison's tail to `toks`: kind ("n" numbers, "s" bytes), op, the
/// constants' count and the constants.
fn compare(toks: &mut Vec<Tok>, numeric: bool, op: &str, values: Vec<Vec<u8>>) {
    toks.push(lit(if numeric { "n" } else { "s" }));
    toks.push(lit(op));
    toks.push(Tok::Lit(values.len().to_string().into_bytes()));
    toks.extend(values.into_iter().map(Tok::Lit));
}

impl Cond {
    /// A condition reading only `doc`.
    fn on(doc: &Arc<DocRef>, toks: Vec<Tok>, paths: bool) -> Self {
        Self {
            refs: vec![doc.clone()],
            toks,
            invalid: None,
            paths,
        }
    }

    /// Field `path` of `doc` (a root hash field) compared by `op` with `values`; `numeric`
    /// compares as numbers, else as bytes.
    pub(crate) fn field(
        doc: &Arc<DocRef>,
        path: &str,
        numeric: bool,
        op: &str,
        values: Vec<Vec<u8>>,
    ) -> Self {
        let mut toks = vec![lit("f"), Tok::Doc(0), lit(path)];
        compare(&mut toks, numeric, op, values);
        Self::on(doc, toks, false)
    }

    /// Field `path` of `doc` compared by `op` with field `other_path` of `other`.
    pub(crate) fn fields(
        doc: &Arc<DocRef>,
        path: &str,
        numeric: bool,
        op: &str,
        other: &Arc<DocRef>,
        other_path: &str,
    ) -> Self {
        let same = doc.schema.name == other.schema.name && doc.id == other.id;
        let refs = if same {
            vec![doc.clone()]
        } else {
            vec![doc.clone(), other.clone()]
        };
        let toks = vec![
            lit("g"),
            Tok::Doc(0),
            lit(path),
            lit(if numeric { "n" } else { "s" }),
            lit(op),
            Tok::Doc(if same { 0 } else { 1 }),
            lit(other_path),
        ];
        Self {
            refs,
            toks,
            invalid: None,
            paths: false,
        }
    }

    /// The length of `doc`'s collection at `path` compared by `op` with `values`.
    pub(crate) fn length(doc: &Arc<DocRef>, path: &str, op: &str, values: &[u64]) -> Self {
        let mut toks = vec![lit("l"), Tok::Doc(0), Tok::Key(0, path.to_owned()), lit(op)];
        toks.push(Tok::Lit(values.len().to_string().into_bytes()));
        toks.extend(values.iter().map(|v| Tok::Lit(v.to_string().into_bytes())));
        Self::on(doc, toks, false)
    }

    /// A condition that cannot be built (bad input): the pipeline holding it is refused
    /// with [`Error::InvalidInput`] before anything is sent.
    pub(crate) fn invalid(doc: &Arc<DocRef>, reason: String) -> Self {
        Self {
            refs: vec![doc.clone()],
            toks: vec![lit("e"), Tok::Doc(0)],
            invalid: Some(reason),
            paths: false,
        }
    }

    /// Document `doc` exists.
    pub(crate) fn exists_doc(doc: &Arc<DocRef>) -> Self {
        Self::on(doc, vec![lit("e"), Tok::Doc(0)], false)
    }

    /// `doc`'s collection at `path` (a list or a set) holds `value`.
    pub(crate) fn member(doc: &Arc<DocRef>, path: &str, value: Vec<u8>) -> Self {
        let toks = vec![
            lit("m"),
            Tok::Doc(0),
            Tok::Key(0, path.to_owned()),
            Tok::Lit(value),
        ];
        Self::on(doc, toks, false)
    }

    /// A computed value ([`crate::Computed`]) of `doc`'s plan compared by `op`.
    pub(crate) fn computed(
        doc: &Arc<DocRef>,
        src: &Src,
        numeric: bool,
        op: &str,
        values: Vec<Vec<u8>>,
    ) -> Self {
        let mut toks = vec![lit("c"), Tok::Value(0, src.clone())];
        compare(&mut toks, numeric, op, values);
        Self::on(doc, toks, false)
    }

    /// The value at path `at` of `doc` compared by `op` with `values` (encoded as the path
    /// stores them: msgpack when it has steps).
    pub(crate) fn path(
        doc: &Arc<DocRef>,
        at: &PathSpec,
        numeric: bool,
        op: &str,
        values: Vec<Vec<u8>>,
    ) -> Self {
        let mut toks = at.toks(0);
        compare(&mut toks, numeric, op, values);
        Self::on(doc, toks, !at.steps.is_empty())
    }

    /// The value at path `at` of `doc` compared by `op` with the one at `other` of
    /// `other_doc` (either absent satisfies only `ne`).
    pub(crate) fn paths(
        doc: &Arc<DocRef>,
        at: &PathSpec,
        numeric: bool,
        op: &str,
        other_doc: &Arc<DocRef>,
        other: &PathSpec,
    ) -> Self {
        let same = doc.schema.name == other_doc.schema.name && doc.id == other_doc.id;
        let refs = if same {
            vec![doc.clone()]
        } else {
            vec![doc.clone(), other_doc.clone()]
        };
        let mut toks = vec![lit("q"), lit(if numeric { "n" } else { "s" }), lit(op)];
        toks.extend(at.toks(0));
        toks.extend(other.toks(if same { 0 } else { 1 }));
        Self {
            refs,
            toks,
            invalid: None,
            paths: !at.steps.is_empty() || !other.steps.is_empty(),
        }
    }

    /// Whether document `id` of model `M` exists.
    pub fn exists<M: crate::Model>(id: impl std::fmt::Display) -> Self {
        Self::exists_doc(&DocRef::new(M::schema(), id.to_string()))
    }

    /// `op` ("&", "|") over `self` and `other`.
    fn join(mut self, op: &str, other: Cond) -> Cond {
        let map: Vec<usize> = other
            .refs
            .iter()
            .map(|r| {
                match self
                    .refs
                    .iter()
                    .position(|s| s.schema.name == r.schema.name && s.id == r.id)
                {
                    Some(i) => i,
                    None => {
                        self.refs.push(r.clone());
                        self.refs.len() - 1
                    }
                }
            })
            .collect();
        let mut toks = vec![lit(op), lit("2")];
        toks.append(&mut self.toks);
        toks.extend(other.toks.into_iter().map(|t| match t {
            Tok::Doc(i) => Tok::Doc(map[i]),
            Tok::Key(i, p) => Tok::Key(map[i], p),
            Tok::Value(i, v) => Tok::Value(map[i], v),
            lit => lit,
        }));
        Cond {
            refs: self.refs,
            toks,
            invalid: self.invalid.or(other.invalid),
            paths: self.paths || other.paths,
        }
    }

    /// The `when` op evaluating this condition (on its first document); `whenp` when it
    /// reads inside stored values (its script holds the msgpack walker).
    pub(crate) fn into_op(self) -> (Arc<DocRef>, Op, Option<String>) {
        let mut args = Vec::with_capacity(self.toks.len());
        let mut refs = Vec::new();
        let paths = self.paths;
        for (at, t) in self.toks.into_iter().enumerate() {
            let (i, src) = match t {
                Tok::Lit(b) => {
                    args.push(b);
                    continue;
                }
                Tok::Doc(i) => (i, RefSrc::Doc),
                Tok::Key(i, path) => (i, RefSrc::Key(path)),
                Tok::Value(i, v) => (i, RefSrc::Value(v)),
            };
            args.push(Vec::new());
            refs.push(ArgRef {
                at,
                doc: self.refs[i].clone(),
                src,
            });
        }
        let op = Op {
            code: if paths { "whenp" } else { "when" },
            target: Target::Root(String::new()),
            args,
            refs,
            yields: Some(super::context::Yield {
                part: 0,
                absent: None,
            }),
        };
        (self.refs[0].clone(), op, self.invalid)
    }
}

impl BitAnd for Cond {
    type Output = Cond;
    fn bitand(self, other: Cond) -> Cond {
        self.join("&", other)
    }
}

impl BitOr for Cond {
    type Output = Cond;
    fn bitor(self, other: Cond) -> Cond {
        self.join("|", other)
    }
}

impl Not for Cond {
    type Output = Cond;
    fn not(mut self) -> Cond {
        self.toks.insert(0, lit("!"));
        self
    }
}

/// The length of a collection field, to compare (`p.tags.length().gt(2)`).
#[derive(Debug, Clone)]
pub struct Length {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
}

macro_rules! length_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, n: u64) -> Cond {
            Cond::length(&self.doc, &self.path, $op, &[n])
        }
    )*};
}

impl Length {
    length_cmp! {
        eq => "eq", "The collection holds exactly `n` items.";
        ne => "ne", "The collection does not hold exactly `n` items.";
        gt => "gt", "The collection holds more than `n` items.";
        ge => "ge", "The collection holds at least `n` items.";
        lt => "lt", "The collection holds fewer than `n` items.";
        le => "le", "The collection holds at most `n` items.";
    }

    /// The collection holds from `lo` to `hi` items (inclusive).
    pub fn between(&self, lo: u64, hi: u64) -> Cond {
        Cond::length(&self.doc, &self.path, "bw", &[lo, hi])
    }
}

/// Unique ids of conditions (a branch names the `when`s it runs under by id, so pipelines
/// can be joined).
static NEXT: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Which branch of a `when` chain ran, readable after the pipeline ran: its index
/// (0: `then`, 1…: each `else_when`, then `otherwise`), or `None` when none ran (no
/// condition held and there is no `otherwise`, the chain sat in a branch that did not
/// run, or the pipeline has not run).
#[derive(Debug, Clone)]
pub struct Branch {
    outcomes: Vec<Slot<bool>>,
    otherwise: Arc<AtomicBool>,
}

impl Branch {
    /// The index of the branch that ran.
    pub fn taken(&self) -> Option<usize> {
        for (i, s) in self.outcomes.iter().enumerate() {
            match s.get() {
                Some(true) => return Some(i),
                Some(false) => {}
                None => return None,
            }
        }
        self.otherwise
            .load(Ordering::Relaxed)
            .then_some(self.outcomes.len())
    }

    /// The outcome of each condition of the chain, in order (`None`: not evaluated).
    pub fn outcomes(&self) -> Vec<Option<bool>> {
        self.outcomes.iter().map(|s| s.get().copied()).collect()
    }
}

/// A `when` chain being built ([`Pipeline::when`]): `.then(..)`, any `.else_when(..)`,
/// an optional `.otherwise(..)`. Each branch's closure adds ops to the pipeline (nested
/// `when`s too); they run only when their branch is taken, on the server, in the same
/// atomic step.
pub struct When<'p, 'a> {
    pipe: &'p mut Pipeline<'a>,
    conds: Vec<u64>,
    branch: Branch,
}

impl std::fmt::Debug for When<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "When({} conditions)", self.conds.len())
    }
}

impl<'p, 'a> When<'p, 'a> {
    pub(crate) fn new(pipe: &'p mut Pipeline<'a>, cond: Cond) -> Self {
        let (id, slot) = pipe.add_when(cond);
        Self {
            pipe,
            conds: vec![id],
            branch: Branch {
                outcomes: vec![slot],
                otherwise: Arc::new(AtomicBool::new(false)),
            },
        }
    }

    /// The ops `f` adds run when the last condition so far held (and every earlier one of
    /// the chain did not).
    pub fn then<R>(self, f: impl FnOnce(&mut Pipeline<'a>) -> R) -> Self {
        let last = self.conds.len() - 1;
        let guard: Vec<(u64, bool)> = self
            .conds
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i == last))
            .collect();
        self.pipe.guarded(&guard, f);
        self
    }

    /// A further condition, evaluated only when none of the chain's earlier ones held;
    /// the ops `f` adds run when it holds.
    pub fn else_when<R>(mut self, cond: Cond, f: impl FnOnce(&mut Pipeline<'a>) -> R) -> Self {
        let none: Vec<(u64, bool)> = self.conds.iter().map(|c| (*c, false)).collect();
        let (id, slot) = self.pipe.guarded(&none, |p| p.add_when(cond));
        self.conds.push(id);
        self.branch.outcomes.push(slot);
        self.then(f)
    }

    /// The ops `f` adds run when no condition of the chain held.
    pub fn otherwise<R>(self, f: impl FnOnce(&mut Pipeline<'a>) -> R) -> Branch {
        let none: Vec<(u64, bool)> = self.conds.iter().map(|c| (*c, false)).collect();
        self.pipe.guarded(&none, f);
        self.branch.otherwise.store(true, Ordering::Relaxed);
        self.branch
    }

    /// Which branch ran, readable after the pipeline ran.
    pub fn branch(&self) -> Branch {
        self.branch.clone()
    }
}

/// The `when` op's result: whether the condition held (`None`: not evaluated).
pub(crate) fn outcome_finish(slot: Slot<bool>) -> impl FnOnce(Option<Value>) -> Result<()> + Send {
    move |v| {
        match v {
            Some(Value::Int(n)) => {
                let _ = slot.0.set(n == 1);
            }
            None => {}
            Some(other) => return Err(crate::error::unexpected("condition", &other)),
        }
        Ok(())
    }
}

pub(crate) fn new_slot<R>(id: u64, doc: &Arc<DocRef>) -> Slot<R> {
    Slot(
        Arc::new(OnceLock::new()),
        super::context::Origin {
            id,
            doc: doc.clone(),
        },
    )
}

/// A collection a pipeline can loop over ([`Pipeline::for_each`]): lists, sets and maps
/// (of scalars or of `#[derive(Element)]` structs).
pub trait LoopOver {
    /// The handle of the element the loop is at (conditions on it, `remove`).
    type Item;
    #[doc(hidden)]
    fn loop_target(&self) -> (Arc<DocRef>, String);
    #[doc(hidden)]
    fn loop_item(&self) -> Self::Item;
}
