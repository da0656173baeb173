//! Where `atmos.yaml` is: the discovery order in the parent module's docs, and path helpers.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::compose::{Source, compose_sources};
use super::parse::{absolutize, from_composed};
use super::profiles;
use crate::config::CliConfig;
use crate::env;

/// Where to look for `atmos.yaml` and what to merge over it: what the command line says
/// (`--config`, `--config-path`, `--base-path`, `--profile`); the commands build it from their
/// flags, so this layer does not depend on the CLI.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config` (`ATMOS_CONFIG`): files merged in order.
    pub config_files: Vec<PathBuf>,
    /// `--config-path` (`ATMOS_CONFIG_PATH`): directories holding `atmos.yaml`, merged in order
    /// after `config_files`.
    pub config_dirs: Vec<PathBuf>,
    /// `--base-path`: the project root, winning over `base_path` in the file.
    pub base_path: Option<PathBuf>,
    /// `--profile` (`ATMOS_PROFILE`): profiles merged over the configuration, left to right.
    pub profiles: Vec<String>,
}

/// Finds and loads `atmos.yaml` following the discovery order in the module docs.
pub fn load(options: &LoadOptions) -> Result<CliConfig, ConfigError> {
    let base_override = options
        .base_path
        .clone()
        .or_else(|| env::var(env::ATMOS_BASE_PATH).map(PathBuf::from));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (sources, primary) = if options.config_files.is_empty() && options.config_dirs.is_empty() {
        let config_path = env::var(env::ATMOS_CLI_CONFIG_PATH).map(PathBuf::from);
        let files = discover(&cwd, config_path.as_deref(), base_override.as_deref())?;
        let primary = files.len() - 1;
        let sources = files
            .into_iter()
            .map(|f| Source::Discovered(absolutize(&cwd, &f)))
            .collect();
        (sources, primary)
    } else {
        (selected(&cwd, options)?, 0)
    };
    let mut warnings = Vec::new();
    let mut composed = compose_sources(&sources, primary, &mut warnings)?;
    let names = profiles::selected(&options.profiles, &composed.map);
    if !names.is_empty() {
        let dirs: Vec<PathBuf> = sources
            .iter()
            .filter_map(|s| s.path().parent().map(Path::to_path_buf))
            .collect();
        let locations = profiles::locations(&composed.map, &dirs, &composed.profiles_dir);
        profiles::apply(&mut composed.map, &names, &locations, &mut warnings)?;
    }
    let base_override = base_override.map(|b| absolutize(&cwd, &b));
    let primary = sources
        .get(primary)
        .map(|s| s.path().to_path_buf())
        .unwrap_or_default();
    let mut cfg = from_composed(
        composed.map,
        &primary,
        &composed.base_dir,
        base_override.as_deref(),
    )?;
    warnings.append(&mut cfg.warnings);
    cfg.warnings = warnings;
    cfg.profiles = names;
    super::validate::validate_options(&cfg)?;
    Ok(cfg)
}

/// The sources `--config` and `--config-path` name: every file, then `atmos.yaml` (else
/// `.atmos.yaml`) in every directory, as atmos merges them.
fn selected(cwd: &Path, options: &LoadOptions) -> Result<Vec<Source>, ConfigError> {
    let mut out = Vec::new();
    for f in &options.config_files {
        if f.as_os_str().is_empty() {
            return Err(selection(
                "`--config` requires a non-empty file path".to_owned(),
                "name an atmos.yaml file",
            ));
        }
        let f = absolutize(cwd, f);
        if f.is_dir() {
            return Err(selection(
                format!(
                    "`--config` requires a file but found a directory at `{}`",
                    f.display()
                ),
                "use `--config-path` for a directory holding atmos.yaml",
            ));
        }
        if !f.is_file() {
            return Err(selection(
                format!("`--config` file `{}` does not exist", f.display()),
                "check the path given to `--config`/`ATMOS_CONFIG`",
            ));
        }
        out.push(Source::File(f));
    }
    for d in &options.config_dirs {
        let d = absolutize(cwd, d);
        if !d.is_dir() {
            return Err(selection(
                format!("`--config-path` directory `{}` does not exist", d.display()),
                "`--config-path`/`ATMOS_CONFIG_PATH` takes directories holding atmos.yaml; use `--config` for a file",
            ));
        }
        let file = ["atmos.yaml", ".atmos.yaml"]
            .iter()
            .map(|n| d.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                selection(
                    format!(
                        "no atmos.yaml or .atmos.yaml in the `--config-path` directory `{}`",
                        d.display()
                    ),
                    "create atmos.yaml there or drop the directory from `--config-path`",
                )
            })?;
        out.push(Source::Discovered(file));
    }
    Ok(out)
}

fn selection(message: String, hint: &str) -> ConfigError {
    ConfigError::Selection {
        message,
        hint: hint.to_owned(),
    }
}

/// `atmos.yaml` in `dir` (also `atmos.yml`, `.atmos.yaml`, `.atmos.yml`).
fn config_in(dir: &Path) -> Option<PathBuf> {
    ["atmos.yaml", "atmos.yml", ".atmos.yaml", ".atmos.yml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The system-wide configuration directory atmos reads first.
const SYSTEM_CONFIG_DIR: &str = "/usr/local/etc/atmos";

/// Every `atmos.yaml` to merge, lowest priority first, as atmos's `loadConfigSources`: the
/// system directory, the home directory (`~/.atmos`, then `~/.config/atmos`), the nearest
/// parent directory holding one and the git root's (both only when the current directory has
/// none and `ATMOS_CLI_CONFIG_PATH` is unset; `ATMOS_GIT_ROOT_BASEPATH=false` skips the git
/// root), the current directory (or the `--base-path` directory), then `ATMOS_CLI_CONFIG_PATH`. The last one is the project's: the
/// one relative paths resolve from. A set `ATMOS_CLI_CONFIG_PATH` that leads to no config is an
/// error, as is finding none at all.
fn discover(
    cwd: &Path,
    config_path: Option<&Path>,
    base: Option<&Path>,
) -> Result<Vec<PathBuf>, ConfigError> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut add = |f: PathBuf| {
        let key = f.canonicalize().unwrap_or_else(|_| f.clone());
        if !found
            .iter()
            .any(|g| g.canonicalize().unwrap_or_else(|_| g.clone()) == key)
        {
            found.push(f);
        }
    };
    let mut searched = Vec::new();
    let system = Path::new(SYSTEM_CONFIG_DIR);
    if let Some(f) = config_in(system) {
        add(f);
    }
    let home_dirs = [
        env::var(env::HOME).map(|h| PathBuf::from(h).join(".atmos")),
        env::user_config_dir().map(|d| d.join("atmos")),
    ];
    for dir in home_dirs.into_iter().flatten() {
        match config_in(&dir) {
            Some(f) => add(f),
            None => searched.push(format!("`{}`", dir.display())),
        }
    }
    // The project: the `--base-path` directory when it holds a config, else the current one.
    let project_dir = base
        .map(|b| absolutize(cwd, b))
        .filter(|b| config_in(b).is_some())
        .unwrap_or_else(|| cwd.to_path_buf());
    let local = config_in(&project_dir);
    if local.is_none() && config_path.is_none() {
        // A command run from a subdirectory: the nearest parent holding a config.
        if let Some(f) = project_dir.ancestors().skip(1).find_map(config_in) {
            add(f);
        }
        searched.push(format!("`{}` and its parents", project_dir.display()));
    }
    let git_root_off = env::var(env::ATMOS_GIT_ROOT_BASEPATH).is_some_and(|v| v == "false");
    if local.is_none()
        && config_path.is_none()
        && !git_root_off
        && let Some(f) = git_root(&project_dir).and_then(|r| config_in(&r))
    {
        add(f);
    }
    if let Some(f) = local {
        add(f);
    }
    if let Some(p) = config_path {
        let p = absolutize(cwd, p);
        let file = if p.is_file() {
            Some(p.clone())
        } else if p.is_dir() {
            config_in(&p)
        } else {
            None
        };
        // An explicit path that does not lead to a config is an error, not a fallback.
        let Some(file) = file else {
            return Err(ConfigError::NotFound {
                searched: vec![format!(
                    "`{}` (ATMOS_CLI_CONFIG_PATH/--config)",
                    p.display()
                )],
            });
        };
        add(file);
    }
    if found.is_empty() {
        return Err(ConfigError::NotFound { searched });
    }
    Ok(found)
}

/// The root of the git work tree holding `dir` (the nearest ancestor with a `.git`), if any.
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
