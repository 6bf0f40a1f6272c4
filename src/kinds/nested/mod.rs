//! Typed paths into stored values (DESIGN §13): a list element by index, a map value by
//! key, a field of a `#[derive(Element)]` struct inside them, to any depth. Reads return
//! only the addressed bytes (one script call, `path_get` in `path_read.lua`, whose
//! msgpack walker never decodes what it passes over; plans of such reads without a TTL
//! refresh run in the lean `read_plan.lua`, others in `exec.lua`); writes (`path.lua`)
//! splice bytes encoded here.
//!
//! A path is built from [`crate::Model::fields`] (reads, given an id: mode [`ById`]) or
//! from an atomic handle (`model.atomic()`, `Model::at(id)`: mode [`OnDoc`], reads and
//! writes, mirrored into the local copy when there is one).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use once_cell::sync::Lazy;
use redis::Value;

use crate::error::{Error, Result, unexpected};
use crate::exec::{DocRef, Pending, Target, bytes, int, map_pending};
use crate::schema::{ModelSchema, Shape};

mod impls;

pub use impls::{DictPath, MemberPath, SeqPath};

/// A value typed paths can reach into: implemented for scalars, `Option`, sequences,
/// maps and sets, and for your structs by `#[derive(rapyer::Element)]`.
#[diagnostic::on_unimplemented(
    message = "typed paths cannot reach into `{Self}`",
    note = "`#[derive(rapyer::Element)]` on a struct makes its fields reachable; a field of a type of your own that is no Element can be marked `#[rapyer(opaque)]` in the Element struct (read and written whole)"
)]
pub trait Nested: Sized {
    /// The path type for a value of this type (a leaf [`At`], or a type with steps).
    type Path<B: PathMode>;
    /// Builds the path type at `at`.
    #[doc(hidden)]
    fn nested<B: PathMode>(at: At<Self, B>) -> Self::Path<B>;
    /// What the value looks like to run-time paths.
    #[doc(hidden)]
    fn nested_shape() -> Shape;
}

mod sealed {
    pub trait Sealed {}
}

/// How a path runs: [`ById`] (built from `Model::fields()`: reads, given an id) or
/// [`OnDoc`] (built from an atomic handle: reads and writes on its document).
pub trait PathMode: Clone + sealed::Sealed {}

/// Paths from [`crate::Model::fields`]: `get(id)` reads by path.
#[derive(Debug, Clone, Copy)]
pub struct ById;
impl sealed::Sealed for ById {}
impl PathMode for ById {}

/// Paths from an atomic handle: reads and writes on its document, mirrored into the local
/// copy when the handle has one.
#[derive(Clone)]
pub struct OnDoc<'a> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) local: Option<Arc<dyn LocalCopy + 'a>>,
}
impl sealed::Sealed for OnDoc<'_> {}
impl PathMode for OnDoc<'_> {}

impl fmt::Debug for OnDoc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnDoc")
            .field("doc", &self.doc)
            .field("local", &self.local.is_some())
            .finish()
    }
}

/// The local copy of the container a path starts in (a list element, a map value),
/// updated from a write's reply.
pub(crate) trait LocalCopy: Send + Sync {
    /// The local list's length (the server replies the whole list when it differs).
    fn len(&self) -> Option<usize>;
    /// Puts the container's new stored bytes (or the whole list) into the local copy.
    fn apply(&self, container: &[u8], whole: Option<Vec<Vec<u8>>>) -> Result<()>;
}

/// Where a path starts inside the model field.
#[derive(Debug, Clone)]
pub(crate) enum Container {
    /// The root hash field itself.
    Root,
    /// A list element by index (negative from the end).
    List(i64),
    /// A map value by its key's stored bytes.
    Map(Vec<u8>),
    /// The element a loop is at (`Pipeline::for_each`): its position or map key is bound
    /// when the op runs.
    Loop(LoopKind),
}

/// What a loop runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoopKind {
    List,
    Set,
    Map,
}

/// The location a path addresses.
#[derive(Debug, Clone)]
pub(crate) struct Loc {
    pub(crate) model: Option<&'static ModelSchema>,
    /// The model field (root field path or collection path).
    pub(crate) field: String,
    pub(crate) container: Container,
    /// msgpack steps: `k` + a key's msgpack bytes, or `i` + a decimal index.
    pub(crate) steps: Vec<Vec<u8>>,
    /// The path as written (`items[0].qty`), for errors.
    pub(crate) display: String,
}

impl Loc {
    pub(crate) fn new(
        model: Option<&'static ModelSchema>,
        field: &str,
        container: Container,
    ) -> Self {
        let display = match &container {
            Container::Root => field.to_owned(),
            Container::List(i) => format!("{field}[{i}]"),
            Container::Map(k) => format!("{field}[{}]", crate::codec::show(k)),
            Container::Loop(_) => format!("{field}[item]"),
        };
        Self {
            model,
            field: field.to_owned(),
            container,
            steps: Vec::new(),
            display,
        }
    }

    fn target(&self) -> Target {
        match self.container {
            Container::Root => Target::Root(self.field.clone()),
            _ => Target::Collection(self.field.clone()),
        }
    }

    /// The common op arguments: key type, selector, client's list length, display path.
    fn args(&self, client_len: Option<usize>) -> Vec<Vec<u8>> {
        let (ty, sel) = match &self.container {
            Container::Root => ("hash", Vec::new()),
            Container::List(i) => ("list", i.to_string().into_bytes()),
            Container::Map(k) => ("hash", k.clone()),
            Container::Loop(LoopKind::List) => ("list", Vec::new()),
            Container::Loop(_) => ("hash", Vec::new()),
        };
        vec![
            ty.as_bytes().to_vec(),
            sel,
            client_len.map_or_else(|| b"-".to_vec(), |n| n.to_string().into_bytes()),
            self.display.clone().into_bytes(),
        ]
    }

    /// The addressed value is the container itself (element encoding, not msgpack).
    fn is_container(&self) -> bool {
        self.steps.is_empty()
    }

    /// `p` with its selector (argument 2) bound to the loop's position or map key when
    /// the path starts at a loop's element. A set's member is no place to read or write
    /// by path (conditions on it and `item.value()` read it; it changes by remove + add).
    fn in_loop<'a, R>(&self, mut p: Pending<'a, R>) -> Pending<'a, R> {
        let src = match self.container {
            Container::Loop(LoopKind::List) => crate::exec::Src::LoopPos,
            Container::Loop(LoopKind::Map) => crate::exec::Src::LoopKey,
            Container::Loop(LoopKind::Set) => {
                return Pending::rejected(
                    &p.doc,
                    self.target(),
                    Error::InvalidInput(format!(
                        "`{}`: a set's member is not read or changed by path (compare it in a condition; remove it and add the new value)",
                        self.display
                    )),
                );
            }
            _ => return p,
        };
        crate::exec::Computed::<()>::new(p.doc.clone(), src).bind(&mut p, 1);
        p
    }
}

/// A model for paths built by hand ([`crate::FieldPath::new`]), which know no model:
/// their reads are refused before anything is sent.
static UNBOUND: Lazy<ModelSchema> = Lazy::new(|| ModelSchema {
    name: "(path without a model)",
    shards: 1,
    env: None,
    colocate: None,
    key_field: "id",
    ttl_ms: None,
    ttl_refresh: Default::default(),
    ttl_refresh_interval_ms: 0,
    ttl_grace_ms: 0,
    fields: Vec::new(),
    on_error: Default::default(),
    inverses: Vec::new(),
});

/// A path to one stored value of type `T`: `get` reads it (only its bytes travel); on an
/// atomic handle `set` writes it, and `incr` adds to numbers.
pub struct At<T, B> {
    pub(crate) loc: Loc,
    pub(crate) mode: B,
    pub(crate) decode: fn(&[u8]) -> std::result::Result<T, String>,
    pub(crate) encode: fn(&T) -> std::result::Result<Vec<u8>, String>,
}

impl<T, B: Clone> Clone for At<T, B> {
    fn clone(&self) -> Self {
        Self {
            loc: self.loc.clone(),
            mode: self.mode.clone(),
            decode: self.decode,
            encode: self.encode,
        }
    }
}

impl<T, B> fmt::Debug for At<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "At({})", self.loc.display)
    }
}

impl<T, B: PathMode> At<T, B> {
    /// The path as written (`items[0].qty`).
    pub fn path(&self) -> &str {
        &self.loc.display
    }

    /// The path one msgpack step further (`step`: `k` + key bytes or `i` + index),
    /// decoded and encoded as msgpack.
    pub(crate) fn step<F: Nested + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        step: Vec<u8>,
        display: String,
    ) -> F::Path<B> {
        let mut loc = self.loc.clone();
        loc.steps.push(step);
        loc.display = display;
        F::nested(At {
            loc,
            mode: self.mode.clone(),
            decode: crate::codec::from_msgpack::<F>,
            encode: crate::codec::to_msgpack::<F>,
        })
    }

    /// The path to struct field `name` (stored under that name) of this value: what
    /// `#[derive(Element)]` calls for each field.
    #[doc(hidden)]
    pub fn __field<F: Nested + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> F::Path<B> {
        let mut step = b"k".to_vec();
        step.extend(crate::codec::to_msgpack(name).unwrap_or_default());
        self.step::<F>(step, format!("{}.{name}", self.loc.display))
    }

    /// The path to struct field `name` of a type paths do not reach into
    /// (`#[rapyer(opaque)]`): read and written whole, as msgpack.
    #[doc(hidden)]
    pub fn __opaque<F: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> At<F, B> {
        let mut loc = self.loc.clone();
        let mut step = b"k".to_vec();
        step.extend(crate::codec::to_msgpack(name).unwrap_or_default());
        loc.steps.push(step);
        loc.display = format!("{}.{name}", self.loc.display);
        At {
            loc,
            mode: self.mode.clone(),
            decode: crate::codec::from_msgpack::<F>,
            encode: crate::codec::to_msgpack::<F>,
        }
    }

    fn decode_reply(&self, doc: &DocRef, v: Value) -> Result<Option<T>> {
        match v {
            Value::Nil => Ok(None),
            Value::Array(mut why) if why.len() == 1 => {
                let reason = bytes(why.remove(0), "path")?;
                Err(self.error(doc, String::from_utf8_lossy(&reason).into_owned()))
            }
            v => {
                let raw = bytes(v, "path")?;
                (self.decode)(&raw).map(Some).map_err(|e| {
                    self.error(doc, format!("{e}, stored {}", crate::codec::show(&raw)))
                })
            }
        }
    }

    /// A decode error naming the Redis key and the whole path.
    fn error(&self, doc: &DocRef, reason: String) -> Error {
        Error::Decode {
            model: doc.schema.name,
            key: key_of(doc, &self.loc),
            field: self.loc.display.clone(),
            reason,
        }
    }

    fn read<'a>(&self, doc: Arc<DocRef>) -> Pending<'a, Option<T>>
    where
        T: Send + 'a,
        B: Send + 'a,
    {
        if self.loc.model.is_none() {
            return unbound(&doc, &self.loc);
        }
        let mut args = self.loc.args(None);
        args.extend(self.loc.steps.iter().cloned());
        let this = self.clone();
        let d = doc.clone();
        let p = Pending::new(&doc, "path_get", self.loc.target(), args, move |v| {
            this.decode_reply(&d, v)
        });
        // a value inside msgpack is msgpack, not how `T` is stored elsewhere: no context
        let p = if self.loc.is_container() {
            p.yields(0, None)
        } else {
            p
        };
        self.loc.in_loop(p)
    }
}

/// The Redis key the path's container lives in, for errors.
pub(crate) fn key_of(doc: &DocRef, loc: &Loc) -> String {
    let keys = crate::context::Ctx::for_schema(doc.schema).and_then(|c| c.doc(&doc.id));
    match keys {
        Ok(k) => k
            .collections
            .iter()
            .find(|(p, _)| *p == loc.field)
            .map_or(k.root, |(_, key)| key.clone()),
        Err(_) => format!("{} `{}`", doc.schema.name, doc.id),
    }
}

fn unbound<'a, R>(doc: &Arc<DocRef>, loc: &Loc) -> Pending<'a, R> {
    Pending::rejected(
        doc,
        loc.target(),
        Error::InvalidInput(format!(
            "path `{}` was built without a model (FieldPath::new); build it from Model::fields()",
            loc.display
        )),
    )
}

impl<T: Send + 'static> At<T, ById> {
    /// Reads the value at this path of document `id`: `None` when the document, the
    /// element or the key is absent. One round trip; only the addressed bytes travel.
    pub fn get(&self, id: impl fmt::Display) -> Pending<'static, Option<T>> {
        self.get_existing(id).if_exists().map_flatten()
    }

    /// Like [`get`](Self::get), but a missing document is [`Error::NotFound`].
    pub fn get_existing(&self, id: impl fmt::Display) -> Pending<'static, Option<T>> {
        let doc = DocRef::new(self.loc.model.unwrap_or(&UNBOUND), id.to_string());
        self.read(doc)
    }
}

impl<T: Clone + Send + Sync + 'static> At<T, ById> {
    /// The reads of [`get`](At::get) over `ids`, in pipelines of
    /// [`crate::DEFAULT_CHUNK`] documents (one round trip each on one server; per slot on
    /// a cluster), each with the slots its results land in.
    #[allow(clippy::type_complexity)]
    pub(crate) fn many(
        &self,
        ids: Vec<String>,
    ) -> Vec<(crate::Pipeline<'static>, Vec<crate::Slot<Option<T>>>)> {
        ids.chunks(crate::DEFAULT_CHUNK)
            .map(|chunk| {
                let mut pipe = crate::Pipeline::new();
                pipe.skip_missing().per_slot();
                let slots = chunk
                    .iter()
                    .map(|id| pipe.add(self.get_existing(id)))
                    .collect();
                (pipe, slots)
            })
            .collect()
    }
}

/// The values the slots of [`At::many`] got (`None`: absent, or the document missing).
pub(crate) fn many_values<T: Clone>(slots: &[crate::Slot<Option<T>>]) -> Vec<Option<T>> {
    slots.iter().map(|s| s.get().cloned().flatten()).collect()
}

impl<'a, T: Send + 'a> At<T, OnDoc<'a>> {
    /// Reads the value at this path: `None` when the element or key is absent,
    /// [`Error::NotFound`] when the document is. One round trip.
    pub fn get(&self) -> Pending<'a, Option<T>> {
        self.read(self.mode.doc.clone())
    }

    /// Writes `value` at this path (atomic, one round trip): the element or key the path
    /// starts in must exist (else `Rejected`), a struct field inside it is replaced by
    /// the new value's bytes; indexes and TTL are kept as by any op.
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let doc = self.mode.doc.clone();
        let encoded = match (self.encode)(&value) {
            Ok(b) => b,
            Err(reason) => {
                let err = Error::Encode {
                    model: doc.schema.name,
                    field: self.loc.display.clone(),
                    reason,
                };
                return Pending::rejected(&doc, self.loc.target(), err);
            }
        };
        map_pending(self.write("path_set", vec![encoded]), |_| Ok(()))
    }

    /// Sends write op `code` with `extra` args; replies the op's result.
    pub(crate) fn write(&self, code: &'static str, extra: Vec<Vec<u8>>) -> Pending<'a, Value> {
        let doc = self.mode.doc.clone();
        if self.loc.model.is_none() {
            return unbound(&doc, &self.loc);
        }
        let local = self.mode.local.clone();
        let mut args = self.loc.args(local.as_ref().and_then(|l| l.len()));
        args.extend(extra);
        args.extend(self.loc.steps.iter().cloned());
        let p = Pending::new(&doc, code, self.loc.target(), args, move |v| {
            let mut items = match v {
                Value::Array(items) if items.len() == 3 => items.into_iter(),
                other => return Err(unexpected(code, &other)),
            };
            let result = items.next().unwrap_or(Value::Nil);
            let container = bytes(items.next().unwrap_or(Value::Nil), code)?;
            let whole = match items.next() {
                Some(Value::Array(all)) => Some(
                    all.into_iter()
                        .map(|v| bytes(v, code))
                        .collect::<Result<Vec<_>>>()?,
                ),
                _ => None,
            };
            if let Some(local) = local {
                local.apply(&container, whole)?;
            }
            Ok(result)
        });
        self.loc.in_loop(p)
    }
}

/// A number a path can add to in place (`incr`): integers exactly (refused beyond what
/// the type holds, and inside msgpack beyond ±2^53), floats in their width.
pub trait PathNumber: Sized {
    #[doc(hidden)]
    fn operand(&self) -> String;
    #[doc(hidden)]
    /// `None` for floats, else the type's lowest and highest value.
    fn bounds() -> Option<(String, String)>;
}

macro_rules! path_ints {
    ($($t:ty),*) => {$(
        impl PathNumber for $t {
            fn operand(&self) -> String { self.to_string() }
            fn bounds() -> Option<(String, String)> {
                Some((<$t>::MIN.to_string(), <$t>::MAX.to_string()))
            }
        }
    )*};
}
path_ints!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! path_floats {
    ($($t:ty),*) => {$(
        impl PathNumber for $t {
            fn operand(&self) -> String { format!("{self:?}") }
            fn bounds() -> Option<(String, String)> { None }
        }
    )*};
}
path_floats!(f32, f64);

impl<'a, T: PathNumber + Send + 'a> At<T, OnDoc<'a>> {
    /// Adds `by` to the number at this path and returns the new value (atomic, one round
    /// trip). Integers: exact, `Rejected` on overflow of the type and, inside a msgpack
    /// element, beyond ±2^53; never rounded.
    pub fn incr(&self, by: T) -> Pending<'a, T> {
        let (lo, hi) = T::bounds().unwrap_or_default();
        let kind = if T::bounds().is_some() { "i" } else { "f" };
        let enc = if self.loc.is_container() { "t" } else { "m" };
        let extra = vec![
            enc.as_bytes().to_vec(),
            kind.as_bytes().to_vec(),
            by.operand().into_bytes(),
            lo.into_bytes(),
            hi.into_bytes(),
        ];
        let this = self.clone();
        let doc = self.mode.doc.clone();
        map_pending(self.write("path_incr", extra), move |v| {
            this.decode_reply(&doc, v)?
                .ok_or_else(|| unexpected("path_incr", &Value::Nil))
        })
    }
}

/// `Option<Option<T>>` → `Option<T>` on a pending read.
trait Flatten<'a, T> {
    fn map_flatten(self) -> Pending<'a, Option<T>>;
}

impl<'a, T: Send + 'a> Flatten<'a, T> for Pending<'a, Option<Option<T>>> {
    fn map_flatten(self) -> Pending<'a, Option<T>> {
        map_pending(self, |v| Ok(v.flatten()))
    }
}

/// An integer reply of a path write (push: the new length; remove: how many).
pub(crate) fn count(v: Value, what: &str) -> Result<usize> {
    int(v, what).map(|n| n.max(0) as usize)
}

pub(crate) fn leaf<T, B>(
    loc: Loc,
    mode: B,
    decode: fn(&[u8]) -> std::result::Result<T, String>,
    encode: fn(&T) -> std::result::Result<Vec<u8>, String>,
) -> At<T, B> {
    At {
        loc,
        mode,
        decode,
        encode,
    }
}

pub(crate) type Phantom<T> = PhantomData<fn() -> T>;
