//! Where `atmos.yaml` is: the discovery order in the parent module's docs, and path helpers.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::parse::{absolutize, from_str_composed};
use crate::config::CliConfig;
use crate::env;

/// Where to look for `atmos.yaml`: what the command line says (`--config`, `--base-path`); the
/// commands build it from their flags, so this layer does not depend on the CLI.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config`: a file or a directory holding `atmos.yaml`.
    pub config_path: Option<PathBuf>,
    /// `--base-path`: the project root, winning over `base_path` in the file.
    pub base_path: Option<PathBuf>,
}

/// Finds and loads `atmos.yaml` following the discovery order in the module docs.
pub fn load(options: &LoadOptions) -> Result<CliConfig, ConfigError> {
    let config_path = options
        .config_path
        .clone()
        .or_else(|| env::var(env::ATMOS_CLI_CONFIG_PATH).map(PathBuf::from));
    let base_override = options
        .base_path
        .clone()
        .or_else(|| env::var(env::ATMOS_BASE_PATH).map(PathBuf::from));
    let file = discover(config_path.as_deref(), base_override.as_deref())?;
    let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
        path: file.clone(),
        source,
    })?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let base_override = base_override.map(|b| absolutize(&cwd, &b));
    let cfg = from_str_composed(&text, &file, base_override.as_deref())?;
    super::validate::validate_options(&cfg)?;
    Ok(cfg)
}

fn discover(config_path: Option<&Path>, base: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let mut searched = Vec::new();
    let in_dir = |dir: &Path| {
        ["atmos.yaml", "atmos.yml", ".atmos.yaml", ".atmos.yml"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    };
    if let Some(p) = config_path {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        if p.is_dir()
            && let Some(f) = in_dir(p)
        {
            return Ok(f);
        }
        // An explicit path that does not lead to a config is an error, not a fallback.
        return Err(ConfigError::NotFound {
            searched: vec![format!(
                "`{}` (ATMOS_CLI_CONFIG_PATH/--config)",
                p.display()
            )],
        });
    }
    if let Some(b) = base {
        if let Some(f) = in_dir(b) {
            return Ok(f);
        }
        searched.push(format!("`{}`", b.display()));
    }
    if let Ok(cwd) = std::env::current_dir() {
        // The current directory, then its parents (a command run from a subdirectory).
        for dir in cwd.ancestors() {
            if let Some(f) = in_dir(dir) {
                return Ok(f);
            }
        }
        searched.push(format!("`{}` and its parents", cwd.display()));
    }
    let home_dirs = [
        env::var(env::HOME).map(|h| PathBuf::from(h).join(".atmos")),
        env::user_config_dir().map(|d| d.join("atmos")),
    ];
    for dir in home_dirs.into_iter().flatten() {
        if let Some(f) = in_dir(&dir) {
            return Ok(f);
        }
        searched.push(format!("`{}`", dir.display()));
    }
    Err(ConfigError::NotFound { searched })
}
