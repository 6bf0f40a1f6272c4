//! Cascading deletes, sans-IO (DESIGN §15): the affected set is planned from index reads
//! (one batch per level of the cascade: who refers to the documents deleted so far),
//! then applied by one script per server (per slot on a cluster) that first checks every
//! index read it planned from again, and writes everything or nothing. A check that no
//! longer holds (a concurrent write added or removed a reference) makes the client plan
//! again, a bounded number of times.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

use redis::Value;

use crate::context::Ctx;
use crate::error::{Error, Result, unexpected};
use crate::relation::inverse::Inverse;
use crate::schema::{FieldSchema, ModelSchema, OnDelete};
use crate::scripts::{self, Invocation};

/// How many times a cascade is planned before it gives up with [`Error::Conflict`].
pub(crate) const ATTEMPTS: u32 = 5;

pub(crate) use super::apply::{Apply, Part, applied, null_kind, outcome, part_of, removal_calls};

/// The strategy of each relation in a cascading delete ([`crate::Model::delete_with`]):
/// per relation name (the declared inverse, `"books"` or `"Author.books"`, or the
/// referring field, `"Book.author"`), else the one for every relation ([`Cascade::all`]),
/// else the field's declared `#[rapyer(on_delete = "…")]`, else [`OnDelete::Restrict`].
/// The rules apply at every level the cascade reaches.
///
/// ```
/// use rapyer::{Cascade, OnDelete};
///
/// let c = Cascade::map([("books", OnDelete::Nullify), ("Profile.owner", OnDelete::Delete)]);
/// let d = Cascade::declared().on("reviews", OnDelete::Delete);
/// let all = Cascade::all(OnDelete::Delete);
/// # let _ = (c, d, all);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cascade {
    rules: Vec<(String, OnDelete)>,
    all: Option<OnDelete>,
}

impl Cascade {
    /// Each relation as its field declares (`on_delete`; `Restrict` when not declared).
    pub fn declared() -> Self {
        Self::default()
    }

    /// `strategy` for every relation not named otherwise.
    pub fn all(strategy: OnDelete) -> Self {
        Self {
            rules: Vec::new(),
            all: Some(strategy),
        }
    }

    /// A strategy per relation name; the others as declared.
    pub fn map<I, S>(rules: I) -> Self
    where
        I: IntoIterator<Item = (S, OnDelete)>,
        S: Into<String>,
    {
        Self {
            rules: rules.into_iter().map(|(n, s)| (n.into(), s)).collect(),
            all: None,
        }
    }

    /// `strategy` for the relation named `relation`.
    pub fn on(mut self, relation: impl Into<String>, strategy: OnDelete) -> Self {
        self.rules.push((relation.into(), strategy));
        self
    }

    fn strategy(&self, target: &ModelSchema, inv: &Inverse) -> OnDelete {
        self.rules
            .iter()
            .rev()
            .find(|(name, _)| inv.is_named(target, name))
            .map(|(_, s)| *s)
            .or(self.all)
            .unwrap_or_else(|| inv.on_delete())
    }

    /// Every relation of `schema` this cascade nullifies can be nullified.
    fn nullable(&self, schema: &'static ModelSchema) -> Result<()> {
        for inverse in schema.inverses() {
            if self.strategy(schema, inverse) == OnDelete::Nullify
                && null_kind(inverse.field).is_none()
            {
                return Err(Error::InvalidInput(format!(
                    "cannot nullify {}: a required ForeignKey<{}> has no empty value (make it Option<ForeignKey<{}>>, or delete with OnDelete::Delete or Restrict for `{}`)",
                    inverse.qualified(),
                    schema.name,
                    schema.name,
                    inverse.name()
                )));
            }
        }
        Ok(())
    }

    /// Every rule names a relation of some model of the program.
    fn check(&self, root: &'static ModelSchema) -> Result<()> {
        for (name, _) in &self.rules {
            let known = crate::registry::all_schemas()
                .iter()
                .any(|s| s.inverses().iter().any(|i| i.is_named(s, name)));
            if !known {
                let names: Vec<String> = root.inverses().iter().map(Inverse::name).collect();
                return Err(Error::InvalidInput(format!(
                    "cascade rule `{name}` names no relation (relations referring to {}: {})",
                    root.name,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

/// A delete of documents with what refers to them, from
/// [`Model::delete_with`](crate::Model::delete_with) or
/// [`Model::delete_many_with`](crate::Model::delete_many_with); run it with `sync_run()`
/// (blocking) or `run()` (async).
///
/// - Planning reads one batch per level of the cascade (who refers to what is deleted so
///   far, from the foreign-key indexes: never a scan); then one script applies the plan
///   after checking every one of those reads again, all or nothing. When a concurrent
///   write changed what was read, the cascade is planned again (up to 5 times, then
///   [`Error::Conflict`]). So a document that refers to a deleted one never remains.
/// - `Restrict` refuses with [`Error::RelationViolation`] (the relation and up to 10
///   referring ids) and deletes nothing; `Nullify` removes the references; `Delete`
///   deletes the referring documents, each as its own relations say.
/// - On a Redis Cluster each slot's part is one script: atomic per slot, not across
///   slots (`#[rapyer(colocate = "…")]` puts related models in one slot). Documents of
///   models pinned to other environments are handled in their environment, atomic per
///   environment.
#[must_use = "a CascadeDelete does nothing until it is run (`sync_run()` / `run()`)"]
pub struct CascadeDelete<M> {
    pub(crate) ids: Vec<String>,
    pub(crate) cascade: Cascade,
    _m: PhantomData<fn() -> M>,
}

impl<M> CascadeDelete<M> {
    pub(crate) fn new(ids: Vec<String>, cascade: Cascade) -> Self {
        Self {
            ids,
            cascade,
            _m: PhantomData,
        }
    }
}

/// What a cascading delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CascadeReport {
    /// Every document deleted that existed, as `(model, id)`.
    pub deleted: Vec<(&'static str, String)>,
    /// Every reference removed (`Nullify`), as `(model, id, field)` of the referring
    /// document (once per field and id referred to).
    pub nullified: Vec<(&'static str, String, String)>,
    /// How many times the cascade was planned (1 unless concurrent writes changed what
    /// the plan read).
    pub attempts: u32,
}

pub(crate) struct Check {
    pub(crate) source: &'static ModelSchema,
    pub(crate) shard: u32,
    pub(crate) field: &'static FieldSchema,
    pub(crate) value: String,
    pub(crate) expected: Vec<String>,
}

pub(crate) struct Null {
    pub(crate) source: &'static ModelSchema,
    pub(crate) field: &'static FieldSchema,
    pub(crate) id: String,
    pub(crate) target: String,
}

struct Question {
    inverse: &'static Inverse,
    strategy: OnDelete,
    target: (&'static ModelSchema, String),
    shard: u32,
}

/// One batch call of a planning level: who refers to some documents, in one shard of
/// one referring model.
pub(crate) struct RefCall {
    pub call: Invocation,
    source: &'static str,
    questions: Vec<Question>,
}

/// A planned cascade, level by level.
pub(crate) struct Planner {
    cascade: Cascade,
    ctxs: HashMap<&'static str, Ctx>,
    doomed: Vec<(&'static ModelSchema, String)>,
    doomed_set: HashSet<(&'static str, String)>,
    frontier: Vec<usize>,
    checks: Vec<Check>,
    nulls: Vec<Null>,
    restricted: Vec<(&'static Inverse, &'static ModelSchema, String, Vec<String>)>,
}

impl Planner {
    pub(crate) fn new(
        root: &'static ModelSchema,
        ids: &[String],
        cascade: &Cascade,
    ) -> Result<Self> {
        cascade.check(root)?;
        let mut p = Self {
            cascade: cascade.clone(),
            ctxs: HashMap::new(),
            doomed: Vec::new(),
            doomed_set: HashSet::new(),
            frontier: Vec::new(),
            checks: Vec::new(),
            nulls: Vec::new(),
            restricted: Vec::new(),
        };
        for id in ids {
            p.ctx(root)?.doc_id(id)?;
            p.doom(root, id.clone());
        }
        Ok(p)
    }

    fn ctx(&mut self, schema: &'static ModelSchema) -> Result<&Ctx> {
        if !self.ctxs.contains_key(schema.name) {
            self.ctxs.insert(schema.name, Ctx::for_schema(schema)?);
        }
        Ok(&self.ctxs[schema.name])
    }

    fn doom(&mut self, schema: &'static ModelSchema, id: String) {
        if self.doomed_set.insert((schema.name, id.clone())) {
            self.frontier.push(self.doomed.len());
            self.doomed.push((schema, id));
        }
    }

    /// Whether a level has documents whose referrers are not read yet.
    pub(crate) fn pending(&self) -> bool {
        !self.frontier.is_empty()
    }

    /// The environment a call goes to.
    pub(crate) fn env_of(&self, c: &RefCall) -> &crate::env::Environment {
        &self.ctxs[c.source].env
    }

    /// The reads of the next level: per referring model and shard, one call asking who
    /// refers to each document of the level.
    pub(crate) fn level(&mut self) -> Result<Vec<RefCall>> {
        let mut questions: Vec<Question> = Vec::new();
        for at in std::mem::take(&mut self.frontier) {
            let (schema, id) = self.doomed[at].clone();
            schema.check_inverses()?;
            self.cascade.nullable(schema)?;
            for inverse in schema.inverses() {
                let strategy = self.cascade.strategy(schema, inverse);
                for shard in 0..inverse.source.shards.max(1) {
                    questions.push(Question {
                        inverse,
                        strategy,
                        target: (schema, id.clone()),
                        shard,
                    });
                }
            }
        }
        let mut calls: Vec<RefCall> = Vec::new();
        for q in questions {
            let source = q.inverse.source;
            let ctx = self.ctx(source)?;
            let ids_key = ctx.keys.ids(q.shard);
            let index = ctx.keys.index(q.shard, &q.inverse.field.path);
            let at = calls
                .iter()
                .position(|c| c.source == source.name && c.call.keys[0] == ids_key);
            let call = match at {
                Some(i) => &mut calls[i],
                None => {
                    calls.push(RefCall {
                        call: Invocation {
                            script: &scripts::REFS,
                            keys: vec![ids_key],
                            args: Vec::new(),
                        },
                        source: source.name,
                        questions: Vec::new(),
                    });
                    calls.last_mut().expect("just pushed")
                }
            };
            let pos = match call.call.keys.iter().position(|k| *k == index) {
                Some(p) => p + 1,
                None => {
                    call.call.keys.push(index);
                    call.call.keys.len()
                }
            };
            call.call.args.push(pos.to_string().into_bytes());
            call.call.args.push(q.target.1.clone().into_bytes());
            call.questions.push(q);
        }
        Ok(calls)
    }

    /// Takes the reply of a planning call.
    pub(crate) fn absorb(&mut self, c: RefCall, reply: Value) -> Result<()> {
        let Value::Array(answers) = reply else {
            return Err(unexpected("refs", &reply));
        };
        if answers.len() != c.questions.len() {
            return Err(unexpected("refs", &Value::Array(answers)));
        }
        for (q, answer) in c.questions.into_iter().zip(answers) {
            let ids = id_list(answer)?;
            let source = q.inverse.source;
            match q.strategy {
                OnDelete::Restrict if !ids.is_empty() => {
                    self.restricted
                        .push((q.inverse, q.target.0, q.target.1.clone(), ids.clone()));
                }
                OnDelete::Restrict => {}
                OnDelete::Nullify => {
                    for id in &ids {
                        self.nulls.push(Null {
                            source,
                            field: q.inverse.field,
                            id: id.clone(),
                            target: q.target.1.clone(),
                        });
                    }
                }
                OnDelete::Delete => {
                    for id in &ids {
                        self.doom(source, id.clone());
                    }
                }
            }
            self.checks.push(Check {
                source,
                shard: q.shard,
                field: q.inverse.field,
                value: q.target.1,
                expected: ids,
            });
        }
        Ok(())
    }

    /// After the last level: a `Restrict` relation still referred to by a document the
    /// cascade does not delete refuses the whole delete.
    pub(crate) fn restrictions(&self) -> Result<()> {
        for (inverse, target, id, ids) in &self.restricted {
            let left: Vec<&String> = ids
                .iter()
                .filter(|i| {
                    !self
                        .doomed_set
                        .contains(&(inverse.source.name, (*i).clone()))
                })
                .collect();
            if !left.is_empty() {
                return Err(Error::RelationViolation {
                    model: target.name,
                    id: id.clone(),
                    relation: inverse.name(),
                    referring: inverse.source.name,
                    ids: left.iter().take(10).map(|s| (*s).clone()).collect(),
                    total: left.len(),
                });
            }
        }
        Ok(())
    }

    /// The apply scripts: one per environment, and per slot on a cluster. The part
    /// holding the documents asked goes last.
    pub(crate) fn apply(&self) -> Result<Vec<Apply>> {
        let mut parts: Vec<Part> = Vec::new();
        // the documents asked first: their part is found first and moved last
        for (schema, id) in &self.doomed {
            let ctx = &self.ctxs[schema.name];
            let doc = ctx.keys.doc(schema, id);
            let i = part_of(&mut parts, ctx, &doc.root);
            parts[i].delete(schema, id, &doc);
        }
        for c in &self.checks {
            let ctx = &self.ctxs[c.source.name];
            let ids = ctx.keys.ids(c.shard);
            let i = part_of(&mut parts, ctx, &ids);
            parts[i].check(ctx, c);
        }
        for n in &self.nulls {
            if self.doomed_set.contains(&(n.source.name, n.id.clone())) {
                continue;
            }
            let ctx = &self.ctxs[n.source.name];
            let doc = ctx.keys.doc(n.source, &n.id);
            let i = part_of(&mut parts, ctx, &doc.root);
            parts[i].null(n, &doc);
        }
        if !parts.is_empty() {
            let first = parts.remove(0);
            parts.push(first);
        }
        Ok(parts.into_iter().map(Part::finish).collect())
    }
}

/// How long a fence stands at most (a client that dies mid-cascade leaves it this long).
pub(crate) const FENCE_MS: u64 = 10_000;

/// The fences a cascading delete of `ids` of `root` sets first, when a relation to it is
/// `must_exist` and not `Restrict`: while they stand, an insert referring to one of the
/// documents is refused, so the referring set stops growing and the plan converges. One
/// environment (the root model's), its fence keys.
pub(crate) fn fences(
    root: &'static ModelSchema,
    ids: &[String],
    cascade: &Cascade,
) -> Result<Option<(crate::env::Environment, Vec<String>)>> {
    // bad input is refused before the fences go up
    Planner::new(root, ids, cascade)?;
    root.check_inverses()?;
    cascade.nullable(root)?;
    let fenced = root
        .inverses()
        .iter()
        .any(|i| i.info.must_exist() && cascade.strategy(root, i) != OnDelete::Restrict);
    if !fenced {
        return Ok(None);
    }
    let ctx = Ctx::for_schema(root)?;
    let keys = ids.iter().map(|id| ctx.keys.fence(id)).collect();
    Ok(Some((ctx.env, keys)))
}

/// The ids of one `refs` answer.
fn id_list(answer: Value) -> Result<Vec<String>> {
    let Value::Array(items) = answer else {
        return Err(unexpected("refs", &answer));
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::BulkString(b) => String::from_utf8(b)
                .map_err(|e| unexpected("refs", &Value::BulkString(e.into_bytes()))),
            other => Err(unexpected("refs", &other)),
        })
        .collect()
}

impl crate::relation::Levels for Planner {
    type Call = RefCall;
    fn calls(&mut self) -> Result<Vec<RefCall>> {
        self.level()
    }
    fn env_of(&self, call: &RefCall) -> &crate::env::Environment {
        Planner::env_of(self, call)
    }
    fn invocation(call: &RefCall) -> &crate::scripts::Invocation {
        &call.call
    }
    fn absorb(&mut self, call: RefCall, reply: Value) -> Result<()> {
        Planner::absorb(self, call, reply)
    }
}
