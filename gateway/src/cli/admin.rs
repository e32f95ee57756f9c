//! Operator commands: `init`, `serve`, `client add`, `vault add`, `audit verify`,
//! `replay`.

use super::CliError;
use clap::{Args, Subcommand};
use keygate::config::{PinSource, Placement};
use keygate::setup::{self, InitOptions, Pkcs11Init, VaultOptions};
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
    /// PKCS#11 module of an HSM token to keep the `default` vault's keys in (backend
    /// "hsm"); without it the vault uses the built-in software keystore.
    #[arg(long, value_name = "PATH", requires = "token_label")]
    pub pkcs11_module: Option<PathBuf>,
    /// Label of the token (with --pkcs11-module).
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token_label: Option<String>,
    /// File holding the token's user PIN, readable by the daemon's user alone
    /// (chmod 600); read when the daemon starts.
    #[arg(
        long,
        value_name = "FILE",
        requires = "pkcs11_module",
        conflicts_with = "pin_env"
    )]
    pub pin_file: Option<PathBuf>,
    /// Environment variable of the daemon holding the user PIN (instead of --pin-file).
    #[arg(long, value_name = "VARIABLE", requires = "pkcs11_module")]
    pub pin_env: Option<String>,
    /// Where the token keeps keys: `resident` (token objects, used in the token;
    /// not extractable by default) or `wrapped` (stored wrapped under a key that
    /// never leaves the token).
    #[arg(long, value_name = "PLACEMENT", requires = "pkcs11_module", value_parser = parse_placement)]
    pub placement: Option<Placement>,
}

fn parse_placement(s: &str) -> Result<Placement, String> {
    Placement::from_name(s).ok_or_else(|| format!("{s:?} is not \"resident\" or \"wrapped\""))
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
        /// Key backend: "software" (the built-in keystore, default) or the name of
        /// a [[backends]] entry of the config (e.g. "hsm").
        #[arg(long, default_value = keygate::config::SOFTWARE_BACKEND)]
        backend: String,
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
    let pkcs11 = match (&args.pkcs11_module, &args.token_label) {
        (Some(module), Some(token_label)) => Some(Pkcs11Init {
            module: module.clone(),
            token_label: token_label.clone(),
            pin: match (&args.pin_file, &args.pin_env) {
                (Some(f), None) => PinSource::File(f.clone()),
                (None, Some(v)) => PinSource::Env(v.clone()),
                _ => {
                    return Err(CliError::Failed(
                        "give exactly one of --pin-file and --pin-env with --pkcs11-module".into(),
                    ))
                }
            },
            placement: args.placement.unwrap_or(Placement::Resident),
        }),
        _ => None,
    };
    let r = setup::init(
        &args.dir,
        &InitOptions {
            hostnames: args.hostnames.clone(),
            listen: args.listen,
            pkcs11,
        },
    )
    .map_err(fail)?;
    println!("created {}", r.config.display());
    println!("vault default: backend {}", r.backend);
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
        VaultCommand::Add {
            config,
            name,
            backend,
        } => {
            let opts = VaultOptions {
                backend: backend.clone(),
                ..VaultOptions::default()
            };
            setup::vault_add(config, name, &opts).map_err(fail)?;
            println!("vault {name} added (backend {backend})");
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
