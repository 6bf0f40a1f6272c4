//! Relations between models (DESIGN §15): the [`ForeignKey`] field type, the schema's
//! relation metadata, and the hooks through which a loader fills references
//! (`Model::__relations`, emitted by the derive). Loading a graph is in [`walk`].

use std::any::Any;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use redis::Value;

use crate::codec::{Decoder, Element, Encoder, FieldPath, Scalar};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::exec::DocRef;
use crate::field::{Field, IndexableScalar};
use crate::keys::DocKeys;
use crate::links::{Node, Relation, Target, Visit};
use crate::model::Model;
use crate::query::QueryArg;
use crate::schema::{
    FieldKind, FieldSchema, IndexKind, ModelSchema, Shape, TargetFn, mark_relation as mark,
};

pub(crate) mod apply;

/// A walk over documents read level by level (a graph load, a cascade's plan, a graph
/// copy's or TTL cascade's read): the load calls of the next level, where each goes, and
/// what to do with its reply. The mode shells run every level as one batch per
/// environment.
pub(crate) trait Levels {
    type Call;
    /// The calls of the next level (empty when done).
    fn calls(&mut self) -> Result<Vec<Self::Call>>;
    fn env_of(&self, call: &Self::Call) -> &crate::env::Environment;
    fn invocation(call: &Self::Call) -> &crate::scripts::Invocation;
    fn absorb(&mut self, call: Self::Call, reply: Value) -> Result<()>;
}
pub(crate) mod audit;
pub(crate) mod cascade;
pub(crate) mod copy;
pub(crate) mod inverse;
pub(crate) mod reach;
pub(crate) mod ttl;
pub(crate) mod update;
pub(crate) mod walk;

/// The field types that hold foreign keys: `ForeignKey<T>`, `Option<ForeignKey<T>>`,
/// `Vec<ForeignKey<T>>`, `VecDeque<…>`, `HashSet<…>`, `BTreeSet<…>` (the relation
/// attributes `inverse`, `on_delete`, `lazy`, `one_to_one`, `one_to_many` take one).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a foreign-key field: relation options (`inverse`, `on_delete`, `lazy`, `one_to_one`, `one_to_many`, `inherit_ttl`, `must_exist`) go on `ForeignKey<T>`, `Option<ForeignKey<T>>`, or a list or set of `ForeignKey<T>`"
)]
pub trait RelationField {}

impl<T: Model> RelationField for ForeignKey<T> {}
impl<T: Model> RelationField for Option<ForeignKey<T>> {}
impl<T: Model> RelationField for Vec<ForeignKey<T>> {}
impl<T: Model> RelationField for std::collections::VecDeque<ForeignKey<T>> {}
impl<T: Model, S> RelationField for std::collections::HashSet<ForeignKey<T>, S> {}
impl<T: Model> RelationField for std::collections::BTreeSet<ForeignKey<T>> {}

/// A single foreign key: `ForeignKey<T>`, `Option<ForeignKey<T>>` (what
/// `#[rapyer(one_to_one)]` goes on).
#[diagnostic::on_unimplemented(
    message = "`one_to_one` goes on `ForeignKey<T>` or `Option<ForeignKey<T>>`, not on `{Self}` (a list or set of keys is `one_to_many` or many-to-many)"
)]
pub trait SingleRelation: RelationField {}
impl<T: Model> SingleRelation for ForeignKey<T> {}
impl<T: Model> SingleRelation for Option<ForeignKey<T>> {}

/// A list or set of foreign keys (what `#[rapyer(one_to_many)]` goes on).
#[diagnostic::on_unimplemented(
    message = "`one_to_many` goes on a list or set of `ForeignKey<T>`, not on `{Self}` (a single key is `one_to_one` or many-to-one)"
)]
pub trait ManyRelation: RelationField {}
impl<T: Model> ManyRelation for Vec<ForeignKey<T>> {}
impl<T: Model> ManyRelation for std::collections::VecDeque<ForeignKey<T>> {}
impl<T: Model, S> ManyRelation for std::collections::HashSet<ForeignKey<T>, S> {}
impl<T: Model> ManyRelation for std::collections::BTreeSet<ForeignKey<T>> {}

/// The relation attributes of a foreign-key field (derive support), applied to the
/// field `describe` pushed last. `T` must be a foreign-key field type (the bound is the
/// compile-time check).
#[doc(hidden)]
pub fn relation_options<T: RelationField>(
    out: &mut [FieldSchema],
    inverse: Option<&'static str>,
    on_delete: Option<crate::schema::OnDelete>,
    lazy: bool,
    cardinality: Option<crate::schema::Cardinality>,
    inherit_ttl: bool,
    must_exist: bool,
) {
    if let Some(rel) = out.last_mut().and_then(|f| f.relation.as_mut()) {
        rel.inverse = inverse;
        rel.on_delete = on_delete;
        rel.lazy = lazy;
        rel.cardinality = cardinality;
        rel.inherit_ttl = inherit_ttl;
        rel.must_exist = must_exist;
    }
}

/// Compile-time check for `#[rapyer(one_to_one)]` (derive support).
#[doc(hidden)]
pub fn assert_single_relation<T: SingleRelation>() {}

/// Compile-time check for `#[rapyer(one_to_many)]` (derive support).
#[doc(hidden)]
pub fn assert_many_relation<T: ManyRelation>() {}

impl<M: Model> Node for M {
    fn schema(&self) -> &'static ModelSchema {
        M::schema()
    }
    fn set_id(&mut self, id: &str) -> Result<()> {
        let key = <M::Key as crate::Key>::from_key(id).map_err(|reason| {
            Error::InvalidInput(format!(
                "{}: a copy gets a new id, and `{id}` is not one of its keys: {reason}",
                M::schema().name
            ))
        })?;
        self.__set_key(key);
        Ok(())
    }
    fn content(&self, ctx: &Ctx) -> Result<Vec<Vec<u8>>> {
        let mut args = Vec::new();
        crate::plan::push_content(&mut args, crate::plan::encode(ctx, self)?);
        Ok(args)
    }
    fn relations(&mut self, out: &mut Visit<'_>) {
        self.__relations(out);
    }
    fn into_shared(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
        Arc::new(*self)
    }
}

fn decode_node<M: Model>(
    ctx: &Ctx,
    id: &str,
    doc: DocKeys,
    replies: Vec<Value>,
) -> Result<Option<Box<dyn Node>>> {
    Ok(crate::plan::decode_load::<M>(ctx, id, doc, replies)?.map(|m| Box::new(m) as Box<dyn Node>))
}

pub(crate) fn target_of<M: Model>() -> Target {
    Target {
        schema: M::schema,
        decode: decode_node::<M>,
    }
}

/// A reference to a document of model `T`, stored as its id: a root hash field for
/// `ForeignKey<T>` and `Option<ForeignKey<T>>`, one list member per reference for
/// `Vec<ForeignKey<T>>` (sets of them store ids too, and load the same way).
///
/// Every foreign-key field is indexed (no `#[rapyer(index)]` needed), so the documents
/// referring to one are a query: `Book::find(Book::fields().author.eq(&author_id))`.
/// The target is loaded with the referring document through
/// [`Model::load`](crate::Model::load) (`.depth(n)`, `.include([...])`), or on its own
/// with `fetch` / `sync_fetch`; [`loaded`](Self::loaded) then returns it.
///
/// Equality, ordering and hashing compare ids only (a loaded target is a cache, not
/// part of the value); a save stores the id, never the target.
///
/// ```
/// use rapyer::{ForeignKey, Id, Model};
///
/// #[derive(Model, Debug, Clone, PartialEq)]
/// struct Author { id: Id, name: String }
///
/// #[derive(Model, Debug, Clone, PartialEq)]
/// struct Book { id: Id, title: String, author: ForeignKey<Author>, reviewers: Vec<ForeignKey<Author>> }
///
/// let ada = Author { id: Id::new(), name: "Ada".into() };
/// let book = Book { id: Id::new(), title: "Notes".into(), author: ForeignKey::to(&ada), reviewers: vec![] };
/// assert_eq!(book.author.id(), ada.id.as_str());
/// assert!(book.author.loaded().is_err()); // not loaded: only the id is held
/// let relation = Book::schema().fields.iter().find(|f| f.path == "author").unwrap();
/// assert_eq!(relation.relation.unwrap().target().name, "Author");
/// ```
pub struct ForeignKey<T: Model> {
    id: String,
    loaded: Option<Arc<T>>,
}

impl<T: Model> ForeignKey<T> {
    /// A reference to document `id` of `T` (not loaded).
    pub fn new(id: impl fmt::Display) -> Self {
        Self {
            id: id.to_string(),
            loaded: None,
        }
    }

    /// A reference to `target` (by its id; the target itself is not kept).
    pub fn to(target: &T) -> Self {
        Self::new(target.id())
    }

    /// A reference to `target`, holding it as loaded.
    pub fn with(target: T) -> Self {
        let mut fk = Self::to(&target);
        fk.loaded = Some(Arc::new(target));
        fk
    }

    /// The id referred to.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The target, when it was loaded with this document (`Model::load(..).depth(..)`)
    /// or fetched; else [`Error::NotLoaded`].
    pub fn loaded(&self) -> Result<&T> {
        self.loaded.as_deref().ok_or_else(|| Error::NotLoaded {
            model: T::schema().name,
            id: self.id.clone(),
        })
    }

    /// The target as shared by the loaded graph (a document met twice in one load is
    /// one `Arc`).
    pub fn shared(&self) -> Option<&Arc<T>> {
        self.loaded.as_ref()
    }

    /// Whether the target is held.
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// Drops the held target, keeping the id.
    pub fn unload(&mut self) {
        self.loaded = None;
    }

    pub(crate) fn hold(&mut self, target: T) -> &T {
        self.loaded.insert(Arc::new(target))
    }
}

impl<T: Model> Clone for ForeignKey<T> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            loaded: self.loaded.clone(),
        }
    }
}

impl<T: Model> fmt::Debug for ForeignKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignKey")
            .field("model", &T::schema().name)
            .field("id", &self.id)
            .field("loaded", &self.loaded.is_some())
            .finish()
    }
}

impl<T: Model> PartialEq for ForeignKey<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T: Model> Eq for ForeignKey<T> {}

impl<T: Model> Hash for ForeignKey<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<T: Model> PartialOrd for ForeignKey<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Model> Ord for ForeignKey<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl<T: Model> From<&T> for ForeignKey<T> {
    fn from(target: &T) -> Self {
        Self::to(target)
    }
}

fn decode_id(bytes: &[u8]) -> std::result::Result<String, String> {
    match std::str::from_utf8(bytes) {
        Ok("") => Err("a foreign key without an id".into()),
        Ok(id) => Ok(id.to_owned()),
        Err(_) => Err(format!(
            "a foreign key id that is not UTF-8: {}",
            crate::codec::show(bytes)
        )),
    }
}

const NO_ID: &str = "a foreign key without an id (ForeignKey::new(\"\"))";

impl<T: Model> Scalar for ForeignKey<T> {
    fn encode_scalar(&self) -> Vec<u8> {
        self.id.as_bytes().to_vec()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        decode_id(bytes).map(Self::new)
    }
    fn shape() -> Shape {
        Shape::Str
    }
    fn __target() -> Option<TargetFn> {
        Some(T::schema)
    }
    fn __relation(&mut self) -> Option<&mut dyn Relation> {
        Some(self)
    }
}

impl<T: Model> Element for ForeignKey<T> {
    fn encode_element(&self) -> std::result::Result<Vec<u8>, String> {
        if self.id.is_empty() {
            return Err(NO_ID.into());
        }
        Ok(self.encode_scalar())
    }
    fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String> {
        Self::decode_scalar(bytes)
    }
    fn shape() -> Shape {
        Shape::Str
    }
    fn __target() -> Option<TargetFn> {
        Some(T::schema)
    }
    fn __relation(&mut self) -> Option<&mut dyn Relation> {
        Some(self)
    }
}

impl<T: Model> IndexableScalar for ForeignKey<T> {
    const INDEX: IndexKind = IndexKind::Lex;
}

impl<T: Model> Relation for ForeignKey<T> {
    fn target(&self) -> Target {
        target_of::<T>()
    }
    fn target_id(&self) -> &str {
        &self.id
    }
    fn attach(&mut self, loaded: Arc<dyn Any + Send + Sync>) {
        if let Ok(target) = loaded.downcast::<T>() {
            self.loaded = Some(target);
        }
    }
    fn retarget(&mut self, id: &str) {
        self.id = id.to_owned();
        self.loaded = None;
    }
}

impl<T: Model> Field for ForeignKey<T> {
    type Path = FieldPath<ForeignKey<T>>;
    type Atomic<'a> = crate::kinds::scalar::ScalarRef<'a, ForeignKey<T>>;
    fn atomic<'a>(
        local: Option<&'a mut Self>,
        doc: &Arc<DocRef>,
        path: String,
    ) -> Self::Atomic<'a> {
        crate::kinds::scalar::ScalarRef::new(local, doc, path)
    }
    fn path(path: String, model: &'static ModelSchema) -> Self::Path {
        FieldPath::in_model(path, model)
    }
    fn describe(path: &str, out: &mut Vec<FieldSchema>) {
        let field = FieldSchema::new(path, FieldKind::Scalar).with_shape(Shape::Str);
        out.push(mark(field, Some(T::schema), false));
    }
    fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
        if self.id.is_empty() {
            return Err(enc.error(path, NO_ID));
        }
        enc.root_field(path, self.encode_scalar());
        Ok(())
    }
    fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
        match dec.take_root(path) {
            Some(bytes) => Self::decode_scalar(&bytes).map_err(|reason| dec.error(path, reason)),
            None => Err(dec.error(path, "field is missing from the stored document")),
        }
    }
    fn __relations(&mut self, path: &str, out: &mut Visit<'_>) {
        out(path, self);
    }
}

impl<T: Model> QueryArg<ForeignKey<T>> for &str {
    fn into_value(self) -> ForeignKey<T> {
        ForeignKey::new(self)
    }
}

impl<T: Model> QueryArg<ForeignKey<T>> for &String {
    fn into_value(self) -> ForeignKey<T> {
        ForeignKey::new(self)
    }
}

impl<T: Model> QueryArg<ForeignKey<T>> for String {
    fn into_value(self) -> ForeignKey<T> {
        ForeignKey {
            id: self,
            loaded: None,
        }
    }
}

impl<T: Model> QueryArg<ForeignKey<T>> for &crate::Id {
    fn into_value(self) -> ForeignKey<T> {
        ForeignKey::new(self)
    }
}

impl<T: Model> QueryArg<ForeignKey<T>> for &ForeignKey<T> {
    fn into_value(self) -> ForeignKey<T> {
        ForeignKey::new(&self.id)
    }
}

impl<T: Model> FieldPath<Vec<ForeignKey<T>>> {
    /// The list refers to `id` (foreign-key lists are indexed member by member).
    pub fn contains(&self, id: impl QueryArg<ForeignKey<T>>) -> crate::query::Expr {
        crate::query::contains_expr(self.path(), id.into_value().id.into_bytes())
    }
}
