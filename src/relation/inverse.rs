//! The inverse side of relations: which fields of which models refer to a model. Built
//! once from the model registry (every non-generic `#[derive(Model)]` registers its
//! schema), so a target model knows at run time who refers to it without declaring it.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::schema::{FieldSchema, ModelSchema, OnDelete, RelationInfo};

/// One relation seen from the model it refers to: `Author`'s `books` is the inverse of
/// `Book.author`. From [`ModelSchema::inverses`].
#[derive(Debug, Clone, Copy)]
pub struct Inverse {
    /// The referring model (`Book`).
    pub source: &'static ModelSchema,
    /// The foreign-key field of the referring model (`author`).
    pub field: &'static FieldSchema,
    /// The field's relation metadata.
    pub info: RelationInfo,
}

impl Inverse {
    /// The name declared with `#[rapyer(inverse = "books")]`, else `"Book.author"`.
    pub fn name(&self) -> String {
        match self.info.inverse() {
            Some(n) => n.to_owned(),
            None => self.qualified(),
        }
    }

    /// `"<Model>.<field>"` of the referring side (`"Book.author"`): always a name of it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.source.name, self.field.path)
    }

    /// What a delete of the target does to the referring documents when it does not say.
    pub fn on_delete(&self) -> OnDelete {
        self.info.on_delete()
    }

    /// Whether `name` names this relation seen from `target` (the model it refers to):
    /// the declared inverse (`books`, or `Author.books`) or the referring field
    /// (`Book.author`).
    pub(crate) fn is_named(&self, target: &ModelSchema, name: &str) -> bool {
        if name == self.qualified() {
            return true;
        }
        match self.info.inverse() {
            Some(inv) => {
                name == inv
                    || name
                        .strip_prefix(target.name)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| r == inv)
            }
            None => false,
        }
    }
}

type Inverses = HashMap<usize, Vec<Inverse>>;

fn all() -> &'static Inverses {
    static ALL: OnceLock<Inverses> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut map: Inverses = HashMap::new();
        for source in crate::registry::all_schemas() {
            for field in &source.fields {
                if let Some(info) = field.relation {
                    let at = std::ptr::from_ref(info.target()) as usize;
                    map.entry(at).or_default().push(Inverse {
                        source,
                        field,
                        info,
                    });
                }
            }
        }
        map
    })
}

impl ModelSchema {
    /// Every relation that refers to this model, from the models of the program (each
    /// non-generic `#[derive(Model)]` registers itself; a generic model's relations are
    /// not known here), ordered by referring model and field.
    pub fn inverses(&'static self) -> &'static [Inverse] {
        all()
            .get(&(std::ptr::from_ref(self) as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// The relation that refers to this model named `name` (see [`Inverse::name`]).
    pub fn inverse(&'static self, name: &str) -> Option<&'static Inverse> {
        self.inverses().iter().find(|i| i.is_named(self, name))
    }
}
