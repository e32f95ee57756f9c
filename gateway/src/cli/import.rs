//! `keygate import`: bring a key into a vault wrapped under the vault's import key
//! (keygate::byok). Also the client options `keygate export` shares.

use super::CliError;
use keygate::bench::parse_version;
use keygate::byok;
use keygate::config::Config;
use keygate::crypto::HashAlg;
use kmip::client::ClientConfig;
use kmip::version::ProtocolVersion;
use std::path::PathBuf;

/// How `keygate import` / `export` reach the daemon and who they are.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The daemon's config (keygate.toml): its listener, CA and client files.
    #[arg(long)]
    pub config: PathBuf,
    /// The vault to work in (the identity must be bound to it).
    #[arg(long)]
    pub vault: String,
    /// Identity whose files `keygate init` / `client add` wrote under
    /// `clients/NAME/` next to the config.
    #[arg(long, default_value = "admin", conflicts_with_all = ["cert", "key"])]
    pub identity: String,
    /// Client certificate (PEM), instead of --identity.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM), with --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Server address host:port (default: the config's listener).
    #[arg(long)]
    pub server: Option<String>,
    /// KMIP protocol version of the requests.
    #[arg(long, default_value = "2.1", value_parser = parse_version)]
    pub kmip_version: ProtocolVersion,
    /// OAEP hash of RSA-AES key wrap: sha1 (every PKCS#11 token) or sha256.
    #[arg(long, default_value = "sha1", value_parser = parse_hash)]
    pub oaep_hash: HashAlg,
}

fn parse_hash(s: &str) -> Result<HashAlg, String> {
    match s {
        "sha1" => Ok(HashAlg::Sha1),
        "sha256" => Ok(HashAlg::Sha256),
        other => Err(format!("{other:?} is not sha1 or sha256")),
    }
}

impl ClientArgs {
    /// The client configuration these options name.
    pub fn client(&self) -> Result<ClientConfig, CliError> {
        let cfg = Config::load(&self.config)
            .map_err(|e| CliError::Failed(format!("{}: {e}", self.config.display())))?;
        if !cfg.vaults.iter().any(|v| v.name == self.vault) {
            return Err(CliError::Failed(format!(
                "no vault {:?} in the config",
                self.vault
            )));
        }
        let (cert, key) = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => {
                let id = cfg
                    .identities
                    .iter()
                    .find(|i| i.name == self.identity)
                    .ok_or_else(|| {
                        CliError::Failed(format!("no identity {:?} in the config", self.identity))
                    })?;
                if id.vault != self.vault {
                    return Err(CliError::Failed(format!(
                        "identity {:?} is bound to vault {:?}, not {:?}",
                        id.name, id.vault, self.vault
                    )));
                }
                let dir = cfg.dir.join("clients").join(&id.name);
                (dir.join("cert.pem"), dir.join("key.pem"))
            }
        };
        let server = match &self.server {
            Some(s) => s.clone(),
            None if cfg.listen.ip().is_unspecified() => format!("127.0.0.1:{}", cfg.listen.port()),
            None => cfg.listen.to_string(),
        };
        Ok(byok::client_config(server, &cfg.tls.ca_cert, &cert, &key))
    }
}

/// `keygate import` arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Daemon, identity and vault.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Name of the new object.
    #[arg(long)]
    pub name: String,
    /// The key: PEM or DER PKCS#8, SEC1 or PKCS#1 private key, or raw AES key bytes.
    pub keyfile: PathBuf,
}

/// `keygate import`: prints the new object's UID.
pub fn run(a: &ImportArgs) -> Result<(), CliError> {
    let bytes =
        zeroize::Zeroizing::new(std::fs::read(&a.keyfile).map_err(|source| CliError::Read {
            what: a.keyfile.display().to_string(),
            source,
        })?);
    let key = byok::parse_key_file(&bytes).map_err(|e| CliError::Failed(e.to_string()))?;
    let cfg = a.client.client()?;
    let done = byok::import(
        &cfg,
        a.client.kmip_version,
        &a.name,
        &key,
        a.client.oaep_hash,
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    println!("{}", done.uid);
    Ok(())
}
