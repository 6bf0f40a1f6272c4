//! Running queries in blocking code: [`Query`](crate::Query)'s `sync_` methods and the
//! batch iterator.

use super::ops;
use crate::error::Result;
use crate::model::Model;

/// Running a [`Query`](crate::Query) in blocking code.
impl<M: Model> crate::query::Query<M> {
    /// The matching documents of the page, in order (ids from the indexes, then the
    /// documents in one snapshot, each re-checked). Two round trips.
    pub fn sync_all(&self) -> Result<Vec<M>> {
        let _s = tracing::debug_span!("rapyer.query", model = M::schema().name).entered();
        ops::query_all(self)
    }

    /// The first matching document, if any.
    pub fn sync_first(&self) -> Result<Option<M>> {
        Ok(self.clone().limit(1).sync_all()?.into_iter().next())
    }

    /// Number of matching documents (offset and limit ignored). One round trip.
    pub fn sync_count(&self) -> Result<u64> {
        let _s = tracing::debug_span!("rapyer.query_count", model = M::schema().name).entered();
        ops::query_count(self)
    }

    /// Whether any document matches. One round trip.
    pub fn sync_exists(&self) -> Result<bool> {
        Ok(!self.clone().limit(1).sync_ids()?.is_empty())
    }

    /// The ids of the page, in order. One round trip.
    pub fn sync_ids(&self) -> Result<Vec<M::Key>> {
        let _s = tracing::debug_span!("rapyer.query_ids", model = M::schema().name).entered();
        crate::plan::parse_ids::<M>(ops::query_ids(self)?)
    }

    /// Iterates over the matching documents in batches of `batch`: the page's ids come
    /// first (one round trip), then each batch of documents (one round trip each).
    pub fn sync_iter(&self, batch: usize) -> Result<QueryIter<M>> {
        Ok(QueryIter {
            query: self.clone(),
            ids: ops::query_ids(self)?,
            pos: 0,
            batch: batch.max(1),
            buf: std::collections::VecDeque::new(),
        })
    }

    /// Deletes every matching document of the page; returns how many existed.
    pub fn sync_delete(&self) -> Result<u64> {
        let _s = tracing::debug_span!("rapyer.query_delete", model = M::schema().name).entered();
        ops::query_delete(self)
    }
}

/// Blocking iteration over a query's documents, batch by batch
/// ([`Query::sync_iter`](crate::Query::sync_iter)).
#[derive(Debug)]
pub struct QueryIter<M> {
    query: crate::query::Query<M>,
    ids: Vec<String>,
    pos: usize,
    batch: usize,
    buf: std::collections::VecDeque<M>,
}

impl<M: Model> Iterator for QueryIter<M> {
    type Item = Result<M>;

    fn next(&mut self) -> Option<Result<M>> {
        while self.buf.is_empty() {
            if self.pos >= self.ids.len() {
                return None;
            }
            let end = (self.pos + self.batch).min(self.ids.len());
            let batch = &self.ids[self.pos..end];
            self.pos = end;
            match ops::query_batch(&self.query, batch) {
                Ok(docs) => self.buf.extend(docs),
                Err(e) => return Some(Err(e)),
            }
        }
        self.buf.pop_front().map(Ok)
    }
}
