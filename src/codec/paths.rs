//! Typed field paths, emitted by the derive (`User::fields().address.city`).

use std::fmt;
use std::marker::PhantomData;

/// A typed handle on a stored field of a model: its dotted path plus its Rust type.
///
/// Obtained from [`crate::Model::fields`]; queries and atomic operations take these so
/// that a path and a value of the wrong type do not compile.
pub struct FieldPath<T> {
    path: String,
    model: Option<&'static crate::schema::ModelSchema>,
    _ty: PhantomData<fn() -> T>,
}

impl<T> FieldPath<T> {
    /// A handle for the field at `path`.
    pub fn new(path: String) -> Self {
        Self {
            path,
            model: None,
            _ty: PhantomData,
        }
    }

    /// A handle for the field at `path` of a model (reads by path need the model).
    #[doc(hidden)]
    pub fn in_model(path: String, model: &'static crate::schema::ModelSchema) -> Self {
        Self {
            path,
            model: Some(model),
            _ty: PhantomData,
        }
    }

    /// The model this path belongs to (none for a path built by hand).
    pub(crate) fn model(&self) -> Option<&'static crate::schema::ModelSchema> {
        self.model
    }

    /// The dotted path (`address.city`).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<T> Clone for FieldPath<T> {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            model: self.model,
            _ty: PhantomData,
        }
    }
}

impl<T> fmt::Debug for FieldPath<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({})", self.path)
    }
}

impl<T> fmt::Display for FieldPath<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}
