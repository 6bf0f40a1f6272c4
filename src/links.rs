//! The hooks through which a loader fills a document's references without knowing its
//! type (`Model::__relations`, emitted by the derive; implemented by
//! `crate::ForeignKey`): kept apart from the relation types so that the codec, fields
//! and schema can name them without a circle.

use std::any::Any;
use std::sync::Arc;

use redis::Value;

use crate::context::Ctx;
use crate::error::Result;
use crate::keys::DocKeys;
use crate::schema::TargetFn;

/// What a document hands its references to (derive support): the field path and the
/// reference.
#[doc(hidden)]
pub type Visit<'a> = dyn FnMut(&str, &mut dyn Relation) + 'a;

/// One reference a loader can fill (implemented by [`ForeignKey`]).
#[doc(hidden)]
pub trait Relation {
    /// The model referred to.
    fn target(&self) -> Target;
    /// The id referred to.
    fn target_id(&self) -> &str;
    /// Stores the loaded target (an `Arc` of the target model).
    fn attach(&mut self, loaded: Arc<dyn Any + Send + Sync>);
    /// Refers to document `id` instead (not loaded).
    fn retarget(&mut self, id: &str);
}

/// A model as a loader sees it without its type: its schema and how to decode it.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Target {
    pub(crate) schema: TargetFn,
    pub(crate) decode: DecodeFn,
}

pub(crate) type DecodeFn = fn(&Ctx, &str, DocKeys, Vec<Value>) -> Result<Option<Box<dyn Node>>>;

/// A decoded document of any model: its references, then itself, shared.
pub(crate) trait Node: Send {
    fn schema(&self) -> &'static crate::schema::ModelSchema;
    /// Takes document id `id` (parsed as the model's key).
    fn set_id(&mut self, id: &str) -> Result<()>;
    /// The document's content as the write scripts read it (`doc.lua`).
    fn content(&self, ctx: &Ctx) -> Result<Vec<Vec<u8>>>;
    fn relations(&mut self, out: &mut Visit<'_>);
    fn into_shared(self: Box<Self>) -> Arc<dyn Any + Send + Sync>;
}
