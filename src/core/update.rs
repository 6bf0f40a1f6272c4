//! Updates by query, written once in async style and compiled into both APIs (like
//! `ops.rs`): the matching ids (one round trip), then one conditional pipeline per shard
//! and chunk of 100 documents, each document's program gated by the query's filter
//! re-checked on the server.

use super::{maybe_async_mode as maybe_async, ops};
use crate::error::Result;
use crate::exec::{Cond, DocRef, Pipeline};
use crate::model::Model;
use crate::query::Query;
use crate::update::{Branches, UpdateReport};

#[maybe_async]
pub(crate) async fn update<M, F, B>(
    q: &Query<M>,
    program: F,
    mut progress: impl FnMut(&UpdateReport) + Send,
) -> Result<UpdateReport>
where
    M: Model,
    F: Fn(&M::Atomic<'static>, &mut Pipeline<'static>) -> B,
    B: Branches,
{
    let ids = ops::query_ids(q).await?;
    let mut report = UpdateReport {
        matched: ids.len() as u64,
        ..UpdateReport::default()
    };
    for chunk in crate::update::chunks::<M>(ids)? {
        let mut pipe = Pipeline::new();
        let mut gates = Vec::with_capacity(chunk.len());
        for id in &chunk {
            let doc = DocRef::new(M::schema(), id.clone());
            let gate = match q.recheck(&doc) {
                Some(filter) => Cond::exists_doc(&doc) & filter,
                None => Cond::exists_doc(&doc),
            };
            let handle = M::at(id);
            let mut inner = Vec::new();
            let branch = pipe
                .when(gate)
                .then(|b| inner = program(&handle, b).branches())
                .branch();
            gates.push((branch, inner));
        }
        ops::run_pipeline(pipe).await?;
        report.chunks += 1;
        for (gate, inner) in gates {
            if gate.taken() == Some(0) {
                report.updated += 1;
                report.count(&inner);
            } else {
                report.skipped += 1;
            }
        }
        progress(&report);
    }
    Ok(report)
}
