//! Conditions of conditional pipelines on the kinds' handles (`p.age.gt(17)`,
//! `p.tags.length().ge(3)`, `p.nick.is_some()`): each builds a [`Cond`] the server
//! evaluates when the pipeline runs (`Pipeline::when`).

use super::list::ListRef;
use super::map::MapRef;
use super::option::OptionRef;
use super::scalar::ScalarRef;
use super::set::SetRef;
use crate::codec::Scalar;
use crate::exec::{Cond, Length};
use crate::schema::Shape;

fn numeric<T: Scalar>() -> bool {
    matches!(T::shape(), Shape::Int { .. } | Shape::Float { .. })
}

/// The condition of `op` on field `path` of the handle's document; NaN compares with
/// nothing and is refused before sending.
fn field_cond<T: Scalar>(
    doc: &std::sync::Arc<crate::exec::DocRef>,
    path: &str,
    op: &str,
    values: Vec<Vec<u8>>,
) -> Cond {
    let numeric = numeric::<T>();
    if numeric && values.iter().any(|v| v.as_slice() == b"NaN") {
        return Cond::invalid(
            doc,
            format!(
                "{} field `{path}`: a condition cannot compare with NaN",
                doc.schema.name
            ),
        );
    }
    Cond::field(doc, path, numeric, op, values)
}

macro_rules! scalar_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, value: T) -> Cond {
            field_cond::<T>(&self.doc, &self.path, $op, vec![value.encode_scalar()])
        }
    )*};
}

/// Conditions on a root field, compared with the value stored when the pipeline runs
/// (numbers as numbers, integers exactly; text and bytes bytewise; a missing field
/// satisfies only `ne`).
impl<T: Scalar> ScalarRef<'_, T> {
    scalar_cmp! {
        eq => "eq", "The stored value equals `value`.";
        ne => "ne", "The stored value differs from `value` (or the field is missing).";
        gt => "gt", "The stored value is greater than `value`.";
        ge => "ge", "The stored value is at least `value`.";
        lt => "lt", "The stored value is less than `value`.";
        le => "le", "The stored value is at most `value`.";
    }

    /// The stored value is from `lo` to `hi` (inclusive).
    pub fn between(&self, lo: T, hi: T) -> Cond {
        let values = vec![lo.encode_scalar(), hi.encode_scalar()];
        field_cond::<T>(&self.doc, &self.path, "bw", values)
    }

    /// The stored value is one of `values` (none: never).
    pub fn is_in(&self, values: impl IntoIterator<Item = T>) -> Cond {
        let values = values.into_iter().map(|v| v.encode_scalar()).collect();
        field_cond::<T>(&self.doc, &self.path, "in", values)
    }
}

macro_rules! field_cmp {
    ($($name:ident => $op:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(&self, other: &ScalarRef<'_, T>) -> Cond {
            Cond::fields(&self.doc, &self.path, numeric::<T>(), $op, &other.doc, &other.path)
        }
    )*};
}

/// Conditions comparing two stored root fields of one type, of this document or another
/// one of the pipeline (either missing satisfies only `ne_field`).
impl<T: Scalar> ScalarRef<'_, T> {
    field_cmp! {
        eq_field => "eq", "The stored value equals the one stored in `other`.";
        ne_field => "ne", "The stored value differs from the one stored in `other` (or either is missing).";
        gt_field => "gt", "The stored value is greater than the one stored in `other`.";
        ge_field => "ge", "The stored value is at least the one stored in `other`.";
        lt_field => "lt", "The stored value is less than the one stored in `other`.";
        le_field => "le", "The stored value is at most the one stored in `other`.";
    }
}

/// Conditions on a text field.
impl ScalarRef<'_, String> {
    /// The stored text starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> Cond {
        Cond::field(
            &self.doc,
            &self.path,
            false,
            "sw",
            vec![prefix.as_bytes().to_vec()],
        )
    }

    /// The stored text contains `part`.
    pub fn contains(&self, part: &str) -> Cond {
        Cond::field(
            &self.doc,
            &self.path,
            false,
            "ct",
            vec![part.as_bytes().to_vec()],
        )
    }
}

/// Conditions on an optional field.
impl<T> OptionRef<'_, T> {
    /// The field holds a value (is stored).
    pub fn is_some(&self) -> Cond {
        Cond::field(&self.doc, &self.path, false, "ex", Vec::new())
    }

    /// The field holds none (is not stored).
    pub fn is_none(&self) -> Cond {
        Cond::field(&self.doc, &self.path, false, "nx", Vec::new())
    }
}

impl<C, T> ListRef<'_, C, T> {
    /// The stored list's length, to compare (`p.log.length().gt(10)`).
    pub fn length(&self) -> Length {
        Length {
            doc: self.doc.clone(),
            path: self.path.clone(),
        }
    }
}

impl<M, K, V> MapRef<'_, M, K, V> {
    /// The stored map's number of entries, to compare.
    pub fn length(&self) -> Length {
        Length {
            doc: self.doc.clone(),
            path: self.path.clone(),
        }
    }
}

impl<S, T> SetRef<'_, S, T> {
    /// The stored set's number of members, to compare.
    pub fn length(&self) -> Length {
        Length {
            doc: self.doc.clone(),
            path: self.path.clone(),
        }
    }
}
