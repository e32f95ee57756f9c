//! `keygate init`, `client add`, `vault add` and the configuration loader.

use keygate::config::{Config, ConfigError, NameKind, Problem, StoreConfig, BUILTIN_ROLES};
use keygate::setup::{
    client_add, init, vault_add, InitOptions, InitReport, SetupError, VaultOptions,
};
use kmip::types::Operation;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "keygate-setup-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `dir` with its mode and contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), (mode(&p), Vec::new()));
                stack.push(p);
            } else {
                out.insert(p.clone(), (mode(&p), fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn init_in(tmp: &TempDir, hostnames: &[&str]) -> InitReport {
    init(
        &tmp.path().join("kg"),
        &InitOptions {
            hostnames: hostnames.iter().map(|s| (*s).to_owned()).collect(),
            listen: None,
        },
    )
    .unwrap()
}

fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

fn roots(ca: &Path) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(cert_der(ca)).unwrap();
    Arc::new(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Verifies `cert` as a TLS client certificate against `ca` with rustls/webpki, as
/// the daemon's listener does.
fn client_cert_chains(ca: &Path, cert: &Path) -> bool {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca), provider())
        .build()
        .unwrap();
    verifier
        .verify_client_cert(&cert_der(cert), &[], UnixTime::now())
        .is_ok()
}

/// Verifies `cert` as the server certificate for `name` against `ca`, as a client does.
fn server_cert_valid_for(ca: &Path, cert: &Path, name: &str) -> bool {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(ca), provider())
        .build()
        .unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    verifier
        .verify_server_cert(&cert_der(cert), &[], &name, &[], UnixTime::now())
        .is_ok()
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------------
// init

#[test]
fn init_creates_every_file_with_the_right_mode() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    assert_eq!(r.dir, tmp.path().join("kg"));
    assert_eq!(mode(&r.dir), 0o700);
    for key in [&r.ca_key, &r.server_key, &r.master_key, &r.audit_key] {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    for cert in [&r.ca_cert, &r.server_cert] {
        assert_eq!(mode(cert), 0o644, "{}", cert.display());
    }
    assert_eq!(r.clients.len(), 2);
    for (c, (name, role)) in r.clients.iter().zip([("admin", "admin"), ("app", "app")]) {
        assert_eq!((c.name.as_str(), c.role.as_str()), (name, role));
        assert_eq!(c.dir, r.dir.join("clients").join(name));
        assert_eq!(mode(&c.key), 0o600);
        assert_eq!(mode(&c.cert), 0o644);
    }
    assert_eq!(fs::read(&r.master_key).unwrap().len(), 32);
    assert_eq!(fs::read(&r.audit_key).unwrap().len(), 32);
    assert_ne!(
        fs::read(&r.master_key).unwrap(),
        fs::read(&r.audit_key).unwrap()
    );
    assert!(fs::read_to_string(&r.ca_key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));

    // Exactly these files, nothing else.
    let mut expected: Vec<PathBuf> = vec![
        r.config.clone(),
        r.ca_cert.clone(),
        r.ca_key.clone(),
        r.server_cert.clone(),
        r.server_key.clone(),
        r.master_key.clone(),
        r.audit_key.clone(),
        r.dir.join("server"),
        r.dir.join("clients"),
    ];
    for c in &r.clients {
        expected.extend([c.dir.clone(), c.cert.clone(), c.key.clone()]);
    }
    expected.sort();
    let found: Vec<PathBuf> = snapshot(&r.dir).into_keys().collect();
    assert_eq!(found, expected);
}

#[test]
fn init_config_loads_with_the_default_vault_and_identities() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let c = Config::load(&r.config).unwrap();
    assert_eq!(c.path, r.config);
    assert_eq!(c.dir, r.dir);
    assert_eq!(c.listen, "127.0.0.1:5696".parse().unwrap());
    assert_eq!(c.tls.ca_cert, r.ca_cert);
    assert_eq!(c.tls.ca_key, r.ca_key);
    assert_eq!(c.tls.server_cert, r.server_cert);
    assert_eq!(c.tls.server_key, r.server_key);
    assert_eq!(c.keystore.master_key_file, r.master_key);
    assert_eq!(c.audit.key_file, r.audit_key);
    assert_eq!(c.audit.path, r.dir.join("audit.log"));
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: r.dir.join("keygate.db")
        }
    );
    assert_eq!(c.vaults.len(), 1);
    let v = c.vault("default").unwrap();
    assert!(v.extractable_by_default && v.allow_extractable);
    assert_eq!(c.identity("admin").unwrap().role, "admin");
    assert_eq!(c.identity("app").unwrap().role, "app");
    assert_eq!(c.identity("app").unwrap().vault, "default");
    assert!(c.roles.is_empty());
    assert_eq!(c.limits, keygate::config::Limits::DEFAULT);
}

#[test]
fn init_honours_the_listen_address() {
    let tmp = TempDir::new();
    let addr = "[::1]:15696".parse().unwrap();
    let r = init(
        &tmp.path().join("kg"),
        &InitOptions {
            hostnames: vec![],
            listen: Some(addr),
        },
    )
    .unwrap();
    assert_eq!(r.listen, addr);
    assert_eq!(Config::load(&r.config).unwrap().listen, addr);
}

#[test]
fn server_certificate_has_the_sans_and_chains_to_the_ca() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &["kms.example.com", "10.1.2.3"]);
    let der = cert_der(&r.server_cert);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(common_name(&cert), "kms.example.com");

    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &cert
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
    {
        match name {
            GeneralName::DNSName(d) => dns.push(d.to_string()),
            GeneralName::IPAddress(b) => ips.push(match b.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()),
                _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()),
            }),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    assert_eq!(dns, ["localhost", "kms.example.com"]);
    let expected_ips: Vec<IpAddr> = ["127.0.0.1", "::1", "10.1.2.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ips, expected_ips);

    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    assert!(!cert.is_ca());

    for name in [
        "localhost",
        "kms.example.com",
        "127.0.0.1",
        "::1",
        "10.1.2.3",
    ] {
        assert!(
            server_cert_valid_for(&r.ca_cert, &r.server_cert, name),
            "{name}"
        );
    }
    assert!(!server_cert_valid_for(
        &r.ca_cert,
        &r.server_cert,
        "other.example.com"
    ));
}

#[test]
fn server_certificate_defaults_to_localhost() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let der = cert_der(&r.server_cert);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(common_name(&cert), "localhost");
    assert!(server_cert_valid_for(
        &r.ca_cert,
        &r.server_cert,
        "localhost"
    ));
}

#[test]
fn ca_certificate_is_a_p256_ca() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let der = cert_der(&r.ca_cert);
    let (_, ca) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(common_name(&ca), "Keygate CA");
    assert!(ca.is_ca());
    let ku = ca.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign());
    // ecdsa-with-SHA256.
    assert_eq!(
        ca.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.2"
    );
    let years = (ca.validity().not_after.to_datetime() - ca.validity().not_before.to_datetime())
        .whole_days()
        / 365;
    assert_eq!(years, 10);
}

#[test]
fn client_certificates_chain_to_the_ca_and_name_the_identity() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let mut serials = Vec::new();
    for c in &r.clients {
        assert!(client_cert_chains(&r.ca_cert, &c.cert), "{}", c.name);
        let der = cert_der(&c.cert);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(common_name(&cert), c.name);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        let days = (cert.validity().not_after.to_datetime()
            - cert.validity().not_before.to_datetime())
        .whole_days();
        assert!((729..=731).contains(&days), "{days}");
        serials.push(cert.raw_serial().to_vec());
    }
    assert_ne!(serials[0], serials[1]);
    // The server certificate is not a client certificate.
    assert!(!client_cert_chains(&r.ca_cert, &r.server_cert));

    // A certificate from another deployment's CA does not chain.
    let other = TempDir::new();
    let o = init_in(&other, &[]);
    assert!(!client_cert_chains(&r.ca_cert, &o.clients[0].cert));
}

#[test]
fn init_twice_refuses_and_changes_nothing() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let before = snapshot(&r.dir);
    match init(&r.dir, &InitOptions::default()) {
        Err(SetupError::Exists { path }) => assert_eq!(path, r.config),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&r.dir), before);

    // Without the config, the next existing file is named.
    fs::remove_file(&r.config).unwrap();
    let before = snapshot(&r.dir);
    match init(&r.dir, &InitOptions::default()) {
        Err(SetupError::Exists { path }) => assert_eq!(path, r.ca_cert),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&r.dir), before);
}

#[test]
fn init_refuses_a_non_empty_directory() {
    let tmp = TempDir::new();
    fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let err = init(tmp.path(), &InitOptions::default()).unwrap_err();
    assert!(matches!(err, SetupError::DirectoryNotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(snapshot(tmp.path()).len(), 1);
}

#[test]
fn init_uses_an_empty_existing_directory() {
    let tmp = TempDir::new();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o750)).unwrap();
    let r = init(tmp.path(), &InitOptions::default()).unwrap();
    assert!(r.config.exists());
    // An existing directory keeps its mode.
    assert_eq!(mode(tmp.path()), 0o750);
}

#[test]
fn init_creates_missing_parents() {
    let tmp = TempDir::new();
    let r = init(&tmp.path().join("a/b/c"), &InitOptions::default()).unwrap();
    assert!(r.config.exists());
    assert_eq!(mode(&tmp.path().join("a/b/c")), 0o700);
}

#[test]
fn init_with_a_bad_hostname_writes_nothing() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("kg");
    let err = init(
        &dir,
        &InitOptions {
            hostnames: vec!["not a host!".into()],
            listen: None,
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a host!"), "{err}");
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------------
// client add / vault add

#[test]
fn client_add_issues_a_certificate_and_updates_the_config() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let dir = client_add(&r.config, "db01.prod", "default", "tde").unwrap();
    assert_eq!(dir, r.dir.join("clients/db01.prod"));
    assert_eq!(mode(&dir.join("key.pem")), 0o600);
    assert_eq!(mode(&dir.join("cert.pem")), 0o644);
    assert!(client_cert_chains(&r.ca_cert, &dir.join("cert.pem")));
    let der = cert_der(&dir.join("cert.pem"));
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(common_name(&cert), "db01.prod");

    let c = Config::load(&r.config).unwrap();
    let id = c.identity("db01.prod").unwrap();
    assert_eq!((id.vault.as_str(), id.role.as_str()), ("default", "tde"));
    assert_eq!(c.identities.len(), 3);
    // The operator's comments survive.
    let text = fs::read_to_string(&r.config).unwrap();
    assert!(text.contains("# Keygate configuration"), "{text}");
    assert_eq!(mode(&r.config), 0o644);
}

#[test]
fn client_add_accepts_custom_roles_and_keeps_the_config_mode() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let mut text = fs::read_to_string(&r.config).unwrap();
    text.push_str(
        "\n[[roles]]\nname = \"backup\"\noperations = [\"Locate\", \"Get\", \"GetAttributes\"]\n",
    );
    fs::write(&r.config, text).unwrap();
    fs::set_permissions(&r.config, fs::Permissions::from_mode(0o640)).unwrap();

    client_add(&r.config, "backup-agent", "default", "backup").unwrap();
    let c = Config::load(&r.config).unwrap();
    assert_eq!(c.identity("backup-agent").unwrap().role, "backup");
    assert_eq!(
        c.custom_role("backup").unwrap().operations,
        [Operation::Locate, Operation::Get, Operation::GetAttributes]
    );
    assert_eq!(mode(&r.config), 0o640);
}

#[test]
fn client_add_rejects_bad_requests_and_changes_nothing() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let before = snapshot(&r.dir);

    let err = client_add(&r.config, "x", "prod", "app").unwrap_err();
    assert!(
        matches!(&err, SetupError::UnknownVault { vault, known } if vault == "prod" && known == "default"),
        "{err}"
    );
    let err = client_add(&r.config, "x", "default", "root").unwrap_err();
    assert!(
        matches!(&err, SetupError::UnknownRole { role, .. } if role == "root"),
        "{err}"
    );
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = client_add(&r.config, "app", "default", "app").unwrap_err();
    assert!(
        matches!(&err, SetupError::DuplicateIdentity { name } if name == "app"),
        "{err}"
    );
    for bad in ["", ".hidden", "..", "../evil", "a/b", "with space", "ünï"] {
        let err = client_add(&r.config, bad, "default", "app").unwrap_err();
        assert!(
            matches!(
                &err,
                SetupError::InvalidName {
                    kind: NameKind::Identity,
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(snapshot(&r.dir), before);
}

#[test]
fn client_add_refuses_a_leftover_client_directory() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    fs::create_dir(r.dir.join("clients/old")).unwrap();
    let before = snapshot(&r.dir);
    match client_add(&r.config, "old", "default", "app") {
        Err(SetupError::Exists { path }) => assert_eq!(path, r.dir.join("clients/old")),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&r.dir), before);
}

#[test]
fn client_add_without_the_ca_key_writes_nothing() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    fs::remove_file(&r.ca_key).unwrap();
    let before = snapshot(&r.dir);
    let err = client_add(&r.config, "x", "default", "app").unwrap_err();
    assert!(err.to_string().contains("ca-key.pem"), "{err}");
    assert_eq!(snapshot(&r.dir), before);
}

#[test]
fn vault_add_updates_the_config() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    vault_add(
        &r.config,
        "signing",
        &VaultOptions {
            allow_extractable: false,
            ..VaultOptions::default()
        },
    )
    .unwrap();
    vault_add(&r.config, "tde", &VaultOptions::default()).unwrap();
    let c = Config::load(&r.config).unwrap();
    let v = c.vault("signing").unwrap();
    assert!(!v.allow_extractable && !v.extractable_by_default);
    let v = c.vault("tde").unwrap();
    assert!(v.allow_extractable && v.extractable_by_default);
    assert_eq!(c.vaults.len(), 3);

    // And a client can be bound to it.
    client_add(&r.config, "signer", "signing", "crypto").unwrap();
    assert_eq!(
        Config::load(&r.config)
            .unwrap()
            .identity("signer")
            .unwrap()
            .vault,
        "signing"
    );
}

#[test]
fn vault_add_rejects_bad_requests_and_changes_nothing() {
    let tmp = TempDir::new();
    let r = init_in(&tmp, &[]);
    let before = snapshot(&r.dir);
    let err = vault_add(&r.config, "default", &VaultOptions::default()).unwrap_err();
    assert!(
        matches!(&err, SetupError::DuplicateVault { name } if name == "default"),
        "{err}"
    );
    for bad in ["", ".x", "a/b", "a b", &"v".repeat(33)] {
        let err = vault_add(&r.config, bad, &VaultOptions::default()).unwrap_err();
        assert!(
            matches!(
                &err,
                SetupError::InvalidName {
                    kind: NameKind::Vault,
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    let err = vault_add(
        &r.config,
        "v",
        &VaultOptions {
            extractable_by_default: Some(true),
            allow_extractable: false,
            ..VaultOptions::default()
        },
    )
    .unwrap_err();
    match &err {
        SetupError::Config(e) => assert!(
            matches!(e.problem(), Some(Problem::ExtractableAboveCeiling { vault }) if vault == "v"),
            "{err}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&r.dir), before);
}

#[test]
fn vault_add_falls_back_to_rewriting_an_inline_array() {
    let tmp = TempDir::new();
    let path = tmp.path().join("keygate.toml");
    let text = base_config().replace("[[vaults]]\nname = \"default\"\n", "");
    let text = format!("vaults = [{{ name = \"default\" }}]\n{text}");
    fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap();
    vault_add(&path, "second", &VaultOptions::default()).unwrap();
    let c = Config::load(&path).unwrap();
    assert!(c.vault("default").is_some() && c.vault("second").is_some());
}

// ---------------------------------------------------------------------------------
// Config::load

/// A small valid configuration.
fn base_config() -> String {
    r#"listen = "127.0.0.1:5696"

[tls]
ca_cert = "ca.pem"
ca_key = "ca-key.pem"
server_cert = "server/cert.pem"
server_key = "server/key.pem"

[store]
kind = "sqlite"
path = "keygate.db"

[keystore]
master_key_file = "master.key"

[audit]
path = "audit.log"
key_file = "audit.key"

[[vaults]]
name = "default"

[[identities]]
name = "admin"
vault = "default"
role = "admin"

[[roles]]
name = "backup"
operations = ["Locate", "Get", "GetAttributes"]
"#
    .to_owned()
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let tmp = TempDir::new();
    let path = tmp.path().join("keygate.toml");
    fs::write(&path, text).unwrap();
    Config::load(&path)
}

/// Loads `text`, expects an error, and returns it with its message.
fn load_err(text: &str) -> (ConfigError, String) {
    let e = load_text(text).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("keygate.toml"),
        "message lacks the file: {msg}"
    );
    (e, msg)
}

#[test]
fn base_config_loads_with_defaults() {
    let c = load_text(&base_config()).unwrap();
    let v = c.vault("default").unwrap();
    assert_eq!(v.backend, keygate::config::BackendKind::Software);
    assert!(v.extractable_by_default && v.allow_extractable);
    assert_eq!(c.limits, keygate::config::Limits::DEFAULT);
    assert_eq!(c.limits.max_batch_items, 64);
    assert_eq!(c.limits.idle_timeout().as_secs(), 300);
    assert!(c.tls.ca_cert.is_absolute());
    assert!(c.has_role("backup") && c.has_role("read-only") && !c.has_role("root"));
    assert_eq!(
        BUILTIN_ROLES,
        ["admin", "app", "tde", "crypto", "read-only"]
    );
}

#[test]
fn to_toml_round_trips() {
    let mut text = base_config();
    text.push_str(
        "[limits]\nmax_depth = 8\n\n[[vaults]]\nname = \"hsm\"\nallow_extractable = false\n",
    );
    let c = load_text(&text).unwrap();
    assert_eq!(c.limits.max_depth, 8);
    let again = Config::from_toml_str(&c.to_toml(), &c.path).unwrap();
    assert_eq!(again, c);
}

#[test]
fn save_is_atomic_and_keeps_the_mode() {
    let tmp = TempDir::new();
    let path = tmp.path().join("keygate.toml");
    fs::write(&path, base_config()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = Config::load(&path).unwrap();
    c.limits.max_connections = 7;
    c.save().unwrap();
    assert_eq!(Config::load(&path).unwrap().limits.max_connections, 7);
    assert_eq!(mode(&path), 0o600);
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);

    // An invalid in-memory edit is refused, and the file is untouched.
    let before = fs::read(&path).unwrap();
    c.identities[0].vault = "nope".into();
    assert!(c.save().is_err());
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn typos_are_rejected_with_the_line() {
    let (e, msg) = load_err(&base_config().replace("listen =", "lisen ="));
    assert_eq!(e.line(), Some(1), "{msg}");
    assert!(msg.contains("lisen"), "{msg}");

    let (e, msg) = load_err(&base_config().replace("ca_key =", "ca_kye ="));
    assert_eq!(e.line(), Some(5), "{msg}");
    assert!(msg.contains("ca_kye"), "{msg}");

    let (e, msg) = load_err(&base_config().replace(
        "name = \"default\"",
        "name = \"default\"\nextractable = true",
    ));
    assert!(matches!(e, ConfigError::Syntax { .. }), "{msg}");
    assert!(msg.contains("extractable"), "{msg}");

    let (_, msg) = load_err(&format!("{}[limits]\nmax_conections = 5\n", base_config()));
    assert!(msg.contains("max_conections"), "{msg}");

    let (_, msg) = load_err(&base_config().replace("[keystore]", "[keystor]"));
    assert!(msg.contains("keystor"), "{msg}");

    let (e, msg) = load_err("listen = \n");
    assert!(matches!(e, ConfigError::Syntax { .. }), "{msg}");
}

#[test]
fn bad_references_are_rejected_with_clear_messages() {
    fn problem(text: &str) -> (Problem, Option<usize>, String) {
        let (e, msg) = load_err(text);
        (
            e.problem().cloned().unwrap_or_else(|| panic!("{msg}")),
            e.line(),
            msg,
        )
    }
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    let text = base_config().replace("vault = \"default\"", "vault = \"prod\"");
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnknownVault { vault, .. } if vault == "prod"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "\"prod\"")));
    assert!(msg.contains("prod") && msg.contains("default"), "{msg}");

    let text = base_config().replace("role = \"admin\"", "role = \"root\"");
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnknownRole { role, .. } if role == "root"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "\"root\"")));
    assert!(msg.contains("backup") && msg.contains("read-only"), "{msg}");

    let text = format!("{}\n[[vaults]]\nname = \"default\"\n", base_config());
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::Duplicate {
                kind: NameKind::Vault,
                ..
            }
        ),
        "{msg}"
    );

    let text = format!(
        "{}\n[[identities]]\nname = \"admin\"\nvault = \"default\"\nrole = \"app\"\n",
        base_config()
    );
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::Duplicate {
                kind: NameKind::Identity,
                ..
            }
        ),
        "{msg}"
    );

    let text = format!(
        "{}\n[[roles]]\nname = \"backup\"\noperations = [\"Get\"]\n",
        base_config()
    );
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::Duplicate {
                kind: NameKind::Role,
                ..
            }
        ),
        "{msg}"
    );

    let text = base_config().replace("name = \"backup\"", "name = \"tde\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::BuiltinRoleRedefined { role } if role == "tde"),
        "{msg}"
    );

    let text = base_config().replace("\"GetAttributes\"", "\"Fetch\"");
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnknownOperation { operation, .. } if operation == "Fetch"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "Fetch")));

    let text = base_config().replace(
        "operations = [\"Locate\", \"Get\", \"GetAttributes\"]",
        "operations = []",
    );
    let (p, _, msg) = problem(&text);
    assert!(matches!(p, Problem::EmptyRole { .. }), "{msg}");

    let text = base_config().replace("127.0.0.1:5696", "localhost:5696");
    let (p, line, msg) = problem(&text);
    assert!(matches!(p, Problem::BadListen { .. }), "{msg}");
    assert_eq!(line, Some(1));

    let text = format!("{}\n[limits]\nmax_depth = 0\n", base_config());
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(p, Problem::ZeroLimit { name: "max_depth" }),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "max_depth")));

    let text = base_config().replace("kind = \"sqlite\"", "kind = \"postgres\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnsupportedStore { kind } if kind == "postgres"),
        "{msg}"
    );
    assert!(msg.contains("not supported yet"), "{msg}");

    let text = base_config().replace(
        "name = \"default\"",
        "name = \"default\"\nbackend = \"pkcs11\"",
    );
    let (p, _, msg) = problem(&text);
    assert!(matches!(p, Problem::UnsupportedBackend { .. }), "{msg}");

    let text = base_config().replace(
        "name = \"default\"",
        "name = \"default\"\nextractable_by_default = true\nallow_extractable = false",
    );
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(p, Problem::ExtractableAboveCeiling { .. }),
        "{msg}"
    );

    let text = base_config().replace("name = \"default\"", "name = \"../x\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::BadName {
                kind: NameKind::Vault,
                ..
            }
        ),
        "{msg}"
    );

    let text = base_config().replace("path = \"keygate.db\"", "path = \"\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::EmptyPath {
                field: "store.path"
            }
        ),
        "{msg}"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let tmp = TempDir::new();
    let sub = tmp.path().join("etc");
    fs::create_dir(&sub).unwrap();
    let path = sub.join("keygate.toml");
    fs::write(
        &path,
        base_config().replace("\"audit.key\"", "\"/secure/audit.key\""),
    )
    .unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.tls.server_cert, sub.join("server/cert.pem"));
    assert_eq!(c.audit.key_file, Path::new("/secure/audit.key"));
    let again = Config::from_toml_str(&c.to_toml(), &path).unwrap();
    assert_eq!(again, c);
}

#[test]
fn missing_file_is_a_read_error() {
    let tmp = TempDir::new();
    let e = Config::load(tmp.path().join("nope.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    assert!(e.to_string().contains("nope.toml"));
}
