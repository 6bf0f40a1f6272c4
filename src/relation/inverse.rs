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
    /// The name the target gives it (`#[rapyer(inverse(books = "Book.author"))]` on
    /// `Author`), when it does.
    pub target_name: Option<&'static str>,
}

impl Inverse {
    /// The name declared with `#[rapyer(inverse = "books")]` on the field, else the one
    /// the target declares (`#[rapyer(inverse(books = "Book.author"))]`), else
    /// `"Book.author"`.
    pub fn name(&self) -> String {
        match self.info.inverse().or(self.target_name) {
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
        let names = [self.info.inverse(), self.target_name];
        names.into_iter().flatten().any(|inv| {
            name == inv
                || name
                    .strip_prefix(target.name)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(|r| r == inv)
        })
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
                    let target = info.target();
                    let qualified = format!("{}.{}", source.name, field.path);
                    let target_name = target
                        .inverses
                        .iter()
                        .find(|(_, src)| *src == qualified)
                        .map(|(n, _)| *n);
                    let at = std::ptr::from_ref(target) as usize;
                    map.entry(at).or_default().push(Inverse {
                        source,
                        field,
                        info,
                        target_name,
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

    /// Checks the relations this model names on its side
    /// (`#[rapyer(inverse(books = "Book.author"))]`): each must be a foreign-key field
    /// of a registered model referring to this one. Else [`crate::Error::InvalidInput`]
    /// naming the missing model or field (a generic model does not register). Cascades
    /// check every model they reach.
    pub fn check_inverses(&'static self) -> crate::Result<()> {
        for (name, src) in &self.inverses {
            if self.inverses().iter().any(|i| i.qualified() == *src) {
                continue;
            }
            let (model, field) = src.split_once('.').unwrap_or((src, ""));
            let known = crate::registry::all_schemas()
                .into_iter()
                .any(|s| s.name == model);
            return Err(crate::Error::InvalidInput(if known {
                format!(
                    "{}: inverse `{name}` names `{src}`, and model {model} has no foreign-key field `{field}` referring to {}",
                    self.name, self.name
                )
            } else {
                format!(
                    "{}: inverse `{name}` names `{src}`, and no model {model} is registered (a #[derive(Model)] struct that is not generic, linked into this program)",
                    self.name
                )
            }));
        }
        Ok(())
    }

    /// The relation that refers to this model named `name` (see [`Inverse::name`]).
    pub fn inverse(&'static self, name: &str) -> Option<&'static Inverse> {
        self.inverses().iter().find(|i| i.is_named(self, name))
    }
}
