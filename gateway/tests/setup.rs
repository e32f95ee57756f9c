//! `keygate init`, `client add`, `vault add` and the configuration loader.

use keygate::config::{
    BackendSettings, Config, ConfigError, NameKind, PinSource, Placement, Problem, StoreConfig,
    BUILTIN_ROLES, DEFAULT_PKCS11_SESSIONS, SOFTWARE_BACKEND,
};
use keygate::setup::{
    client_add, init, vault_add, InitOptions, InitReport, Pkcs11Init, SetupError, VaultOptions,
    INIT_HSM_BACKEND,
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
            pkcs11: None,
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
    assert_eq!(v.backend, SOFTWARE_BACKEND);
    assert!(c.backends.is_empty());
    assert_eq!(r.backend, SOFTWARE_BACKEND);
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
            pkcs11: None,
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
            pkcs11: None,
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
    assert_eq!(v.backend, SOFTWARE_BACKEND);
    assert!(v.extractable_by_default && v.allow_extractable);
    assert!(c.backends.is_empty());
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
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnknownBackend { vault, backend, known }
            if vault == "default" && backend == "pkcs11" && known == "software"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "backend = \"pkcs11\"")));

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

// ---------------------------------------------------------------------------------
// Key backends: [[backends]], init --pkcs11-module, vault add --backend, start-up

/// A PKCS#11 init option set; the module and PIN file need not exist for setup.
fn pkcs11_init(pin: PinSource, placement: Placement) -> Pkcs11Init {
    Pkcs11Init {
        module: PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"),
        token_label: "keygate".into(),
        pin,
        placement,
    }
}

fn init_with(tmp: &TempDir, pkcs11: Option<Pkcs11Init>) -> Result<InitReport, SetupError> {
    init(
        &tmp.path().join("kg"),
        &InitOptions {
            hostnames: vec![],
            listen: None,
            pkcs11,
        },
    )
}

fn pkcs11_of(c: &Config, name: &str) -> keygate::config::Pkcs11Settings {
    match &c.backend(name).unwrap().settings {
        BackendSettings::Pkcs11(p) => p.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn init_with_a_pkcs11_token_puts_the_default_vault_on_it() {
    let tmp = TempDir::new();
    let pin = tmp.path().join("secrets/hsm.pin");
    let r = init_with(
        &tmp,
        Some(pkcs11_init(
            PinSource::File(pin.clone()),
            Placement::Resident,
        )),
    )
    .unwrap();
    assert_eq!(r.backend, INIT_HSM_BACKEND);
    let text = fs::read_to_string(&r.config).unwrap();
    assert!(
        text.contains("[[backends]]\nname = \"hsm\"\nkind = \"pkcs11\""),
        "{text}"
    );
    let c = Config::load(&r.config).unwrap();
    assert_eq!(c.backends.len(), 1);
    let p = pkcs11_of(&c, "hsm");
    assert_eq!(p.module, Path::new("/usr/lib/softhsm/libsofthsm2.so"));
    assert_eq!(p.token_label, "keygate");
    assert_eq!(p.pin, PinSource::File(pin));
    assert_eq!(p.placement, Placement::Resident);
    assert_eq!(p.sessions, DEFAULT_PKCS11_SESSIONS);
    let v = c.vault("default").unwrap();
    assert_eq!(v.backend, "hsm");
    // Resident keys stay in the token unless a request asks otherwise.
    assert!(!v.extractable_by_default && v.allow_extractable);
    // The rest of the deployment is as without a token.
    assert!(r.master_key.exists() && r.audit_key.exists());
    assert_eq!(c.identity("app").unwrap().vault, "default");

    // Wrapped placement: extractable by default, like the software keystore; a PIN
    // from the environment; a PIN file given relative to the current directory.
    let tmp = TempDir::new();
    let r = init_with(
        &tmp,
        Some(pkcs11_init(
            PinSource::Env("KEYGATE_HSM_PIN".into()),
            Placement::Wrapped,
        )),
    )
    .unwrap();
    let c = Config::load(&r.config).unwrap();
    assert_eq!(
        pkcs11_of(&c, "hsm").pin,
        PinSource::Env("KEYGATE_HSM_PIN".into())
    );
    assert_eq!(pkcs11_of(&c, "hsm").placement, Placement::Wrapped);
    assert!(c.vault("default").unwrap().extractable_by_default);

    let tmp = TempDir::new();
    let r = init_with(
        &tmp,
        Some(pkcs11_init(
            PinSource::File(PathBuf::from("relative.pin")),
            Placement::Resident,
        )),
    )
    .unwrap();
    let c = Config::load(&r.config).unwrap();
    assert_eq!(
        pkcs11_of(&c, "hsm").pin,
        PinSource::File(std::env::current_dir().unwrap().join("relative.pin"))
    );
}

#[test]
fn init_with_a_bad_token_label_writes_nothing() {
    let tmp = TempDir::new();
    let mut opts = pkcs11_init(PinSource::File("/x/pin".into()), Placement::Resident);
    opts.token_label = "t".repeat(33);
    let err = init_with(&tmp, Some(opts)).unwrap_err();
    match &err {
        SetupError::Config(e) => assert!(
            matches!(e.problem(), Some(Problem::BadTokenLabel { .. })),
            "{err}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!tmp.path().join("kg").exists());
}

#[test]
fn vault_add_puts_a_vault_on_a_named_backend() {
    let tmp = TempDir::new();
    let r = init_with(
        &tmp,
        Some(pkcs11_init(
            PinSource::File("/x/pin".into()),
            Placement::Resident,
        )),
    )
    .unwrap();
    vault_add(
        &r.config,
        "signing",
        &VaultOptions {
            backend: "hsm".into(),
            ..VaultOptions::default()
        },
    )
    .unwrap();
    vault_add(&r.config, "tde", &VaultOptions::default()).unwrap();
    vault_add(
        &r.config,
        "hsm-tde",
        &VaultOptions {
            backend: "hsm".into(),
            extractable_by_default: Some(true),
            ..VaultOptions::default()
        },
    )
    .unwrap();
    let c = Config::load(&r.config).unwrap();
    let v = c.vault("signing").unwrap();
    assert_eq!(v.backend, "hsm");
    assert!(!v.extractable_by_default && v.allow_extractable);
    let v = c.vault("tde").unwrap();
    assert_eq!(v.backend, SOFTWARE_BACKEND);
    assert!(v.extractable_by_default);
    assert!(c.vault("hsm-tde").unwrap().extractable_by_default);
    // The operator's comments survive (the block was appended).
    assert!(fs::read_to_string(&r.config)
        .unwrap()
        .contains("# A PKCS#11 token."));

    let before = snapshot(&r.dir);
    let err = vault_add(
        &r.config,
        "x",
        &VaultOptions {
            backend: "hsm2".into(),
            ..VaultOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, SetupError::UnknownBackend { backend, known }
            if backend == "hsm2" && known == "software, hsm"),
        "{err}"
    );
    assert!(err.to_string().contains("software, hsm"), "{err}");
    assert_eq!(snapshot(&r.dir), before);
}

/// `keygate init --pkcs11-module ...` and `keygate vault add --backend` through the
/// binary: the flags reach the configuration, and incomplete flags are refused.
#[test]
fn cli_init_and_vault_add_take_the_backend_flags() {
    let bin = env!("CARGO_BIN_EXE_keygate");
    let tmp = TempDir::new();
    let dir = tmp.path().join("kg");
    let pin = tmp.path().join("hsm.pin");
    let out = std::process::Command::new(bin)
        .args(["init", "--dir"])
        .arg(&dir)
        .args([
            "--pkcs11-module",
            "/usr/lib/softhsm/libsofthsm2.so",
            "--token-label",
            "kg-token",
            "--pin-file",
        ])
        .arg(&pin)
        .args(["--placement", "wrapped"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let config = dir.join("keygate.toml");
    let c = Config::load(&config).unwrap();
    let p = pkcs11_of(&c, "hsm");
    assert_eq!(p.token_label, "kg-token");
    assert_eq!(p.pin, PinSource::File(pin.clone()));
    assert_eq!(p.placement, Placement::Wrapped);
    assert_eq!(c.vault("default").unwrap().backend, "hsm");

    let out = std::process::Command::new(bin)
        .args(["vault", "add", "--config"])
        .arg(&config)
        .args(["--name", "keys", "--backend", "hsm"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        Config::load(&config)
            .unwrap()
            .vault("keys")
            .unwrap()
            .backend,
        "hsm"
    );
    let out = std::process::Command::new(bin)
        .args(["vault", "add", "--config"])
        .arg(&config)
        .args(["--name", "soft"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        Config::load(&config)
            .unwrap()
            .vault("soft")
            .unwrap()
            .backend,
        SOFTWARE_BACKEND
    );

    // Incomplete or contradictory flags: refused, nothing written.
    for args in [
        &["--token-label", "t", "--pin-file", "/p"][..],
        &["--pkcs11-module", "/m.so", "--pin-file", "/p"][..],
        &["--pkcs11-module", "/m.so", "--token-label", "t"][..],
        &[
            "--pkcs11-module",
            "/m.so",
            "--token-label",
            "t",
            "--pin-file",
            "/p",
            "--pin-env",
            "PIN",
        ][..],
        &[
            "--pkcs11-module",
            "/m.so",
            "--token-label",
            "t",
            "--pin-file",
            "/p",
            "--placement",
            "inside",
        ][..],
    ] {
        let dir = tmp.path().join("refused");
        let out = std::process::Command::new(bin)
            .args(["init", "--dir"])
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(!dir.exists(), "{args:?} wrote {}", dir.display());
    }
}

/// A configuration with one PKCS#11 backend entry `entry` (the lines after
/// `[[backends]]`) and the default vault on it.
fn backend_config(entry: &str) -> String {
    base_config().replace(
        "[[vaults]]\nname = \"default\"\n",
        &format!("[[backends]]\n{entry}\n[[vaults]]\nname = \"default\"\nbackend = \"hsm\"\n"),
    )
}

const HSM: &str = "name = \"hsm\"\nkind = \"pkcs11\"\nmodule = \"lib/softhsm2.so\"\ntoken_label = \"keygate\"\npin_file = \"hsm.pin\"\n";

#[test]
fn backends_load_with_their_defaults_and_round_trip() {
    let c = load_text(&backend_config(HSM)).unwrap();
    let p = pkcs11_of(&c, "hsm");
    assert_eq!(
        p.module,
        c.dir.join("lib/softhsm2.so"),
        "relative to the config"
    );
    assert_eq!(p.pin, PinSource::File(c.dir.join("hsm.pin")));
    assert_eq!(p.placement, Placement::Resident, "the default placement");
    assert_eq!(p.sessions, DEFAULT_PKCS11_SESSIONS);
    let v = c.vault("default").unwrap();
    assert_eq!(v.backend, "hsm");
    assert!(
        !v.extractable_by_default,
        "resident: keys stay in the token"
    );
    assert!(c.has_backend("hsm") && c.has_backend("software") && !c.has_backend("x"));
    assert_eq!(c.extractable_by_default("hsm"), Some(false));
    assert_eq!(c.extractable_by_default("software"), Some(true));
    assert_eq!(c.extractable_by_default("x"), None);
    assert_eq!(c.backend_names(), "software, hsm");
    let again = Config::from_toml_str(&c.to_toml(), &c.path).unwrap();
    assert_eq!(again, c);

    // Several backends, every key given, vaults on each.
    let mut text = backend_config(&format!("{}placement = \"resident\"\nsessions = 16\n", HSM));
    text.push_str(
        "\n[[backends]]\nname = \"vault-hsm\"\nkind = \"pkcs11\"\nmodule = \"/opt/hsm/lib.so\"\n\
         token_label = \"wrapped keys\"\npin_env = \"KEYGATE_HSM_PIN\"\nplacement = \"wrapped\"\n\
         \n[[vaults]]\nname = \"bulk\"\nbackend = \"vault-hsm\"\n\
         \n[[vaults]]\nname = \"signing\"\nbackend = \"hsm\"\nextractable_by_default = true\n\
         \n[[vaults]]\nname = \"closed\"\nbackend = \"vault-hsm\"\nallow_extractable = false\n",
    );
    let c = load_text(&text).unwrap();
    assert_eq!(c.backends.len(), 2);
    assert_eq!(pkcs11_of(&c, "hsm").sessions, 16);
    let w = pkcs11_of(&c, "vault-hsm");
    assert_eq!(w.module, Path::new("/opt/hsm/lib.so"));
    assert_eq!(w.pin, PinSource::Env("KEYGATE_HSM_PIN".into()));
    assert_eq!(w.placement, Placement::Wrapped);
    assert!(c.vault("bulk").unwrap().extractable_by_default, "wrapped");
    assert!(
        c.vault("signing").unwrap().extractable_by_default,
        "as asked"
    );
    assert!(
        !c.vault("closed").unwrap().extractable_by_default,
        "the ceiling"
    );
    let again = Config::from_toml_str(&c.to_toml(), &c.path).unwrap();
    assert_eq!(again, c);
    assert!(c.to_toml().contains("pin_env = \"KEYGATE_HSM_PIN\""));
    assert!(!c.to_toml().contains("KEYGATE_HSM_PIN\"\npin_file"));
}

#[test]
fn bad_backends_are_rejected_with_the_line() {
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
    let with = |from: &str, to: &str| backend_config(&HSM.replace(from, to));

    let text = with("name = \"hsm\"", "name = \"software\"");
    let (p, line, msg) = problem(&text);
    assert!(matches!(p, Problem::ReservedBackendName), "{msg}");
    assert_eq!(line, Some(line_of(&text, "\"software\"")));
    assert!(msg.contains("reserved"), "{msg}");

    let text = with("name = \"hsm\"", "name = \"h s m\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::BadName {
                kind: NameKind::Backend,
                ..
            }
        ),
        "{msg}"
    );

    let text = format!("{}\n[[backends]]\n{HSM}", backend_config(HSM));
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::Duplicate { kind: NameKind::Backend, name } if name == "hsm"),
        "{msg}"
    );
    let last = text.lines().collect::<Vec<_>>();
    assert_eq!(
        line,
        Some(last.iter().rposition(|l| *l == "name = \"hsm\"").unwrap() + 1)
    );

    let text = with("kind = \"pkcs11\"", "kind = \"kms\"");
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnsupportedBackend { backend, kind } if backend == "hsm" && kind == "kms"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "\"kms\"")));

    for field in ["module", "token_label"] {
        let text = backend_config(
            &HSM.lines()
                .filter(|l| !l.starts_with(field))
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
        );
        let (p, _, msg) = problem(&text);
        assert!(
            matches!(&p, Problem::MissingBackendSetting { field: f, .. } if *f == field),
            "{msg}"
        );
        assert!(msg.contains(field) && msg.contains("hsm"), "{msg}");
    }

    let text = with(
        "pin_file = \"hsm.pin\"\n",
        "pin_file = \"hsm.pin\"\npin_env = \"PIN\"\n",
    );
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(p, Problem::BadPinSource { found: "both", .. }),
        "{msg}"
    );
    let text = with("pin_file = \"hsm.pin\"\n", "");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::BadPinSource {
                found: "neither",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("pin_file") && msg.contains("pin_env"), "{msg}");

    for bad in ["1PIN", "MY-PIN", ""] {
        let text = with("pin_file = \"hsm.pin\"", &format!("pin_env = \"{bad}\""));
        let (p, _, msg) = problem(&text);
        assert!(matches!(p, Problem::BadPinEnv { .. }), "{bad:?}: {msg}");
    }

    let text = with("pin_file = \"hsm.pin\"", "pin_file = \"\"");
    let (p, _, msg) = problem(&text);
    assert!(
        matches!(
            p,
            Problem::EmptyPath {
                field: "backends.pin_file"
            }
        ),
        "{msg}"
    );

    for bad in ["", &"l".repeat(33)] {
        let text = with(
            "token_label = \"keygate\"",
            &format!("token_label = \"{bad}\""),
        );
        let (p, _, msg) = problem(&text);
        assert!(matches!(p, Problem::BadTokenLabel { .. }), "{bad:?}: {msg}");
    }

    let text = backend_config(&format!("{HSM}placement = \"inside\"\n"));
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::BadPlacement { value, .. } if value == "inside"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "\"inside\"")));

    for bad in [0, 5000] {
        let text = backend_config(&format!("{HSM}sessions = {bad}\n"));
        let (p, line, msg) = problem(&text);
        assert!(
            matches!(p, Problem::BadSessions { value, .. } if value == bad),
            "{msg}"
        );
        assert_eq!(line, Some(line_of(&text, "sessions")));
    }

    // A typo in a backend's keys is a syntax error naming it, with its line.
    let text = with("pin_file =", "pin_fil =");
    let (e, msg) = load_err(&text);
    assert!(matches!(e, ConfigError::Syntax { .. }), "{msg}");
    assert!(msg.contains("pin_fil"), "{msg}");
    assert_eq!(e.line(), Some(line_of(&text, "pin_fil")));

    // A vault on a backend that is not configured lists those that are.
    let text = backend_config(HSM).replace("backend = \"hsm\"", "backend = \"hsm2\"");
    let (p, line, msg) = problem(&text);
    assert!(
        matches!(&p, Problem::UnknownBackend { backend, known, .. }
            if backend == "hsm2" && known == "software, hsm"),
        "{msg}"
    );
    assert_eq!(line, Some(line_of(&text, "\"hsm2\"")));

    // What the system decides is not checked here: a missing module or PIN file
    // loads (the daemon refuses them at start).
    let c = load_text(&with("lib/softhsm2.so", "/nonexistent/lib.so")).unwrap();
    assert_eq!(
        pkcs11_of(&c, "hsm").module,
        Path::new("/nonexistent/lib.so")
    );
}

// ---------------------------------------------------------------------------------
// Opening backends at start (no token needed: these fail before the module loads)

/// A deployment whose default vault is on a PKCS#11 backend with `module` and `pin`.
fn hsm_deployment(tmp: &TempDir, module: &Path, pin: PinSource) -> InitReport {
    init_with(
        tmp,
        Some(Pkcs11Init {
            module: module.to_path_buf(),
            token_label: "keygate".into(),
            pin,
            placement: Placement::Resident,
        }),
    )
    .unwrap()
}

fn open_error(config: &Path) -> String {
    let cfg = Config::load(config).unwrap();
    match keygate::daemon::open_backends(&cfg) {
        Ok(b) => panic!("opened {:?}", b.keys().collect::<Vec<_>>()),
        Err(e) => {
            assert!(
                matches!(&e, keygate::daemon::DaemonError::BackendOpen { name, kind: "pkcs11", .. } if name == "hsm"),
                "{e:?}"
            );
            e.to_string()
        }
    }
}

#[test]
fn backends_that_cannot_open_stop_the_start_naming_them() {
    let tmp = TempDir::new();
    let fake_module = tmp.path().join("fake-module.so");
    let pin = tmp.path().join("hsm.pin");

    // Missing module.
    let r = hsm_deployment(&tmp, &fake_module, PinSource::File(pin.clone()));
    let msg = open_error(&r.config);
    assert!(
        msg.contains("\"hsm\"") && msg.contains("fake-module.so") && msg.contains("does not exist"),
        "{msg}"
    );

    // The module exists (a dummy: the PIN is read first): PIN file problems.
    fs::write(&fake_module, b"not a library").unwrap();
    let msg = open_error(&r.config);
    assert!(
        msg.contains("hsm.pin") && msg.contains("cannot open"),
        "{msg}"
    );
    fs::write(&pin, b"4711-secret\n").unwrap();
    fs::set_permissions(&pin, fs::Permissions::from_mode(0o644)).unwrap();
    let msg = open_error(&r.config);
    assert!(
        msg.contains("accessible by group or others") && msg.contains("chmod 600"),
        "{msg}"
    );
    assert!(!msg.contains("4711"), "the PIN leaked into {msg}");
    fs::write(&pin, b"\n").unwrap();
    fs::set_permissions(&pin, fs::Permissions::from_mode(0o600)).unwrap();
    let msg = open_error(&r.config);
    assert!(msg.contains("empty"), "{msg}");

    // Through daemon::start too: nothing listens, the error names the backend.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(keygate::daemon::start(
            &r.config,
            Some("127.0.0.1:0".parse().unwrap()),
        ))
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot open backend \"hsm\""),
        "{err}"
    );

    // A PIN from an unset environment variable.
    let tmp = TempDir::new();
    let r = hsm_deployment(
        &tmp,
        &fake_module,
        PinSource::Env("KEYGATE_TEST_PIN_NEVER_SET".into()),
    );
    let msg = open_error(&r.config);
    assert!(
        msg.contains("KEYGATE_TEST_PIN_NEVER_SET") && msg.contains("not set"),
        "{msg}"
    );
}

#[test]
fn pins_are_read_from_files_and_the_environment() {
    let tmp = TempDir::new();
    let pin = tmp.path().join("pin");
    for (written, read) in [
        (&b"1234"[..], "1234"),
        (b"1234\n", "1234"),
        (b"1234\r\n", "1234"),
        (b"12 34\n\n", "12 34\n"),
    ] {
        let _ = fs::remove_file(&pin);
        fs::write(&pin, written).unwrap();
        fs::set_permissions(&pin, fs::Permissions::from_mode(0o600)).unwrap();
        let got = keygate::daemon::read_pin(&PinSource::File(pin.clone())).unwrap();
        assert_eq!(got.as_str(), read, "{written:?}");
    }
    fs::set_permissions(&pin, fs::Permissions::from_mode(0o400)).unwrap();
    assert!(keygate::daemon::read_pin(&PinSource::File(pin.clone())).is_ok());
    for mode in [0o640, 0o604, 0o660] {
        fs::set_permissions(&pin, fs::Permissions::from_mode(mode)).unwrap();
        assert!(
            keygate::daemon::read_pin(&PinSource::File(pin.clone())).is_err(),
            "{mode:o}"
        );
    }
    assert!(keygate::daemon::read_pin(&PinSource::File(tmp.path().to_path_buf())).is_err());

    std::env::set_var("KEYGATE_TEST_PIN_SET", "9876");
    let got = keygate::daemon::read_pin(&PinSource::Env("KEYGATE_TEST_PIN_SET".into())).unwrap();
    assert_eq!(got.as_str(), "9876");
    std::env::set_var("KEYGATE_TEST_PIN_EMPTY", "");
    assert!(keygate::daemon::read_pin(&PinSource::Env("KEYGATE_TEST_PIN_EMPTY".into())).is_err());
}
