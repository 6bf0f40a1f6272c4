//! Atomic field operations: typed handles, op plans, reply decoding and the local mirror.
//! Sans-IO; the mode shells run a [`Pending`] (`.await` or `.sync_run()`).
//!
//! Each operation is one `exec.lua` call: it checks that the document exists (no orphans),
//! applies the op to the value stored on the server, and replies with what the local copy
//! needs to end equal to Redis.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use redis::Value;

use crate::codec::{Element, Scalar, show};
use crate::error::{Error, Result};
use crate::plan::{Ctx, unexpected};
use crate::schema::ModelSchema;
use crate::scripts::{self, Invocation};
use std::sync::OnceLock;

/// The document an atomic handle addresses.
#[doc(hidden)]
#[derive(Debug)]
pub struct DocRef {
    pub(crate) schema: &'static ModelSchema,
    pub(crate) id: String,
}

impl DocRef {
    #[doc(hidden)]
    pub fn new(schema: &'static ModelSchema, id: String) -> Arc<Self> {
        Arc::new(Self { schema, id })
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
}

/// Reads the op's reply (`None`: the document is missing and the op was `if_exists`).
/// The local copy an atomic handle mirrors into (none for `Model::at(id)` handles).
/// Shared, so several ops of one pipeline may address the same field; applied in op
/// order after the server replied.
pub(crate) type Mirror<'a, T> = Option<Arc<parking_lot::Mutex<&'a mut T>>>;

/// Applies `f` to the local copy, if there is one.
fn mirror_apply<T>(local: Mirror<'_, T>, f: impl FnOnce(&mut T)) {
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
    fn new(
        doc: &Arc<DocRef>,
        code: &'static str,
        target: Target,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(Value) -> Result<R> + Send + 'a,
    ) -> Self {
        Self {
            doc: doc.clone(),
            op: Op { code, target, args },
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
            doc: &self.doc,
            op: &self.op,
            skip_missing: self.skip_missing,
            refresh: self.refresh,
        }])
    }

    /// Reads the script's reply.
    pub(crate) fn complete(self, plan: &ExecPlan, reply: Result<Value>) -> Result<R> {
        let mut values = plan.results(reply)?;
        (self.finish)(values.pop().flatten())
    }

    /// An op whose input was rejected before anything could be sent.
    fn rejected(doc: &Arc<DocRef>, target: Target, err: Error) -> Self {
        Self {
            doc: doc.clone(),
            op: Op {
                code: "get",
                target,
                args: vec![],
            },
            finish: Box::new(|_| unreachable_finish()),
            early: Some(err),
            skip_missing: false,
            refresh: false,
        }
    }
}

/// Maps the result of a pending op.
fn map_pending<'a, A: 'a, B>(
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

fn unreachable_finish<R>() -> Result<R> {
    Err(Error::InvalidInput(
        "operation was rejected before sending".into(),
    ))
}

/// Ops that only read (they refresh the TTL under a `read` policy, not `write`).
fn is_read(code: &str) -> bool {
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
    )
}

/// One `exec.lua` call over one or more documents, and how to read its reply.
pub(crate) struct ExecPlan {
    pub(crate) env: crate::env::Environment,
    pub(crate) call: Invocation,
    ops: Vec<(usize, &'static str, Target)>,
    docs: Vec<(&'static str, String, crate::keys::DocKeys)>,
}

/// What one op asks of the plan: its document, the op, whether a missing document is
/// skipped, whether it may refresh the TTL.
pub(crate) struct PlanItem<'p> {
    pub doc: &'p Arc<DocRef>,
    pub op: &'p Op,
    pub skip_missing: bool,
    pub refresh: bool,
}

impl ExecPlan {
    /// Groups `items` by document (in first-seen order) into one script call. All
    /// documents must resolve to the same environment.
    pub(crate) fn build(items: &[PlanItem<'_>]) -> Result<Self> {
        let mut env: Option<crate::env::Environment> = None;
        let mut docs: Vec<(&'static str, String, crate::keys::DocKeys)> = Vec::new();
        let mut doc_flags: Vec<(bool, Option<String>)> = Vec::new();
        let mut ops = Vec::with_capacity(items.len());
        let mut op_args: Vec<Vec<u8>> = Vec::new();
        for item in items {
            let schema = item.doc.schema;
            let d = match docs
                .iter()
                .position(|(m, id, _)| *m == schema.name && *id == item.doc.id)
            {
                Some(d) => {
                    // a doc skips only if every op on it asks to
                    doc_flags[d].0 &= item.skip_missing;
                    d
                }
                None => {
                    let ctx = Ctx::for_schema(schema)?;
                    match &env {
                        None => env = Some(ctx.env.clone()),
                        Some(e) if !e.same(&ctx.env) => {
                            return Err(Error::InvalidInput(format!(
                                "a pipeline runs in one environment; {} `{}` resolves to `{}`, not `{}`",
                                schema.name,
                                item.doc.id,
                                ctx.env.name(),
                                e.name()
                            )));
                        }
                        Some(_) => {}
                    }
                    docs.push((schema.name, item.doc.id.clone(), ctx.doc(&item.doc.id)?));
                    doc_flags.push((item.skip_missing, None));
                    docs.len() - 1
                }
            };
            if item.refresh
                && let Some(spec) = schema.refresh_spec(!is_read(item.op.code))
            {
                // one spec per model: a document's ops share it
                doc_flags[d].1 = Some(spec);
            }
            let index = match &item.op.target {
                Target::Root(_) => 1,
                Target::Collection(path) => {
                    let keys = &docs[d].2;
                    3 + keys
                        .collections
                        .iter()
                        .position(|(p, _)| p == path)
                        .ok_or_else(|| {
                            Error::InvalidInput(format!(
                                "{}: no collection field `{path}`",
                                schema.name
                            ))
                        })?
                }
            };
            let field = match &item.op.target {
                Target::Root(path) => path.as_str(),
                Target::Collection(_) => "",
            };
            op_args.push((d + 1).to_string().into_bytes());
            op_args.push(item.op.code.as_bytes().to_vec());
            op_args.push(index.to_string().into_bytes());
            op_args.push(field.as_bytes().to_vec());
            op_args.push(item.op.args.len().to_string().into_bytes());
            op_args.extend(item.op.args.iter().cloned());
            ops.push((d, item.op.code, item.op.target.clone()));
        }
        let env = env.ok_or_else(|| Error::InvalidInput("empty plan".into()))?;
        let mut keys = Vec::new();
        let mut args = vec![docs.len().to_string().into_bytes()];
        for ((_, id, dk), (skip, refresh)) in docs.iter().zip(&doc_flags) {
            let before = keys.len();
            keys.push(dk.root.clone());
            keys.push(dk.ids.clone());
            keys.extend(dk.collections.iter().map(|(_, k)| k.clone()));
            args.push(if *skip { b"i".to_vec() } else { Vec::new() });
            args.push(id.as_bytes().to_vec());
            args.push(refresh.as_deref().unwrap_or("0").as_bytes().to_vec());
            args.push((keys.len() - before).to_string().into_bytes());
            args.extend(dk.index_specs(keys.len() + 1));
            keys.extend(dk.indexes.iter().map(|ix| ix.key.clone()));
        }
        args.push(ops.len().to_string().into_bytes());
        args.extend(op_args);
        Ok(Self {
            env,
            call: Invocation {
                script: &scripts::EXEC,
                source: scripts::EXEC_SRC,
                keys,
                args,
            },
            ops,
            docs,
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
                Ok(values
                    .into_iter()
                    .zip(&self.ops)
                    .map(|(v, (d, _, _))| if skipped.contains(d) { None } else { Some(v) })
                    .collect())
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

fn bytes(v: Value, what: &str) -> Result<Vec<u8>> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        Value::Int(n) => Ok(n.to_string().into_bytes()),
        other => Err(unexpected(what, &other)),
    }
}

fn int(v: Value, what: &str) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(what, &other)),
    }
}

/// Decodes a value the server produced for field `path` of `doc`.
fn decode_as<T: Scalar>(doc: &DocRef, path: &str, raw: &[u8]) -> Result<T> {
    T::decode_scalar(raw).map_err(|reason| Error::Decode {
        model: doc.schema.name,
        key: format!("{} `{}`", doc.schema.name, doc.id),
        field: path.to_owned(),
        reason,
    })
}

/// Decodes a multi-bulk reply of elements (a list range, set members).
fn decode_elems<T: Element>(doc: &DocRef, path: &str, v: Value, what: &str) -> Result<Vec<T>> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .map(|v| decode_elem(doc, path, &bytes(v, what)?))
            .collect(),
        other => Err(unexpected(what, &other)),
    }
}

fn decode_elem<T: Element>(doc: &DocRef, path: &str, raw: &[u8]) -> Result<T> {
    T::decode_element(raw).map_err(|reason| Error::Decode {
        model: doc.schema.name,
        key: format!("{} `{}`", doc.schema.name, doc.id),
        field: path.to_owned(),
        reason: format!("element {}: {reason}", show(raw)),
    })
}

// ---- scalar fields -------------------------------------------------------------------------

/// Handle on a scalar field (`user.atomic().age`, `User::at(id).age`).
pub struct ScalarRef<'a, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, T>,
}

impl<T> fmt::Debug for ScalarRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ScalarRef({} `{}`.{})",
            self.doc.schema.name, self.doc.id, self.path
        )
    }
}

impl<'a, T: Scalar + Send + 'a> ScalarRef<'a, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut T>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }

    fn target(&self) -> Target {
        Target::Root(self.path.clone())
    }

    /// Op whose reply is the field's new stored text, decoded and mirrored locally.
    fn returning_value(&self, code: &'static str, args: Vec<Vec<u8>>) -> Pending<'a, T>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, code, Target::Root(path.clone()), args, move |v| {
            let raw = bytes(v, code)?;
            let value: T = decode_as(&d, &path, &raw)?;
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
    }

    /// Stores `value`.
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let bytes = value.encode_scalar();
        Pending::new(&doc, "set", Target::Root(path), vec![bytes], move |_| {
            mirror_apply(local, |local| {
                *local = value;
            });
            Ok(())
        })
    }

    /// Reads the stored value (and refreshes the local copy).
    pub fn get(&self) -> Pending<'a, T>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, "get", Target::Root(path.clone()), vec![], move |v| {
            let raw = match v {
                Value::Nil => {
                    return Err(Error::Decode {
                        model: d.schema.name,
                        key: format!("{} `{}`", d.schema.name, d.id),
                        field: path,
                        reason: "field is missing from the stored document".into(),
                    });
                }
                v => bytes(v, "get")?,
            };
            let value: T = decode_as(&d, &path, &raw)?;
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
    }
}

/// Numbers with atomic arithmetic: integers (operand `i64`; `incr` is exact over the
/// whole `i64` range, `mul`/`floordiv`/`modulo`/`pow`/`min`/`max` up to ±2^53) and
/// floats (operand `f64`).
pub trait AtomicNumber: Scalar + Copy + Send + Sync + 'static {
    /// The operand type of `incr`, `mul`.
    type Operand: Copy + Send + fmt::Debug;
    /// The exponent type of `pow`.
    type Exp: Copy + Send;
    #[doc(hidden)]
    fn op(kind: NumOp, operand: Self::Operand) -> Result<(&'static str, Vec<Vec<u8>>)>;
    #[doc(hidden)]
    fn exp_operand(exp: Self::Exp) -> Self::Operand;
}

/// The arithmetic a number field supports.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum NumOp {
    Incr,
    Mul,
    Pow,
    FloorDiv,
    Mod,
    Min,
    Max,
    Div,
}

/// Integer fields (`min`/`max` bounds of the Rust type are enforced on the server).
pub trait AtomicInt: AtomicNumber<Operand = i64, Exp = u32> {
    #[doc(hidden)]
    const BOUNDS: (&'static str, &'static str);
}

/// Decimal text of the integer bounds, computed at compile time.
const fn const_str(n: i128) -> &'static str {
    match n {
        -128 => "-128",
        127 => "127",
        255 => "255",
        -32768 => "-32768",
        32767 => "32767",
        65535 => "65535",
        -2147483648 => "-2147483648",
        2147483647 => "2147483647",
        4294967295 => "4294967295",
        -9223372036854775808 => "-9223372036854775808",
        9223372036854775807 => "9223372036854775807",
        18446744073709551615 => "18446744073709551615",
        0 => "0",
        _ => panic!("unsupported bound"),
    }
}

macro_rules! atomic_ints {
    ($($t:ty),*) => {$(
        impl AtomicInt for $t {
            const BOUNDS: (&'static str, &'static str) = {
                // the type's whole range: the server adds decimal texts exactly
                (const_str(<$t>::MIN as i128), const_str(<$t>::MAX as i128))
            };
        }
        impl AtomicNumber for $t {
            type Operand = i64;
            type Exp = u32;
            fn op(kind: NumOp, operand: i64) -> Result<(&'static str, Vec<Vec<u8>>)> {
                let code = match kind {
                    NumOp::Incr => "incr",
                    NumOp::Mul => "mul",
                    NumOp::Pow => "pow",
                    NumOp::FloorDiv => "floordiv",
                    NumOp::Mod => "mod",
                    NumOp::Min => "min",
                    NumOp::Max => "max",
                    NumOp::Div => return Err(Error::InvalidInput("div on an integer: use floordiv".into())),
                };
                let (min, max) = <$t as AtomicInt>::BOUNDS;
                Ok((code, vec![operand.to_string().into_bytes(), min.into(), max.into()]))
            }
            fn exp_operand(exp: u32) -> i64 {
                i64::from(exp)
            }
        }
    )*};
}
atomic_ints!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! atomic_floats {
    ($($t:ty),*) => {$(
        impl AtomicNumber for $t {
            type Operand = f64;
            type Exp = f64;
            fn op(kind: NumOp, operand: f64) -> Result<(&'static str, Vec<Vec<u8>>)> {
                if !operand.is_finite() {
                    return Err(Error::InvalidInput(format!("{kind:?} by non-finite {operand}")));
                }
                let code = match kind {
                    NumOp::Incr => "incrf",
                    NumOp::Mul => "mulf",
                    NumOp::Pow => "powf",
                    NumOp::Div => "divf",
                    other => return Err(Error::InvalidInput(format!("{other:?} on a float"))),
                };
                Ok((code, vec![format!("{operand:?}").into_bytes()]))
            }
            fn exp_operand(exp: f64) -> f64 {
                exp
            }
        }
    )*};
}
atomic_floats!(f32, f64);

// `mul`, `div`, `add`, `sub` are the operation names users look for; they take the handle
// by value and return a pending operation, so they cannot be confused with std::ops.
#[allow(clippy::should_implement_trait)]
impl<'a, T: AtomicNumber> ScalarRef<'a, T> {
    fn num_op(&self, kind: NumOp, operand: T::Operand) -> Pending<'a, T> {
        match T::op(kind, operand) {
            Ok((code, args)) => self.returning_value(code, args),
            Err(e) => {
                let target = self.target();
                Pending::rejected(&self.doc, target, e)
            }
        }
    }

    /// Adds `by` (negative to subtract); returns the new stored value. Integers refuse to
    /// leave their Rust type's range ([`Error::Rejected`], nothing changes).
    pub fn incr(&self, by: T::Operand) -> Pending<'a, T> {
        self.num_op(NumOp::Incr, by)
    }

    /// Multiplies by `by`; returns the new value.
    pub fn mul(&self, by: T::Operand) -> Pending<'a, T> {
        self.num_op(NumOp::Mul, by)
    }

    /// Raises to the power `exp`; returns the new value.
    pub fn pow(&self, exp: T::Exp) -> Pending<'a, T> {
        self.num_op(NumOp::Pow, T::exp_operand(exp))
    }
}

impl<'a, T: AtomicInt> ScalarRef<'a, T> {
    /// Subtracts `by`; returns the new value.
    pub fn decr(&self, by: i64) -> Pending<'a, T> {
        match by.checked_neg() {
            Some(neg) => self.num_op(NumOp::Incr, neg),
            None => {
                let target = self.target();
                Pending::rejected(
                    &self.doc,
                    target,
                    Error::InvalidInput("decr by i64::MIN overflows".into()),
                )
            }
        }
    }

    /// Floor division by `by` (rounds toward negative infinity, like Python's `//`).
    pub fn floordiv(&self, by: i64) -> Pending<'a, T> {
        self.num_op(NumOp::FloorDiv, by)
    }

    /// Remainder with the sign of `by` (like Python's `%`).
    pub fn modulo(&self, by: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Mod, by)
    }

    /// Stores the smaller of the stored value and `other`; returns it.
    pub fn min(&self, other: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Min, other)
    }

    /// Stores the larger of the stored value and `other`; returns it.
    pub fn max(&self, other: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Max, other)
    }
}

#[allow(clippy::should_implement_trait)]
impl<'a> ScalarRef<'a, f32> {
    /// Divides by `by` (division by zero is refused).
    pub fn div(&self, by: f64) -> Pending<'a, f32> {
        self.num_op(NumOp::Div, by)
    }
}

#[allow(clippy::should_implement_trait)]
impl<'a> ScalarRef<'a, f64> {
    /// Divides by `by` (division by zero is refused).
    pub fn div(&self, by: f64) -> Pending<'a, f64> {
        self.num_op(NumOp::Div, by)
    }
}

impl<'a> ScalarRef<'a, String> {
    /// Appends `suffix`; returns the whole new value.
    pub fn append(&self, suffix: &str) -> Pending<'a, String> {
        self.returning_value("append", vec![suffix.as_bytes().to_vec()])
    }

    /// Length in bytes of the stored value.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "strlen", self.target(), vec![], |v| {
            Ok(int(v, "strlen")?.max(0) as usize)
        })
    }
}

impl<'a> ScalarRef<'a, Vec<u8>> {
    /// Appends `suffix`; returns the whole new value.
    pub fn append(&self, suffix: &[u8]) -> Pending<'a, Vec<u8>> {
        self.returning_value("append", vec![suffix.to_vec()])
    }

    /// Length in bytes of the stored value.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "strlen", self.target(), vec![], |v| {
            Ok(int(v, "strlen")?.max(0) as usize)
        })
    }
}

impl<'a> ScalarRef<'a, bool> {
    /// Flips the stored value; returns the new value.
    pub fn toggle(&self) -> Pending<'a, bool> {
        self.returning_value("toggle", vec![])
    }
}

#[cfg(feature = "chrono")]
mod chrono_ops {
    use super::*;
    use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

    fn micros(d: TimeDelta) -> Option<i64> {
        d.num_microseconds()
    }

    macro_rules! datetime_ops {
        ($($t:ty),*) => {$(
            #[allow(clippy::should_implement_trait)]
            impl<'a> ScalarRef<'a, $t> {
                /// Adds a duration (exact to the microsecond); returns the new value.
                pub fn add(&self, d: TimeDelta) -> Pending<'a, $t> {
                    match micros(d) {
                        Some(m) => self.returning_value("incr", vec![m.to_string().into_bytes(), i64::MIN.to_string().into_bytes(), i64::MAX.to_string().into_bytes()]),
                        None => {
                            let target = self.target();
                            Pending::rejected(&self.doc, target, Error::InvalidInput("duration overflows i64 microseconds".into()))
                        }
                    }
                }

                /// Subtracts a duration; returns the new value.
                pub fn sub(&self, d: TimeDelta) -> Pending<'a, $t> {
                    self.add(-d)
                }
            }
        )*};
    }
    datetime_ops!(DateTime<Utc>, NaiveDateTime);
}

// ---- Option fields -------------------------------------------------------------------------

/// Handle on an `Option<T>` field (absent field = `None`).
pub struct OptionRef<'a, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, Option<T>>,
}

impl<'a, T: Scalar + Send + 'a> OptionRef<'a, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut Option<T>>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }

    /// Stores `value` (`None` removes the field).
    pub fn set(&self, value: Option<T>) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let (code, args) = match &value {
            Some(v) => ("set", vec![v.encode_scalar()]),
            None => ("clear", vec![]),
        };
        Pending::new(&doc, code, Target::Root(path), args, move |_| {
            mirror_apply(local, |local| {
                *local = value;
            });
            Ok(())
        })
    }

    /// Removes the field (`None`).
    pub fn clear(&self) -> Pending<'a, ()> {
        self.set(None)
    }

    /// Reads the stored value.
    pub fn get(&self) -> Pending<'a, Option<T>>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, "get", Target::Root(path.clone()), vec![], move |v| {
            let value = match v {
                Value::Nil => None,
                v => Some(decode_as::<T>(&d, &path, &bytes(v, "get")?)?),
            };
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
    }
}

// ---- lists ---------------------------------------------------------------------------------

/// A list-like container (`Vec<T>`, `VecDeque<T>`) whose local copy can be mirrored.
pub trait ListLike<T>: Send {
    #[doc(hidden)]
    fn list_len(&self) -> usize;
    #[doc(hidden)]
    fn list_push_back(&mut self, items: Vec<T>);
    #[doc(hidden)]
    fn list_push_front(&mut self, items: Vec<T>);
    #[doc(hidden)]
    fn list_pop_back(&mut self);
    #[doc(hidden)]
    fn list_pop_front(&mut self);
    #[doc(hidden)]
    fn list_replace(&mut self, items: Vec<T>);
}

impl<T: Send> ListLike<T> for Vec<T> {
    fn list_len(&self) -> usize {
        self.len()
    }
    fn list_push_back(&mut self, items: Vec<T>) {
        self.extend(items);
    }
    fn list_push_front(&mut self, items: Vec<T>) {
        self.splice(0..0, items);
    }
    fn list_pop_back(&mut self) {
        self.pop();
    }
    fn list_pop_front(&mut self) {
        if !self.is_empty() {
            self.remove(0);
        }
    }
    fn list_replace(&mut self, items: Vec<T>) {
        *self = items;
    }
}

impl<T: Send> ListLike<T> for VecDeque<T> {
    fn list_len(&self) -> usize {
        self.len()
    }
    fn list_push_back(&mut self, items: Vec<T>) {
        self.extend(items);
    }
    fn list_push_front(&mut self, items: Vec<T>) {
        for item in items.into_iter().rev() {
            self.push_front(item);
        }
    }
    fn list_pop_back(&mut self) {
        self.pop_back();
    }
    fn list_pop_front(&mut self) {
        self.pop_front();
    }
    fn list_replace(&mut self, items: Vec<T>) {
        *self = items.into();
    }
}

/// Handle on a list field (`Vec<T>`, `VecDeque<T>`).
pub struct ListRef<'a, C, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, C>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

/// Reads a list mutator's reply `{new_len, popped_or_nil, [whole list when stale]}`.
struct ListReply {
    len: usize,
    popped: Option<Vec<u8>>,
    whole: Option<Vec<Vec<u8>>>,
}

fn list_reply(v: Value) -> Result<ListReply> {
    let mut items = match v {
        Value::Array(items) => items.into_iter(),
        other => return Err(unexpected("list operation", &other)),
    };
    let len = int(items.next().unwrap_or(Value::Nil), "list length")?.max(0) as usize;
    let popped = match items.next() {
        None | Some(Value::Nil) => None,
        Some(v) => Some(bytes(v, "popped element")?),
    };
    let whole = match items.next() {
        Some(Value::Array(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "list"))
                .collect::<Result<_>>()?,
        ),
        None | Some(Value::Nil) => None,
        Some(other) => return Err(unexpected("list operation", &other)),
    };
    Ok(ListReply { len, popped, whole })
}

impl<'a, C: ListLike<T> + 'a, T: Element + Clone + Send + 'a> ListRef<'a, C, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut C>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _t: std::marker::PhantomData,
        }
    }

    fn target(&self) -> Target {
        Target::Collection(self.path.clone())
    }

    fn client_len(&self) -> Vec<u8> {
        // "-": a remote handle has no local copy to keep in step
        self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().list_len().to_string().into_bytes(),
        )
    }

    fn encode(&self, items: &[T]) -> Result<Vec<Vec<u8>>> {
        items
            .iter()
            .map(|v| {
                v.encode_element().map_err(|reason| Error::Encode {
                    model: self.doc.schema.name,
                    field: self.path.clone(),
                    reason,
                })
            })
            .collect()
    }

    /// Mirrors a mutator's reply into the local copy.
    fn mirror(
        doc: &DocRef,
        path: &str,
        local: Mirror<'_, C>,
        reply: &ListReply,
        apply: impl FnOnce(&mut C),
    ) -> Result<()> {
        if let Some(local) = local {
            let mut guard = local.lock();
            let local: &mut _ = &mut **guard;
            match &reply.whole {
                Some(all) => {
                    let items = all
                        .iter()
                        .map(|b| decode_elem(doc, path, b))
                        .collect::<Result<Vec<T>>>()?;
                    local.list_replace(items);
                }
                None => apply(local),
            }
        }
        Ok(())
    }

    fn push_op(&self, code: &'static str, items: Vec<T>) -> Pending<'a, usize> {
        let mut args = vec![self.client_len()];
        match self.encode(&items) {
            Ok(encoded) => args.extend(encoded),
            Err(e) => {
                let target = self.target();
                return Pending::rejected(&self.doc, target, e);
            }
        }
        if items.is_empty() {
            let target = self.target();
            return Pending::rejected(
                &self.doc,
                target,
                Error::InvalidInput(format!("{}: nothing to push", self.path)),
            );
        }
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            args,
            move |v| {
                let reply = list_reply(v)?;
                Self::mirror(&d, &path, local, &reply, |l| {
                    if code == "rpush" {
                        l.list_push_back(items)
                    } else {
                        l.list_push_front(items)
                    }
                })?;
                Ok(reply.len)
            },
        )
    }

    /// Appends `item`; returns the new length.
    pub fn push(&self, item: T) -> Pending<'a, usize> {
        self.push_op("rpush", vec![item])
    }

    /// Appends every item, in order; returns the new length.
    pub fn extend(&self, items: impl IntoIterator<Item = T>) -> Pending<'a, usize> {
        self.push_op("rpush", items.into_iter().collect())
    }

    /// Prepends `item`; returns the new length.
    pub fn push_front(&self, item: T) -> Pending<'a, usize> {
        self.push_op("lpush", vec![item])
    }

    fn pop_op(&self, code: &'static str) -> Pending<'a, T> {
        let args = vec![self.client_len()];
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            args,
            move |v| {
                let reply = list_reply(v)?;
                let raw = reply
                    .popped
                    .clone()
                    .ok_or_else(|| unexpected(code, &Value::Nil))?;
                let item: T = decode_elem(&d, &path, &raw)?;
                Self::mirror(&d, &path, local, &reply, |l| {
                    if code == "rpop" {
                        l.list_pop_back()
                    } else {
                        l.list_pop_front()
                    }
                })?;
                Ok(item)
            },
        )
    }

    /// Removes and returns the last item ([`Error::Rejected`] on an empty list).
    pub fn pop(&self) -> Pending<'a, T> {
        self.pop_op("rpop")
    }

    /// Removes and returns the first item ([`Error::Rejected`] on an empty list).
    pub fn pop_front(&self) -> Pending<'a, T> {
        self.pop_op("lpop")
    }

    /// A mutator whose local mirror is the whole list as the server holds it afterwards
    /// (client length -1 never matches, so the script always sends it; a remote handle
    /// sends "-" and gets no list).
    fn rewrite(&self, code: &'static str, args: Vec<Vec<u8>>) -> Pending<'a, i64> {
        let mut all = vec![if self.local.is_some() {
            b"-1".to_vec()
        } else {
            b"-".to_vec()
        }];
        all.extend(args);
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            code,
            Target::Collection(path.clone()),
            all,
            move |v| {
                let reply = list_reply(v)?;
                let extra = reply
                    .popped
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).parse::<i64>().unwrap_or(0))
                    .unwrap_or(0);
                Self::mirror(&d, &path, local, &reply, |_| {})?;
                Ok(extra)
            },
        )
    }

    /// Inserts `item` before position `index` (negative counts from the end; past the
    /// end appends), like `Vec::insert` without the panic.
    pub fn insert(&self, index: isize, item: T) -> Pending<'a, ()> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("linsert", vec![index.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |_| Ok(()))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes occurrences of `item`: `count > 0` the first `count` from the head,
    /// `count < 0` from the tail, `0` all. Returns how many were removed.
    pub fn remove(&self, item: T, count: i64) -> Pending<'a, usize> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("lrem", vec![count.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |n| Ok(n.max(0) as usize))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Replaces the item at `index` (negative counts from the end); [`Error::Rejected`]
    /// when out of range.
    pub fn set(&self, index: isize, item: T) -> Pending<'a, ()> {
        match self.encode(std::slice::from_ref(&item)) {
            Ok(mut b) => {
                let p = self.rewrite("lset", vec![index.to_string().into_bytes(), b.remove(0)]);
                map_pending(p, |_| Ok(()))
            }
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Keeps only positions `start..=stop` (Redis `LTRIM` semantics, negative from the end).
    pub fn trim(&self, start: isize, stop: isize) -> Pending<'a, ()> {
        let p = self.rewrite(
            "ltrim",
            vec![
                start.to_string().into_bytes(),
                stop.to_string().into_bytes(),
            ],
        );
        map_pending(p, |_| Ok(()))
    }

    /// The item at `index` (negative counts from the end), `None` when out of range.
    pub fn get(&self, index: isize) -> Pending<'a, Option<T>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(
            &doc,
            "lindex",
            self.target(),
            vec![index.to_string().into_bytes()],
            move |v| match v {
                Value::Nil => Ok(None),
                v => decode_elem(&d, &path, &bytes(v, "lindex")?).map(Some),
            },
        )
    }

    /// Items at positions `start..=stop` (Redis `LRANGE` semantics, negative from the end).
    pub fn range(&self, start: isize, stop: isize) -> Pending<'a, Vec<T>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        let args = vec![
            start.to_string().into_bytes(),
            stop.to_string().into_bytes(),
        ];
        Pending::new(&doc, "lrange", self.target(), args, move |v| {
            decode_elems(&d, &path, v, "lrange")
        })
    }

    /// Number of stored items.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "llen", self.target(), vec![], |v| {
            Ok(int(v, "llen")?.max(0) as usize)
        })
    }

    /// Every stored item (and refreshes the local copy).
    pub fn get_all(&self) -> Pending<'a, Vec<T>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "lrange",
            Target::Collection(path.clone()),
            vec![b"0".to_vec(), b"-1".to_vec()],
            move |v| {
                let items: Vec<T> = decode_elems(&d, &path, v, "lrange")?;
                mirror_apply(local, |local| {
                    local.list_replace(items.clone());
                });
                Ok(items)
            },
        )
    }

    /// Removes every item (the list key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.list_replace(Vec::new());
            });
            Ok(())
        })
    }
}

// ---- blobs ---------------------------------------------------------------------------------

/// Handle on a `#[rapyer(blob)]` field: atomic replacement.
pub struct BlobRef<'a, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, T>,
}

impl<'a, T: serde::Serialize + Send + 'a> BlobRef<'a, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut T>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }

    /// Stores `value` (msgpack).
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        match crate::codec::to_msgpack(&value) {
            Ok(bytes) => Pending::new(&doc, "set", Target::Root(path), vec![bytes], move |_| {
                mirror_apply(local, |local| {
                    *local = value;
                });
                Ok(())
            }),
            Err(reason) => {
                let err = Error::Encode {
                    model: doc.schema.name,
                    field: path.clone(),
                    reason,
                };
                Pending::rejected(&doc, Target::Root(path), err)
            }
        }
    }
}

// ---- maps and sets -------------------------------------------------------------------------

/// Reads a map/set mutator's reply `{new_len, extra_or_nil, [whole content when stale]}`.
struct CollReply {
    extra: Value,
    whole: Option<Vec<Vec<u8>>>,
}

fn coll_reply(v: Value) -> Result<CollReply> {
    let mut items = match v {
        Value::Array(items) => items.into_iter(),
        other => return Err(unexpected("collection operation", &other)),
    };
    let _len = items.next();
    let extra = items.next().unwrap_or(Value::Nil);
    let whole = match items.next() {
        Some(Value::Array(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        Some(Value::Map(all)) => Some(
            all.into_iter()
                .flat_map(|(k, v)| [k, v])
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        Some(Value::Set(all)) => Some(
            all.into_iter()
                .map(|v| bytes(v, "collection"))
                .collect::<Result<_>>()?,
        ),
        None | Some(Value::Nil) => None,
        Some(other) => return Err(unexpected("collection operation", &other)),
    };
    Ok(CollReply { extra, whole })
}

/// A map or set mutator: sends `client_len` and `args`, reads the reply with `finish`,
/// and mirrors into the local copy: `replace` from the whole content when the copy was
/// stale, else `apply`.
#[allow(clippy::too_many_arguments)]
fn coll_mutate<'a, C: Send + 'a, R: Send + 'a>(
    doc: &Arc<DocRef>,
    path: &str,
    local: Mirror<'a, C>,
    client_len: Vec<u8>,
    code: &'static str,
    args: Vec<Vec<u8>>,
    finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
    apply: impl FnOnce(&mut C, &R) + Send + 'a,
    replace: impl FnOnce(&DocRef, &str, &[Vec<u8>], &mut C) -> Result<()> + Send + 'a,
) -> Pending<'a, R> {
    let mut all = vec![client_len];
    all.extend(args);
    let (d, p) = (doc.clone(), path.to_owned());
    Pending::new(
        doc,
        code,
        Target::Collection(path.to_owned()),
        all,
        move |v| {
            let reply = coll_reply(v)?;
            let out = finish(&d, &p, reply.extra)?;
            if let Some(local) = local {
                let mut guard = local.lock();
                match &reply.whole {
                    Some(whole) => replace(&d, &p, whole, &mut guard)?,
                    None => apply(&mut guard, &out),
                }
            }
            Ok(out)
        },
    )
}

/// A map container whose local copy can be mirrored.
pub trait MapLike<K, V>: Send {
    #[doc(hidden)]
    fn map_len(&self) -> usize;
    #[doc(hidden)]
    fn map_insert(&mut self, k: K, v: V);
    #[doc(hidden)]
    fn map_remove(&mut self, k: &K);
    #[doc(hidden)]
    fn map_replace(&mut self, entries: Vec<(K, V)>);
}

impl<K: std::hash::Hash + Eq + Send, V: Send, S: std::hash::BuildHasher + Default + Send>
    MapLike<K, V> for std::collections::HashMap<K, V, S>
{
    fn map_len(&self) -> usize {
        self.len()
    }
    fn map_insert(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
    fn map_remove(&mut self, k: &K) {
        self.remove(k);
    }
    fn map_replace(&mut self, entries: Vec<(K, V)>) {
        *self = entries.into_iter().collect();
    }
}

impl<K: Ord + Send, V: Send> MapLike<K, V> for std::collections::BTreeMap<K, V> {
    fn map_len(&self) -> usize {
        self.len()
    }
    fn map_insert(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
    fn map_remove(&mut self, k: &K) {
        self.remove(k);
    }
    fn map_replace(&mut self, entries: Vec<(K, V)>) {
        *self = entries.into_iter().collect();
    }
}

/// Handle on a map field (`HashMap`, `BTreeMap`).
pub struct MapRef<'a, M, K, V> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, M>,
    pub(crate) _kv: std::marker::PhantomData<fn() -> (K, V)>,
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: crate::codec::MapKey + Clone + Send + 'a,
    V: Element + Clone + Send + 'a,
{
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut M>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _kv: std::marker::PhantomData,
        }
    }

    fn target(&self) -> Target {
        Target::Collection(self.path.clone())
    }

    fn client_len(&self) -> Vec<u8> {
        self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().map_len().to_string().into_bytes(),
        )
    }

    fn encode_value(&self, v: &V) -> Result<Vec<u8>> {
        v.encode_element().map_err(|reason| Error::Encode {
            model: self.doc.schema.name,
            field: self.path.clone(),
            reason,
        })
    }

    fn decode_whole(doc: &DocRef, path: &str, whole: &[Vec<u8>]) -> Result<Vec<(K, V)>> {
        whole
            .chunks_exact(2)
            .map(|kv| {
                Ok((
                    decode_as::<K>(doc, path, &kv[0])?,
                    decode_elem::<V>(doc, path, &kv[1])?,
                ))
            })
            .collect()
    }

    /// Runs a mutator and mirrors it: from the whole content when the local copy was
    /// stale, else by `apply`.
    fn mutate<R: Send + 'a>(
        &self,
        code: &'static str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
        apply: impl FnOnce(&mut M, &R) + Send + 'a,
    ) -> Pending<'a, R> {
        let replace = |d: &DocRef, p: &str, whole: &[Vec<u8>], m: &mut M| {
            m.map_replace(Self::decode_whole(d, p, whole)?);
            Ok(())
        };
        coll_mutate(
            &self.doc,
            &self.path,
            self.local.clone(),
            self.client_len(),
            code,
            args,
            finish,
            apply,
            replace,
        )
    }

    /// Sets entry `key` to `value`.
    pub fn set(&self, key: K, value: V) -> Pending<'a, ()> {
        self.update([(key, value)])
    }

    /// Sets every entry of `entries`.
    pub fn update(&self, entries: impl IntoIterator<Item = (K, V)>) -> Pending<'a, ()> {
        let entries: Vec<(K, V)> = entries.into_iter().collect();
        if entries.is_empty() {
            let t = self.target();
            return Pending::rejected(
                &self.doc,
                t,
                Error::InvalidInput(format!("{}: nothing to update", self.path)),
            );
        }
        let mut args = Vec::with_capacity(entries.len() * 2);
        for (k, v) in &entries {
            match self.encode_value(v) {
                Ok(b) => {
                    args.push(k.encode_scalar());
                    args.push(b);
                }
                Err(e) => {
                    let t = self.target();
                    return Pending::rejected(&self.doc, t, e);
                }
            }
        }
        self.mutate(
            "hset",
            args,
            |_, _, _| Ok(()),
            move |m, _| {
                for (k, v) in entries {
                    m.map_insert(k, v);
                }
            },
        )
    }

    /// Removes entry `key`; returns whether it existed.
    pub fn remove(&self, key: K) -> Pending<'a, bool> {
        let arg = key.encode_scalar();
        self.mutate(
            "hdel",
            vec![arg],
            |_, _, v| Ok(int(v, "hdel")? > 0),
            move |m, _| m.map_remove(&key),
        )
    }

    /// Removes entry `key` and returns its value ([`Error::Rejected`] when absent).
    pub fn pop(&self, key: K) -> Pending<'a, V> {
        let arg = key.encode_scalar();
        self.mutate(
            "hpop",
            vec![arg],
            |d, p, v| decode_elem(d, p, &bytes(v, "hpop")?),
            move |m, _| m.map_remove(&key),
        )
    }

    /// Removes and returns an arbitrary entry ([`Error::Rejected`] on an empty map).
    pub fn popitem(&self) -> Pending<'a, (K, V)> {
        self.mutate(
            "hpopitem",
            vec![],
            |d, p, v| match v {
                Value::Array(mut kv) if kv.len() == 2 => {
                    let val = bytes(kv.pop().unwrap_or(Value::Nil), "hpopitem")?;
                    let key = bytes(kv.pop().unwrap_or(Value::Nil), "hpopitem")?;
                    Ok((decode_as::<K>(d, p, &key)?, decode_elem::<V>(d, p, &val)?))
                }
                other => Err(unexpected("hpopitem", &other)),
            },
            |m, (k, _)| m.map_remove(k),
        )
    }

    /// Value of entry `key`, if any.
    pub fn get(&self, key: K) -> Pending<'a, Option<V>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(
            &doc,
            "hget",
            self.target(),
            vec![key.encode_scalar()],
            move |v| match v {
                Value::Nil => Ok(None),
                v => decode_elem(&d, &path, &bytes(v, "hget")?).map(Some),
            },
        )
    }

    /// Every key.
    pub fn keys(&self) -> Pending<'a, Vec<K>> {
        let doc = self.doc.clone();
        let path = self.path.clone();
        let d = doc.clone();
        Pending::new(&doc, "hkeys", self.target(), vec![], move |v| match v {
            Value::Array(items) => items
                .into_iter()
                .map(|v| decode_as(&d, &path, &bytes(v, "hkeys")?))
                .collect(),
            other => Err(unexpected("hkeys", &other)),
        })
    }

    /// Number of entries.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "hlen", self.target(), vec![], |v| {
            Ok(int(v, "hlen")?.max(0) as usize)
        })
    }

    /// Every entry (and refreshes the local copy).
    pub fn get_all(&self) -> Pending<'a, Vec<(K, V)>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "hgetall",
            Target::Collection(path.clone()),
            vec![],
            move |v| {
                let flat: Vec<Vec<u8>> = match v {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| bytes(v, "hgetall"))
                        .collect::<Result<_>>()?,
                    Value::Map(items) => items
                        .into_iter()
                        .flat_map(|(k, v)| [k, v])
                        .map(|v| bytes(v, "hgetall"))
                        .collect::<Result<_>>()?,
                    other => return Err(unexpected("hgetall", &other)),
                };
                let entries = Self::decode_whole(&d, &path, &flat)?;
                mirror_apply(local, |local| {
                    local.map_replace(entries.clone());
                });
                Ok(entries)
            },
        )
    }

    /// Removes every entry (the hash key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.map_replace(Vec::new());
            });
            Ok(())
        })
    }
}

impl<'a, M, K, V> MapRef<'a, M, K, V>
where
    M: MapLike<K, V> + 'a,
    K: crate::codec::MapKey + Clone + Send + 'a,
    V: AtomicInt + Element,
{
    /// Adds `by` to the integer value of entry `key` (created at 0); returns the new value.
    pub fn incr(&self, key: K, by: i64) -> Pending<'a, V> {
        let (min, max) = V::BOUNDS;
        let k = key.clone();
        self.mutate(
            "hincr",
            vec![
                k.encode_scalar(),
                by.to_string().into_bytes(),
                min.into(),
                max.into(),
            ],
            |d, p, v| decode_elem(d, p, &bytes(v, "hincr")?),
            move |m, v| m.map_insert(key, *v),
        )
    }
}

/// A set container whose local copy can be mirrored.
pub trait SetLike<T>: Send {
    #[doc(hidden)]
    fn set_len(&self) -> usize;
    #[doc(hidden)]
    fn set_insert(&mut self, v: T);
    #[doc(hidden)]
    fn set_remove(&mut self, v: &T);
    #[doc(hidden)]
    fn set_replace(&mut self, items: Vec<T>);
}

impl<T: std::hash::Hash + Eq + Send, S: std::hash::BuildHasher + Default + Send> SetLike<T>
    for std::collections::HashSet<T, S>
{
    fn set_len(&self) -> usize {
        self.len()
    }
    fn set_insert(&mut self, v: T) {
        self.insert(v);
    }
    fn set_remove(&mut self, v: &T) {
        self.remove(v);
    }
    fn set_replace(&mut self, items: Vec<T>) {
        *self = items.into_iter().collect();
    }
}

impl<T: Ord + Send> SetLike<T> for std::collections::BTreeSet<T> {
    fn set_len(&self) -> usize {
        self.len()
    }
    fn set_insert(&mut self, v: T) {
        self.insert(v);
    }
    fn set_remove(&mut self, v: &T) {
        self.remove(v);
    }
    fn set_replace(&mut self, items: Vec<T>) {
        *self = items.into_iter().collect();
    }
}

/// Handle on a set field (`HashSet`, `BTreeSet`).
pub struct SetRef<'a, S, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, S>,
    pub(crate) _t: std::marker::PhantomData<fn() -> T>,
}

#[allow(clippy::should_implement_trait)]
impl<'a, S: SetLike<T> + 'a, T: Element + Clone + Send + 'a> SetRef<'a, S, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut S>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
            _t: std::marker::PhantomData,
        }
    }

    fn target(&self) -> Target {
        Target::Collection(self.path.clone())
    }

    fn encode(&self, v: &T) -> Result<Vec<u8>> {
        v.encode_element().map_err(|reason| Error::Encode {
            model: self.doc.schema.name,
            field: self.path.clone(),
            reason,
        })
    }

    fn mutate<R: Send + 'a>(
        &self,
        code: &'static str,
        args: Vec<Vec<u8>>,
        finish: impl FnOnce(&DocRef, &str, Value) -> Result<R> + Send + 'a,
        apply: impl FnOnce(&mut S, &R) + Send + 'a,
    ) -> Pending<'a, R> {
        let client = self.local.as_ref().map_or_else(
            || b"-".to_vec(),
            |l| l.lock().set_len().to_string().into_bytes(),
        );
        let replace = |d: &DocRef, p: &str, whole: &[Vec<u8>], set: &mut S| {
            set.set_replace(
                whole
                    .iter()
                    .map(|b| decode_elem(d, p, b))
                    .collect::<Result<_>>()?,
            );
            Ok(())
        };
        coll_mutate(
            &self.doc,
            &self.path,
            self.local.clone(),
            client,
            code,
            args,
            finish,
            apply,
            replace,
        )
    }

    /// Adds `item`; returns whether it was new.
    pub fn add(&self, item: T) -> Pending<'a, bool> {
        match self.encode(&item) {
            Ok(b) => self.mutate(
                "sadd",
                vec![b],
                |_, _, v| Ok(int(v, "sadd")? > 0),
                move |s, _| s.set_insert(item),
            ),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes `item`; returns whether it was there.
    pub fn remove(&self, item: T) -> Pending<'a, bool> {
        match self.encode(&item) {
            Ok(b) => self.mutate(
                "srem",
                vec![b],
                |_, _, v| Ok(int(v, "srem")? > 0),
                move |s, _| s.set_remove(&item),
            ),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&self.doc, t, e)
            }
        }
    }

    /// Removes and returns an arbitrary member ([`Error::Rejected`] on an empty set).
    pub fn pop(&self) -> Pending<'a, T> {
        self.mutate(
            "spop",
            vec![],
            |d, p, v| decode_elem(d, p, &bytes(v, "spop")?),
            |s, v| s.set_remove(v),
        )
    }

    /// Whether `item` is a member.
    pub fn contains(&self, item: T) -> Pending<'a, bool> {
        let doc = self.doc.clone();
        match self.encode(&item) {
            Ok(b) => Pending::new(&doc, "sismember", self.target(), vec![b], |v| {
                Ok(int(v, "sismember")? == 1)
            }),
            Err(e) => {
                let t = self.target();
                Pending::rejected(&doc, t, e)
            }
        }
    }

    /// Number of members.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "scard", self.target(), vec![], |v| {
            Ok(int(v, "scard")?.max(0) as usize)
        })
    }

    /// Every member (and refreshes the local copy).
    pub fn members(&self) -> Pending<'a, Vec<T>> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(
            &doc,
            "smembers",
            Target::Collection(path.clone()),
            vec![],
            move |v| {
                let items: Vec<T> = decode_elems(&d, &path, v, "smembers")?;
                mirror_apply(local, |local| {
                    local.set_replace(items.clone());
                });
                Ok(items)
            },
        )
    }

    /// Removes every member (the set key goes away).
    pub fn clear(&self) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        Pending::new(&doc, "del", Target::Collection(path), vec![], move |_| {
            mirror_apply(local, |local| {
                local.set_replace(Vec::new());
            });
            Ok(())
        })
    }
}

// ---- pipelines -----------------------------------------------------------------------------

/// The result of one operation added to a [`Pipeline`], readable once the pipeline ran.
#[derive(Debug)]
pub struct Slot<R>(Arc<OnceLock<R>>);

impl<R> Clone for Slot<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<R> Slot<R> {
    /// The result, once the pipeline ran (`None` before, or when the op was skipped
    /// because its document was missing).
    pub fn get(&self) -> Option<&R> {
        self.0.get()
    }
}

type Entry<'a> = (
    PlanItemOwned,
    Box<dyn FnOnce(Option<Value>) -> Result<()> + Send + 'a>,
);

struct PlanItemOwned {
    doc: Arc<DocRef>,
    op: Op,
    skip_missing: bool,
    refresh: bool,
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
    early: Option<Error>,
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
            early: None,
        }
    }

    /// Adds an operation; its result is readable from the returned slot after the run.
    pub fn add<R: Send + Sync + 'static>(&mut self, op: Pending<'a, R>) -> Slot<R> {
        let slot = Slot(Arc::new(OnceLock::new()));
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
                doc,
                op,
                skip_missing,
                refresh,
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
                doc: &i.doc,
                op: &i.op,
                skip_missing: i.skip_missing || self.skip_missing,
                refresh: i.refresh,
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
