//! The report of a bulk write or delete that did not do everything.

use std::fmt;

use super::Error;

/// What a bulk write or delete did when it did not do everything: returned inside
/// [`Error::Bulk`]. Every id of the call is in exactly one of `applied`, `existing`,
/// `not_applied` and `in_doubt`.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkError {
    /// Model name as used in keys.
    pub model: &'static str,
    /// Ids whose chunk was applied: written (insert, save) or deleted (delete).
    pub applied: Vec<String>,
    /// Insert only: ids that already had a document. Their chunk wrote nothing.
    pub existing: Vec<String>,
    /// Ids not written or deleted: the rest of a refused chunk, and every chunk after a
    /// failure.
    pub not_applied: Vec<String>,
    /// Ids of the chunk whose reply was lost to a connection error: it may or may not
    /// have been applied (as a whole: chunks are atomic).
    pub in_doubt: Vec<String>,
    /// The error that stopped the call; `None` when only existing ids were refused (the
    /// other chunks ran).
    pub cause: Option<Error>,
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: bulk operation incomplete: {} applied, {} not applied",
            self.model,
            self.applied.len(),
            self.not_applied.len()
        )?;
        if !self.existing.is_empty() {
            write!(f, ", {} already exist", self.existing.len())?;
            let shown: Vec<&str> = self.existing.iter().take(5).map(String::as_str).collect();
            write!(f, " ({}", shown.join(", "))?;
            if self.existing.len() > shown.len() {
                write!(f, ", …")?;
            }
            write!(f, ")")?;
        }
        if !self.in_doubt.is_empty() {
            write!(f, ", {} in doubt", self.in_doubt.len())?;
        }
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}
