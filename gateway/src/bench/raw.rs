//! The raw PKCS#11 baseline (`keygate bench --raw-pkcs11 MODULE ...`): the operations
//! `keygate bench` sends over KMIP, made straight through `cryptoki` on a token, so
//! the cost Keygate adds on top of the token shows (goal P1 of BENCHMARKS.md).
//!
//! Each thread opens its own session on the token (logged in once for the
//! application) and loops:
//! - `sign`: `C_Sign` of `payload` bytes with `CKM_SHA256_RSA_PKCS` (RSA-2048, what a
//!   KMIP Sign with PKCS#1 v1.5 and SHA-256 becomes) or `CKM_ECDSA_SHA256` (P-256);
//! - `encrypt`: `C_Encrypt` with `CKM_AES_GCM` (96-bit IV, 128-bit tag, no AAD) of
//!   `payload` bytes under an AES-256 key;
//! - `create`: `C_GenerateKey` of an AES-256 *token* object (what a resident-placement
//!   Create makes), labelled [`RAW_LABEL`]; they are destroyed after the run, outside
//!   the measure (found by that label, so a daemon's keys on the same token stay).
//!
//! The sign and encrypt keys are token objects too, as a resident-placement vault keeps
//! its keys (SoftHSM2 serves token objects from its object store, which costs more per
//! use than a session object); every token object the run made carries [`RAW_LABEL`]
//! and is destroyed after the run. Nothing here is KMIP; the report has the same
//! fields.

use super::{drive, BenchError, BenchOp, BenchReport, Limit, SignAlg};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// What to run on the token.
#[derive(Debug, Clone)]
pub struct RawConfig {
    /// The PKCS#11 module (e.g. SoftHSM2's `libsofthsm2.so`).
    pub module: PathBuf,
    /// Label of the token.
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
    /// `sign`, `encrypt` or `create`.
    pub op: BenchOp,
    /// Threads, one session each.
    pub threads: usize,
    /// When to stop.
    pub limit: Limit,
    /// Data size for sign and encrypt.
    pub payload: usize,
    /// Key type for sign.
    pub alg: SignAlg,
    /// Print progress to stderr once a second.
    pub progress: bool,
}

fn ck(what: &str) -> impl Fn(CkError) -> BenchError + '_ {
    move |e| BenchError::Prepare(format!("{what}: {e}"))
}

fn ck_msg(what: &'static str) -> impl Fn(CkError) -> String {
    move |e| format!("{what}: {e}")
}

/// The slot holding the token labelled `label` (exactly one).
fn find_slot(ctx: &Pkcs11, label: &str) -> Result<Slot, BenchError> {
    let mut found = Vec::new();
    for slot in ctx.get_slots_with_token().map_err(ck("C_GetSlotList"))? {
        if ctx
            .get_token_info(slot)
            .is_ok_and(|info| info.label() == label)
        {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        _ => Err(BenchError::Prepare(format!(
            "{} tokens labelled {label:?}",
            found.len()
        ))),
    }
}

/// `CKA_LABEL` of the token keys `create` makes.
pub const RAW_LABEL: &str = "keygate-bench-raw";

fn aes_template(token: bool) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    if token {
        t.push(Attribute::Label(RAW_LABEL.as_bytes().to_vec()));
    }
    t
}

/// The key the run uses, made in the setup session.
fn prepare(cfg: &RawConfig, s: &Session) -> Result<Option<ObjectHandle>, BenchError> {
    Ok(match cfg.op {
        BenchOp::Encrypt => Some(
            s.generate_key(&Mechanism::AesKeyGen, &aes_template(true))
                .map_err(ck("C_GenerateKey"))?,
        ),
        BenchOp::Sign => {
            let (mech, params) = match cfg.alg {
                SignAlg::Rsa => (
                    Mechanism::RsaPkcsKeyPairGen,
                    vec![
                        Attribute::ModulusBits(2048.into()),
                        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                    ],
                ),
                SignAlg::Ec => (
                    Mechanism::EccKeyPairGen,
                    // DER OID of prime256v1.
                    vec![Attribute::EcParams(vec![
                        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                    ])],
                ),
            };
            let token_object = || {
                vec![
                    Attribute::Token(true),
                    Attribute::Label(RAW_LABEL.as_bytes().to_vec()),
                ]
            };
            let mut public = token_object();
            public.extend(params);
            public.push(Attribute::Verify(true));
            let mut private = token_object();
            private.extend([
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Sign(true),
            ]);
            let (_, private) = s
                .generate_key_pair(&mech, &public, &private)
                .map_err(ck("C_GenerateKeyPair"))?;
            Some(private)
        }
        BenchOp::Create => None,
        other => {
            return Err(BenchError::Config(format!(
                "--raw-pkcs11 runs sign, encrypt or create, not {}",
                other.name()
            )))
        }
    })
}

/// Runs `cfg` and summarises it.
pub fn run(cfg: &RawConfig) -> Result<BenchReport, BenchError> {
    if cfg.threads == 0 {
        return Err(BenchError::Config(
            "--connections must be at least 1".into(),
        ));
    }
    let ctx = Pkcs11::new(&cfg.module)
        .map_err(|e| BenchError::Prepare(format!("loading {}: {e}", cfg.module.display())))?;
    // Already initialised when this process also runs a daemon's PKCS#11 backend.
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck("C_Initialize")(e)),
    }
    let slot = find_slot(&ctx, &cfg.token_label)?;
    let setup = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
    let pin = AuthPin::from(cfg.pin.as_str());
    match setup.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => return Err(ck("C_Login")(e)),
    }
    let key = prepare(cfg, &setup)?;
    let data: Vec<u8> = (0..=250u8).cycle().take(cfg.payload).collect();
    let driven = drive(cfg.threads, cfg.limit, cfg.progress, |thread| {
        let session = ctx.open_rw_session(slot).map_err(ck_msg("C_OpenSession"));
        let mut counter: u64 = 0;
        let data = &data;
        move || {
            let s = session.as_ref().map_err(Clone::clone)?;
            counter += 1;
            match (cfg.op, key) {
                (BenchOp::Sign, Some(k)) => {
                    let mech = match cfg.alg {
                        SignAlg::Rsa => Mechanism::Sha256RsaPkcs,
                        SignAlg::Ec => Mechanism::EcdsaSha256,
                    };
                    s.sign(&mech, k, data).map_err(ck_msg("C_Sign"))?;
                }
                (BenchOp::Encrypt, Some(k)) => {
                    // A unique IV per operation without asking the token for randomness:
                    // thread number and counter.
                    let mut iv = [0u8; 12];
                    iv[..4].copy_from_slice(&u32::try_from(thread).unwrap_or(0).to_be_bytes());
                    iv[4..].copy_from_slice(&counter.to_be_bytes());
                    let params = GcmParams::new(&mut iv, &[], 128.into())
                        .map_err(ck_msg("GCM parameters"))?;
                    s.encrypt(&Mechanism::AesGcm(params), k, data)
                        .map_err(ck_msg("C_Encrypt"))?;
                }
                (BenchOp::Create, _) => {
                    s.generate_key(&Mechanism::AesKeyGen, &aes_template(true))
                        .map_err(ck_msg("C_GenerateKey"))?;
                }
                _ => return Err("no key".into()),
            }
            Ok(())
        }
    });
    // The token objects the run made: destroy them (best effort, not measured).
    {
        let label = Attribute::Label(RAW_LABEL.as_bytes().to_vec());
        if let Ok(handles) = setup.find_objects(&[label]) {
            for h in handles {
                let _ = setup.destroy_object(h);
            }
        }
    }
    drop(setup);
    Ok(driven.report())
}
