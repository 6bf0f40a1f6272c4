//! Cascading updates, sans-IO: field values set on a document and on the documents it
//! reaches along relation paths ([`Reach`]), all in one pipeline (one script per server,
//! per slot on a cluster).

use std::marker::PhantomData;
use std::sync::Arc;

use crate::codec::{FieldPath, Scalar};
use crate::error::{Error, Result};
use crate::exec::{DocRef, Pending, Pipeline};
use crate::relation::reach::Reach;
use crate::schema::ModelSchema;

type SetFn = Arc<dyn Fn(&Arc<DocRef>) -> Pending<'static, ()> + Send + Sync>;

struct Change {
    model: Option<&'static ModelSchema>,
    field: String,
    set: SetFn,
}

/// Values set on a document and on the documents at some of its relation paths, from
/// [`Model::update_cascade`](crate::Model::update_cascade); run it with `sync_run()`
/// (blocking) or `run()` (async).
///
/// ```
/// # use rapyer::{ForeignKey, Id, Model};
/// # #[derive(Model, Debug, Clone)] struct Review { id: Id, active: bool }
/// # #[derive(Model, Debug, Clone)] struct Book { id: Id, status: String, reviews: Vec<ForeignKey<Review>> }
/// let update = Book::update_cascade(Id::new())
///     .set(Book::fields().status, "out_of_print".to_owned())
///     .related("reviews", Review::fields().active, false);
/// # let _ = update;
/// ```
///
/// - The documents are read level by level to find the related ones (one round trip
///   per level), then every change is one pipeline: one script on one server, all or
///   nothing (per slot on a cluster). A related document gone in between is skipped.
/// - Scalar fields (`set` on a [`FieldPath`] of a `Scalar` type); indexes follow. A change
///   for a field of another model than the one at its path is `InvalidInput` before
///   anything is written.
#[must_use = "an UpdateCascade does nothing until it is run (`sync_run()` / `run()`)"]
pub struct UpdateCascade<M> {
    pub(crate) id: String,
    own: Vec<Change>,
    related: Vec<(String, Change)>,
    _m: PhantomData<fn() -> M>,
}

fn change<T: Scalar + Clone + Send + Sync + 'static>(field: FieldPath<T>, value: T) -> Change {
    let path = field.path().to_owned();
    let p = path.clone();
    Change {
        model: field.model(),
        field: path,
        set: Arc::new(move |doc| {
            crate::kinds::scalar::ScalarRef::<T>::new(None, doc, p.clone()).set(value.clone())
        }),
    }
}

impl<M> UpdateCascade<M> {
    pub(crate) fn new(id: String) -> Self {
        Self {
            id,
            own: Vec::new(),
            related: Vec::new(),
            _m: PhantomData,
        }
    }

    /// Sets `field` of the document itself.
    pub fn set<T: Scalar + Clone + Send + Sync + 'static>(
        mut self,
        field: FieldPath<T>,
        value: T,
    ) -> Self {
        self.own.push(change(field, value));
        self
    }

    /// Sets `field` of every document at relation path `path` (dotted for deeper ones).
    pub fn related<T: Scalar + Clone + Send + Sync + 'static>(
        mut self,
        path: impl Into<String>,
        field: FieldPath<T>,
        value: T,
    ) -> Self {
        self.related.push((path.into(), change(field, value)));
        self
    }

    pub(crate) fn paths(&self) -> Vec<String> {
        self.related.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The pipeline of every change, for what `reach` read; and the documents changed.
    pub(crate) fn pipeline(
        &self,
        root: &'static ModelSchema,
        reach: &Reach,
    ) -> Result<(Pipeline<'static>, Vec<(&'static str, String)>)> {
        let check = |c: &Change, schema: &'static ModelSchema, at: &str| match c.model {
            Some(m) if !std::ptr::eq(m, schema) => Err(Error::InvalidInput(format!(
                "update_cascade: `{}` is a field of {}, and the documents at `{at}` are {}",
                c.field, m.name, schema.name
            ))),
            _ => Ok(()),
        };
        for c in &self.own {
            check(c, root, "the document itself")?;
        }
        let mut pipe = Pipeline::new();
        pipe.skip_missing();
        let mut changed = Vec::new();
        for e in reach.entries.iter().filter(|e| e.node.is_some()) {
            let schema = (e.target.schema)();
            let doc = DocRef::new(schema, e.id.clone());
            let mut any = false;
            if e.chain.is_empty() {
                for c in &self.own {
                    pipe.add((c.set)(&doc));
                    any = true;
                }
            }
            for (path, c) in &self.related {
                if *path == e.chain {
                    check(c, schema, path)?;
                    pipe.add((c.set)(&doc));
                    any = true;
                }
            }
            if any {
                changed.push((schema.name, e.id.clone()));
            }
        }
        if reach.root_ctx().env.is_cluster() {
            pipe.per_slot();
        }
        Ok((pipe, changed))
    }
}
