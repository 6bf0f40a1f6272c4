//! The apply scripts of graph changes, sans-IO: what one server (one cluster slot) runs
//! for a cascading delete, a cleanup, a TTL cascade (`cascade.lua`) or a graph copy
//! (`copy.lua`), built from the plans of `cascade.rs`, `audit.rs`, `ttl.rs` and `copy.rs`,
//! and what its reply says.

use std::collections::HashMap;

use redis::Value;

use crate::context::Ctx;
use crate::error::{Result, unexpected};
use crate::keys::{self, DocKeys};
use crate::relation::cascade::{CascadeReport, Check, Null};
use crate::schema::{FieldKind, FieldSchema, ModelSchema, Shape};
use crate::scripts::{self, Invocation};

/// The part of `parts` for `key` of `ctx`'s environment (by slot on a cluster).
pub(crate) fn part_of(parts: &mut Vec<Part>, ctx: &Ctx, key: &str) -> usize {
    let slot = if ctx.env.is_cluster() {
        keys::slot(key.as_bytes())
    } else {
        0
    };
    match parts
        .iter()
        .position(|p| p.slot == slot && p.env.name() == ctx.env.name())
    {
        Some(i) => i,
        None => {
            parts.push(Part::new(ctx.env.clone(), slot));
            parts.len() - 1
        }
    }
}

/// How the apply script removes a reference from `field` ("s" an optional root field,
/// "l" a list, "e" a set); `None` for a required foreign key.
pub(crate) fn null_kind(field: &FieldSchema) -> Option<&'static str> {
    match field.kind {
        FieldKind::Scalar if matches!(field.shape, Shape::Option(_)) => Some("s"),
        FieldKind::List => Some("l"),
        FieldKind::Set => Some("e"),
        _ => None,
    }
}

/// One apply script being built: its keys (each once; a document's keys and a shard's
/// keys as contiguous blocks), its checks, removals and per-model deletes.
pub(crate) struct Part {
    env: crate::env::Environment,
    slot: u16,
    keys: Vec<String>,
    blocks: HashMap<String, usize>,
    checks: Vec<Vec<u8>>,
    nc: usize,
    nulls: Vec<Vec<u8>>,
    nn: usize,
    nulled: Vec<(&'static str, String, String, String)>,
    groups: Vec<(&'static ModelSchema, Vec<Vec<u8>>, usize)>,
    writes: Vec<(&'static ModelSchema, Vec<Vec<u8>>, usize)>,
    ttls: Vec<Vec<u8>>,
    ttled: Vec<(&'static str, String)>,
}

/// One environment's (one slot's) apply script and what it reports.
pub(crate) struct Apply {
    pub env: crate::env::Environment,
    pub call: Invocation,
    docs: Vec<(&'static str, String)>,
    /// Per removal: model, referring id, field, id referred to.
    pub nulled: Vec<(&'static str, String, String, String)>,
    /// Per TTL set: model, id.
    pub ttled: Vec<(&'static str, String)>,
}

impl Part {
    fn new(env: crate::env::Environment, slot: u16) -> Self {
        Self {
            env,
            slot,
            keys: Vec::new(),
            blocks: HashMap::new(),
            checks: Vec::new(),
            nc: 0,
            nulls: Vec::new(),
            nn: 0,
            nulled: Vec::new(),
            groups: Vec::new(),
            writes: Vec::new(),
            ttls: Vec::new(),
            ttled: Vec::new(),
        }
    }

    /// The 1-based position of the first of `block` in KEYS, adding it once.
    fn block(&mut self, block: Vec<String>) -> usize {
        if let Some(&at) = self.blocks.get(&block[0]) {
            return at;
        }
        let at = self.keys.len() + 1;
        self.blocks.insert(block[0].clone(), at);
        self.keys.extend(block);
        at
    }

    /// A shard's id index then its index keys (write order).
    fn shard(&mut self, doc: &DocKeys) -> usize {
        let mut block = vec![doc.ids.clone()];
        block.extend(doc.indexes.iter().map(|ix| ix.key.clone()));
        self.block(block)
    }

    fn doc(&mut self, doc: &DocKeys) -> usize {
        let mut block = vec![doc.root.clone()];
        block.extend(doc.collections.iter().map(|(_, k)| k.clone()));
        self.block(block)
    }

    fn index_pos(shard_at: usize, doc: &DocKeys, path: &str) -> usize {
        let i = doc
            .indexes
            .iter()
            .position(|ix| ix.path == path)
            .unwrap_or(0);
        shard_at + 1 + i
    }

    pub(crate) fn check(&mut self, ctx: &Ctx, c: &Check) {
        // any id of the shard gives the shard's keys: build them for the shard itself
        let doc = shard_doc(ctx, c.source, c.shard);
        let at = self.shard(&doc);
        let a = &mut self.checks;
        a.push(at.to_string().into_bytes());
        a.push(
            Self::index_pos(at, &doc, &c.field.path)
                .to_string()
                .into_bytes(),
        );
        a.push(c.value.clone().into_bytes());
        a.push(c.expected.len().to_string().into_bytes());
        a.extend(c.expected.iter().map(|i| i.clone().into_bytes()));
        self.nc += 1;
    }

    pub(crate) fn null(&mut self, n: &Null, doc: &DocKeys) {
        let Some(kind) = null_kind(n.field) else {
            return;
        };
        let shard_at = self.shard(doc);
        let root = self.doc(doc);
        let coll = match doc.collections.iter().position(|(p, _)| *p == n.field.path) {
            Some(i) if kind != "s" => root + 1 + i,
            _ => 0,
        };
        let a = &mut self.nulls;
        a.push(kind.as_bytes().to_vec());
        a.push(root.to_string().into_bytes());
        a.push(coll.to_string().into_bytes());
        a.push(
            Self::index_pos(shard_at, doc, &n.field.path)
                .to_string()
                .into_bytes(),
        );
        a.push(n.field.path.clone().into_bytes());
        a.push(n.id.clone().into_bytes());
        a.push(n.target.clone().into_bytes());
        self.nn += 1;
        self.nulled.push((
            n.source.name,
            n.id.clone(),
            n.field.path.clone(),
            n.target.clone(),
        ));
    }

    pub(crate) fn delete(&mut self, schema: &'static ModelSchema, id: &str, doc: &DocKeys) {
        let shard_at = self.shard(doc);
        let root = self.doc(doc);
        let g = match self
            .groups
            .iter()
            .position(|(s, _, _)| std::ptr::eq(*s, schema))
        {
            Some(g) => g,
            None => {
                self.groups.push((schema, Vec::new(), 0));
                self.groups.len() - 1
            }
        };
        let (_, args, d) = &mut self.groups[g];
        args.push(root.to_string().into_bytes());
        args.push((root + 1).to_string().into_bytes());
        args.push((shard_at + 1).to_string().into_bytes());
        args.push(shard_at.to_string().into_bytes());
        args.push(id.as_bytes().to_vec());
        *d += 1;
    }

    /// A new document written (a graph copy): `content` as `doc.lua` reads it.
    pub(crate) fn write(
        &mut self,
        schema: &'static ModelSchema,
        id: &str,
        doc: &DocKeys,
        content: Vec<Vec<u8>>,
    ) {
        let shard_at = self.shard(doc);
        let manifest = if doc.indexes.is_empty() {
            0
        } else {
            self.block(vec![doc.manifest.clone()])
        };
        let root = self.doc(doc);
        let g = match self
            .writes
            .iter()
            .position(|(s, _, _)| std::ptr::eq(*s, schema))
        {
            Some(g) => g,
            None => {
                self.writes.push((schema, Vec::new(), 0));
                self.writes.len() - 1
            }
        };
        let (_, args, d) = &mut self.writes[g];
        for n in [root, root + 1, shard_at + 1, shard_at, manifest] {
            args.push(n.to_string().into_bytes());
        }
        args.push(id.as_bytes().to_vec());
        args.push(schema.ttl_ms.unwrap_or(0).to_string().into_bytes());
        args.extend(content);
        *d += 1;
    }

    /// A document's TTL set to `ms` (a TTL cascade), when it exists.
    pub(crate) fn ttl(&mut self, schema: &'static ModelSchema, id: &str, doc: &DocKeys, ms: u64) {
        let shard_at = self.shard(doc);
        let root = self.doc(doc);
        for n in [root, shard_at, doc.collections.len()] {
            self.ttls.push(n.to_string().into_bytes());
        }
        self.ttls.push(id.as_bytes().to_vec());
        self.ttls.push(ms.to_string().into_bytes());
        self.ttled.push((schema.name, id.to_owned()));
    }

    pub(crate) fn finish(self) -> Apply {
        if !self.writes.is_empty() {
            // a graph copy: only writes (copy.lua), which add data
            let mut args = vec![self.writes.len().to_string().into_bytes()];
            for (schema, doc_args, d) in self.writes {
                args.extend_from_slice(&keys::write_layout(schema).args);
                args.push(d.to_string().into_bytes());
                args.extend(doc_args);
            }
            return Apply {
                env: self.env,
                call: Invocation {
                    script: &scripts::COPY,
                    keys: self.keys,
                    args,
                },
                docs: Vec::new(),
                nulled: Vec::new(),
                ttled: Vec::new(),
            };
        }
        let mut args = vec![
            self.nc.to_string().into_bytes(),
            self.nn.to_string().into_bytes(),
            self.groups.len().to_string().into_bytes(),
            self.ttled.len().to_string().into_bytes(),
        ];
        args.extend(self.checks);
        args.extend(self.nulls);
        // documents in the order the groups list them (the reply's flags follow it)
        let mut docs = Vec::new();
        for (schema, doc_args, d) in self.groups {
            args.extend_from_slice(&keys::write_layout(schema).args);
            args.push(d.to_string().into_bytes());
            for chunk in doc_args.chunks(5) {
                docs.push((schema.name, String::from_utf8_lossy(&chunk[4]).into_owned()));
            }
            args.extend(doc_args);
        }
        args.extend(self.ttls);
        Apply {
            env: self.env,
            call: Invocation {
                script: &scripts::CASCADE,
                keys: self.keys,
                args,
            },
            docs,
            nulled: self.nulled,
            ttled: self.ttled,
        }
    }
}

/// The keys of shard `shard` of `schema` (a document's keys carry its shard's).
fn shard_doc(ctx: &Ctx, schema: &'static ModelSchema, shard: u32) -> DocKeys {
    DocKeys {
        root: String::new(),
        ids: ctx.keys.ids(shard),
        collections: Vec::new(),
        indexes: ctx.keys.index_keys(schema, shard),
        manifest: ctx.keys.manifest(shard),
    }
}

/// What one apply script did: `Ok(true)` applied (the report filled), `Ok(false)` a
/// check no longer held (nothing written: plan again).
pub(crate) fn applied(apply: &Apply, reply: Value, report: &mut CascadeReport) -> Result<bool> {
    let Some((docs, nulls, _)) = outcome(reply)? else {
        return Ok(false);
    };
    for (doc, existed) in apply.docs.iter().zip(docs) {
        if existed {
            report.deleted.push(doc.clone());
        }
    }
    for ((model, id, field, _), removed) in apply.nulled.iter().zip(nulls) {
        if removed {
            report.nullified.push((model, id.clone(), field.clone()));
        }
    }
    Ok(true)
}

/// Per item of one section of an apply script, whether it applied.
pub(crate) type Flags = Vec<bool>;

/// The apply script's reply: per document deleted whether it existed, per removal
/// whether the reference was there, per TTL whether the document existed; `None` when a
/// check no longer held.
pub(crate) fn outcome(reply: Value) -> Result<Option<(Flags, Flags, Flags)>> {
    let Value::Array(items) = &reply else {
        return Err(unexpected("cascade", &reply));
    };
    let flags = |i: usize| match items.get(i) {
        Some(Value::BulkString(b)) => Ok(b.iter().map(|f| *f == b'1').collect()),
        Some(Value::SimpleString(s)) => Ok(s.bytes().map(|f| f == b'1').collect()),
        _ => Err(unexpected("cascade", &reply)),
    };
    match items.first() {
        Some(Value::Int(0)) => Ok(None),
        Some(Value::Int(1)) => Ok(Some((flags(1)?, flags(2)?, flags(3)?))),
        _ => Err(unexpected("cascade", &reply)),
    }
}

/// The apply scripts removing the references `refs` of documents of `schema` (field,
/// referring id, id referred to) and nothing else: the cleanup of dangling references.
/// Required foreign keys are left out (they have no empty value).
pub(crate) fn removal_calls(
    schema: &'static ModelSchema,
    refs: &[(&'static FieldSchema, String, String)],
) -> Result<Vec<Apply>> {
    let ctx = Ctx::for_schema(schema)?;
    let mut parts = Vec::new();
    for (field, id, target) in refs {
        if null_kind(field).is_none() {
            continue;
        }
        let doc = ctx.keys.doc(schema, id);
        let i = part_of(&mut parts, &ctx, &doc.root);
        let null = Null {
            source: schema,
            field,
            id: id.clone(),
            target: target.clone(),
        };
        parts[i].null(&null, &doc);
    }
    Ok(parts.into_iter().map(Part::finish).collect())
}
