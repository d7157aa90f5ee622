//! Tenants, named as Mimir, Loki and Tempo name them.

use std::fmt;
use std::sync::Arc;

/// Why a tenant id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// Empty id.
    #[error("tenant id is empty")]
    Empty,
    /// Longer than [`TenantId::MAX_LEN`] bytes.
    #[error("tenant id is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `.` or `..`, or a character outside the allowed set.
    #[error(
        "tenant id {0:?} is not allowed: use letters, digits and !-_.*'() only, and not \".\" or \"..\""
    )]
    Invalid(String),
}

/// A validated tenant id; safe to use as a path segment in the object store.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// Longest id accepted (Mimir's limit).
    pub const MAX_LEN: usize = 150;
    /// The tenant of every request when multi-tenancy is off (Mimir's name for it).
    pub const DEFAULT: &'static str = "anonymous";

    /// Validates `id` with Mimir's rules.
    pub fn new(id: &str) -> Result<Self, TenantError> {
        if id.is_empty() {
            return Err(TenantError::Empty);
        }
        if id.len() > Self::MAX_LEN {
            return Err(TenantError::TooLong {
                len: id.len(),
                max: Self::MAX_LEN,
            });
        }
        let ok = id != "."
            && id != ".."
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!-_.*'()".contains(c));
        if !ok {
            return Err(TenantError::Invalid(id.to_string()));
        }
        Ok(TenantId(id.into()))
    }

    /// The default tenant.
    pub fn default_tenant() -> Self {
        TenantId(Self::DEFAULT.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_mimir() {
        assert!(TenantId::new("team-a_1.prod").is_ok());
        assert_eq!(TenantId::new(""), Err(TenantError::Empty));
        assert!(matches!(TenantId::new(".."), Err(TenantError::Invalid(_))));
        assert!(matches!(TenantId::new("a/b"), Err(TenantError::Invalid(_))));
        assert!(matches!(
            TenantId::new(&"a".repeat(151)),
            Err(TenantError::TooLong { .. })
        ));
    }
}
