//! The options of a graph load (`Model::load(id).depth(2)`); the walk itself is in
//! `crate::relation`, and running it in each API's `relations` module.

use std::marker::PhantomData;

/// A load of documents with their relations, from [`Model::load`](crate::Model::load)
/// (one document: runs to `M`, [`crate::Error::NotFound`] when it is missing) or
/// [`Model::load_many`](crate::Model::load_many) (runs to `Vec<M>` in the order asked,
/// [`crate::Error::Missing`] naming every missing id). Run it with `sync_run()` (blocking) or
/// `run()` (async).
///
/// - `depth(0)`: ids only (the default without `include`); `depth(1)`: the documents'
///   references loaded; `depth(n)`: theirs too, `n` levels deep; `depth(-1)`: the whole
///   graph.
/// - `include(["author", "reviews.reviewer"])`: only these relations (dotted for deeper
///   ones); without `depth`, as deep as the longest entry.
/// - Round trips: one for the documents, then one per level that has references to
///   load (per environment), whatever the number of documents.
/// - A document met again is read once and shared: every reference to it holds one
///   `Arc` (the copy built where it was first met). A document met again on its own
///   path (a cycle, `User.friends` back to the user) is not expanded again unless
///   `max_circular(n)` allows `n` more rounds; such a reference keeps its id.
/// - A reference whose target has no document (deleted, expired) fails the load with
///   [`crate::Error::Dangling`] (model, field, target, every such id), or with `skip_missing()`
///   stays unloaded.
#[must_use = "a GraphLoad does nothing until it is run (`sync_run()` / `run()`)"]
pub struct GraphLoad<M, Out = Vec<M>> {
    pub(crate) ids: Vec<String>,
    pub(crate) depth: Option<i32>,
    pub(crate) include: Option<Vec<String>>,
    pub(crate) max_circular: usize,
    pub(crate) skip_missing: bool,
    _m: PhantomData<fn() -> (M, Out)>,
}

impl<M, Out> GraphLoad<M, Out> {
    pub(crate) fn new(ids: Vec<String>) -> Self {
        Self {
            ids,
            depth: None,
            include: None,
            max_circular: 0,
            skip_missing: false,
            _m: PhantomData,
        }
    }

    /// How many levels of references to load (`-1`: the whole graph).
    pub fn depth(mut self, depth: i32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Loads only these relations: field paths of foreign keys, dotted for the
    /// relations of a relation (`"reviews.reviewer"`). Checked against the schemas
    /// before anything is sent.
    pub fn include<I, S>(mut self, relations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.include = Some(relations.into_iter().map(Into::into).collect());
        self
    }

    /// How many more times a document may be expanded when it is met again on its own
    /// path (default 0: a cycle stops at the reference, which keeps its id).
    pub fn max_circular(mut self, n: usize) -> Self {
        self.max_circular = n;
        self
    }

    /// Leaves references to missing documents unloaded instead of failing.
    pub fn skip_missing(mut self) -> Self {
        self.skip_missing = true;
        self
    }
}
