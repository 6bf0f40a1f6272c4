//! Updates by query from async code (`Query::update`).

use maybe_async::must_be_async as maybe_async_mode;

use super::ops;
use crate::error::Result;
use crate::model::Model;

#[allow(clippy::duplicate_mod)]
#[path = "../core/update.rs"]
mod core;

impl<M: Model> crate::query::Query<M> {
    /// Runs `program` on every matching document, on the server: the matching ids (one
    /// round trip), then one atomic script per shard and chunk of 100 documents, in which
    /// each document's program runs only if it still exists and still matches the filter
    /// (re-checked there). The program adds ops on the document's handle to the pipeline
    /// `b` and may return `Branch` reports to count. A chunk that fails applies nothing
    /// of itself and stops the update; the chunks before it stay applied. (The blocking
    /// API's `sync_update` has an example.)
    pub fn update<'q, F, B>(
        &'q self,
        program: F,
    ) -> impl std::future::Future<Output = Result<crate::update::UpdateReport>> + Send + 'q
    where
        F: Fn(&M::Atomic<'static>, &mut crate::exec::Pipeline<'static>) -> B + Send + Sync + 'q,
        B: crate::update::Branches + 'q,
    {
        self.update_with_progress(program, |_| {})
    }

    /// [`update`](Self::update), calling `progress` with the report so far after each
    /// chunk (so a failing chunk leaves the caller knowing what the earlier ones did).
    pub fn update_with_progress<'q, F, B>(
        &'q self,
        program: F,
        progress: impl FnMut(&crate::update::UpdateReport) + Send + 'q,
    ) -> impl std::future::Future<Output = Result<crate::update::UpdateReport>> + Send + 'q
    where
        F: Fn(&M::Atomic<'static>, &mut crate::exec::Pipeline<'static>) -> B + Send + Sync + 'q,
        B: crate::update::Branches + 'q,
    {
        core::update(self, program, progress)
    }
}
