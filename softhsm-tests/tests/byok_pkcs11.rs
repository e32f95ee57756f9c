//! Key wrapping and BYOK on a SoftHSM-backed vault (issue 6), over KMIP 1.4 and 2.1:
//!
//! - Get with a Key Wrapping Specification for AES-KW, AES-KWP, RSA-OAEP and
//!   RSA-AES-KW, done in the token with `C_WrapKey`, unwrapped outside (the
//!   `aes-kw` crate, OpenSSL) and compared with the key, in both placements; a
//!   non-extractable key is refused in clear and wrapped (the vault does not allow
//!   wrapped export);
//! - Register of keys wrapped outside, unwrapped in the token with `C_UnwrapKey`;
//! - the BYOK round trip: an AES key made with the `openssl` command, wrapped with
//!   `openssl pkeyutl` (RSA-OAEP of an ephemeral AES key) and `openssl enc
//!   -id-aes256-wrap-pad` under the vault's RSA key, registered (the request's
//!   encoded bytes, checked not to contain the key, are what is sent), used by KMIP
//!   Encrypt, and the ciphertext decrypted with `openssl enc` and the original key;
//! - the same with `keygate import`'s code (`keygate::byok`): the vault's import key
//!   made on demand in the token, an AES key and an RSA key (PKCS#8) from `openssl`,
//!   whose requests never hold the keys, used by KMIP Encrypt and Sign and checked
//!   with OpenSSL.

use std::path::{Path, PathBuf};
use std::process::Command;

use aes_kw::KekAes256;
use keygate::config::{PinSource, Placement};
use keygate::setup::{InitOptions, Pkcs11Init};
use kmip::messages::objects::{KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::ResponsePayload;
use kmip::types::{ResultReason, WrappingMethod};
use kmip::version::ProtocolVersion;
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use softhsm_tests::kmip_client::{self as k, Kmip};
use softhsm_tests::softhsm::{self, SoftHsm, USER_PIN};
use softhsm_tests::{Daemon, TempDir};

const TOKENS: &[&str] = &[
    "kg-byok-resident",
    "kg-byok-wrapped",
    "kg-byok-roundtrip",
    "kg-byok-import",
    "kg-byok-allow",
];

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V1_4, ProtocolVersion::V2_1];

fn pin_file() -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("byok-pin");
    std::fs::create_dir_all(dir.path()).expect("pin directory");
    let path = dir.path().join("hsm.pin");
    std::fs::write(&path, format!("{USER_PIN}\n")).expect("pin file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (dir, path)
}

/// A daemon whose `default` vault is on SoftHSM token `token`.
fn daemon(token: &str, placement: Placement) -> (Daemon, TempDir) {
    daemon_edited(token, placement, |_| {})
}

/// As [`daemon`], with the config edited before the start.
fn daemon_edited(token: &str, placement: Placement, edit: impl FnOnce(&Path)) -> (Daemon, TempDir) {
    SoftHsm::shared(TOKENS);
    let (pin_dir, pin) = pin_file();
    let opts = InitOptions {
        pkcs11: Some(Pkcs11Init {
            module: softhsm::module(),
            token_label: token.to_owned(),
            pin: PinSource::File(pin),
            placement,
        }),
        ..InitOptions::default()
    };
    (Daemon::start_edited(token, &opts, edit), pin_dir)
}

/// Request XML in the shapes of version `v`.
fn attr(v: ProtocolVersion, name: &str, spec_name: &str, ty: &str, value: &str) -> String {
    if v.is_v1() {
        format!(
            "<Attribute>{}<AttributeValue type=\"{ty}\" value=\"{value}\"/></Attribute>",
            k::text("AttributeName", spec_name)
        )
    } else {
        format!("<{name} type=\"{ty}\" value=\"{value}\"/>")
    }
}

fn attrs(v: ProtocolVersion, inner: &str) -> String {
    if v.is_v1() {
        format!("<TemplateAttribute>{inner}</TemplateAttribute>")
    } else {
        format!("<Attributes>{inner}</Attributes>")
    }
}

fn mask(v: ProtocolVersion, m: &str) -> String {
    attr(
        v,
        "CryptographicUsageMask",
        "Cryptographic Usage Mask",
        "Integer",
        m,
    )
}

fn create_aes(v: ProtocolVersion, usage: &str, extractable: bool) -> String {
    let a = [
        attr(
            v,
            "CryptographicAlgorithm",
            "Cryptographic Algorithm",
            "Enumeration",
            "AES",
        ),
        attr(
            v,
            "CryptographicLength",
            "Cryptographic Length",
            "Integer",
            "256",
        ),
        mask(v, usage),
        attr(
            v,
            "Extractable",
            "Extractable",
            "Boolean",
            &extractable.to_string(),
        ),
    ]
    .concat();
    k::item(
        "Create",
        &format!(
            "{}{}",
            k::enumeration("ObjectType", "SymmetricKey"),
            attrs(v, &a)
        ),
    )
}

fn register(v: ProtocolVersion, object: &str, usage: &str, block: &str) -> String {
    k::item(
        "Register",
        &format!(
            "{}{}<{object}><KeyBlock>{block}</KeyBlock></{object}>",
            k::enumeration("ObjectType", object),
            attrs(v, &mask(v, usage)),
        ),
    )
}

fn register_aes(v: ProtocolVersion, key: &[u8], usage: &str) -> String {
    register(
        v,
        "SymmetricKey",
        usage,
        &format!(
            "{}<KeyValue>{}</KeyValue>{}{}",
            k::enumeration("KeyFormatType", "Raw"),
            k::bytes("KeyMaterial", key),
            k::enumeration("CryptographicAlgorithm", "AES"),
            k::integer("CryptographicLength", &(key.len() * 8).to_string()),
        ),
    )
}

fn register_rsa_public(v: ProtocolVersion, spki: &[u8]) -> String {
    register(
        v,
        "PublicKey",
        "WrapKey",
        &format!(
            "{}<KeyValue>{}</KeyValue>{}{}",
            k::enumeration("KeyFormatType", "X_509"),
            k::bytes("KeyMaterial", spki),
            k::enumeration("CryptographicAlgorithm", "RSA"),
            k::integer("CryptographicLength", "2048"),
        ),
    )
}

fn key_info(wrapping: &str, params: &[(&str, &str)]) -> String {
    let p: String = params.iter().map(|(t, v)| k::enumeration(t, v)).collect();
    format!(
        "<EncryptionKeyInformation>{}<CryptographicParameters>{p}</CryptographicParameters>\
         </EncryptionKeyInformation>",
        k::uid(wrapping)
    )
}

fn get_wrapped(target: &str, wrapping: &str, params: &[(&str, &str)]) -> String {
    k::item(
        "Get",
        &format!(
            "{}<KeyWrappingSpecification>{}{}{}</KeyWrappingSpecification>",
            k::uid(target),
            k::enumeration("WrappingMethod", "Encrypt"),
            key_info(wrapping, params),
            k::enumeration("EncodingOption", "NoEncoding"),
        ),
    )
}

fn register_wrapped(
    v: ProtocolVersion,
    wrapped: &[u8],
    wrapping: &str,
    params: &[(&str, &str)],
) -> String {
    register(
        v,
        "SymmetricKey",
        "Encrypt Decrypt",
        &format!(
            "{}{}{}{}<KeyWrappingData>{}{}{}</KeyWrappingData>",
            k::enumeration("KeyFormatType", "Raw"),
            k::bytes("KeyValue", wrapped),
            k::enumeration("CryptographicAlgorithm", "AES"),
            k::integer("CryptographicLength", "256"),
            k::enumeration("WrappingMethod", "Encrypt"),
            key_info(wrapping, params),
            k::enumeration("EncodingOption", "NoEncoding"),
        ),
    )
}

fn object(r: &k::Reply) -> &ManagedObject {
    match r.ok(0) {
        ResponsePayload::Get(g) => &g.object,
        other => panic!("not a Get answer: {other:?}"),
    }
}

fn clear_bytes(o: &ManagedObject) -> Vec<u8> {
    match &o.key_block().expect("key block").key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.clone(),
        other => panic!("no clear key bytes: {other:?}"),
    }
}

fn wrapped_bytes(o: &ManagedObject, wrapping: &str) -> Vec<u8> {
    let kb = o.key_block().expect("key block");
    let data = kb.key_wrapping_data.as_ref().expect("Key Wrapping Data");
    assert_eq!(data.wrapping_method, WrappingMethod::Encrypt);
    assert_eq!(
        data.encryption_key_information
            .as_ref()
            .map(|i| i.unique_identifier.as_str()),
        Some(wrapping)
    );
    match &kb.key_value {
        Some(KeyValue::Wrapped(b)) => b.clone(),
        other => panic!("not wrapped: {other:?}"),
    }
}

fn kek(key: &[u8]) -> KekAes256 {
    KekAes256::from(<[u8; 32]>::try_from(key).expect("AES-256 key"))
}

fn oaep_open(rsa: &Rsa<Private>, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(data, &mut out, Padding::PKCS1_OAEP)
        .expect("OAEP opens");
    out.truncate(n);
    out
}

/// KMIP Encrypt with `(block cipher mode, padding method)`; the ciphertext.
fn encrypt(
    c: &mut Kmip,
    v: ProtocolVersion,
    u: &str,
    (mode, padding): (&str, &str),
    data: &[u8],
    iv: Option<&[u8]>,
) -> Vec<u8> {
    let r = c.send(
        v,
        &k::item(
            "Encrypt",
            &format!(
                "{}<CryptographicParameters>{}{}</CryptographicParameters>{}{}",
                k::uid(u),
                k::enumeration("BlockCipherMode", mode),
                k::enumeration("PaddingMethod", padding),
                k::bytes("Data", data),
                iv.map(|iv| k::bytes("IVCounterNonce", iv))
                    .unwrap_or_default(),
            ),
        ),
    );
    match r.ok(0) {
        ResponsePayload::Encrypt(e) => e.data.clone().expect("ciphertext"),
        other => panic!("{other:?}"),
    }
}

/// A vault RSA-2048 key pair whose private key (activated) unwraps and whose public
/// key wraps: the private key's UID and the public key's SPKI.
fn unwrap_pair(c: &mut Kmip, v: ProtocolVersion) -> (String, Vec<u8>) {
    let set = |t2: &str, t1: &str, inner: String| {
        let t = if v.is_v1() { t1 } else { t2 };
        format!("<{t}>{inner}</{t}>")
    };
    let common = [
        attr(
            v,
            "CryptographicAlgorithm",
            "Cryptographic Algorithm",
            "Enumeration",
            "RSA",
        ),
        attr(
            v,
            "CryptographicLength",
            "Cryptographic Length",
            "Integer",
            "2048",
        ),
    ]
    .concat();
    let r = c.send(
        v,
        &k::item(
            "CreateKeyPair",
            &[
                set("CommonAttributes", "CommonTemplateAttribute", common),
                set(
                    "PrivateKeyAttributes",
                    "PrivateKeyTemplateAttribute",
                    mask(v, "UnwrapKey"),
                ),
                set(
                    "PublicKeyAttributes",
                    "PublicKeyTemplateAttribute",
                    mask(v, "WrapKey"),
                ),
            ]
            .concat(),
        ),
    );
    let (private, public) = match r.ok(0) {
        ResponsePayload::CreateKeyPair(p) => (
            p.private_key_unique_identifier.clone(),
            p.public_key_unique_identifier.clone(),
        ),
        other => panic!("{other:?}"),
    };
    activate(c, v, &private);
    let spki = clear_bytes(object(&c.send(
        v,
        &k::item(
            "Get",
            &format!(
                "{}{}",
                k::uid(&public),
                k::enumeration("KeyFormatType", "X_509")
            ),
        ),
    )));
    (private, spki)
}

fn activate(c: &mut Kmip, v: ProtocolVersion, u: &str) {
    c.send(v, &k::by_uid("Activate", u)).ok(0);
}

const OAEP_SHA1: [(&str, &str); 2] = [("PaddingMethod", "OAEP"), ("HashingAlgorithm", "SHA_1")];
const RSA_AES: [(&str, &str); 3] = [
    ("BlockCipherMode", "AESKeyWrapPadding"),
    ("PaddingMethod", "OAEP"),
    ("HashingAlgorithm", "SHA_1"),
];

fn wrap_in_token(token: &str, placement: Placement) {
    let (d, _pin) = daemon(token, placement);
    let mut c = d.connect("admin");
    let rsa = Rsa::generate(2048).expect("RSA");
    let spki = rsa.public_key_to_der().expect("SPKI");
    for v in VERSIONS {
        let w = vec![0x42u8; 32];
        let aes = c.send(v, &register_aes(v, &w, "WrapKey UnwrapKey")).uid(0);
        activate(&mut c, v, &aes);
        let public = c.send(v, &register_rsa_public(v, &spki)).uid(0);
        activate(&mut c, v, &public);
        let target = c.send(v, &create_aes(v, "Encrypt Decrypt", true)).uid(0);
        activate(&mut c, v, &target);
        let key = clear_bytes(object(&c.send(v, &k::by_uid("Get", &target))));
        assert_eq!(key.len(), 32);

        let r = c.send(
            v,
            &get_wrapped(&target, &aes, &[("BlockCipherMode", "NISTKeyWrap")]),
        );
        let blob = wrapped_bytes(object(&r), &aes);
        assert_eq!(
            kek(&w).unwrap_vec(&blob).expect("KW"),
            key,
            "{token} {v} KW"
        );

        let r = c.send(
            v,
            &get_wrapped(&target, &aes, &[("BlockCipherMode", "AESKeyWrapPadding")]),
        );
        let blob = wrapped_bytes(object(&r), &aes);
        assert_eq!(
            kek(&w).unwrap_with_padding_vec(&blob).expect("KWP"),
            key,
            "{token} {v} KWP"
        );

        let r = c.send(v, &get_wrapped(&target, &public, &OAEP_SHA1));
        assert_eq!(
            oaep_open(&rsa, &wrapped_bytes(object(&r), &public)),
            key,
            "{token} {v} OAEP"
        );

        let r = c.send(v, &get_wrapped(&target, &public, &RSA_AES));
        let blob = wrapped_bytes(object(&r), &public);
        let (head, tail) = blob.split_at(256);
        let eph = oaep_open(&rsa, head);
        assert_eq!(
            kek(&eph).unwrap_with_padding_vec(tail).expect("KWP"),
            key,
            "{token} {v} RSA-AES"
        );

        // Not extractable: refused in clear, and wrapped (the vault does not allow
        // wrapped export).
        let locked = c.send(v, &create_aes(v, "Encrypt Decrypt", false)).uid(0);
        activate(&mut c, v, &locked);
        let (why, _) = c.send(v, &k::by_uid("Get", &locked)).failed(0);
        assert_eq!(why, ResultReason::NotExtractable, "{token} {v}");
        let (why, _) = c
            .send(
                v,
                &get_wrapped(&locked, &aes, &[("BlockCipherMode", "NISTKeyWrap")]),
            )
            .failed(0);
        assert_eq!(why, ResultReason::NotExtractable, "{token} {v}");

        // Import with RSA-OAEP under a key pair of the vault (C_UnwrapKey with
        // CKM_RSA_PKCS_OAEP): the key is the one the token then encrypts with.
        let (pair_private, spki) = unwrap_pair(&mut c, v);
        let vault_rsa = Rsa::public_key_from_der(&spki).expect("SPKI");
        let brought = [0x6bu8; 32];
        let mut blob = vec![0u8; vault_rsa.size() as usize];
        vault_rsa
            .public_encrypt(&brought, &mut blob, Padding::PKCS1_OAEP)
            .expect("OAEP");
        let u = c
            .send(v, &register_wrapped(v, &blob, &pair_private, &OAEP_SHA1))
            .uid(0);
        activate(&mut c, v, &u);
        let block = [0x11u8; 16];
        let ct = encrypt(&mut c, v, &u, ("ECB", "None"), &block, None);
        let mut dec = openssl::symm::Crypter::new(
            openssl::symm::Cipher::aes_256_ecb(),
            openssl::symm::Mode::Decrypt,
            &brought,
            None,
        )
        .expect("crypter");
        dec.pad(false);
        let mut pt = vec![0u8; 32];
        let n = dec.update(&ct, &mut pt).expect("decrypt");
        assert_eq!(&pt[..n], &block, "{token} {v} RSA-OAEP import");

        // Import: a key wrapped outside, unwrapped in the token, comes back out.
        let fresh: Vec<u8> = (0u8..32).collect();
        let u = c
            .send(
                v,
                &register_wrapped(
                    v,
                    &kek(&w).wrap_vec(&fresh).expect("KW"),
                    &aes,
                    &[("BlockCipherMode", "NISTKeyWrap")],
                ),
            )
            .uid(0);
        activate(&mut c, v, &u);
        let r = c.send(
            v,
            &get_wrapped(&u, &aes, &[("BlockCipherMode", "NISTKeyWrap")]),
        );
        // Registered keys follow the vault's default (not extractable on a
        // resident vault): the wrapped export is refused there, and in the
        // wrapped placement (extractable by default) the key comes back.
        match placement {
            Placement::Resident => {
                assert_eq!(r.failed(0).0, ResultReason::NotExtractable, "{token} {v}")
            }
            Placement::Wrapped => assert_eq!(
                kek(&w)
                    .unwrap_vec(&wrapped_bytes(object(&r), &aes))
                    .expect("KW"),
                fresh,
                "{token} {v}"
            ),
        }
    }
}

#[test]
fn wrapped_get_and_register_in_the_token_resident() {
    wrap_in_token("kg-byok-resident", Placement::Resident);
}

#[test]
fn wrapped_get_and_register_in_the_token_wrapped() {
    wrap_in_token("kg-byok-wrapped", Placement::Wrapped);
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn byok_round_trip_with_openssl_into_a_resident_vault() {
    let (d, _pin) = daemon("kg-byok-roundtrip", Placement::Resident);
    let mut c = d.connect("admin");
    let v = ProtocolVersion::V2_1;
    let work = TempDir::new("byok-openssl");
    std::fs::create_dir_all(work.path()).expect("work dir");
    let dir = work.path();

    // The vault's RSA key pair that receives the key.
    let (private, spki) = unwrap_pair(&mut c, v);
    std::fs::write(dir.join("import.der"), &spki).expect("write");

    // Outside: the key, an ephemeral AES key, and the RSA-AES key wrap.
    openssl(dir, &["rand", "-out", "key.bin", "32"]);
    openssl(dir, &["rand", "-out", "eph.bin", "32"]);
    let key = std::fs::read(dir.join("key.bin")).expect("key");
    let eph = std::fs::read(dir.join("eph.bin")).expect("eph");
    openssl(
        dir,
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            "import.der",
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha1",
            "-in",
            "eph.bin",
            "-out",
            "rsa.part",
        ],
    );
    openssl(
        dir,
        &[
            "enc",
            "-id-aes256-wrap-pad",
            "-K",
            &hex(&eph),
            "-iv",
            "A65959A6",
            "-in",
            "key.bin",
            "-out",
            "aes.part",
        ],
    );
    let mut wrapped = std::fs::read(dir.join("rsa.part")).expect("rsa part");
    assert_eq!(wrapped.len(), 256);
    wrapped.extend(std::fs::read(dir.join("aes.part")).expect("aes part"));

    // The request as it goes on the wire: the key is not in it.
    let request = kmip::ttlv::binary::encode(&k::parse(&k::req(
        v,
        &register_wrapped(v, &wrapped, &private, &RSA_AES),
    )));
    assert!(
        !request.windows(key.len()).any(|w| w == key.as_slice()),
        "the clear key is in the request"
    );
    assert!(!request.windows(eph.len()).any(|w| w == eph.as_slice()));
    let u = c.send_bytes(&request).uid(0);
    activate(&mut c, v, &u);

    // Resident vault, not extractable: the key stays in the token.
    assert_eq!(
        c.send(v, &k::by_uid("Get", &u)).failed(0).0,
        ResultReason::NotExtractable
    );

    // Used in the token by KMIP Encrypt (AES-CBC), decrypted outside with the key.
    let plaintext = b"bring your own key, keep it in the HSM";
    let iv = [7u8; 16];
    let ct = encrypt(&mut c, v, &u, ("CBC", "PKCS5"), plaintext, Some(&iv));
    std::fs::write(dir.join("ct.bin"), &ct).expect("write");
    let out = openssl(
        dir,
        &[
            "enc",
            "-d",
            "-aes-256-cbc",
            "-K",
            &hex(&key),
            "-iv",
            &hex(&iv),
            "-in",
            "ct.bin",
        ],
    );
    assert_eq!(out, plaintext);
}

#[test]
fn byok_with_keygate_import_into_a_resident_vault() {
    let (d, _pin) = daemon("kg-byok-import", Placement::Resident);
    let admin = d.client("admin");
    let cfg = keygate::byok::client_config(
        d.addr().to_string(),
        &d.report().ca_cert,
        &admin.cert,
        &admin.key,
    );
    let v = ProtocolVersion::V2_1;
    let work = TempDir::new("byok-import");
    std::fs::create_dir_all(work.path()).expect("work dir");
    let dir = work.path();
    openssl(dir, &["rand", "-out", "key.bin", "32"]);
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
    );
    let mut c = d.connect("admin");

    // AES: imported, used in the token, decrypted outside.
    let key = std::fs::read(dir.join("key.bin")).expect("key");
    let file = keygate::byok::parse_key_file(&key).expect("AES key file");
    let done = keygate::byok::import(&cfg, v, "byok-aes", &file, keygate::crypto::HashAlg::Sha1)
        .expect("import");
    assert!(!keygate::byok::contains(&done.request, &key));
    activate(&mut c, v, &done.uid);
    let plaintext = b"imported with keygate import";
    let iv = [9u8; 16];
    let ct = encrypt(&mut c, v, &done.uid, ("CBC", "PKCS5"), plaintext, Some(&iv));
    std::fs::write(dir.join("ct.bin"), &ct).expect("write");
    let out = openssl(
        dir,
        &[
            "enc",
            "-d",
            "-aes-256-cbc",
            "-K",
            &hex(&key),
            "-iv",
            &hex(&iv),
            "-in",
            "ct.bin",
        ],
    );
    assert_eq!(out, plaintext);

    // RSA (PKCS#8): unwrapped in the token, signs there; OpenSSL verifies with the
    // file's public key.
    let pem = std::fs::read(dir.join("rsa.pem")).expect("pem");
    let file = keygate::byok::parse_key_file(&pem).expect("PKCS#8 file");
    let done = keygate::byok::import(&cfg, v, "byok-rsa", &file, keygate::crypto::HashAlg::Sha1)
        .expect("import RSA");
    assert!(!keygate::byok::contains(&done.request, file.secret()));
    activate(&mut c, v, &done.uid);
    let data = b"signed by a key brought from outside";
    let sig = match c.send(v, &k::sign_rsa(&done.uid, data)).ok(0) {
        ResponsePayload::Sign(s) => s.signature_data.clone().expect("signature"),
        other => panic!("{other:?}"),
    };
    let pkey = openssl::pkey::PKey::private_key_from_pem(&pem).expect("PEM");
    let mut verifier = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &pkey)
        .expect("verifier");
    verifier.update(data).expect("update");
    assert!(verifier.verify(&sig).expect("verify"));
}

#[test]
fn resident_vault_allowing_wrapped_export_wraps_keys_it_never_reveals() {
    let (d, _pin) = daemon_edited("kg-byok-allow", Placement::Resident, |config| {
        let text = std::fs::read_to_string(config).expect("config");
        let marker = "allow_extractable = true\n";
        assert!(text.contains(marker), "init config layout");
        std::fs::write(
            config,
            text.replacen(
                marker,
                "allow_extractable = true\nallow_wrapped_export = true\n",
                1,
            ),
        )
        .expect("config");
    });
    let mut c = d.connect("admin");
    for v in VERSIONS {
        let w = vec![0x24u8; 32];
        let aes = c.send(v, &register_aes(v, &w, "WrapKey UnwrapKey")).uid(0);
        activate(&mut c, v, &aes);
        let locked = c.send(v, &create_aes(v, "Encrypt Decrypt", false)).uid(0);
        activate(&mut c, v, &locked);
        let (why, _) = c.send(v, &k::by_uid("Get", &locked)).failed(0);
        assert_eq!(why, ResultReason::NotExtractable, "{v}");
        let r = c.send(
            v,
            &get_wrapped(&locked, &aes, &[("BlockCipherMode", "NISTKeyWrap")]),
        );
        let key = kek(&w)
            .unwrap_vec(&wrapped_bytes(object(&r), &aes))
            .expect("KW");
        // The key that came out wrapped is the key the token uses.
        let iv = [3u8; 16];
        let ct = encrypt(
            &mut c,
            v,
            &locked,
            ("CBC", "PKCS5"),
            b"wrapped-only key",
            Some(&iv),
        );
        let pt = openssl::symm::decrypt(openssl::symm::Cipher::aes_256_cbc(), &key, Some(&iv), &ct)
            .expect("decrypts with the exported key");
        assert_eq!(pt, b"wrapped-only key", "{v}");
    }
}
