//! Running queries in blocking code: [`Query`](crate::Query)'s `sync_` methods and the
//! batch iterator.

use maybe_async::must_be_sync as maybe_async_mode;

use super::ops;
use crate::error::Result;
use crate::model::Model;

#[allow(clippy::duplicate_mod)]
#[path = "../core/update.rs"]
mod update;

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

    /// Runs `program` on every matching document, on the server: the matching ids (one
    /// round trip), then one atomic script per shard and chunk of 100 documents, in which
    /// each document's program runs only if it still exists and still matches the filter
    /// (re-checked there: a document that stopped matching is left alone). The program
    /// adds ops on the document's handle to the pipeline `b` (conditions and branches
    /// too) and may return `Branch` reports to count. A chunk that fails applies nothing
    /// of itself and stops the update; the chunks before it stay applied. `offset`,
    /// `limit` and `order_by` choose the documents as for `ids`.
    ///
    /// ```no_run
    /// # #[cfg(feature = "blocking")] fn main() -> rapyer::Result<()> {
    /// use rapyer::sync::prelude::*;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct User { id: Id, #[rapyer(index)] age: i64, status: String, tags: Vec<String> }
    ///
    /// let report = User::find(User::fields().age.ge(18)).sync_update(|p, b| {
    ///     b.add(p.tags.push("adult".into()));
    ///     b.when(p.status.eq("new".into()))
    ///         .then(|b| b.add(p.status.set("active".into())))
    ///         .branch()
    /// })?;
    /// println!("{} updated, {} activated", report.updated, report.branches[0].first().unwrap_or(&0));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "blocking"))] fn main() {}
    /// ```
    pub fn sync_update<F, B>(&self, program: F) -> Result<crate::update::UpdateReport>
    where
        F: Fn(&M::Atomic<'static>, &mut crate::exec::Pipeline<'static>) -> B,
        B: crate::update::Branches,
    {
        self.sync_update_with_progress(program, |_| {})
    }

    /// [`sync_update`](Self::sync_update), calling `progress` with the report so far after
    /// each chunk (so a failing chunk leaves the caller knowing what the earlier ones did).
    pub fn sync_update_with_progress<F, B>(
        &self,
        program: F,
        progress: impl FnMut(&crate::update::UpdateReport) + Send,
    ) -> Result<crate::update::UpdateReport>
    where
        F: Fn(&M::Atomic<'static>, &mut crate::exec::Pipeline<'static>) -> B,
        B: crate::update::Branches,
    {
        let _s = tracing::debug_span!("rapyer.query_update", model = M::schema().name).entered();
        update::update(self, program, progress)
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
