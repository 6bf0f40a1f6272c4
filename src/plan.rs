//! Write and read plans: what to send for each operation, and how to read the replies.
//! Sans-IO: only the mode shells send anything.

use std::collections::HashMap;

use redis::Value;

use crate::bulk;
use crate::codec::{Decoder, Encoder, Key};
pub(crate) use crate::context::Ctx;
use crate::env::Environment;
pub(crate) use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::keys::{self, DocKeys};
use crate::model::Model;
use crate::schema::FieldKind;
use crate::scripts::{self, Invocation};

impl Ctx {
    pub(crate) fn of<M: Model>() -> Result<Self> {
        Self::for_schema(M::schema())
    }
}

/// How a load is sent.
pub(crate) enum Load {
    /// `MULTI`, reads, `EXEC`.
    Snapshot(redis::Pipeline),
    /// `load.lua`: the same reads plus the TTL refresh, in one script.
    Refresh(Invocation),
}

/// Plans the load of documents `docs` (ids `ids`) as one snapshot: `load.lua` when the
/// model's policy refreshes TTLs on reads and the caller did not opt out (`peek`), the
/// TTL of each document found pushed back in the same step; otherwise a `MULTI` of reads.
pub(crate) fn load_many_plan(ctx: &Ctx, docs: &[DocKeys], ids: &[&str], refresh: bool) -> Load {
    let spec = ctx.schema.refresh_spec(false).filter(|_| refresh);
    // a cluster connection fails a whole `MULTI` for one wrong-typed key (it cannot name
    // key and field then): clusters load with the script, which reads with `pcall`
    let spec = match spec {
        None if ctx.env.is_cluster() => Some("0".to_owned()),
        other => other,
    };
    let (Some(spec), false) = (spec, docs.is_empty()) else {
        return Load::Snapshot(load_many(ctx, docs));
    };
    Load::Refresh(load_call(ctx, docs, ids, spec))
}

/// The call of `load.lua` reading `docs` (ids `ids`) as one snapshot, their TTLs pushed
/// back as `spec` says (`"0"`: not at all).
pub(crate) fn load_call(ctx: &Ctx, docs: &[DocKeys], ids: &[&str], spec: String) -> Invocation {
    let mut keys = Vec::with_capacity(docs.len() * (2 + ctx.schema.collections().count()));
    for doc in docs {
        keys.push(doc.root.clone());
        keys.push(doc.ids.clone());
        keys.extend(doc.collections.iter().map(|(_, k)| k.clone()));
    }
    let mut args = vec![spec.into_bytes(), docs.len().to_string().into_bytes()];
    args.extend(
        ctx.schema
            .collections()
            .map(|f| f.kind.letter().as_bytes().to_vec()),
    );
    args.extend(ids.iter().map(|id| id.as_bytes().to_vec()));
    Invocation {
        script: &scripts::LOAD,
        keys,
        args,
    }
}

/// Whether the server refused a `MULTI` (or a command) for being over `maxmemory`: it
/// refuses every command queued in a transaction then, reads too.
pub(crate) fn over_maxmemory(err: &redis::RedisError) -> bool {
    err.code() == Some("OOM")
        || err
            .clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, e)| e.code() == "OOM"))
}

/// The replies of `load.lua`, in the shape of the snapshot's.
pub(crate) fn refresh_replies(v: Value) -> Result<Vec<Value>> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(unexpected("load script", &other)),
    }
}

/// Loads many documents as one snapshot: one `MULTI` holding every document's reads.
pub(crate) fn load_many(ctx: &Ctx, docs: &[DocKeys]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    // a key of the wrong type fails its own read only: decode_load names key and field
    pipe.atomic().ignore_errors();
    for doc in docs {
        pipe.cmd("HGETALL").arg(&doc.root);
        for ((_, key), field) in doc.collections.iter().zip(ctx.schema.collections()) {
            match field.kind {
                FieldKind::List => pipe.cmd("LRANGE").arg(key).arg(0).arg(-1),
                FieldKind::Map => pipe.cmd("HGETALL").arg(key),
                FieldKind::StringKey => pipe.cmd("GET").arg(key),
                FieldKind::SortedSet => {
                    pipe.cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES")
                }
                _ => pipe.cmd("SMEMBERS").arg(key),
            };
        }
    }
    pipe
}

/// The keys a load reads (root and collections, and the id index a TTL refresh updates;
/// no index keys), after checking the id.
pub(crate) fn read_keys(ctx: &Ctx, id: &str) -> Result<DocKeys> {
    ctx.doc_id(id)?;
    let shard = ctx.keys.shard_of(id);
    Ok(DocKeys {
        root: ctx.keys.root(shard, id),
        ids: ctx.keys.ids(shard),
        collections: ctx.keys.collections(ctx.schema, shard, id),
        indexes: Vec::new(),
        manifest: String::new(),
    })
}

/// Number of replies [`load`] gives for one document.
pub(crate) fn load_len(ctx: &Ctx) -> usize {
    1 + ctx.schema.collections().count()
}

/// The stored root fields of a load's replies (empty when the document is missing).
pub(crate) fn raw_root(replies: &[Value]) -> HashMap<String, Vec<u8>> {
    let items = match replies.first() {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Map(entries)) => entries
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect(),
        _ => Vec::new(),
    };
    let mut out = HashMap::new();
    let mut it = items.into_iter();
    while let (Some(Value::BulkString(k)), Some(Value::BulkString(v))) = (it.next(), it.next()) {
        out.insert(String::from_utf8_lossy(&k).into_owned(), v);
    }
    out
}

/// The stored collections of a load's replies, by field path (a reply that cannot be
/// read, a wrong-typed key's say, reads as empty).
pub(crate) fn raw_collections(ctx: &Ctx, replies: &[Value]) -> HashMap<String, Vec<Vec<u8>>> {
    ctx.schema
        .collections()
        .zip(replies.iter().skip(1))
        .map(|(f, v)| {
            let items = match v {
                // a read the load script could not make (read.lua): nothing to match
                Value::SimpleString(_) | Value::ServerError(_) => Vec::new(),
                v => bulk_items(Some(v.clone()), &f.path).unwrap_or_default(),
            };
            (f.path.clone(), items)
        })
        .collect()
}

/// Decodes the replies of [`load`]; `None` when the document does not exist.
pub(crate) fn decode_load<M: Model>(
    ctx: &Ctx,
    id: &str,
    doc: DocKeys,
    replies: Vec<Value>,
) -> Result<Option<M>> {
    let mut replies = replies.into_iter();
    let root_reply = replies.next();
    if let Some(e) = read_refused(root_reply.as_ref(), &doc.root, "hash") {
        return Err(e);
    }
    let root_pairs = bulk_items(root_reply, &doc.root)?;
    if root_pairs.is_empty() {
        return Ok(None);
    }
    let root: Vec<(Vec<u8>, Vec<u8>)> = pairs(root_pairs).collect();
    let mut collections = Vec::with_capacity(doc.collections.len());
    let mut wrong = Vec::new();
    for ((path, key), field) in doc.collections.into_iter().zip(ctx.schema.collections()) {
        let reply = replies.next();
        let items = match read_refused(reply.as_ref(), &key, field.kind.redis_type()) {
            Some(e) => {
                wrong.push((path.clone(), e));
                Vec::new()
            }
            None => bulk_items(reply, &key)?,
        };
        collections.push((path, key, items));
    }
    let mut dec = Decoder::new(ctx.schema.name, id.to_owned(), doc.root, root, collections)
        .policy(ctx.schema.on_error);
    for (path, e) in wrong {
        dec = dec.wrong_type(path, e);
    }
    M::__decode(&mut dec).map(Some)
}

/// Whether `insert` may overwrite an existing document.
#[derive(Clone, Copy)]
pub(crate) enum WriteMode<'a> {
    Save,
    Insert,
    /// A save that must still hold this lock; `true`: release it in the same script.
    Locked(&'a HeldLock, bool),
}

/// A lock this process holds: its key and token, and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct HeldLock {
    pub env: Environment,
    pub key: String,
    pub token: String,
}

/// What one lock attempt found.
pub(crate) enum LockAttempt {
    /// Someone else holds it.
    Busy,
    /// The document does not exist (the lock was released again).
    Missing,
    /// Locked; the load replies, in the shape of a snapshot load's.
    Loaded(Vec<Value>),
}

/// `lock_load.lua`: takes lock `action` on document `id` and loads it, in one step.
pub(crate) fn lock_load(
    ctx: &Ctx,
    id: &str,
    action: &str,
    lease: std::time::Duration,
) -> Result<(HeldLock, Invocation)> {
    let held = new_lock(ctx, id, action, lease)?;
    let doc = ctx.doc(id)?;
    let refresh = ctx
        .schema
        .refresh_spec(false)
        .unwrap_or_else(|| "0".to_owned());
    let ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
    let mut keys = vec![held.key.clone(), doc.root, doc.ids];
    keys.extend(doc.collections.into_iter().map(|(_, k)| k));
    let mut args = vec![
        held.token.as_bytes().to_vec(),
        ms.to_string().into_bytes(),
        id.as_bytes().to_vec(),
        refresh.to_string().into_bytes(),
    ];
    args.extend(
        ctx.schema
            .collections()
            .map(|f| f.kind.letter().as_bytes().to_vec()),
    );
    Ok((
        held,
        Invocation {
            script: &scripts::LOCK_LOAD,
            keys,
            args,
        },
    ))
}

/// Reads `lock_load.lua`'s reply.
pub(crate) fn lock_attempt(v: Value) -> Result<LockAttempt> {
    let mut items = match v {
        Value::Array(items) => items.into_iter(),
        other => return Err(unexpected("lock script", &other)),
    };
    match items.next() {
        Some(Value::Int(0)) => Ok(LockAttempt::Busy),
        Some(Value::Int(2)) => Ok(LockAttempt::Missing),
        Some(Value::Int(1)) => Ok(LockAttempt::Loaded(items.collect())),
        other => Err(unexpected(
            "lock script",
            other.as_ref().unwrap_or(&Value::Nil),
        )),
    }
}

/// A fresh lock (key and random token) for `action` on document `id`, after checking
/// the input.
fn new_lock(ctx: &Ctx, id: &str, action: &str, lease: std::time::Duration) -> Result<HeldLock> {
    ctx.doc(id)?;
    if action.is_empty() || action.len() > 256 {
        return Err(Error::InvalidInput(format!(
            "lock action {action:?} must be 1 to 256 bytes"
        )));
    }
    if lease.as_millis() == 0 {
        return Err(Error::InvalidInput(
            "a lock lease must be at least 1 ms".into(),
        ));
    }
    Ok(HeldLock {
        env: ctx.env.clone(),
        key: ctx.keys.lock(id, action),
        token: uuid::Uuid::new_v4().to_string(),
    })
}

/// Compare-and-delete release of `held`.
pub(crate) fn unlock(held: &HeldLock) -> Invocation {
    Invocation {
        script: &scripts::UNLOCK,
        keys: vec![held.key.clone()],
        args: vec![held.token.as_bytes().to_vec()],
    }
}

/// Encodes `model` (under `id`) into a call of the save script (`save.lua`: mode, id,
/// TTL, the model's layout, then the content as `doc.lua` reads it). Encoding errors are
/// returned here, before anything is sent.
pub(crate) fn write<M: Model>(
    ctx: &Ctx,
    model: &M,
    id: &str,
    mode: WriteMode,
) -> Result<Invocation> {
    let doc = ctx.doc(id)?;
    let enc = encode(ctx, model)?;
    let refs = must_exist(ctx, &doc, &enc)?;
    let items: usize = enc.collections.iter().map(Vec::len).sum();
    let mut args: Vec<Vec<u8>> =
        Vec::with_capacity(16 + 3 * doc.indexes.len() + 2 * enc.root.len() + items);
    args.push(match mode {
        WriteMode::Save => b"save".to_vec(),
        WriteMode::Insert => b"insert".to_vec(),
        WriteMode::Locked(_, false) => b"locked".to_vec(),
        WriteMode::Locked(_, true) => b"unlock".to_vec(),
    });
    args.push(id.as_bytes().to_vec());
    args.push(ctx.schema.ttl_ms.unwrap_or(0).to_string().into_bytes());
    args.extend_from_slice(&keys::write_layout(ctx.schema).args);
    push_content(&mut args, enc);
    args.push(refs.len().to_string().into_bytes());
    for (field, model, target, _) in &refs {
        args.push(field.as_bytes().to_vec());
        args.push(model.as_bytes().to_vec());
        args.push(target.as_bytes().to_vec());
    }
    let indexed = !doc.indexes.is_empty();
    let mut keys = Vec::with_capacity(4 + doc.collections.len() + doc.indexes.len() + refs.len());
    keys.push(doc.root);
    keys.push(doc.ids);
    keys.extend(doc.collections.into_iter().map(|(_, key)| key));
    keys.extend(doc.indexes.into_iter().map(|ix| ix.key));
    if indexed {
        keys.push(doc.manifest);
    }
    keys.extend(refs.into_iter().flat_map(|(_, _, _, keys)| keys));
    if let WriteMode::Locked(held, _) = mode {
        keys.push(held.key.clone());
        args.push(held.token.as_bytes().to_vec());
    }
    Ok(Invocation {
        script: &scripts::SAVE,
        keys,
        args,
    })
}

/// A reference a save checks (`#[rapyer(must_exist)]`): field, target model, target id,
/// target root key and fence.
type MustExist = (String, &'static str, String, [String; 2]);

/// The references of `must_exist` fields in `enc`, each once. The save script checks
/// them, so a target must be on the document's server (on a cluster in its slot:
/// `colocate`); else [`Error::InvalidInput`] before anything is sent.
fn must_exist(ctx: &Ctx, doc: &DocKeys, enc: &Encoded) -> Result<Vec<MustExist>> {
    let mut out: Vec<MustExist> = Vec::new();
    for f in ctx
        .schema
        .fields
        .iter()
        .filter(|f| f.relation.is_some_and(|r| r.must_exist()))
    {
        let target = f.relation.expect("a relation").target();
        let values: Vec<&Vec<u8>> = match ctx.schema.collections().position(|c| c.path == f.path) {
            Some(i) => enc
                .collections
                .get(i)
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            None => enc
                .root
                .iter()
                .filter(|(p, _)| *p == f.path)
                .map(|(_, v)| v)
                .collect(),
        };
        let tctx = Ctx::for_schema(target)?;
        for id in values
            .into_iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
        {
            if out.iter().any(|(p, _, t, _)| *p == f.path && *t == id) {
                continue;
            }
            let root = tctx.doc(&id)?.root;
            if tctx.env.name() != ctx.env.name()
                || (ctx.env.is_cluster()
                    && keys::slot(root.as_bytes()) != keys::slot(doc.root.as_bytes()))
            {
                return Err(Error::InvalidInput(format!(
                    "{} `{}` must_exist: {} `{id}` is on another server or cluster slot, so the save cannot check it in one step (put both models in one #[rapyer(colocate = \"…\")] group)",
                    ctx.schema.name, f.path, target.name
                )));
            }
            let fence = tctx.keys.fence(&id);
            out.push((f.path.clone(), target.name, id, [root, fence]));
        }
    }
    Ok(out)
}

/// Appends a document's content as `doc.lua` reads it: the root field count, the root
/// fields, then per collection its item count and items.
pub(crate) fn push_content(args: &mut Vec<Vec<u8>>, enc: Encoded) {
    args.push(enc.root.len().to_string().into_bytes());
    for (field, value) in enc.root {
        args.push(field.into_bytes());
        args.push(value);
    }
    for items in enc.collections {
        args.push(items.len().to_string().into_bytes());
        args.extend(items);
    }
}

/// A model encoded for storage: its root hash fields (layout version and index
/// fingerprint included) and its collections' items, in schema order.
pub(crate) struct Encoded {
    pub root: Vec<(String, Vec<u8>)>,
    pub collections: Vec<Vec<Vec<u8>>>,
}

/// Encodes `model` and checks what the indexes cannot hold (NaN in an indexed float).
pub(crate) fn encode<M: Model>(ctx: &Ctx, model: &M) -> Result<Encoded> {
    let mut enc = Encoder::new(ctx.schema.name);
    enc.root_field(keys::META_FIELD, keys::LAYOUT_VERSION.as_bytes().to_vec());
    model.__encode(&mut enc)?;
    let kept = model.failed_fields();
    if !kept.is_empty() {
        // quarantined fields were written back as stored (DESIGN §7)
        let fields: Vec<&str> = kept.iter().map(|f| f.field.as_str()).collect();
        tracing::warn!(
            model = ctx.schema.name,
            id = %model.id(),
            fields = ?fields,
            "rapyer: saving without touching fields that could not be decoded: their stored bytes are kept"
        );
    }
    let indexed = ctx.schema.indexes().next().is_some();
    if indexed {
        // which indexes the document was written with (reindex rewrites it)
        enc.root_field(
            keys::INDEX_FIELD,
            keys::write_layout(ctx.schema)
                .fingerprint
                .as_bytes()
                .to_vec(),
        );
    }
    // a numeric index scores the stored text: it must be a number (NaN has no score).
    // Encoders only write numbers there; quarantined bytes of a `Safe`/`Lazy` field
    // (DESIGN §7) may not be, and must not reach the write script.
    for ix in ctx.schema.indexes().filter(|ix| ix.index_letter() == "n") {
        let Some((_, v)) = enc.root.iter().find(|(f, _)| *f == ix.path) else {
            continue;
        };
        let number = std::str::from_utf8(v)
            .ok()
            .and_then(|t| t.parse::<f64>().ok());
        let reason = match number {
            Some(n) if n.is_nan() => "NaN cannot be stored".to_owned(),
            Some(_) => continue,
            None => format!(
                "{} is not a number and cannot be stored",
                crate::codec::show(v)
            ),
        };
        return Err(Error::InvalidInput(format!(
            "{}: {reason} in indexed field `{}`",
            ctx.schema.name, ix.path
        )));
    }
    // the indexed root fields first, in index order: the write script reads their new
    // values from the front without a lookup table (doc.lua's write_doc)
    let mut root = Vec::with_capacity(enc.root.len());
    for ix in ctx.schema.indexes().filter(|f| !f.kind.is_collection()) {
        if let Some(at) = enc.root.iter().position(|(f, _)| *f == ix.path) {
            root.push(enc.root.swap_remove(at));
        }
    }
    root.append(&mut enc.root);
    // in schema order (a model has few collections: a scan beats a map)
    let mut stored = enc.collections;
    let collections = ctx
        .schema
        .collections()
        .map(
            |f| match stored.iter().position(|(path, ..)| *path == f.path) {
                Some(at) => stored.swap_remove(at).2,
                None => Vec::new(),
            },
        )
        .collect();
    if let Some((path, ..)) = stored.into_iter().next() {
        // The encoder produced a collection the schema does not describe: a derive bug,
        // reported rather than silently dropped.
        return Err(Error::Encode {
            model: ctx.schema.name,
            field: path,
            reason: "collection not described by the model schema".into(),
        });
    }
    Ok(Encoded { root, collections })
}

/// Reads the save script's reply.
pub(crate) fn written(ctx: &Ctx, id: &str, reply: Value) -> Result<()> {
    match reply {
        Value::Int(1) => Ok(()),
        Value::Int(-1) => Err(Error::Conflict {
            model: ctx.schema.name,
            key: ctx.keys.doc(ctx.schema, id).root,
            reason: "the lock's lease ran out before the save; nothing was written".into(),
        }),
        Value::Array(items) if items.len() == 4 => {
            let text = |v: &Value| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            };
            let target = ctx
                .schema
                .fields
                .iter()
                .find(|f| f.path == text(&items[1]))
                .and_then(|f| f.relation)
                .map_or("", |r| r.target().name);
            Err(Error::Dangling {
                model: ctx.schema.name,
                field: text(&items[1]),
                target,
                ids: vec![text(&items[3])],
            })
        }
        Value::Int(0) | Value::Nil => {
            let doc = ctx.keys.doc(ctx.schema, id);
            Err(Error::AlreadyExists {
                model: ctx.schema.name,
                id: id.to_owned(),
                key: doc.root,
            })
        }
        other => Err(unexpected("save script", &other)),
    }
}

/// `delete.lua` for document `id`: its keys, id-index entry and index entries, in one
/// atomic step (idempotent: safe to replay in a batch).
pub(crate) fn delete_call(ctx: &Ctx, doc: &DocKeys, id: &str) -> Invocation {
    let mut keys = vec![doc.root.clone(), doc.ids.clone()];
    keys.extend(doc.collections.iter().map(|(_, k)| k.clone()));
    keys.extend(doc.indexes.iter().map(|ix| ix.key.clone()));
    let mut args = vec![id.as_bytes().to_vec()];
    args.extend_from_slice(&keys::write_layout(ctx.schema).args);
    Invocation {
        script: &scripts::DELETE,
        keys,
        args,
    }
}

/// Whether the deleted document existed, from either form's reply.
pub(crate) fn deleted(replies: Vec<Value>) -> Result<bool> {
    match replies.first() {
        Some(Value::Int(n)) => Ok(*n > 0),
        other => Err(unexpected("DEL", other.unwrap_or(&Value::Nil))),
    }
}

pub(crate) fn exists(doc: &DocKeys) -> redis::Cmd {
    let mut cmd = redis::cmd("EXISTS");
    cmd.arg(&doc.root);
    cmd
}

pub(crate) fn int_reply(context: &str, v: Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(context, &other)),
    }
}

/// `live.lua` on every shard's id index: lists (`ids`) or counts (`count`) live ids,
/// dropping expired ones. Sent as one pipeline.
pub(crate) fn live(ctx: &Ctx, what: &str) -> Vec<Invocation> {
    (0..ctx.keys.shards())
        .map(|shard| Invocation {
            script: &scripts::LIVE,
            keys: vec![ctx.keys.ids(shard)],
            args: vec![what.as_bytes().to_vec()],
        })
        .collect()
}

/// `ttl.lua`: sets (`Some`) or removes (`None`) the TTL of document `id`.
pub(crate) fn set_ttl(ctx: &Ctx, id: &str, ttl: Option<std::time::Duration>) -> Result<Invocation> {
    let doc = ctx.doc(id)?;
    let ms = match ttl {
        Some(d) => {
            let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            if ms == 0 {
                return Err(Error::InvalidInput(
                    "a TTL must be at least 1 ms (use persist to remove it)".into(),
                ));
            }
            ms
        }
        None => 0,
    };
    let mut keys = vec![doc.root, doc.ids];
    keys.extend(doc.collections.into_iter().map(|(_, k)| k));
    Ok(Invocation {
        script: &scripts::TTL,
        keys,
        args: vec![id.as_bytes().to_vec(), ms.to_string().into_bytes()],
    })
}

/// `PTTL` of the root: the document's TTL.
pub(crate) fn pttl(doc: &DocKeys) -> redis::Cmd {
    let mut cmd = redis::cmd("PTTL");
    cmd.arg(&doc.root);
    cmd
}

/// Reads `PTTL`: `Ok(None)` without a TTL, `NotFound` when missing.
pub(crate) fn decode_pttl(ctx: &Ctx, id: &str, v: Value) -> Result<Option<std::time::Duration>> {
    match int_reply("PTTL", v)? {
        -2 => Err(Error::NotFound {
            model: ctx.schema.name,
            id: id.to_owned(),
            key: ctx.keys.doc(ctx.schema, id).root,
        }),
        n if n < 0 => Ok(None),
        n => Ok(Some(std::time::Duration::from_millis(n as u64))),
    }
}

/// Merges [`ids`] replies, sorted by id text (creation order for auto ids).
pub(crate) fn decode_ids<K: Key>(ctx: &Ctx, replies: Vec<Value>) -> Result<Vec<K>> {
    let mut all = Vec::new();
    for (shard, reply) in replies.into_iter().enumerate() {
        let key = ctx.keys.ids(shard as u32);
        for raw in bulk_items(Some(reply), &key)? {
            let text = String::from_utf8(raw).map_err(|e| Error::Decode {
                model: ctx.schema.name,
                key: key.clone(),
                field: ctx.schema.key_field.to_owned(),
                reason: format!("id is not UTF-8: {}", crate::codec::show(e.as_bytes())),
            })?;
            all.push(text);
        }
    }
    all.sort_unstable();
    all.into_iter()
        .map(|text| {
            K::from_key(&text).map_err(|reason| Error::Decode {
                model: ctx.schema.name,
                key: ctx.keys.doc(ctx.schema, &text).root,
                field: ctx.schema.key_field.to_owned(),
                reason,
            })
        })
        .collect()
}

/// Parses id texts into the model's key type.
pub(crate) fn parse_ids<M: Model>(ids: Vec<String>) -> Result<Vec<M::Key>> {
    ids.into_iter()
        .map(|id| {
            M::Key::from_key(&id).map_err(|reason| Error::Decode {
                model: M::schema().name,
                key: id.clone(),
                field: M::schema().key_field.to_owned(),
                reason,
            })
        })
        .collect()
}

pub(crate) fn decode_count(replies: Vec<Value>) -> Result<u64> {
    replies
        .into_iter()
        .map(|v| int_reply("count", v).map(|n| n.max(0) as u64))
        .sum()
}

/// The error of a read of `key` (a hash, list or set: `expected`) that the server
/// refused: [`Error::WrongType`] for `WRONGTYPE`, the server's error otherwise.
fn read_refused(v: Option<&Value>, key: &str, expected: &str) -> Option<Error> {
    match v {
        // WRONGTYPE does not say which type: "other"
        Some(Value::ServerError(e)) if e.code() == "WRONGTYPE" => {
            Some(crate::keys::wrong_type(key, "other", expected))
        }
        Some(Value::ServerError(e)) => Some(Error::Redis(e.clone().into())),
        // the load scripts return a read's error as a status reply (read.lua)
        Some(Value::SimpleString(s)) if s.starts_with("WRONGTYPE") => {
            Some(crate::keys::wrong_type(key, "other", expected))
        }
        Some(Value::SimpleString(s)) => Some(unexpected(
            &format!("read of `{key}`"),
            &Value::SimpleString(s.clone()),
        )),
        _ => None,
    }
}

/// Flattens a multi-bulk reply (RESP2 array, RESP3 map or set; RESP3 sorted set pairs)
/// into its byte strings; a string's value is its one item.
fn bulk_items(v: Option<Value>, key: &str) -> Result<Vec<Vec<u8>>> {
    fn push(v: Value, out: &mut Vec<Vec<u8>>, key: &str) -> Result<()> {
        match v {
            Value::BulkString(b) => out.push(b),
            Value::SimpleString(s) => out.push(s.into_bytes()),
            Value::Int(n) => out.push(n.to_string().into_bytes()),
            Value::Double(d) => out.push(format!("{d:e}").into_bytes()),
            // RESP3 `ZRANGE .. WITHSCORES`: one [member, score] array per member
            Value::Array(pair) if pair.len() == 2 => {
                for item in pair {
                    push(item, out, key)?;
                }
            }
            other => return Err(unexpected(&format!("read of `{key}`"), &other)),
        }
        Ok(())
    }
    let mut out = Vec::new();
    match v {
        None | Some(Value::Nil) => {}
        Some(Value::BulkString(b)) => out.push(b),
        Some(Value::Array(items)) | Some(Value::Set(items)) => {
            out.reserve(items.len());
            for item in items {
                push(item, &mut out, key)?;
            }
        }
        Some(Value::Map(entries)) => {
            for (k, v) in entries {
                push(k, &mut out, key)?;
                push(v, &mut out, key)?;
            }
        }
        Some(other) => return Err(unexpected(&format!("read of `{key}`"), &other)),
    }
    Ok(out)
}

fn pairs(items: Vec<Vec<u8>>) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    let mut it = items.into_iter();
    std::iter::from_fn(move || Some((it.next()?, it.next()?)))
}

// ---- bulk chunks of whole models -----------------------------------------------------------

/// Plans the chunks writing `models`. Every model is encoded and checked first: bad
/// input is refused before anything is sent.
pub(crate) fn write_chunks<M: Model>(
    ctx: &Ctx,
    models: &[M],
    mode: bulk::BulkMode,
    chunk: usize,
) -> Result<Vec<bulk::Chunk>> {
    let ids: Vec<String> = models.iter().map(Model::id).collect();
    bulk::no_repeats(ctx, ids.iter().map(String::as_str))?;
    let mut out = Vec::with_capacity(models.len().div_ceil(chunk));
    for at in bulk::chunk_positions(ctx, &ids, chunk) {
        let chunk_ids: Vec<String> = at.iter().map(|&i| ids[i].clone()).collect();
        let call = bulk::chunk_call(ctx, mode, &chunk_ids, |i, args| {
            push_content(args, encode(ctx, &models[at[i]])?);
            Ok(())
        })?;
        out.push(bulk::Chunk {
            ids: chunk_ids,
            call,
        });
    }
    Ok(out)
}
