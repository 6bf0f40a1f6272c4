//! The scalar types: their stored text (`Scalar`) and their use as collection members
//! (`Element`).

use super::{Element, Key, MapKey, Scalar, show, utf8};

// ---- scalars -------------------------------------------------------------------------------

macro_rules! int_scalars {
    ($($t:ty: $signed:expr, $bits:expr),*) => {$(
        impl Scalar for $t {
            fn shape() -> crate::schema::Shape {
                if $bits > 64 {
                    crate::schema::Shape::Opaque
                } else {
                    crate::schema::Shape::Int { signed: $signed, bits: $bits }
                }
            }
            fn encode_scalar(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
            fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
                utf8(bytes)?.parse::<$t>().map_err(|e| {
                    format!("expected {} ({e}), found {}", stringify!($t), show(bytes))
                })
            }
        }
        impl MapKey for $t {}
        impl Key for $t {
            fn to_key(&self) -> String { self.to_string() }
            fn from_key(id: &str) -> std::result::Result<Self, String> {
                <$t as Scalar>::decode_scalar(id.as_bytes())
            }
        }
    )*};
}
int_scalars!(
    i8: true, 8, i16: true, 16, i32: true, 32, i64: true, 64, i128: true, 128,
    isize: true, 64, u8: false, 8, u16: false, 16, u32: false, 32, u64: false, 64,
    u128: false, 128, usize: false, 64
);

macro_rules! float_scalars {
    ($($t:ty: $bits:expr),*) => {$(
        impl Scalar for $t {
            fn shape() -> crate::schema::Shape {
                crate::schema::Shape::Float { bits: $bits }
            }
            // `Debug` is the shortest text that parses back to the same value, with an
            // exponent for very large/small magnitudes, and `NaN`/`inf`/`-inf` for the rest;
            // Redis' HINCRBYFLOAT accepts the finite forms.
            fn encode_scalar(&self) -> Vec<u8> {
                format!("{self:?}").into_bytes()
            }
            fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
                utf8(bytes)?.parse::<$t>().map_err(|_| {
                    format!("expected {}, found {}", stringify!($t), show(bytes))
                })
            }
        }
    )*};
}
float_scalars!(f32: 32, f64: 64);

impl Scalar for bool {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Bool
    }
    fn encode_scalar(&self) -> Vec<u8> {
        vec![if *self { b'1' } else { b'0' }]
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        match bytes {
            b"1" | b"true" => Ok(true),
            b"0" | b"false" => Ok(false),
            _ => Err(format!("expected a bool (1/0), found {}", show(bytes))),
        }
    }
}

impl Scalar for String {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Str
    }
    fn encode_scalar(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        utf8(bytes).map(str::to_owned)
    }
}
impl MapKey for String {}
impl Key for String {
    fn to_key(&self) -> String {
        self.clone()
    }
    fn from_key(id: &str) -> std::result::Result<Self, String> {
        Ok(id.to_owned())
    }
}

impl Scalar for char {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Str
    }
    fn encode_scalar(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        let s = utf8(bytes)?;
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(format!("expected one char, found {}", show(bytes))),
        }
    }
}
impl MapKey for char {}

/// Raw bytes, stored as they are.
impl Scalar for Vec<u8> {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Bytes
    }
    fn encode_scalar(&self) -> Vec<u8> {
        self.clone()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

impl Scalar for uuid::Uuid {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Str
    }
    fn encode_scalar(&self) -> Vec<u8> {
        self.hyphenated().to_string().into_bytes()
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        uuid::Uuid::parse_str(utf8(bytes)?)
            .map_err(|e| format!("expected a UUID ({e}), found {}", show(bytes)))
    }
}
impl MapKey for uuid::Uuid {}
impl Key for uuid::Uuid {
    fn to_key(&self) -> String {
        self.hyphenated().to_string()
    }
    fn from_key(id: &str) -> std::result::Result<Self, String> {
        <Self as Scalar>::decode_scalar(id.as_bytes())
    }
}

/// `Option` nested in a scalar position (`Option<Option<T>>`, `Vec<Option<T>>`) is tagged:
/// `0x00` for `None`, `0x01` followed by the value for `Some`, so that `Some(None)` and
/// `Some(Some(""))` stay distinct.
impl<T: Scalar> Scalar for Option<T> {
    fn shape() -> crate::schema::Shape {
        crate::schema::Shape::Option(Box::new(T::shape()))
    }
    fn encode_scalar(&self) -> Vec<u8> {
        match self {
            None => vec![0],
            Some(v) => {
                let inner = v.encode_scalar();
                let mut out = Vec::with_capacity(inner.len() + 1);
                out.push(1);
                out.extend_from_slice(&inner);
                out
            }
        }
    }
    fn decode_scalar(bytes: &[u8]) -> std::result::Result<Self, String> {
        match bytes.split_first() {
            Some((0, [])) => Ok(None),
            Some((1, rest)) => T::decode_scalar(rest).map(Some),
            _ => Err(format!("expected a tagged option, found {}", show(bytes))),
        }
    }
}

/// Implements [`Element`] for scalar types.
macro_rules! scalar_elements {
    ($($t:ty),* $(,)?) => {$(
        impl Element for $t {
            fn encode_element(&self) -> std::result::Result<Vec<u8>, String> {
                Ok(self.encode_scalar())
            }
            fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String> {
                <$t as Scalar>::decode_scalar(bytes)
            }
            fn shape() -> crate::schema::Shape {
                <$t as Scalar>::shape()
            }
        }
    )*};
}
// chrono_impls.rs implements its types with it
#[cfg(feature = "chrono")]
pub(crate) use scalar_elements;

// `u8` is deliberately not an element: `Vec<u8>` is bytes (one root field), not a list.
scalar_elements!(
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
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

impl<T: Scalar> Element for Option<T> {
    fn encode_element(&self) -> std::result::Result<Vec<u8>, String> {
        Ok(self.encode_scalar())
    }
    fn decode_element(bytes: &[u8]) -> std::result::Result<Self, String> {
        <Self as Scalar>::decode_scalar(bytes)
    }
    fn shape() -> crate::schema::Shape {
        <Self as Scalar>::shape()
    }
}
