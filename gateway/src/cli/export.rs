//! `keygate export`: a key of the vault, wrapped under another key the caller names
//! (keygate::byok), written to a file.

use super::import::ClientArgs;
use super::CliError;
use keygate::byok;
use std::path::PathBuf;

/// `keygate export` arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Daemon, identity and vault.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The key to export.
    #[arg(long)]
    pub uid: String,
    /// The wrapping key: an AES key (RFC 5649) or an RSA public key (RSA-AES key
    /// wrap), with Wrap Key in its usage mask.
    #[arg(long)]
    pub wrap_key: String,
    /// Where to write the wrapped key.
    #[arg(long)]
    pub out: PathBuf,
}

/// `keygate export`.
pub fn run(a: &ExportArgs) -> Result<(), CliError> {
    let cfg = a.client.client()?;
    let wrapped = byok::export(
        &cfg,
        a.client.kmip_version,
        &a.uid,
        &a.wrap_key,
        a.client.oaep_hash,
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::write(&a.out, &wrapped)
        .map_err(|e| CliError::Failed(format!("{}: {e}", a.out.display())))?;
    Ok(())
}
