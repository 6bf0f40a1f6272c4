//! Relations from async code: graph loads and fetching a reference.

use maybe_async::must_be_async as maybe_async_mode;

use super::{Backend, ops};
use crate::error::Result;
use crate::graph::GraphLoad;
use crate::model::Model;
use crate::relation::ForeignKey;
use crate::relation::audit::{OrphanCleanup, OrphanReport, RelationAudit, RelationReport};
use crate::relation::cascade::{CascadeDelete, CascadeReport};
use crate::relation::copy::{Copied, GraphCopy};
use crate::relation::ttl::{TtlCascade, TtlReport};
use crate::relation::update::UpdateCascade;
use crate::relation::walk::GraphOutput;

#[allow(clippy::duplicate_mod)]
#[path = "../core/relations.rs"]
mod core;

impl<M: Model, Out: GraphOutput<M>> GraphLoad<M, Out> {
    /// Runs the load (see [`GraphLoad`] for the round trips; the blocking API's
    /// `sync_run` has an example).
    pub fn run(&self) -> impl std::future::Future<Output = Result<Out>> + Send + '_ {
        core::run(self)
    }
}

impl<T: Model> ForeignKey<T> {
    /// Loads the target (one round trip), holds it and returns it
    /// ([`crate::Error::NotFound`] when it has no document).
    pub fn fetch(&mut self) -> impl std::future::Future<Output = Result<&T>> + Send + '_ {
        core::fetch(self)
    }
}

impl<M: Model> CascadeDelete<M> {
    /// Plans and applies the delete (see [`CascadeDelete`]; the blocking API's
    /// `sync_run` has an example).
    pub fn run(&self) -> impl std::future::Future<Output = Result<CascadeReport>> + Send + '_ {
        core::delete_cascade(self)
    }
}

impl<M: Model> RelationAudit<M> {
    /// Checks (and for a cleanup, removes) the model's dangling references (see
    /// [`RelationAudit`]; the blocking API's `sync_run` has an example).
    pub fn run(&self) -> impl std::future::Future<Output = Result<RelationReport>> + Send + '_ {
        core::audit(self)
    }
}

impl<M: Model> GraphCopy<M> {
    /// Reads the graph and writes the copies (see [`GraphCopy`]; the blocking API's
    /// `sync_run` has an example).
    pub fn run(&self) -> impl std::future::Future<Output = Result<Copied<M>>> + Send + '_ {
        core::copy_graph(self)
    }
}

impl<M: Model> TtlCascade<M> {
    /// Sets the TTLs (see [`TtlCascade`]; the blocking API's `sync_run` has an example).
    pub fn run(&self) -> impl std::future::Future<Output = Result<TtlReport>> + Send + '_ {
        core::ttl_cascade(self)
    }
}

impl<M: Model> OrphanCleanup<M> {
    /// Finds and deletes the orphans (see [`OrphanCleanup`]).
    pub fn run(&self) -> impl std::future::Future<Output = Result<OrphanReport>> + Send + '_ {
        core::orphans(self)
    }
}

impl<M: Model> UpdateCascade<M> {
    /// Reads the related documents and sets every value in one pipeline (see
    /// [`UpdateCascade`]); returns every document changed, as `(model, id)`.
    pub fn run(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<(&'static str, String)>>> + Send + '_ {
        core::update_cascade(self)
    }
}
