//! Operator commands: `init`, `serve`, `client add`, `vault add`, `audit verify`,
//! `replay`.

use super::CliError;
use clap::{Args, Subcommand};
use keygate::setup::{self, InitOptions, VaultOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The directory `keygate serve` uses when given no config.
pub const DEFAULT_DATA_DIR: &str = "keygate-data";

/// `keygate init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the setup in (must not hold one already).
    #[arg(long)]
    pub dir: PathBuf,
    /// Extra DNS names or IP addresses for the server certificate (repeatable).
    #[arg(long = "hostname")]
    pub hostnames: Vec<String>,
    /// Listener address written to the config (default 127.0.0.1:5696).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

/// `keygate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file; without it, ./keygate-data/keygate.toml (created if missing).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen address, overriding the config.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

/// `keygate client ...`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Issue a client certificate from the CA and bind the identity to a vault and role.
    Add {
        /// Config file.
        #[arg(long)]
        config: PathBuf,
        /// Identity name (the certificate's CN).
        #[arg(long)]
        name: String,
        /// Vault the identity works in.
        #[arg(long)]
        vault: String,
        /// Role: admin, app, tde, crypto, read-only, or a custom role.
        #[arg(long)]
        role: String,
    },
}

/// `keygate vault ...`.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Add a vault.
    Add {
        /// Config file.
        #[arg(long)]
        config: PathBuf,
        /// Vault name.
        #[arg(long)]
        name: String,
    },
}

/// `keygate audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check an audit log's HMAC chain; exit 0 when intact, 1 naming the first bad line.
    Verify {
        /// The audit log.
        file: PathBuf,
        /// HMAC key file (default: audit.key beside the log).
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

/// `keygate replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Server address host:port.
    #[arg(long)]
    pub server: String,
    /// CA certificate (PEM) the server's certificate chains to.
    #[arg(long)]
    pub ca: PathBuf,
    /// Client certificate (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// Client private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// OASIS-style XML conversation files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// `keygate init`.
pub fn init(args: &InitArgs) -> Result<(), CliError> {
    let r = setup::init(
        &args.dir,
        &InitOptions {
            hostnames: args.hostnames.clone(),
            listen: args.listen,
        },
    )
    .map_err(fail)?;
    println!("created {}", r.config.display());
    print_clients(&r);
    Ok(())
}

fn print_clients(r: &setup::InitReport) {
    println!("CA certificate: {}", r.ca_cert.display());
    for c in &r.clients {
        println!(
            "client {}: cert {} key {}",
            c.name,
            c.cert.display(),
            c.key.display()
        );
    }
}

/// `keygate serve`.
pub fn serve(args: &ServeArgs) -> Result<(), CliError> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let config = match &args.config {
        Some(c) => c.clone(),
        None => {
            let dir = Path::new(DEFAULT_DATA_DIR);
            let cfg = dir.join(keygate::config::CONFIG_FILE_NAME);
            if !cfg.exists() {
                let r = setup::init(dir, &InitOptions::default()).map_err(fail)?;
                println!("initialised {}", r.dir.display());
                print_clients(&r);
            } else {
                println!("using {}", cfg.display());
                println!(
                    "client certificates are under {}",
                    dir.join("clients").display()
                );
            }
            cfg
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    rt.block_on(keygate::daemon::serve(&config, args.listen))
        .map_err(fail)
}

/// `keygate client add`.
pub fn client(cmd: &ClientCommand) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Add {
            config,
            name,
            vault,
            role,
        } => {
            let dir = setup::client_add(config, name, vault, role).map_err(fail)?;
            println!(
                "client {name}: cert {} key {}",
                dir.join("cert.pem").display(),
                dir.join("key.pem").display()
            );
            Ok(())
        }
    }
}

/// `keygate vault add`.
pub fn vault(cmd: &VaultCommand) -> Result<(), CliError> {
    match cmd {
        VaultCommand::Add { config, name } => {
            setup::vault_add(config, name, &VaultOptions::default()).map_err(fail)?;
            println!("vault {name} added");
            Ok(())
        }
    }
}

/// `keygate audit verify`.
pub fn audit(cmd: &AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify { file, key } => {
            let key = key
                .clone()
                .unwrap_or_else(|| file.with_file_name("audit.key"));
            match keygate::audit::verify(file, &key) {
                Ok(n) => {
                    println!("{}: {n} records, chain intact", file.display());
                    Ok(())
                }
                Err(e) => Err(fail(e)),
            }
        }
    }
}

/// `keygate replay`.
pub fn replay(args: &ReplayArgs) -> Result<(), CliError> {
    use kmip::client::{ClientConfig, PemSource};
    let cfg = ClientConfig::new(
        args.server.clone(),
        PemSource::path(&args.ca),
        PemSource::path(&args.cert),
        PemSource::path(&args.key),
    );
    let (mut pass, mut failed) = (0, 0);
    for f in &args.files {
        let name = f.file_stem().unwrap_or_default().to_string_lossy();
        match keygate::replay::replay_file(f, &cfg) {
            keygate::replay::Outcome::Pass => {
                pass += 1;
                println!("PASS {name}");
            }
            keygate::replay::Outcome::Fail(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!("{pass} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{failed} conversation(s) failed")))
    }
}
