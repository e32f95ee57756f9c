//! `keygate kmip ...`: offline KMIP tools.

mod convert;

use super::CliError;
use clap::Subcommand;

/// KMIP subcommands.
#[derive(Debug, Subcommand)]
pub enum KmipCommand {
    /// Convert KMIP messages between binary TTLV, hex, XML and JSON.
    Convert(convert::ConvertArgs),
}

/// Runs a `kmip` subcommand.
pub fn run(cmd: KmipCommand) -> Result<(), CliError> {
    match cmd {
        KmipCommand::Convert(args) => convert::run(&args),
    }
}
