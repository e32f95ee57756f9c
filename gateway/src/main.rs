//! The `keygate` command: parses the command line, runs the subcommand and turns its
//! error into a one-line message and an exit status. Everything else lives in `cli`.
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the error text holds: scripts grep stderr.
            let msg = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("error: {msg}");
            e.exit_code()
        }
    }
}
