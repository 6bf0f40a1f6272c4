//! `Id`: the auto id type (UUID v7 text, sorts by creation time).

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::codec::{AutoKey, Key};

/// An auto-generated model id: a UUID v7 in hyphenated text, so ids sort by creation time.
///
/// A model without a `#[rapyer(key)]` field uses its field named `id`; when that field is
/// an `Id`, rapyer can generate ids (`Id::new()`, `Id::default()`, `duplicate`).
///
/// ```
/// let a = rapyer::Id::new();
/// let b = rapyer::Id::new();
/// assert!(a < b);
/// assert_eq!(a.as_str().len(), 36);
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// A fresh UUID v7 id.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `Id::default()` is a fresh id, so `#[derive(Default)]` models get unique ids.
impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl FromStr for Id {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Key for Id {
    fn to_key(&self) -> String {
        self.0.clone()
    }
    fn from_key(id: &str) -> Result<Self, String> {
        Ok(Self(id.to_owned()))
    }
}

impl AutoKey for Id {
    fn generate() -> Self {
        Self::new()
    }
}
