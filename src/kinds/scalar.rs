//! Scalar fields: their atomic handle (`ScalarRef`) and its operations.

use std::fmt;
use std::sync::Arc;

use redis::Value;

use crate::codec::Scalar;
use crate::codec::{Decoder, Encoder, FieldPath};
use crate::error::{Error, Result};
use crate::exec::mirror_apply;
use crate::exec::{DocRef, Mirror, Pending, Target, bytes, decode_as, int, mirror};
use crate::field::Field;
use crate::schema::{FieldKind, FieldSchema};

// ---- scalar fields -------------------------------------------------------------------------

/// Handle on a scalar field (`user.atomic().age`, `User::at(id).age`).
pub struct ScalarRef<'a, T> {
    pub(crate) doc: Arc<DocRef>,
    pub(crate) path: String,
    pub(crate) local: Mirror<'a, T>,
}

impl<T> fmt::Debug for ScalarRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ScalarRef({} `{}`.{})",
            self.doc.schema.name, self.doc.id, self.path
        )
    }
}

impl<'a, T: Scalar + Send + 'a> ScalarRef<'a, T> {
    #[doc(hidden)]
    pub fn new(local: Option<&'a mut T>, doc: &Arc<DocRef>, path: String) -> Self {
        Self {
            doc: doc.clone(),
            path,
            local: mirror(local),
        }
    }

    fn target(&self) -> Target {
        Target::Root(self.path.clone())
    }

    /// Op whose reply is the field's new stored text, decoded and mirrored locally.
    fn returning_value(&self, code: &'static str, args: Vec<Vec<u8>>) -> Pending<'a, T>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, code, Target::Root(path.clone()), args, move |v| {
            let raw = bytes(v, code)?;
            let value: T = decode_as(&d, &path, &raw)?;
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
        .yields(0, None)
    }

    /// Stores `value`.
    pub fn set(&self, value: T) -> Pending<'a, ()> {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let bytes = value.encode_scalar();
        Pending::new(&doc, "set", Target::Root(path), vec![bytes], move |_| {
            mirror_apply(local, |local| {
                *local = value;
            });
            Ok(())
        })
    }

    /// Reads the stored value (and refreshes the local copy).
    pub fn get(&self) -> Pending<'a, T>
    where
        T: Clone,
    {
        let (doc, path, local) = (self.doc.clone(), self.path.clone(), self.local.clone());
        let d = doc.clone();
        Pending::new(&doc, "get", Target::Root(path.clone()), vec![], move |v| {
            let raw = match v {
                Value::Nil => {
                    return Err(Error::Decode {
                        model: d.schema.name,
                        key: format!("{} `{}`", d.schema.name, d.id),
                        field: path,
                        reason: "field is missing from the stored document".into(),
                    });
                }
                v => bytes(v, "get")?,
            };
            let value: T = decode_as(&d, &path, &raw)?;
            mirror_apply(local, |local| {
                *local = value.clone();
            });
            Ok(value)
        })
        .yields(0, None)
    }
}

/// Numbers with atomic arithmetic: integers (operand `i64`; `incr` is exact over the
/// whole `i64` range, `mul`/`floordiv`/`modulo`/`pow`/`min`/`max` up to ±2^53) and
/// floats (operand `f64`).
pub trait AtomicNumber: Scalar + Copy + Send + Sync + 'static {
    /// The operand type of `incr`, `mul`.
    type Operand: Copy + Send + fmt::Debug;
    /// The exponent type of `pow`.
    type Exp: Copy + Send;
    #[doc(hidden)]
    fn op(kind: NumOp, operand: Self::Operand) -> Result<(&'static str, Vec<Vec<u8>>)>;
    #[doc(hidden)]
    fn exp_operand(exp: Self::Exp) -> Self::Operand;
}

/// The arithmetic a number field supports.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum NumOp {
    Incr,
    Mul,
    Pow,
    FloorDiv,
    Mod,
    Min,
    Max,
    Div,
}

/// Integer fields (`min`/`max` bounds of the Rust type are enforced on the server).
pub trait AtomicInt: AtomicNumber<Operand = i64, Exp = u32> {
    #[doc(hidden)]
    const BOUNDS: (&'static str, &'static str);
}

/// Decimal text of the integer bounds, computed at compile time.
const fn const_str(n: i128) -> &'static str {
    match n {
        -128 => "-128",
        127 => "127",
        255 => "255",
        -32768 => "-32768",
        32767 => "32767",
        65535 => "65535",
        -2147483648 => "-2147483648",
        2147483647 => "2147483647",
        4294967295 => "4294967295",
        -9223372036854775808 => "-9223372036854775808",
        9223372036854775807 => "9223372036854775807",
        18446744073709551615 => "18446744073709551615",
        0 => "0",
        _ => panic!("unsupported bound"),
    }
}

macro_rules! atomic_ints {
    ($($t:ty),*) => {$(
        impl AtomicInt for $t {
            const BOUNDS: (&'static str, &'static str) = {
                // the type's whole range: the server adds decimal texts exactly
                (const_str(<$t>::MIN as i128), const_str(<$t>::MAX as i128))
            };
        }
        impl AtomicNumber for $t {
            type Operand = i64;
            type Exp = u32;
            fn op(kind: NumOp, operand: i64) -> Result<(&'static str, Vec<Vec<u8>>)> {
                let code = match kind {
                    NumOp::Incr => "incr",
                    NumOp::Mul => "mul",
                    NumOp::Pow => "pow",
                    NumOp::FloorDiv => "floordiv",
                    NumOp::Mod => "mod",
                    NumOp::Min => "min",
                    NumOp::Max => "max",
                    NumOp::Div => return Err(Error::InvalidInput("div on an integer: use floordiv".into())),
                };
                let (min, max) = <$t as AtomicInt>::BOUNDS;
                Ok((code, vec![operand.to_string().into_bytes(), min.into(), max.into()]))
            }
            fn exp_operand(exp: u32) -> i64 {
                i64::from(exp)
            }
        }
    )*};
}
atomic_ints!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! atomic_floats {
    ($($t:ty),*) => {$(
        impl AtomicNumber for $t {
            type Operand = f64;
            type Exp = f64;
            fn op(kind: NumOp, operand: f64) -> Result<(&'static str, Vec<Vec<u8>>)> {
                if !operand.is_finite() {
                    return Err(Error::InvalidInput(format!("{kind:?} by non-finite {operand}")));
                }
                let code = match kind {
                    NumOp::Incr => "incrf",
                    NumOp::Mul => "mulf",
                    NumOp::Pow => "powf",
                    NumOp::Div => "divf",
                    other => return Err(Error::InvalidInput(format!("{other:?} on a float"))),
                };
                Ok((code, vec![format!("{operand:?}").into_bytes()]))
            }
            fn exp_operand(exp: f64) -> f64 {
                exp
            }
        }
    )*};
}
atomic_floats!(f32, f64);

// `mul`, `div`, `add`, `sub` are the operation names users look for; they take the handle
// by value and return a pending operation, so they cannot be confused with std::ops.
#[allow(clippy::should_implement_trait)]
impl<'a, T: AtomicNumber> ScalarRef<'a, T> {
    fn num_op(&self, kind: NumOp, operand: T::Operand) -> Pending<'a, T> {
        match T::op(kind, operand) {
            Ok((code, args)) => self.returning_value(code, args),
            Err(e) => {
                let target = self.target();
                Pending::rejected(&self.doc, target, e)
            }
        }
    }

    /// Adds `by` (negative to subtract); returns the new stored value. Integers refuse to
    /// leave their Rust type's range ([`Error::Rejected`], nothing changes).
    pub fn incr(&self, by: T::Operand) -> Pending<'a, T> {
        self.num_op(NumOp::Incr, by)
    }

    /// Multiplies by `by`; returns the new value.
    pub fn mul(&self, by: T::Operand) -> Pending<'a, T> {
        self.num_op(NumOp::Mul, by)
    }

    /// Raises to the power `exp`; returns the new value.
    pub fn pow(&self, exp: T::Exp) -> Pending<'a, T> {
        self.num_op(NumOp::Pow, T::exp_operand(exp))
    }
}

impl<'a, T: AtomicInt> ScalarRef<'a, T> {
    /// Subtracts `by`; returns the new value.
    pub fn decr(&self, by: i64) -> Pending<'a, T> {
        match by.checked_neg() {
            Some(neg) => self.num_op(NumOp::Incr, neg),
            None => {
                let target = self.target();
                Pending::rejected(
                    &self.doc,
                    target,
                    Error::InvalidInput("decr by i64::MIN overflows".into()),
                )
            }
        }
    }

    /// Floor division by `by` (rounds toward negative infinity, like Python's `//`).
    pub fn floordiv(&self, by: i64) -> Pending<'a, T> {
        self.num_op(NumOp::FloorDiv, by)
    }

    /// Remainder with the sign of `by` (like Python's `%`).
    pub fn modulo(&self, by: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Mod, by)
    }

    /// Stores the smaller of the stored value and `other`; returns it.
    pub fn min(&self, other: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Min, other)
    }

    /// Stores the larger of the stored value and `other`; returns it.
    pub fn max(&self, other: i64) -> Pending<'a, T> {
        self.num_op(NumOp::Max, other)
    }
}

#[allow(clippy::should_implement_trait)]
impl<'a> ScalarRef<'a, f32> {
    /// Divides by `by` (division by zero is refused).
    pub fn div(&self, by: f64) -> Pending<'a, f32> {
        self.num_op(NumOp::Div, by)
    }
}

#[allow(clippy::should_implement_trait)]
impl<'a> ScalarRef<'a, f64> {
    /// Divides by `by` (division by zero is refused).
    pub fn div(&self, by: f64) -> Pending<'a, f64> {
        self.num_op(NumOp::Div, by)
    }
}

impl<'a> ScalarRef<'a, String> {
    /// Appends `suffix`; returns the whole new value.
    pub fn append(&self, suffix: &str) -> Pending<'a, String> {
        self.returning_value("append", vec![suffix.as_bytes().to_vec()])
    }

    /// Length in bytes of the stored value.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "strlen", self.target(), vec![], |v| {
            Ok(int(v, "strlen")?.max(0) as usize)
        })
    }
}

impl<'a> ScalarRef<'a, Vec<u8>> {
    /// Appends `suffix`; returns the whole new value.
    pub fn append(&self, suffix: &[u8]) -> Pending<'a, Vec<u8>> {
        self.returning_value("append", vec![suffix.to_vec()])
    }

    /// Length in bytes of the stored value.
    pub fn len(&self) -> Pending<'a, usize> {
        let doc = self.doc.clone();
        Pending::new(&doc, "strlen", self.target(), vec![], |v| {
            Ok(int(v, "strlen")?.max(0) as usize)
        })
    }
}

impl<'a> ScalarRef<'a, bool> {
    /// Flips the stored value; returns the new value.
    pub fn toggle(&self) -> Pending<'a, bool> {
        self.returning_value("toggle", vec![])
    }
}

#[cfg(feature = "chrono")]
mod chrono_ops {
    use crate::kinds::scalar::*;
    use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

    fn micros(d: TimeDelta) -> Option<i64> {
        d.num_microseconds()
    }

    macro_rules! datetime_ops {
        ($($t:ty),*) => {$(
            #[allow(clippy::should_implement_trait)]
            impl<'a> ScalarRef<'a, $t> {
                /// Adds a duration (exact to the microsecond); returns the new value.
                pub fn add(&self, d: TimeDelta) -> Pending<'a, $t> {
                    match micros(d) {
                        Some(m) => self.returning_value("incr", vec![m.to_string().into_bytes(), i64::MIN.to_string().into_bytes(), i64::MAX.to_string().into_bytes()]),
                        None => {
                            let target = self.target();
                            Pending::rejected(&self.doc, target, Error::InvalidInput("duration overflows i64 microseconds".into()))
                        }
                    }
                }

                /// Subtracts a duration; returns the new value.
                pub fn sub(&self, d: TimeDelta) -> Pending<'a, $t> {
                    self.add(-d)
                }
            }
        )*};
    }
    datetime_ops!(DateTime<Utc>, NaiveDateTime);
}

// ---- the Field impls of the scalar types ---------------------------------------------------

#[doc(hidden)]
pub fn scalar_atomic<'a, T>(
    local: Option<&'a mut T>,
    doc: &Arc<DocRef>,
    path: String,
) -> crate::kinds::scalar::ScalarRef<'a, T> {
    crate::kinds::scalar::ScalarRef {
        doc: doc.clone(),
        path,
        local: crate::exec::mirror(local),
    }
}

/// Implements [`Field`] (one root hash field) for scalar types.
macro_rules! scalar_fields {
    ($($t:ty),* $(,)?) => {$(
        impl Field for $t {
            type Path = FieldPath<$t>;
            type Atomic<'a> = $crate::kinds::scalar::ScalarRef<'a, $t>;
            fn atomic<'a>(
                local: Option<&'a mut Self>,
                doc: &std::sync::Arc<$crate::exec::DocRef>,
                path: String,
            ) -> Self::Atomic<'a> {
                $crate::kinds::scalar::ScalarRef { doc: doc.clone(), path, local: $crate::exec::mirror(local) }
            }
            fn path(path: String, model: &'static crate::schema::ModelSchema) -> Self::Path {
                FieldPath::in_model(path, model)
            }
            fn describe(path: &str, out: &mut Vec<FieldSchema>) {
                out.push(FieldSchema::new(path, FieldKind::Scalar).with_shape(<$t as Scalar>::shape()));
            }
            fn encode(&self, path: &str, enc: &mut Encoder) -> Result<()> {
                enc.root_field(path, self.encode_scalar());
                Ok(())
            }
            fn decode(path: &str, dec: &mut Decoder) -> Result<Self> {
                match dec.take_root(path) {
                    Some(bytes) => <$t as Scalar>::decode_scalar(&bytes)
                        .map_err(|reason| dec.error(path, reason)),
                    None => Err(dec.error(path, "field is missing from the stored document")),
                }
            }
        }
    )*};
}
// chrono_impls.rs implements its types with it

scalar_fields!(
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    bool,
    String,
    char,
    Vec<u8>,
    uuid::Uuid,
);

#[cfg(feature = "chrono")]
scalar_fields!(
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDateTime,
    chrono::NaiveDate
);
