//! Relations from blocking code: graph loads and fetching a reference.

use maybe_async::must_be_sync as maybe_async_mode;

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
    /// Blocking: runs the load (see [`GraphLoad`] for the round trips).
    ///
    /// ```no_run
    /// use rapyer::sync::prelude::*;
    /// use rapyer::ForeignKey;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct Author { id: Id, name: String }
    /// #[derive(Model, Debug, Clone)]
    /// struct Book { id: Id, title: String, author: ForeignKey<Author> }
    ///
    /// fn show(id: &Id) -> rapyer::Result<()> {
    ///     let book = Book::load(id).depth(1).sync_run()?;
    ///     println!("{} by {}", book.title, book.author.loaded()?.name);
    ///     Ok(())
    /// }
    /// ```
    pub fn sync_run(&self) -> Result<Out> {
        core::run(self)
    }
}

impl<T: Model> ForeignKey<T> {
    /// Blocking: loads the target (one round trip), holds it and returns it
    /// ([`crate::Error::NotFound`] when it has no document).
    pub fn sync_fetch(&mut self) -> Result<&T> {
        core::fetch(self)
    }
}

impl<M: Model> CascadeDelete<M> {
    /// Blocking: plans and applies the delete (see [`CascadeDelete`]).
    ///
    /// ```no_run
    /// use rapyer::sync::prelude::*;
    /// use rapyer::{Cascade, ForeignKey, OnDelete};
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct Author { id: Id, name: String }
    /// #[derive(Model, Debug, Clone)]
    /// struct Book {
    ///     id: Id,
    ///     #[rapyer(inverse = "books", on_delete = "delete")]
    ///     author: ForeignKey<Author>,
    /// }
    ///
    /// fn retire(id: &Id) -> rapyer::Result<()> {
    ///     let report = Author::delete_with(id, Cascade::declared()).sync_run()?;
    ///     println!("deleted {:?}", report.deleted);
    ///     Ok(())
    /// }
    /// ```
    pub fn sync_run(&self) -> Result<CascadeReport> {
        core::delete_cascade(self)
    }
}

impl<M: Model> RelationAudit<M> {
    /// Blocking: checks (and for a cleanup, removes) the model's dangling references
    /// (see [`RelationAudit`]).
    ///
    /// ```no_run
    /// use rapyer::sync::prelude::*;
    /// use rapyer::ForeignKey;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct Author { id: Id }
    /// #[derive(Model, Debug, Clone)]
    /// struct Book { id: Id, editor: Option<ForeignKey<Author>> }
    ///
    /// fn tidy() -> rapyer::Result<()> {
    ///     for d in Book::validate_relations().sync_run()?.dangling {
    ///         println!("{} {} `{}` -> missing {} {}", d.model, d.id, d.field, d.target, d.target_id);
    ///     }
    ///     let report = Book::cleanup_relations().sync_run()?;
    ///     println!("removed {}", report.removed.len());
    ///     Ok(())
    /// }
    /// ```
    pub fn sync_run(&self) -> Result<RelationReport> {
        core::audit(self)
    }
}

impl<M: Model> GraphCopy<M> {
    /// Blocking: reads the graph and writes the copies (see [`GraphCopy`]).
    ///
    /// ```no_run
    /// use rapyer::sync::prelude::*;
    /// use rapyer::ForeignKey;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct Author { id: Id, name: String }
    /// #[derive(Model, Debug, Clone)]
    /// struct Book { id: Id, author: ForeignKey<Author>, sequel: Option<ForeignKey<Book>> }
    ///
    /// fn fork(id: &Id, editor: &Id) -> rapyer::Result<Book> {
    ///     let copied = Book::duplicate_graph(id)
    ///         .cascade(["sequel"])          // the sequel is copied too
    ///         .remap("author", editor)      // both copies by another author
    ///         .sync_run()?;
    ///     Ok(copied.root)
    /// }
    /// ```
    pub fn sync_run(&self) -> Result<Copied<M>> {
        core::copy_graph(self)
    }
}

impl<M: Model> TtlCascade<M> {
    /// Blocking: sets the TTLs (see [`TtlCascade`]).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rapyer::sync::prelude::*;
    /// use rapyer::ForeignKey;
    ///
    /// #[derive(Model, Debug, Clone)]
    /// struct Author { id: Id }
    /// #[derive(Model, Debug, Clone)]
    /// struct Review { id: Id, stars: i64 }
    /// #[derive(Model, Debug, Clone)]
    /// struct Book { id: Id, author: ForeignKey<Author>, reviews: Vec<ForeignKey<Review>> }
    ///
    /// fn keep_a_day(id: &Id) -> rapyer::Result<()> {
    ///     let hour = Duration::from_secs(3600);
    ///     Book::extend_ttl(id, 24 * hour)
    ///         .cascade_ttl([("author", 48 * hour), ("reviews", 2 * hour)])
    ///         .sync_run()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn sync_run(&self) -> Result<TtlReport> {
        core::ttl_cascade(self)
    }
}

impl<M: Model> OrphanCleanup<M> {
    /// Blocking: finds and deletes the orphans (see [`OrphanCleanup`]).
    pub fn sync_run(&self) -> Result<OrphanReport> {
        core::orphans(self)
    }
}

impl<M: Model> UpdateCascade<M> {
    /// Blocking: reads the related documents and sets every value in one pipeline (see
    /// [`UpdateCascade`]); returns every document changed, as `(model, id)`.
    pub fn sync_run(&self) -> Result<Vec<(&'static str, String)>> {
        core::update_cascade(self)
    }
}
