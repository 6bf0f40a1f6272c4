//! One query over several environments (`Query::in_environments`,
//! `Query::in_all_environments`): which environments, the per-environment page, and the
//! merge into one ordered, limited list. Sans-IO; the mode shells run it in parallel
//! (scoped threads when blocking, concurrent futures in async code).

use std::cmp::Ordering;

use crate::codec::Encoder;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::Query;
use crate::schema::IndexKind;

/// A query to run in several environments: from [`Query::in_environments`] or
/// [`Query::in_all_environments`]. Each environment answers on its own (a map from
/// environment name to that environment's result, one failure not hiding the others),
/// or the answers merge into one list ordered and cut as the query says
/// (`merged`, each row with its environment's name). Blocking: `sync_all`, `sync_first`,
/// `sync_count`, `sync_exists`, `sync_ids`, `sync_merged`; async: the same without the
/// prefix. A model pinned to an environment (`#[rapyer(env = "…")]`) is read from that
/// environment in every entry.
#[derive(Debug, Clone)]
pub struct Across<M> {
    pub(crate) query: Query<M>,
    pub(crate) names: Option<Vec<String>>,
}

impl<M> Query<M> {
    /// This query in the environments `names` (each registered; an unknown name fails
    /// the whole call with [`Error::UnknownEnvironment`] before anything runs).
    pub fn in_environments<I, S>(self, names: I) -> Across<M>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Across {
            query: self,
            names: Some(names.into_iter().map(Into::into).collect()),
        }
    }

    /// This query in every registered environment.
    pub fn in_all_environments(self) -> Across<M> {
        Across {
            query: self,
            names: None,
        }
    }
}

impl<M: Model> Across<M> {
    /// The environments to run in, in name order, each checked.
    pub(crate) fn targets(&self) -> Result<Vec<String>> {
        let mut names = match &self.names {
            Some(names) => {
                for n in names {
                    crate::env::environment(n)?;
                }
                names.clone()
            }
            None => crate::env::registered_names(),
        };
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The page each environment must return for a merge: from the first result, as
    /// many as offset + limit.
    pub(crate) fn merge_query(&self) -> Query<M> {
        let mut q = self.query.clone();
        q.limit = q.limit.map(|l| l + q.offset);
        q.offset = 0;
        q
    }

    /// Merges the environments' pages into one list ordered as the query says (ties:
    /// by environment name, then id), then applies offset and limit. Any environment's
    /// failure fails the merge (the map forms keep the others' results).
    pub(crate) fn merge(&self, pages: Vec<(String, Result<Vec<M>>)>) -> Result<Vec<(String, M)>> {
        let order = match &self.query.order {
            Some(o) => {
                let kind = M::schema()
                    .fields
                    .iter()
                    .find(|f| f.path == o.path)
                    .and_then(|f| f.index)
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "{}: field `{}` is not indexed; add #[rapyer(index)] to sort by it",
                            M::schema().name,
                            o.path
                        ))
                    })?;
                Some((o.path.clone(), o.desc, kind))
            }
            None => None,
        };
        let mut rows = Vec::new();
        for (env, page) in pages {
            for m in page? {
                let key = match &order {
                    Some((path, _, _)) => sort_value(&m, path)?,
                    None => None,
                };
                rows.push((env.clone(), key, m));
            }
        }
        rows.sort_by(|(ea, ka, ma), (eb, kb, mb)| {
            let by_value = match &order {
                None => Ordering::Equal,
                Some((_, desc, kind)) => match (ka, kb) {
                    (Some(a), Some(b)) => {
                        let c = compare(*kind, a, b);
                        if *desc { c.reverse() } else { c }
                    }
                    // a document without a value comes last, both ways
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                },
            };
            by_value
                .then_with(|| {
                    if order.is_none() {
                        ma.id().cmp(&mb.id())
                    } else {
                        Ordering::Equal
                    }
                })
                .then_with(|| ea.cmp(eb))
                .then_with(|| ma.id().cmp(&mb.id()))
        });
        Ok(rows
            .into_iter()
            .skip(self.query.offset)
            .take(self.query.limit.unwrap_or(usize::MAX))
            .map(|(env, _, m)| (env, m))
            .collect())
    }
}

/// The stored text of `m`'s field `path` (None when absent).
fn sort_value<M: Model>(m: &M, path: &str) -> Result<Option<Vec<u8>>> {
    let mut enc = Encoder::new(M::schema().name);
    m.__encode(&mut enc)?;
    Ok(enc
        .root
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v))
}

/// Stored values compared as the index orders them (integers exactly).
fn compare(kind: IndexKind, a: &[u8], b: &[u8]) -> Ordering {
    crate::query::compare(kind, a, b).unwrap_or(Ordering::Equal)
}
