//! Owns the command-line grammar: clap derive types only, no I/O and no internal dependencies.
//!
//! `lib.rs` parses these and hands them to `commands/`, which turn them into settings.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `atmos`: declarative secrets for atmos stacks, with an in-process SOPS codec.
#[derive(Debug, Parser)]
#[command(
    name = "atmos",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Any other command (terraform, helmfile, packer, workflow, list, vendor, auth, …) is handed to the Go atmos: `ATMOS_GO_BINARY`, else the next `atmos` on PATH."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Help heading of the global flags upstream scripts pass.
const GLOBAL: &str = "Global options";

/// Flags accepted by every command.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Mask secret values in output (`--mask=false` to reveal)
    #[arg(long, global = true, env = "ATMOS_MASK", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub mask: Option<bool>,
    /// Allow interactive prompts when stdin and stderr are terminals
    #[arg(long, global = true, env = "ATMOS_INTERACTIVE", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub interactive: Option<bool>,
    /// Base path of the atmos project
    #[arg(long, global = true, env = "ATMOS_BASE_PATH", value_name = "PATH")]
    pub base_path: Option<PathBuf>,
    /// `atmos.yaml` file(s) to merge in order (repeat or comma-separate)
    #[arg(
        long = "config",
        global = true,
        env = "ATMOS_CONFIG",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub config_files: Vec<PathBuf>,
    /// Directories holding `atmos.yaml`, merged in order after `--config` files
    #[arg(
        long = "config-path",
        global = true,
        help_heading = GLOBAL,
        env = "ATMOS_CONFIG_PATH",
        value_delimiter = ',',
        value_name = "DIR"
    )]
    pub config_dirs: Vec<PathBuf>,
    /// Change to this directory before doing anything else
    #[arg(
        short = 'C',
        long,
        global = true,
        help_heading = GLOBAL,
        env = "ATMOS_CHDIR",
        value_name = "DIR"
    )]
    pub chdir: Option<PathBuf>,
    /// Status lines to show: Trace, Debug, Info, Warning or Off (errors always show)
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "ATMOS_LOGS_LEVEL",
        value_enum,
        ignore_case = true,
        value_name = "LEVEL"
    )]
    pub logs_level: Option<LogsLevel>,
    /// Append status lines to this file instead of stderr
    #[arg(long, global = true, help_heading = GLOBAL, env = "ATMOS_LOGS_FILE", value_name = "FILE")]
    pub logs_file: Option<PathBuf>,
    /// Disable colour and progress bars (also `NO_COLOR`, `ATMOS_NO_COLOR`)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_color: bool,
    /// Configuration profile(s) merged over atmos.yaml, left to right (repeat or comma-separate)
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "ATMOS_PROFILE",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub profile: Vec<String>,
    /// Send this process' stderr, and its children's, to this file
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "ATMOS_REDIRECT_STDERR",
        value_name = "FILE"
    )]
    pub redirect_stderr: Option<PathBuf>,
    /// CI mode: `::add-mask::`, annotations, step summary (default: on under GitHub Actions)
    #[arg(long, global = true, help_heading = GLOBAL, env = "ATMOS_CI", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub ci: Option<bool>,
}

/// `--logs-level` values (upstream atmos spelling).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogsLevel {
    Trace,
    Debug,
    Info,
    Warning,
    Off,
}

/// Shells for `atmos completion`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage declared secrets
    Secret(SecretCommand),
    /// Show merged stack configuration
    #[command(subcommand)]
    Describe(DescribeCommand),
    /// Validate stack manifests
    #[command(subcommand)]
    Validate(ValidateCommand),
    /// Encrypt, decrypt and edit SOPS files in-process (no `sops` binary needed)
    #[command(subcommand)]
    Sops(SopsCommand),
    /// Print the version (and the Go atmos' version when one is found)
    Version,
    /// Print a shell completion script (`source <(atmos completion bash)`)
    Completion(CompletionArgs),
    /// Print the man page (roff) on stdout
    Man,
    /// Any other command is handed to the Go atmos
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// `atmos completion SHELL`
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Output format for `describe`.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DescribeFormat {
    #[default]
    Yaml,
    Json,
}

/// `atmos validate …`
#[derive(Debug, Subcommand)]
pub enum ValidateCommand {
    /// Check every stack manifest: YAML, imports, names, components, secret declarations
    Stacks(ValidateStacksArgs),
    /// Any other `validate` command (component, schema, editorconfig, …) is handed to the Go atmos
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// `atmos validate stacks`
#[derive(Debug, Args, Clone, Default)]
pub struct ValidateStacksArgs {
    /// Atmos manifest JSON Schema to check every manifest against (wins over `schemas.atmos.manifest`)
    #[arg(long, env = "ATMOS_SCHEMAS_ATMOS_MANIFEST", value_name = "PATH")]
    pub schemas_atmos_manifest: Option<String>,
}

/// `atmos describe …`
#[derive(Debug, Subcommand)]
pub enum DescribeCommand {
    /// Show the merged configuration of one component in one stack
    Component(DescribeComponentArgs),
    /// Show every stack and its components
    Stacks(DescribeStacksArgs),
    /// Show the effective `atmos.yaml` (composed; secret-looking values masked)
    Config(DescribeConfigArgs),
    /// Any other `describe` command (affected, config, workflows, …) is handed to the Go atmos
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// `atmos describe component NAME -s STACK`
#[derive(Debug, Args)]
pub struct DescribeComponentArgs {
    /// Component instance name, or its folder (`.`)
    pub component: String,
    /// Stack name
    #[arg(short = 's', long, env = "ATMOS_STACK")]
    pub stack: String,
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t)]
    pub format: DescribeFormat,
    /// Restrict the component search to this type
    #[arg(long = "type")]
    pub component_type: Option<String>,
    #[command(flatten)]
    pub processing: DescribeProcessing,
}

/// `atmos describe stacks`
#[derive(Debug, Args)]
pub struct DescribeStacksArgs {
    /// Only this stack
    #[arg(short = 's', long)]
    pub stack: Option<String>,
    /// Only these components (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub components: Vec<String>,
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t)]
    pub format: DescribeFormat,
    #[command(flatten)]
    pub processing: DescribeProcessing,
}

/// `atmos describe config`
#[derive(Debug, Args)]
pub struct DescribeConfigArgs {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = DescribeFormat::Json)]
    pub format: DescribeFormat,
    /// Print only this yq-style path (`.stores`)
    #[arg(short = 'q', long, value_name = "EXPR")]
    pub query: Option<String>,
}

/// Flags `describe component` and `describe stacks` share with atmos.
#[derive(Debug, Args, Clone)]
pub struct DescribeProcessing {
    /// Print only this yq-style path (`.vars`)
    #[arg(short = 'q', long, value_name = "EXPR")]
    pub query: Option<String>,
    /// Render Go templates in manifests
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub process_templates: bool,
    /// Resolve YAML functions
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub process_functions: bool,
    /// YAML functions to leave as written
    #[arg(long, value_delimiter = ',', value_name = "FUNCTION")]
    pub skip: Vec<String>,
    /// Auth identity for unmasked reads
    #[arg(short = 'i', long, value_name = "NAME", env = "ATMOS_IDENTITY", num_args = 0..=1, default_missing_value = "")]
    pub identity: Option<String>,
    /// Annotate values with their file:line (default: `describe.provenance`, else on for YAML)
    #[arg(long, value_name = "BOOL", env = "ATMOS_DESCRIBE_PROVENANCE", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub provenance: Option<bool>,
}

/// `atmos secret …`
#[derive(Debug, Args)]
pub struct SecretCommand {
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(subcommand)]
    pub command: SecretSubcommand,
}

/// Persistent flags of `atmos secret`.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Stack name
    #[arg(short = 's', long, global = true, env = "ATMOS_STACK")]
    pub stack: Option<String>,
    /// Component instance name
    #[arg(short = 'c', long, global = true, env = "ATMOS_COMPONENT")]
    pub component: Option<String>,
    /// Restrict the component search to this type (terraform, helmfile, …)
    #[arg(long = "type", global = true)]
    pub component_type: Option<String>,
    /// Auth identity for identity-aware stores (`=false` disables auth)
    #[arg(short = 'i', long, global = true, env = "ATMOS_IDENTITY", num_args = 0..=1, default_missing_value = "")]
    pub identity: Option<String>,
}

/// `atmos secret` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretSubcommand {
    /// Set a declared secret's value
    #[command(visible_alias = "add")]
    Set(SetArgs),
    /// Print a declared secret's value
    Get(GetArgs),
    /// Delete a declared secret's value from its backend
    #[command(visible_aliases = ["rm", "unset"])]
    Delete(DeleteArgs),
    /// List declared secrets and their status
    List(ListArgs),
    /// Check that every required secret is initialized
    Validate(ValidateArgs),
    /// Import values from a dotenv/JSON file or from a legacy store coordinate
    Import(ImportArgs),
    /// Run a command with the secrets in its environment
    Exec(ExecArgs),
    /// Start a shell with the secrets in its environment
    Shell(ShellArgs),
    /// Generate key material for a SOPS vault
    Keygen(KeygenArgs),
    /// Initialize declared secrets interactively or from a file
    Init(InitArgs),
    /// Write declared secrets to a dotenv or JSON file
    Pull(PullArgs),
    /// Set declared secrets from a dotenv or JSON file
    Push(PushArgs),
}

/// `secret set`
#[derive(Debug, Args)]
pub struct SetArgs {
    /// `NAME` or `NAME=VALUE`
    pub name: Option<String>,
    /// Read the value from stdin (trailing newlines stripped)
    #[arg(long)]
    pub stdin: bool,
    /// Accepted for compatibility; has no effect
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `secret get` output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum GetFormat {
    #[default]
    Text,
    Json,
    Env,
}

/// `secret get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Secret name
    pub name: String,
    /// Output format
    #[arg(long, value_enum)]
    pub format: Option<GetFormat>,
    /// yq-style path into a structured value, e.g. `.password`
    #[arg(long)]
    pub path: Option<String>,
    /// Print the value without a trailing newline
    #[arg(short = 'r', long)]
    pub raw: bool,
}

/// `secret delete`
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Secret name
    pub name: Option<String>,
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Delete every declared secret of the component
    #[arg(long)]
    pub all: bool,
}

/// `secret list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Add a Description column
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Check remote stores for each secret's status
    #[arg(long)]
    pub verify: bool,
    /// table, json, yaml, csv or tsv
    #[arg(short = 'f', long, env = "ATMOS_SECRET_LIST_FORMAT")]
    pub format: Option<String>,
}

/// `secret import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A dotenv/JSON file (`-` for stdin), or a declared NAME with `--from-*`
    pub source: String,
    /// env or json (file mode)
    #[arg(long)]
    pub format: Option<String>,
    /// Show what would be imported without writing
    #[arg(long)]
    pub dry_run: bool,
    /// Source store (legacy mode)
    #[arg(long)]
    pub from_store: Option<String>,
    /// Source stack segment (legacy mode)
    #[arg(long)]
    pub from_stack: Option<String>,
    /// Source component segment (legacy mode)
    #[arg(long)]
    pub from_component: Option<String>,
    /// Source key (legacy mode)
    #[arg(long)]
    pub from_key: Option<String>,
}

/// `secret validate` report formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum ValidateFormat {
    // Status lines on stderr only.
    #[default]
    Text,
    // Also a JUnit XML report (GitLab CI `artifacts:reports:junit`).
    Junit,
}

/// `secret validate`
#[derive(Debug, Args, Default)]
pub struct ValidateArgs {
    /// Also write a report: `junit` (JUnit XML, for GitLab CI)
    #[arg(long, value_enum, default_value_t)]
    pub format: ValidateFormat,
    /// Write the JUnit report to this file instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `secret exec`
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Also pass the component's resolved `env:` section, under the declared secrets
    #[arg(long)]
    pub component_env: bool,
    /// Also pass every component var as `TF_VAR_<name>` (non-strings JSON-encoded)
    #[arg(long)]
    pub tf_vars: bool,
    /// The command and its arguments, after `--`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `secret shell`
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Shell binary
    #[arg(long, env = "ATMOS_SHELL")]
    pub shell: Option<String>,
    /// Arguments for the shell, after `--`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `secret keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Vault (secrets provider) name
    pub vault: Option<String>,
    /// Generate even when key material exists
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `secret init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Every stack
    #[arg(long)]
    pub all: bool,
    /// Rotate secrets that are already set
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Show what would happen
    #[arg(long)]
    pub dry_run: bool,
    /// Read values from a dotenv file (`-` for stdin)
    #[arg(long)]
    pub input: Option<String>,
    /// warn or strict: what to do with undeclared input keys
    #[arg(long, default_value = "warn")]
    pub mode: String,
}

/// `secret pull`
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Output file (stdout by default)
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// env or json
    #[arg(long, default_value = "env")]
    pub format: String,
}

/// `secret push`
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Input file (`-` for stdin)
    #[arg(long, default_value = ".env")]
    pub input: String,
    /// env or json
    #[arg(long, default_value = "env")]
    pub format: String,
}

/// `atmos sops …`
#[derive(Debug, Subcommand)]
pub enum SopsCommand {
    /// Decrypt a file to stdout
    Decrypt(SopsDecryptArgs),
    /// Encrypt a file
    Encrypt(SopsEncryptArgs),
    /// Set a value at a path (`'["a"]["b"]'`); VALUE is JSON
    Set(SopsSetArgs),
    /// Remove the value at a path
    Unset(SopsUnsetArgs),
    /// Re-encrypt with a new data key
    Rotate(SopsFileArgs),
    /// Re-wrap the data key for the recipients of the matching creation rule
    Updatekeys(SopsUpdatekeysArgs),
}

/// Format overrides shared by the `sops` subcommands.
#[derive(Debug, Args, Clone, Default)]
pub struct SopsFormatArgs {
    /// Input format: yaml, json, dotenv, ini or binary (default: from the extension)
    #[arg(long)]
    pub input_type: Option<String>,
    /// Output format (default: the input format)
    #[arg(long)]
    pub output_type: Option<String>,
}

/// `sops decrypt`
#[derive(Debug, Args)]
pub struct SopsDecryptArgs {
    pub file: PathBuf,
    /// Print only this path, e.g. `'["a"]["b"]'`
    #[arg(long)]
    pub extract: Option<String>,
    /// Decrypt even when the MAC does not match
    #[arg(long)]
    pub ignore_mac: bool,
    /// Write to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}

/// `sops encrypt`
#[derive(Debug, Args)]
pub struct SopsEncryptArgs {
    pub file: PathBuf,
    /// Comma-separated age recipients (default: the matching `.sops.yaml` creation rule)
    #[arg(long, value_delimiter = ',')]
    pub age: Vec<String>,
    /// Comma-separated PGP fingerprints, encrypted through `gpg` (default: `SOPS_PGP_FP`)
    #[arg(long, value_delimiter = ',')]
    pub pgp: Vec<String>,
    /// Comma-separated Vault transit key URIs, `https://vault:8200/v1/transit/keys/name`
    /// (default: `SOPS_VAULT_URIS`)
    #[arg(long, value_delimiter = ',')]
    pub hc_vault_transit: Vec<String>,
    /// Rewrite the file instead of printing
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write to this file instead of stdout
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Keys with this suffix stay in clear text
    #[arg(long)]
    pub unencrypted_suffix: Option<String>,
    /// Only keys with this suffix are encrypted
    #[arg(long)]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex stay in clear text
    #[arg(long)]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted
    #[arg(long)]
    pub encrypted_regex: Option<String>,
    /// Comments matching this regex stay in clear text
    #[arg(long)]
    pub unencrypted_comment_regex: Option<String>,
    /// Only comments matching this regex are encrypted
    #[arg(long)]
    pub encrypted_comment_regex: Option<String>,
    /// The MAC covers encrypted values only
    #[arg(long)]
    pub mac_only_encrypted: bool,
    /// Shamir threshold when several key groups are used
    #[arg(long)]
    pub shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}

/// `sops set`
#[derive(Debug, Args)]
pub struct SopsSetArgs {
    pub file: PathBuf,
    /// Path such as `'["db"]["password"]'`
    pub path: String,
    /// JSON value, e.g. `'"text"'` or `5` (omit with `--value-stdin`/`--value-file`)
    pub value: Option<String>,
    /// Read VALUE from stdin
    #[arg(long)]
    pub value_stdin: bool,
    /// Read VALUE from a file
    #[arg(long)]
    pub value_file: Option<PathBuf>,
    /// Do nothing when the value is already equal
    #[arg(long)]
    pub idempotent: bool,
    /// Edit even when the MAC does not match
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}

/// `sops unset`
#[derive(Debug, Args)]
pub struct SopsUnsetArgs {
    pub file: PathBuf,
    /// Path such as `'["db"]["user"]'`
    pub path: String,
    /// A missing path is not an error
    #[arg(long)]
    pub idempotent: bool,
    /// Edit even when the MAC does not match
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}

/// `sops rotate`
#[derive(Debug, Args)]
pub struct SopsFileArgs {
    pub file: PathBuf,
    /// Rewrite the file instead of printing
    #[arg(short = 'i', long)]
    pub in_place: bool,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}

/// `sops updatekeys`
#[derive(Debug, Args)]
pub struct SopsUpdatekeysArgs {
    pub file: PathBuf,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub format: SopsFormatArgs,
}
