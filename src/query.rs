//! Typed query expressions, their plan (one `query.lua` call per shard), the merge of the
//! shards' pages, and the client-side re-check ("the index narrows, the document
//! decides"). Sans-IO.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use redis::Value;

use crate::codec::{FieldPath, Scalar};
use crate::context::Ctx;
use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::field::Indexable;
use crate::schema::IndexKind;
use crate::scripts::{self, Invocation};

/// A query value accepted for a field of type `T`: the field's own type, and `&str` for
/// strings. A value of another type does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a field of type `{V}`",
    label = "wrong value type for this field",
    note = "query values have the field's own type (`&str` is accepted for `String`)"
)]
pub trait QueryArg<V> {
    /// The value.
    fn into_value(self) -> V;
}

impl<V: Scalar> QueryArg<V> for V {
    fn into_value(self) -> V {
        self
    }
}

impl QueryArg<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl QueryArg<String> for &String {
    fn into_value(self) -> String {
        self.clone()
    }
}

/// The comparison of one predicate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    Between,
    Prefix,
}

/// One indexed-field predicate: path, index kind, comparison, stored-form operands;
/// `multi`: the field is a collection and any element may match (`contains`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pred {
    pub(crate) path: String,
    pub(crate) kind: IndexKind,
    pub(crate) cmp: Cmp,
    pub(crate) a: Vec<u8>,
    pub(crate) b: Vec<u8>,
    pub(crate) multi: bool,
}

/// A query expression over indexed fields: build it from typed paths
/// (`User::fields().age.gt(25)`), combine with `&`, `|`, `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(pub(crate) Node);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    All,
    Pred(Pred),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

impl Expr {
    /// Every document.
    pub fn all() -> Self {
        Expr(Node::All)
    }
}

impl BitAnd for Expr {
    type Output = Expr;
    fn bitand(self, rhs: Expr) -> Expr {
        Expr(match (self.0, rhs.0) {
            (Node::And(mut a), Node::And(b)) => {
                a.extend(b);
                Node::And(a)
            }
            (Node::And(mut a), b) => {
                a.push(b);
                Node::And(a)
            }
            // flat on both sides: one tree per meaning (the text form parses back equal)
            (a, Node::And(mut b)) => {
                b.insert(0, a);
                Node::And(b)
            }
            (a, b) => Node::And(vec![a, b]),
        })
    }
}

impl BitOr for Expr {
    type Output = Expr;
    fn bitor(self, rhs: Expr) -> Expr {
        Expr(match (self.0, rhs.0) {
            (Node::Or(mut a), Node::Or(b)) => {
                a.extend(b);
                Node::Or(a)
            }
            (Node::Or(mut a), b) => {
                a.push(b);
                Node::Or(a)
            }
            (a, Node::Or(mut b)) => {
                b.insert(0, a);
                Node::Or(b)
            }
            (a, b) => Node::Or(vec![a, b]),
        })
    }
}

impl Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr(match self.0 {
            Node::Not(inner) => *inner,
            other => Node::Not(Box::new(other)),
        })
    }
}

/// The value type of an indexed field (`Option<T>` queries by `T`).
pub trait QueryField: Indexable {
    /// The type of values compared with the field.
    type Value: Scalar;
}

impl<T: crate::field::IndexableScalar + crate::field::Field> QueryField for T {
    type Value = T;
}

impl<T: crate::field::IndexableScalar> QueryField for Option<T> {
    type Value = T;
}

impl<T: QueryField> FieldPath<T> {
    fn pred(&self, cmp: Cmp, a: &T::Value, b: Option<&T::Value>) -> Expr {
        Expr(Node::Pred(Pred {
            path: self.path().to_owned(),
            kind: T::INDEX,
            cmp,
            a: a.encode_scalar(),
            b: b.map(Scalar::encode_scalar).unwrap_or_default(),
            multi: false,
        }))
    }

    /// Equal to `v`.
    pub fn eq(&self, v: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Eq, &v.into_value(), None)
    }

    /// Not equal to `v` (documents without the field match).
    pub fn ne(&self, v: impl QueryArg<T::Value>) -> Expr {
        !self.eq(v)
    }

    /// Greater than `v`.
    pub fn gt(&self, v: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Gt, &v.into_value(), None)
    }

    /// Greater than or equal to `v`.
    pub fn ge(&self, v: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Ge, &v.into_value(), None)
    }

    /// Less than `v`.
    pub fn lt(&self, v: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Lt, &v.into_value(), None)
    }

    /// Less than or equal to `v`.
    pub fn le(&self, v: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Le, &v.into_value(), None)
    }

    /// Between `lo` and `hi`, both included.
    pub fn between(&self, lo: impl QueryArg<T::Value>, hi: impl QueryArg<T::Value>) -> Expr {
        self.pred(Cmp::Between, &lo.into_value(), Some(&hi.into_value()))
    }

    /// Equal to one of `values` (no value: matches nothing).
    pub fn is_in<A: QueryArg<T::Value>>(&self, values: impl IntoIterator<Item = A>) -> Expr {
        let mut alts: Vec<Node> = values.into_iter().map(|v| self.eq(v).0).collect();
        match alts.len() {
            0 => Expr(Node::Not(Box::new(Node::All))),
            1 => Expr(alts.remove(0)),
            _ => Expr(Node::Or(alts)),
        }
    }

    /// Ascending order by this field.
    pub fn asc(&self) -> Order {
        Order {
            path: self.path().to_owned(),
            desc: false,
        }
    }

    /// Descending order by this field.
    pub fn desc(&self) -> Order {
        Order {
            path: self.path().to_owned(),
            desc: true,
        }
    }
}

impl FieldPath<String> {
    /// Starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> Expr {
        self.pred(Cmp::Prefix, &prefix.to_owned(), None)
    }
}

impl FieldPath<Option<String>> {
    /// Starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> Expr {
        self.pred(Cmp::Prefix, &prefix.to_owned(), None)
    }
}

/// The indexed collection at `path` holds `item`.
pub(crate) fn contains_expr(path: &str, item: Vec<u8>) -> Expr {
    Expr(Node::Pred(Pred {
        path: path.to_owned(),
        kind: IndexKind::Lex,
        cmp: Cmp::Eq,
        a: item,
        b: Vec::new(),
        multi: true,
    }))
}

/// `contains` on indexed string collections.
macro_rules! contains_paths {
    ($($t:ty),*) => {$(
        impl FieldPath<$t> {
            /// The collection holds `item` (needs `#[rapyer(index)]` on the field).
            pub fn contains(&self, item: impl QueryArg<String>) -> Expr {
                contains_expr(self.path(), item.into_value().into_bytes())
            }
        }
    )*};
}
contains_paths!(
    Vec<String>,
    std::collections::VecDeque<String>,
    std::collections::BTreeSet<String>,
    std::collections::HashSet<String>
);

/// A sort order on an indexed field: `User::fields().age.desc()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub(crate) path: String,
    pub(crate) desc: bool,
}

/// A query on model `M`: `User::find(expr)`, then `order_by`, `offset`, `limit`, then
/// run it with `all`, `first`, `count`, `exists`, `ids`, `delete` (`sync_*` when
/// blocking).
#[derive(Debug)]
#[must_use = "a query does nothing until it is run"]
pub struct Query<M> {
    pub(crate) expr: Expr,
    pub(crate) order: Option<Order>,
    pub(crate) offset: usize,
    pub(crate) limit: Option<usize>,
    pub(crate) peek: bool,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Query<M> {
    fn clone(&self) -> Self {
        Self {
            expr: self.expr.clone(),
            order: self.order.clone(),
            offset: self.offset,
            limit: self.limit,
            peek: self.peek,
            _m: PhantomData,
        }
    }
}

impl<M> Query<M> {
    /// A query for documents matching `expr`.
    pub fn new(expr: Expr) -> Self {
        Self {
            expr,
            order: None,
            offset: 0,
            limit: None,
            peek: false,
            _m: PhantomData,
        }
    }

    /// Sorts by an indexed field (default: by id).
    pub fn order_by(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// Skips the first `n` results.
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// The query's expression (its text form is `expr().to_string()`).
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Returns at most `n` results.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Loads leave the documents' TTLs alone, as `peek` does for one document (by
    /// default `all`, `first`, `iter` and `stream` refresh them when the model says
    /// `ttl_refresh = "read"` or `"both"`).
    pub fn peek(mut self) -> Self {
        self.peek = true;
        self
    }
}

/// The per-shard script calls of a query.
pub(crate) struct QueryPlan {
    pub calls: Vec<Invocation>,
    order_kind: Option<IndexKind>,
    desc: bool,
    offset: usize,
    limit: Option<usize>,
}

fn index_kind(ctx: &Ctx, path: &str) -> Result<IndexKind> {
    ctx.schema
        .fields
        .iter()
        .find(|f| f.path == path)
        .and_then(|f| f.index)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "{}: field `{path}` is not indexed; add #[rapyer(index)] to query or sort by it",
                ctx.schema.name
            ))
        })
}

/// ZRANGEBYSCORE bound text for a stored numeric value.
fn score(v: &[u8], exclusive: bool) -> Result<String> {
    let text =
        std::str::from_utf8(v).map_err(|_| Error::InvalidInput("numeric query value".into()))?;
    let n: f64 = text
        .parse()
        .map_err(|_| Error::InvalidInput(format!("query value {text:?} is not a number")))?;
    if n.is_nan() {
        return Err(Error::InvalidInput("NaN cannot be compared".into()));
    }
    let s = if n == f64::INFINITY {
        "+inf".to_owned()
    } else if n == f64::NEG_INFINITY {
        "-inf".to_owned()
    } else {
        format!("{n:?}")
    };
    // beyond ±2^53 scores are rounded: an exclusive bound could drop a document whose
    // rounded score equals it, so widen to inclusive and let the documents decide
    // (`index_exact` is false for such operands)
    let exclusive = exclusive && n.abs() < 9_007_199_254_740_992.0;
    Ok(if exclusive { format!("({s}") } else { s })
}

fn encode(
    node: &Node,
    ctx: &Ctx,
    shard: u32,
    keys: &mut Vec<String>,
    out: &mut Vec<Vec<u8>>,
) -> Result<()> {
    let mut key_at = |path: &str| -> usize {
        let key = ctx.keys.index(shard, path);
        match keys.iter().position(|k| *k == key) {
            Some(i) => i + 1,
            None => {
                keys.push(key);
                keys.len()
            }
        }
    };
    match node {
        Node::All => out.push(b"all".to_vec()),
        Node::And(xs) | Node::Or(xs) => {
            out.push(if matches!(node, Node::And(_)) {
                b"and".to_vec()
            } else {
                b"or".to_vec()
            });
            out.push(xs.len().to_string().into_bytes());
            for x in xs {
                encode(x, ctx, shard, keys, out)?;
            }
        }
        Node::Not(x) => {
            out.push(b"not".to_vec());
            encode(x, ctx, shard, keys, out)?;
        }
        Node::Pred(p) => {
            let kind = index_kind(ctx, &p.path)?;
            let k = key_at(&p.path).to_string().into_bytes();
            match kind {
                IndexKind::Numeric => {
                    let (min, max) = match p.cmp {
                        Cmp::Eq => (score(&p.a, false)?, score(&p.a, false)?),
                        Cmp::Gt => (score(&p.a, true)?, "+inf".into()),
                        Cmp::Ge => (score(&p.a, false)?, "+inf".into()),
                        Cmp::Lt => ("-inf".into(), score(&p.a, true)?),
                        Cmp::Le => ("-inf".into(), score(&p.a, false)?),
                        Cmp::Between => (score(&p.a, false)?, score(&p.b, false)?),
                        Cmp::Prefix => {
                            return Err(Error::InvalidInput("starts_with on a number".into()));
                        }
                    };
                    out.extend([b"n".to_vec(), k, min.into_bytes(), max.into_bytes()]);
                }
                IndexKind::Lex => {
                    let op: &[u8] = match p.cmp {
                        Cmp::Eq => b"eq",
                        Cmp::Gt => b"gt",
                        Cmp::Ge => b"ge",
                        Cmp::Lt => b"lt",
                        Cmp::Le => b"le",
                        Cmp::Between => b"between",
                        Cmp::Prefix => b"prefix",
                    };
                    out.extend([b"s".to_vec(), k, op.to_vec(), p.a.clone()]);
                    if p.cmp == Cmp::Between {
                        out.push(p.b.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

impl<M> Query<M> {
    /// One `query.lua` call per shard; `count`: count only.
    pub(crate) fn plan(&self, ctx: &Ctx, count: bool) -> Result<QueryPlan> {
        let order_kind = match &self.order {
            Some(o) => Some(index_kind(ctx, &o.path)?),
            None => None,
        };
        let cut = match self.limit {
            Some(l) if !count => (self.offset + l).to_string(),
            _ => "-1".to_owned(),
        };
        let mut calls = Vec::new();
        let fingerprint = ctx.schema.index_fingerprint();
        for shard in 0..ctx.keys.shards() {
            let mut keys = vec![ctx.keys.ids(shard), ctx.keys.manifest(shard)];
            let mut expr = Vec::new();
            encode(&self.expr.0, ctx, shard, &mut keys, &mut expr)?;
            let order = match (&self.order, order_kind) {
                (Some(o), Some(kind)) => {
                    let key = ctx.keys.index(shard, &o.path);
                    let at = match keys.iter().position(|k| *k == key) {
                        Some(i) => i + 1,
                        None => {
                            keys.push(key);
                            keys.len()
                        }
                    };
                    format!("{}{at}", if kind == IndexKind::Numeric { "n" } else { "s" })
                }
                _ => String::new(),
            };
            let mut args = vec![
                if count {
                    b"count".to_vec()
                } else {
                    b"ids".to_vec()
                },
                order.into_bytes(),
                if self.order.as_ref().is_some_and(|o| o.desc) {
                    b"desc".to_vec()
                } else {
                    b"asc".to_vec()
                },
                cut.clone().into_bytes(),
                fingerprint.clone().into_bytes(),
            ];
            args.extend(expr);
            calls.push(Invocation {
                script: &scripts::QUERY,
                keys,
                args,
            });
        }
        Ok(QueryPlan {
            calls,
            order_kind,
            desc: self.order.as_ref().is_some_and(|o| o.desc),
            offset: self.offset,
            limit: self.limit,
        })
    }

    /// Whether the index alone is exact for this query: numeric index scores are f64, so
    /// an integer operand at or beyond ±2^53 needs the documents to decide.
    pub(crate) fn index_exact(&self) -> bool {
        fn exact(node: &Node) -> bool {
            match node {
                Node::All => true,
                Node::And(xs) | Node::Or(xs) => xs.iter().all(exact),
                Node::Not(x) => exact(x),
                Node::Pred(p) if p.kind == IndexKind::Numeric => [&p.a, &p.b].iter().all(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok())
                        .is_none_or(|n| n.abs() < 9_007_199_254_740_992.0 || n.is_infinite())
                }),
                Node::Pred(_) => true,
            }
        }
        exact(&self.expr.0)
    }

    /// The same query without offset and limit (to cut after a re-check).
    pub(crate) fn uncut(&self) -> Self {
        Self {
            offset: 0,
            limit: None,
            ..self.clone()
        }
    }

    /// Re-checks the expression against a document's stored root fields and collections.
    pub(crate) fn matches(
        &self,
        root: &HashMap<String, Vec<u8>>,
        colls: &HashMap<String, Vec<Vec<u8>>>,
    ) -> bool {
        eval(&self.expr.0, root, colls)
    }
}

impl QueryPlan {
    /// Merges the shards' pages into the ids of the page, in order.
    pub(crate) fn page(&self, replies: Vec<Value>) -> Result<Vec<String>> {
        let mut all: Vec<(String, Vec<u8>)> = Vec::new();
        for reply in replies {
            let items = match reply {
                Value::Array(items) => items,
                other => return Err(unexpected("query", &other)),
            };
            let mut it = items.into_iter();
            while let (Some(id), Some(key)) = (it.next(), it.next()) {
                let id = match id {
                    Value::BulkString(b) => {
                        String::from_utf8(b).map_err(|_| unexpected("query id", &Value::Nil))?
                    }
                    other => return Err(unexpected("query id", &other)),
                };
                let key = match key {
                    Value::BulkString(b) => b,
                    Value::Int(n) => n.to_string().into_bytes(),
                    other => return Err(unexpected("query sort key", &other)),
                };
                all.push((id, key));
            }
        }
        let numeric = self.order_kind == Some(IndexKind::Numeric);
        let by_id = self.order_kind.is_none();
        // keys are "1<value>", or "0" for a document without a value (last, both ways)
        all.sort_by(|(ia, ka), (ib, kb)| {
            let (pa, pb) = (ka.first() == Some(&b'1'), kb.first() == Some(&b'1'));
            if pa != pb {
                return if pa {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            let (va, vb) = (
                ka.get(1..).unwrap_or_default(),
                kb.get(1..).unwrap_or_default(),
            );
            let c = if by_id || !pa {
                Ordering::Equal
            } else if numeric {
                // integers beyond 2^53 come as their exact stored text: compared exactly
                compare(IndexKind::Numeric, va, vb).unwrap_or(Ordering::Equal)
            } else {
                va.cmp(vb)
            };
            let c = if self.desc { c.reverse() } else { c };
            let ids = ia.as_bytes().cmp(ib.as_bytes());
            c.then(if self.desc { ids.reverse() } else { ids })
        });
        Ok(all
            .into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .map(|(id, _)| id)
            .collect())
    }
}

pub(crate) fn compare(kind: IndexKind, stored: &[u8], v: &[u8]) -> Option<Ordering> {
    match kind {
        IndexKind::Lex => Some(stored.cmp(v)),
        IndexKind::Numeric => {
            let (a, b) = (
                std::str::from_utf8(stored).ok()?,
                std::str::from_utf8(v).ok()?,
            );
            // exact for integers of any size the fields hold; floats compare as f64
            match (a.parse::<i128>(), b.parse::<i128>()) {
                (Ok(x), Ok(y)) => Some(x.cmp(&y)),
                _ => a.parse::<f64>().ok()?.partial_cmp(&b.parse::<f64>().ok()?),
            }
        }
    }
}

fn eval(
    node: &Node,
    root: &HashMap<String, Vec<u8>>,
    colls: &HashMap<String, Vec<Vec<u8>>>,
) -> bool {
    match node {
        Node::All => true,
        Node::And(xs) => xs.iter().all(|x| eval(x, root, colls)),
        Node::Or(xs) => xs.iter().any(|x| eval(x, root, colls)),
        Node::Not(x) => !eval(x, root, colls),
        Node::Pred(p) if p.multi => colls
            .get(&p.path)
            .is_some_and(|items| items.iter().any(|item| item.as_slice() == p.a.as_slice())),
        Node::Pred(p) => {
            let Some(stored) = root.get(&p.path) else {
                return false;
            };
            let c = |v: &[u8]| compare(p.kind, stored, v);
            match p.cmp {
                Cmp::Eq => c(&p.a) == Some(Ordering::Equal),
                Cmp::Gt => c(&p.a) == Some(Ordering::Greater),
                Cmp::Ge => matches!(c(&p.a), Some(Ordering::Greater | Ordering::Equal)),
                Cmp::Lt => c(&p.a) == Some(Ordering::Less),
                Cmp::Le => matches!(c(&p.a), Some(Ordering::Less | Ordering::Equal)),
                Cmp::Between => {
                    matches!(c(&p.a), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(c(&p.b), Some(Ordering::Less | Ordering::Equal))
                }
                Cmp::Prefix => stored.starts_with(&p.a),
            }
        }
    }
}

/// Equality on several fields at once ("find by keywords"):
/// `rapyer::find_by!(User, status = "active", address.city = "Oslo")` is
/// `User::find(User::fields().status.eq("active") & User::fields().address.city.eq("Oslo"))`.
/// A field that is not indexed, or a value of the wrong type, does not compile.
#[macro_export]
macro_rules! find_by {
    ($model:ty, $f0:ident $(. $s0:ident)* = $v0:expr $(, $f:ident $(. $s:ident)* = $v:expr)* $(,)?) => {{
        let fields = <$model as $crate::Model>::fields();
        <$model as $crate::Model>::find(fields.$f0 $(.$s0)* .eq($v0) $(& fields.$f $(.$s)* .eq($v))*)
    }};
}

/// Turns a shard's stale-manifest refusal into [`Error::StaleIndex`].
pub(crate) fn stale(ctx: &Ctx, err: Error) -> Error {
    match err {
        Error::Redis(e) if e.code() == Some("RAPYER_STALE") => {
            let detail = e.detail().unwrap_or_default();
            let (key, found) = detail.split_once(' ').unwrap_or((detail, ""));
            Error::StaleIndex {
                model: ctx.schema.name,
                key: key.to_owned(),
                found: found.to_owned(),
                expected: ctx.schema.index_fingerprint(),
            }
        }
        other => other,
    }
}

/// Where a reindex is, to report progress and to resume after an interruption.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReindexCursor {
    /// The shard being rebuilt.
    pub shard: u32,
    /// The last id done in that shard (`None`: the shard starts from scratch).
    pub after: Option<String>,
}

impl ReindexCursor {
    /// From the beginning.
    pub fn start() -> Self {
        Self::default()
    }
}

/// Progress of a reindex, reported after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReindexProgress {
    /// The shard being rebuilt.
    pub shard: u32,
    /// Number of shards.
    pub shards: u32,
    /// Documents done in this shard.
    pub done: usize,
    /// Documents in this shard when it started.
    pub total: usize,
    /// Where to resume from if interrupted now.
    pub cursor: ReindexCursor,
}

/// The reindex script's call for one shard: `mode` with `extra` keys (old index keys for
/// "clear", document roots for "batch") and `ids` (for "batch").
pub(crate) fn reindex_call(
    ctx: &Ctx,
    shard: u32,
    mode: &str,
    extra: Vec<String>,
    ids: &[String],
) -> Invocation {
    let indexes = ctx.keys.index_keys(ctx.schema, shard);
    let mut keys = vec![ctx.keys.manifest(shard)];
    let mut args = vec![
        mode.as_bytes().to_vec(),
        ctx.schema.index_fingerprint().into_bytes(),
    ];
    args.extend(crate::keys::index_specs(&indexes, 2));
    keys.extend(indexes.into_iter().map(|ix| ix.key));
    // per document: root, id index, collections (the layout the specs' sources assume)
    args.push(
        (2 + ctx.schema.collections().count())
            .to_string()
            .into_bytes(),
    );
    keys.extend(extra);
    args.extend(ids.iter().map(|id| id.as_bytes().to_vec()));
    Invocation {
        script: &scripts::REINDEX,
        keys,
        args,
    }
}

/// The index keys named by a stored fingerprint that the model no longer has.
pub(crate) fn old_index_keys(ctx: &Ctx, shard: u32, stored: &str) -> Vec<String> {
    let current = ctx.schema.index_fingerprint();
    let current: Vec<&str> = current.split(',').collect();
    stored
        .split(',')
        .filter(|entry| !entry.is_empty() && !current.contains(entry))
        .filter_map(|entry| {
            entry
                .rsplit_once(':')
                .map(|(path, _)| ctx.keys.index(shard, path))
        })
        .collect()
}
