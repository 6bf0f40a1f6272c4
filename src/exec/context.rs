//! Pipeline context: values the server computes while a program runs, used later in the
//! same program ([`Computed`]): the result of an earlier op (`pipe.add(a.jobs.pop())`
//! then `b.jobs.push_value(&job.value())`), the element a loop is at, its map key. In the
//! script an op's arguments name them (`bind` before the op) and conditions compare them
//! (token `c`, `cond.lua`).

use std::marker::PhantomData;
use std::sync::Arc;

use super::{DocRef, Pending, Target};
use crate::codec::Scalar;
use crate::error::{Error, Result};

/// Where a server-side value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Src {
    /// The element the enclosing loop is at (its value as last seen in this iteration).
    Elem,
    /// The key of the map entry the enclosing loop is at.
    LoopKey,
    /// The position of the list element the enclosing loop is at (positional ops).
    LoopPos,
    /// The result of the op with this id (`Slot`'s origin).
    Result(u64),
}

/// Which part of an op's script result is its value, and the value when the op yielded
/// none (a missing counter is 0).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Yield {
    pub part: u8,
    pub absent: Option<&'static str>,
}

/// The op a [`Slot`](crate::Slot) is the result of (its id in the pipeline, its document).
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub id: u64,
    pub doc: Arc<DocRef>,
}

/// A value the server computes while the pipeline runs, usable by later ops and
/// conditions of the same program: the result of an earlier op
/// ([`Slot::value`](crate::Slot::value): a popped item, a counter's new count, a read),
/// or, inside [`Pipeline::for_each`](crate::Pipeline::for_each), the element the loop is
/// at (`item.value()`) and its map key (`entry.key()`).
///
/// Conditions compare it like a stored field (`job.value().eq(..)`, `n.value().gt(10)`);
/// ops take it instead of a constant (`list.push_value(&v)`, `field.set_value(&v)`,
/// `set.add_value(&v)`, `map.insert_value(k, &v)`). An op whose value is absent (the op
/// that computes it did not run: its branch was not taken, its document was missing) is
/// skipped, with no result; a condition on an absent value holds only for `ne` and
/// `is_none`. It is the bytes the server holds, so it carries the stored encoding of `T`:
/// types line up as in Rust (a `List<String>`'s pop pushes into another `List<String>`).
pub struct Computed<T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) src: Src,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Computed<T> {
    fn clone(&self) -> Self {
        Self {
            doc: self.doc.clone(),
            src: self.src.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Computed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Computed({:?})", self.src)
    }
}

impl<T> Computed<T> {
    pub(crate) fn new(doc: Arc<DocRef>, src: Src) -> Self {
        Self {
            doc,
            src,
            _t: PhantomData,
        }
    }

    /// Sets argument `at` of `p` to this value when the op runs.
    pub(crate) fn bind<R>(&self, p: &mut Pending<'_, R>, at: usize) {
        p.op.refs.push(super::ArgRef {
            at,
            doc: self.doc.clone(),
            src: super::cond::RefSrc::Value(self.src.clone()),
        });
    }
}

fn numeric<T: Scalar>() -> bool {
    matches!(
        T::shape(),
        crate::schema::Shape::Int { .. } | crate::schema::Shape::Float { .. }
    )
}

macro_rules! computed_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, value: T) -> super::Cond {
            self.cond($op, vec![value.encode_scalar()])
        }
    )*};
}

/// Conditions on a computed value (numbers as numbers, integers exactly; text and bytes
/// bytewise; an absent value satisfies only `ne` and `is_none`).
impl<T: Scalar> Computed<T> {
    fn cond(&self, op: &str, values: Vec<Vec<u8>>) -> super::Cond {
        let numeric = numeric::<T>();
        if numeric && values.iter().any(|v| v.as_slice() == b"NaN") {
            return super::Cond::invalid(&self.doc, "a condition cannot compare with NaN".into());
        }
        super::Cond::computed(&self.doc, &self.src, numeric, op, values)
    }

    computed_cmp! {
        eq => "eq", "The value equals `value`.";
        ne => "ne", "The value differs from `value` (or is absent).";
        gt => "gt", "The value is greater than `value`.";
        ge => "ge", "The value is at least `value`.";
        lt => "lt", "The value is less than `value`.";
        le => "le", "The value is at most `value`.";
    }

    /// The value is from `lo` to `hi` (inclusive).
    pub fn between(&self, lo: T, hi: T) -> super::Cond {
        self.cond("bw", vec![lo.encode_scalar(), hi.encode_scalar()])
    }

    /// The value is one of `values`.
    pub fn is_in(&self, values: impl IntoIterator<Item = T>) -> super::Cond {
        self.cond(
            "in",
            values.into_iter().map(|v| v.encode_scalar()).collect(),
        )
    }
}

impl<T> Computed<T> {
    /// The value exists (the op computing it ran and yielded one).
    pub fn is_some(&self) -> super::Cond {
        super::Cond::computed(&self.doc, &self.src, false, "ex", Vec::new())
    }

    /// The value is absent.
    pub fn is_none(&self) -> super::Cond {
        super::Cond::computed(&self.doc, &self.src, false, "nx", Vec::new())
    }
}

/// The op `code` on `doc`'s `target` with `args`, argument `at` bound to `value`; its
/// reply read by `finish`.
pub(crate) fn with_value<'a, T, R>(
    doc: &Arc<DocRef>,
    code: &'static str,
    target: Target,
    args: Vec<Vec<u8>>,
    at: usize,
    value: &Computed<T>,
    finish: impl FnOnce(redis::Value) -> Result<R> + Send + 'a,
) -> Pending<'a, R> {
    let mut p = Pending::new(doc, code, target, args, finish);
    value.bind(&mut p, at);
    p
}

/// The bind spec of a value for the script: `e` the loop's element, `k` its map key, `p`
/// its list position, `r<op>:<part>` (or `R<op>:<part>:<default>`) an op's result.
pub(crate) fn spec(
    src: &Src,
    results: &std::collections::HashMap<u64, (usize, Option<Yield>, Option<u64>)>,
    in_loop: Option<u64>,
) -> Result<Vec<u8>> {
    Ok(match src {
        Src::Elem | Src::LoopKey | Src::LoopPos => {
            if in_loop.is_none() {
                return Err(Error::InvalidInput(
                    "a loop's element is used outside its loop".into(),
                ));
            }
            match src {
                Src::Elem => b"e".to_vec(),
                Src::LoopKey => b"k".to_vec(),
                _ => b"p".to_vec(),
            }
        }
        Src::Result(id) => {
            let Some((at, yields, op_loop)) = results.get(id) else {
                return Err(Error::InvalidInput(
                    "a computed value is used before the op that computes it (or that op is not part of this pipeline)".into(),
                ));
            };
            if op_loop.is_some() && *op_loop != in_loop {
                return Err(Error::InvalidInput(
                    "the result of an op inside a loop is used outside that loop".into(),
                ));
            }
            let Some(y) = yields else {
                return Err(Error::InvalidInput(
                    "the result of this op cannot be used later in the program (computed values come from reads, increments, pops and lengths)".into(),
                ));
            };
            match y.absent {
                None => format!("r{at}:{}", y.part).into_bytes(),
                Some(d) => format!("R{at}:{}:{d}", y.part).into_bytes(),
            }
        }
    })
}

impl<'a, R> Pending<'a, R> {
    /// Declares which part of the script result is this op's value for later ops
    /// ([`Computed`]), and its value when the script yields none.
    pub(crate) fn yields(mut self, part: u8, absent: Option<&'static str>) -> Self {
        self.op.yields = Some(Yield { part, absent });
        self
    }
}
