//! Declaration extraction and scope stamping (placeholder).
use indexmap::IndexMap;

use super::Declaration;
use crate::config::ProviderConfig;
use crate::yaml::Map;

/// Declarations of a merged section.
pub fn declarations(_section: &Map) -> Result<Vec<Declaration>, crate::error::Error> {
    Ok(Vec::new())
}

/// Stack-declared providers.
pub fn providers(_section: &Map) -> Result<IndexMap<String, ProviderConfig>, crate::error::Error> {
    Ok(IndexMap::new())
}
