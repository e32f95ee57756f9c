//! The command line: one enum variant per subcommand, each dispatched to its module.
//! New subcommands (`init`, `serve`, `replay`, `audit verify`, `bench`, ...) add a
//! variant to [`Command`] and a module beside `kmip`.

mod admin;
mod bench;
mod cert;
mod export;
mod import;
mod kmip;

use clap::{Parser, Subcommand};
use std::io;
use std::process::ExitCode;

/// Keygate key-management gateway: KMIP daemon and tools.
#[derive(Debug, Parser)]
#[command(name = "keygate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// KMIP protocol tools that work offline (no daemon needed).
    #[command(subcommand)]
    Kmip(kmip::KmipCommand),
    /// Create a working setup: config, CA, server and client certificates, keys.
    Init(admin::InitArgs),
    /// Run the daemon (without --config: ./keygate-data, initialised when missing).
    Serve(admin::ServeArgs),
    /// Manage client identities.
    #[command(subcommand)]
    Client(admin::ClientCommand),
    /// Manage vaults.
    #[command(subcommand)]
    Vault(admin::VaultCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// Replay OASIS-style XML conversations against a KMIP server.
    Replay(admin::ReplayArgs),
    /// The vault's certificate authority: create it, issue certificates (over KMIP).
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Load a KMIP server with one operation on N connections; print ops/s and latency.
    Bench(bench::BenchArgs),
    /// Bring a key into a vault, wrapped under the vault's import key (BYOK).
    Import(import::ImportArgs),
    /// Write a key of a vault to a file, wrapped under a key the caller names.
    Export(export::ExportArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Kmip(cmd) => kmip::run(cmd),
        Command::Init(a) => admin::init(&a),
        Command::Serve(a) => admin::serve(&a),
        Command::Client(c) => admin::client(&c),
        Command::Vault(c) => admin::vault(&c),
        Command::Audit(c) => admin::audit(&c),
        Command::Replay(a) => admin::replay(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Import(a) => import::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Cert(c) => cert::run(&c),
    }
}

/// Why a command failed. Each variant's message is one line, printed after `error: `.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The input is not a valid encoding; the message names the offset and reason.
    #[error(transparent)]
    Decode(#[from] ::kmip::DecodeError),
    /// The input holds no message at all.
    #[error("empty input: expected at least one KMIP message")]
    EmptyInput,
    /// The input file or stdin could not be read.
    #[error("cannot read {what}: {source}")]
    Read {
        /// `stdin` or the file name.
        what: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An operator command failed; the message says why.
    #[error("{0}")]
    Failed(String),
    /// Stdout could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
}

impl CliError {
    /// The process exit status for this error: 1 for every failure for now (clap
    /// itself exits 2 on usage errors).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }
}
