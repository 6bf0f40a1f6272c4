//! A model's keyspace in its resolved environment: what every plan starts from.

use crate::env::Environment;
use crate::error::Result;
use crate::keys::{self, DocKeys, Keyspace};
use crate::schema::ModelSchema;

/// A model's keyspace in its resolved environment.
pub(crate) struct Ctx {
    pub env: Environment,
    pub schema: &'static ModelSchema,
    pub keys: Keyspace,
}

impl Ctx {
    pub(crate) fn for_schema(schema: &'static ModelSchema) -> Result<Self> {
        let env = crate::env::resolve(schema.env)?;
        let keys = Keyspace::new(env.namespace(), schema);
        Ok(Self { env, schema, keys })
    }

    /// The keys of document `id`, after checking the id.
    pub(crate) fn doc(&self, id: &str) -> Result<DocKeys> {
        self.doc_id(id)?;
        Ok(self.keys.doc(self.schema, id))
    }

    /// Checks an id before it is used in a key.
    pub(crate) fn doc_id(&self, id: &str) -> Result<()> {
        keys::validate_id(self.schema.name, id)
    }
}
