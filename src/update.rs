//! Updates by query (`Query::update` / `sync_update`): the matching ids grouped by shard
//! and chunk, one conditional pipeline per chunk whose programs run only where the
//! query's filter, re-checked on the server (`Cond`), still holds, and the report.

use std::sync::Arc;

use crate::exec::{Cond, DocRef};
use crate::query::{Cmp, Node, Pred, Query};
use crate::schema::IndexKind;

impl<M> Query<M> {
    /// The filter on document `doc` (`None`: every document matches).
    pub(crate) fn recheck(&self, doc: &Arc<DocRef>) -> Option<Cond> {
        node(&self.expr.0, doc)
    }
}

fn node(n: &Node, doc: &Arc<DocRef>) -> Option<Cond> {
    match n {
        Node::All => None,
        Node::Pred(p) => Some(pred(p, doc)),
        Node::And(xs) => fold(xs, doc, |a, b| a & b),
        Node::Or(xs) => {
            // an `All` inside an or: every document matches
            let parts: Option<Vec<Cond>> = xs.iter().map(|x| node(x, doc)).collect();
            parts.and_then(|ps| ps.into_iter().reduce(|a, b| a | b))
        }
        Node::Not(x) => match node(x, doc) {
            Some(c) => Some(!c),
            // not everything: nothing
            None => Some(!Cond::exists_doc(doc)),
        },
    }
}

fn fold(xs: &[Node], doc: &Arc<DocRef>, f: impl Fn(Cond, Cond) -> Cond) -> Option<Cond> {
    xs.iter().filter_map(|x| node(x, doc)).reduce(f)
}

fn pred(p: &Pred, doc: &Arc<DocRef>) -> Cond {
    if p.multi {
        return Cond::member(doc, &p.path, p.a.clone());
    }
    let numeric = p.kind == IndexKind::Numeric;
    let (op, values) = match p.cmp {
        Cmp::Eq => ("eq", vec![p.a.clone()]),
        Cmp::Gt => ("gt", vec![p.a.clone()]),
        Cmp::Ge => ("ge", vec![p.a.clone()]),
        Cmp::Lt => ("lt", vec![p.a.clone()]),
        Cmp::Le => ("le", vec![p.a.clone()]),
        Cmp::Between => ("bw", vec![p.a.clone(), p.b.clone()]),
        Cmp::Prefix => ("sw", vec![p.a.clone()]),
    };
    Cond::field(doc, &p.path, numeric, op, values)
}

/// Documents per script of an update by query.
pub(crate) const UPDATE_CHUNK: usize = 100;

/// What an update by query did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateReport {
    /// Ids the indexes matched.
    pub matched: u64,
    /// Documents whose program ran (the filter still held when their chunk ran).
    pub updated: u64,
    /// Matched documents left alone: they stopped matching (or were deleted) between the
    /// index read and their chunk.
    pub skipped: u64,
    /// Scripts sent (one per shard and chunk of 100 documents).
    pub chunks: u64,
    /// For each branch report the program returned (in order): how many documents took
    /// each branch (`[then, else_when…, otherwise]`).
    pub branches: Vec<Vec<u64>>,
}

/// What an update program may return: the branch reports to count
/// ([`UpdateReport::branches`]): `()`, a [`Branch`](crate::Branch), or a `Vec` of them.
pub trait Branches {
    /// The reports, in order.
    fn branches(self) -> Vec<crate::exec::Branch>;
}

impl Branches for () {
    fn branches(self) -> Vec<crate::exec::Branch> {
        Vec::new()
    }
}

impl Branches for crate::exec::Branch {
    fn branches(self) -> Vec<crate::exec::Branch> {
        vec![self]
    }
}

impl Branches for Vec<crate::exec::Branch> {
    fn branches(self) -> Vec<crate::exec::Branch> {
        self
    }
}

impl UpdateReport {
    /// Counts one document's branch reports.
    pub(crate) fn count(&mut self, reports: &[crate::exec::Branch]) {
        for (i, b) in reports.iter().enumerate() {
            if self.branches.len() <= i {
                self.branches.push(Vec::new());
            }
            if let Some(taken) = b.taken() {
                let row = &mut self.branches[i];
                if row.len() <= taken {
                    row.resize(taken + 1, 0);
                }
                row[taken] += 1;
            }
        }
    }
}

/// The ids of `ids` by shard of model `M`'s keyspace, each shard's cut in chunks.
pub(crate) fn chunks<M: crate::Model>(ids: Vec<String>) -> crate::Result<Vec<Vec<String>>> {
    let ctx = crate::context::Ctx::for_schema(M::schema())?;
    let mut by_shard: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for id in ids {
        by_shard.entry(ctx.keys.shard_of(&id)).or_default().push(id);
    }
    Ok(by_shard
        .into_values()
        .flat_map(|ids| {
            ids.chunks(UPDATE_CHUNK)
                .map(<[String]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect())
}
