//! The models of the program, by name: every `#[derive(Model)]` registers its schema
//! (through `inventory`), so code that has only a model's name (`rapyer::search("User",
//! …)`) finds its schema.

use crate::schema::ModelSchema;

/// One registered model (derive support).
#[doc(hidden)]
pub struct ModelEntry {
    /// The model's schema.
    pub schema: fn() -> &'static ModelSchema,
}

inventory::collect!(ModelEntry);

/// The schemas of the models named `name` (as in keys: `#[rapyer(name = "…")]` or the
/// struct name); several when versions of one model share its name.
pub(crate) fn schemas_named(name: &str) -> Vec<&'static ModelSchema> {
    inventory::iter::<ModelEntry>
        .into_iter()
        .map(|e| (e.schema)())
        .filter(|s| s.name == name)
        .collect()
}

/// The names of every model of the program (non-generic `#[derive(Model)]` structs),
/// sorted.
pub fn model_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = inventory::iter::<ModelEntry>
        .into_iter()
        .map(|e| (e.schema)().name)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Every registered model's schema, each once.
pub(crate) fn all_schemas() -> Vec<&'static ModelSchema> {
    let mut all: Vec<&'static ModelSchema> = inventory::iter::<ModelEntry>
        .into_iter()
        .map(|e| (e.schema)())
        .collect();
    all.sort_by_key(|s| (s.name, std::ptr::from_ref(*s) as usize));
    all.dedup_by_key(|s| std::ptr::from_ref(*s) as usize);
    all
}
