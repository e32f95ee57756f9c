//! The C face under misuse, called as C calls it: NULL pointers, short buffers,
//! calls out of order, missing configuration, and a gateway that goes away and
//! comes back. One test drives the whole sequence, because the library keeps one
//! process-wide state (as the ABI requires) and reads `KEYGATE_PKCS11_CONF` at
//! `C_Initialize`. A real daemon (software keystore) answers, reached through a
//! TCP forwarder the test can cut.

use super::*;
use softhsm_tests::Daemon;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PIN: &[u8] = b"unit-pin";

/// A TCP forwarder to the daemon that the test can take down and bring back.
struct Forwarder {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Forwarder {
    fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (u, o) = (Arc::clone(&up), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !u.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut list = o.lock().expect("lock");
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        list.push(c);
                    }
                }
                pipe(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                pipe(server, client);
            }
        });
        Self { addr, up, open }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn write_conf(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

fn initialize() -> CK_RV {
    // SAFETY: NULL init args are allowed (all defaults).
    unsafe { C_Initialize(null_mut()) }
}

fn finalize() -> CK_RV {
    // SAFETY: NULL reserved pointer, as required.
    unsafe { C_Finalize(null_mut()) }
}

fn open_session() -> CK_SESSION_HANDLE {
    let mut h: CK_SESSION_HANDLE = 0;
    // SAFETY: `h` is a valid output location.
    let rv = unsafe {
        C_OpenSession(
            0,
            CKF_SERIAL_SESSION | CKF_RW_SESSION,
            null_mut(),
            None,
            &mut h,
        )
    };
    assert_eq!(rv, CKR_OK, "C_OpenSession");
    h
}

fn login(h: CK_SESSION_HANDLE, pin: &[u8]) -> CK_RV {
    // SAFETY: `pin` is readable for its length.
    unsafe { C_Login(h, CKU_USER, pin.as_ptr().cast_mut(), pin.len() as CK_ULONG) }
}

fn attr<T>(t: CK_ATTRIBUTE_TYPE, v: &T) -> CK_ATTRIBUTE {
    CK_ATTRIBUTE {
        type_: t,
        pValue: (v as *const T).cast_mut().cast::<c_void>(),
        ulValueLen: std::mem::size_of::<T>() as CK_ULONG,
    }
}

fn find(
    h: CK_SESSION_HANDLE,
    template: &mut [CK_ATTRIBUTE],
) -> std::result::Result<Vec<CK_OBJECT_HANDLE>, CK_RV> {
    // SAFETY: the template array is valid for its length.
    let rv = unsafe { C_FindObjectsInit(h, template.as_mut_ptr(), template.len() as CK_ULONG) };
    if rv != CKR_OK {
        return Err(rv);
    }
    let mut out = [0 as CK_OBJECT_HANDLE; 64];
    let mut n: CK_ULONG = 0;
    // SAFETY: `out` holds 64 handles; `n` is a valid output.
    let rv = unsafe { C_FindObjects(h, out.as_mut_ptr(), 64, &mut n) };
    // SAFETY: plain call on a session handle.
    let fin = unsafe { C_FindObjectsFinal(h) };
    assert_eq!(fin, CKR_OK);
    if rv != CKR_OK {
        return Err(rv);
    }
    Ok(out[..n as usize].to_vec())
}

fn generate_rsa(
    h: CK_SESSION_HANDLE,
    label: &str,
) -> std::result::Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE), CK_RV> {
    let bits: CK_ULONG = 2048;
    let yes: CK_BBOOL = CK_TRUE;
    let mut public = [
        attr(CKA_MODULUS_BITS, &bits),
        attr(CKA_TOKEN, &yes),
        CK_ATTRIBUTE {
            type_: CKA_LABEL,
            pValue: label.as_ptr().cast_mut().cast::<c_void>(),
            ulValueLen: label.len() as CK_ULONG,
        },
    ];
    let mut private = [attr(CKA_TOKEN, &yes), attr(CKA_SIGN, &yes)];
    let mut m = CK_MECHANISM {
        mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let (mut p, mut k) = (0, 0);
    // SAFETY: every pointer is a valid local for its stated length.
    let rv = unsafe {
        C_GenerateKeyPair(
            h,
            &mut m,
            public.as_mut_ptr(),
            3,
            private.as_mut_ptr(),
            2,
            &mut p,
            &mut k,
        )
    };
    if rv == CKR_OK {
        Ok((p, k))
    } else {
        Err(rv)
    }
}

/// C_Sign with `out` as the output buffer (None: a length query).
fn sign(h: CK_SESSION_HANDLE, data: &[u8], out: Option<&mut Vec<u8>>, len: &mut CK_ULONG) -> CK_RV {
    let ptr = out.map_or(null_mut(), |o| o.as_mut_ptr());
    // SAFETY: `data` is readable for its length; `ptr` is NULL or a buffer of at
    // least `*len` bytes (the callers announce no more than they hold).
    unsafe {
        C_Sign(
            h,
            data.as_ptr().cast_mut(),
            data.len() as CK_ULONG,
            ptr,
            len,
        )
    }
}

#[test]
fn misuse_is_answered_and_a_lost_gateway_is_recovered() {
    let daemon = Daemon::start("shim-ffi");
    let forwarder = Forwarder::start(daemon.addr());
    let dir = softhsm_tests::TempDir::new("shim-ffi-conf");
    std::fs::create_dir_all(dir.path()).expect("dir");
    let app = daemon.client("app");

    // Before C_Initialize, and with a configuration that is missing or wrong.
    let mut info = std::mem::MaybeUninit::<CK_INFO>::uninit();
    // SAFETY: a valid output location.
    let rv = unsafe { C_GetInfo(info.as_mut_ptr()) };
    assert_eq!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
    std::env::set_var("KEYGATE_PKCS11_CONF", dir.path().join("absent.toml"));
    assert_eq!(initialize(), CKR_GENERAL_ERROR, "missing configuration");
    let bad = write_conf(dir.path(), "bad.toml", "server = \"x\"\nunknown = 1\n");
    std::env::set_var("KEYGATE_PKCS11_CONF", &bad);
    assert_eq!(initialize(), CKR_GENERAL_ERROR, "malformed configuration");
    let nopin = write_conf(
        dir.path(),
        "nopin.toml",
        &format!(
            "server = \"{}\"\nca = {:?}\n[[slot]]\ncert = {:?}\nkey = {:?}\n",
            forwarder.addr,
            daemon.report().ca_cert,
            app.cert,
            app.key
        ),
    );
    std::env::set_var("KEYGATE_PKCS11_CONF", &nopin);
    assert_eq!(initialize(), CKR_GENERAL_ERROR, "plain key without a PIN");
    // Mutex callbacks must be all set or all NULL.
    extern "C" fn create(_: *mut *mut c_void) -> CK_RV {
        CKR_OK
    }
    let partial = CK_C_INITIALIZE_ARGS {
        CreateMutex: Some(create),
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags: CKF_OS_LOCKING_OK,
        pReserved: null_mut(),
    };
    // SAFETY: `partial` is a valid CK_C_INITIALIZE_ARGS.
    let rv = unsafe { C_Initialize((&partial as *const CK_C_INITIALIZE_ARGS).cast_mut().cast()) };
    assert_eq!(rv, CKR_ARGUMENTS_BAD);

    let good = write_conf(
        dir.path(),
        "good.toml",
        &format!(
            "server = \"{}\"\nca = {:?}\nconnect_timeout_secs = 2\n[[slot]]\ncert = {:?}\nkey = {:?}\npin = \"unit-pin\"\n",
            forwarder.addr,
            daemon.report().ca_cert,
            app.cert,
            app.key
        ),
    );
    std::env::set_var("KEYGATE_PKCS11_CONF", &good);
    assert_eq!(initialize(), CKR_OK);
    assert_eq!(initialize(), CKR_CRYPTOKI_ALREADY_INITIALIZED);

    // NULL where an output is required; length queries and short buffers.
    // SAFETY: deliberately NULL output pointers: the library must refuse them.
    unsafe {
        assert_eq!(C_GetInfo(null_mut()), CKR_ARGUMENTS_BAD);
        assert_eq!(
            C_GetSlotList(CK_TRUE, null_mut(), null_mut()),
            CKR_ARGUMENTS_BAD
        );
        assert_eq!(
            C_OpenSession(0, CKF_SERIAL_SESSION, null_mut(), None, null_mut()),
            CKR_ARGUMENTS_BAD
        );
        assert_eq!(C_GetFunctionList(null_mut()), CKR_ARGUMENTS_BAD);
    }
    let mut n: CK_ULONG = 0;
    // SAFETY: `n` is a valid in/out count.
    let rv = unsafe { C_GetSlotList(CK_TRUE, null_mut(), &mut n) };
    assert_eq!(rv, CKR_OK);
    assert_eq!(n, 1);
    let mut slots = [99 as CK_SLOT_ID; 1];
    n = 0;
    // SAFETY: a one-entry array announced as zero entries.
    let rv = unsafe { C_GetSlotList(CK_TRUE, slots.as_mut_ptr(), &mut n) };
    assert_eq!(rv, CKR_BUFFER_TOO_SMALL);
    assert_eq!(n, 1, "the needed count is reported");
    let mut sess: CK_SESSION_HANDLE = 0;
    // SAFETY: a valid output location; a serial session flag is missing.
    let rv = unsafe { C_OpenSession(0, 0, null_mut(), None, &mut sess) };
    assert_eq!(rv, CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    // SAFETY: slot 7 does not exist; the output is valid.
    let rv = unsafe { C_OpenSession(7, CKF_SERIAL_SESSION, null_mut(), None, &mut sess) };
    assert_eq!(rv, CKR_SLOT_ID_INVALID);

    // The function lists and interfaces.
    let mut list: *mut CK_FUNCTION_LIST = null_mut();
    // SAFETY: a valid output location.
    assert_eq!(unsafe { C_GetFunctionList(&mut list) }, CKR_OK);
    // SAFETY: the library returned a pointer to its static 2.40 table.
    let l = unsafe { &*list };
    assert_eq!((l.version.major, l.version.minor), (2, 40));
    assert!(l.C_Sign.is_some() && l.C_WrapKey.is_some());
    let mut count: CK_ULONG = 0;
    // SAFETY: a length query with a valid count.
    let rv = unsafe { C_GetInterfaceList(null_mut(), &mut count) };
    assert_eq!(rv, CKR_OK);
    assert_eq!(count, 2);
    let mut itf: *mut CK_INTERFACE = null_mut();
    let mut v3 = CK_VERSION { major: 3, minor: 0 };
    // SAFETY: NULL name (default interface), a valid version and output.
    let rv = unsafe { C_GetInterface(null_mut(), &mut v3, &mut itf, 0) };
    assert_eq!(rv, CKR_OK);
    // SAFETY: the library returned a pointer to its static interface table.
    let f3 = unsafe { &*(*itf).pFunctionList.cast::<CK_FUNCTION_LIST_3_0>() };
    assert_eq!((f3.version.major, f3.version.minor), (3, 0));
    assert!(f3.C_LoginUser.is_some());

    let h = open_session();
    // Operations without their Init.
    let mut out = [0u8; 16];
    let mut out_len: CK_ULONG = 16;
    // SAFETY: valid buffers; no operation was initialised.
    unsafe {
        assert_eq!(
            C_Encrypt(h, out.as_mut_ptr(), 1, out.as_mut_ptr(), &mut out_len),
            CKR_OPERATION_NOT_INITIALIZED
        );
        assert_eq!(
            C_SignFinal(h, out.as_mut_ptr(), &mut out_len),
            CKR_OPERATION_NOT_INITIALIZED
        );
        assert_eq!(
            C_DigestUpdate(h, out.as_mut_ptr(), 1),
            CKR_OPERATION_NOT_INITIALIZED
        );
        let mut n: CK_ULONG = 0;
        assert_eq!(
            C_FindObjects(h, out.as_mut_ptr().cast(), 0, &mut n),
            CKR_OPERATION_NOT_INITIALIZED
        );
        assert_eq!(C_GetSessionInfo(999, null_mut()), CKR_ARGUMENTS_BAD);
        let mut si = std::mem::MaybeUninit::<CK_SESSION_INFO>::uninit();
        assert_eq!(
            C_GetSessionInfo(999, si.as_mut_ptr()),
            CKR_SESSION_HANDLE_INVALID
        );
    }

    // Login: nothing private before it, a wrong PIN refused.
    let label = format!("ffi-rsa-{}", std::process::id());
    assert_eq!(generate_rsa(h, &label), Err(CKR_USER_NOT_LOGGED_IN));
    assert_eq!(login(h, b"wrong"), CKR_PIN_INCORRECT);
    assert_eq!(login(h, PIN), CKR_OK);
    assert_eq!(login(h, PIN), CKR_USER_ALREADY_LOGGED_IN);
    let (public, private) = generate_rsa(h, &label).expect("C_GenerateKeyPair");

    // C_Sign: a length query, a short buffer (with the size it needs), then the
    // signature — one operation across the three calls.
    let mut m = CK_MECHANISM {
        mechanism: CKM_SHA256_RSA_PKCS,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    // SAFETY: a valid mechanism.
    assert_eq!(unsafe { C_SignInit(h, &mut m, private) }, CKR_OK);
    let data = b"signed data";
    let mut len: CK_ULONG = 0;
    assert_eq!(sign(h, data, None, &mut len), CKR_OK);
    assert_eq!(len, 256);
    let mut sig = vec![0u8; 300];
    len = 10;
    assert_eq!(
        sign(h, data, Some(&mut sig), &mut len),
        CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, 256);
    len = 300;
    assert_eq!(sign(h, data, Some(&mut sig), &mut len), CKR_OK);
    assert_eq!(len, 256);
    // SAFETY: the operation ended with the signature.
    let rv = unsafe { C_Sign(h, data.as_ptr().cast_mut(), 1, sig.as_mut_ptr(), &mut len) };
    assert_eq!(rv, CKR_OPERATION_NOT_INITIALIZED);
    // SAFETY: a valid mechanism, signature and data.
    unsafe {
        assert_eq!(C_VerifyInit(h, &mut m, public), CKR_OK);
        assert_eq!(
            C_Verify(
                h,
                data.as_ptr().cast_mut(),
                data.len() as CK_ULONG,
                sig.as_mut_ptr(),
                256
            ),
            CKR_OK
        );
    }

    // GetAttributeValue: size query, short buffer, sensitive and unknown types.
    let mut modulus = CK_ATTRIBUTE {
        type_: CKA_MODULUS,
        pValue: null_mut(),
        ulValueLen: 0,
    };
    // SAFETY: a one-attribute template with a NULL value: a length query.
    let rv = unsafe { C_GetAttributeValue(h, private, &mut modulus, 1) };
    assert_eq!(rv, CKR_OK);
    assert_eq!(modulus.ulValueLen, 256);
    let mut small = [0u8; 8];
    let mut tmpl = [
        CK_ATTRIBUTE {
            type_: CKA_MODULUS,
            pValue: small.as_mut_ptr().cast(),
            ulValueLen: 8,
        },
        CK_ATTRIBUTE {
            type_: CKA_PRIVATE_EXPONENT,
            pValue: null_mut(),
            ulValueLen: 0,
        },
        CK_ATTRIBUTE {
            type_: 0x7fff_0000,
            pValue: null_mut(),
            ulValueLen: 0,
        },
    ];
    // SAFETY: a valid three-attribute template.
    let rv = unsafe { C_GetAttributeValue(h, private, tmpl.as_mut_ptr(), 3) };
    assert_eq!(rv, CKR_BUFFER_TOO_SMALL, "the first problem is reported");
    assert!(tmpl
        .iter()
        .all(|a| a.ulValueLen == CK_UNAVAILABLE_INFORMATION));

    mechanisms_cryptoki_cannot_name(h, public, private);

    // Logged out, private keys disappear from searches and handles.
    let class: CK_OBJECT_CLASS = CKO_PRIVATE_KEY;
    assert_eq!(
        find(h, &mut [attr(CKA_CLASS, &class)]).map(|v| v.contains(&private)),
        Ok(true)
    );
    // SAFETY: plain call.
    assert_eq!(unsafe { C_Logout(h) }, CKR_OK);
    assert_eq!(
        find(h, &mut [attr(CKA_CLASS, &class)]).map(|v| v.contains(&private)),
        Ok(false)
    );
    let pclass: CK_OBJECT_CLASS = CKO_PUBLIC_KEY;
    assert_eq!(
        find(h, &mut [attr(CKA_CLASS, &pclass)]).map(|v| v.contains(&public)),
        Ok(true)
    );
    let mut t = CK_ATTRIBUTE {
        type_: CKA_CLASS,
        pValue: null_mut(),
        ulValueLen: 0,
    };
    // SAFETY: a valid one-attribute template.
    let rv = unsafe { C_GetAttributeValue(h, private, &mut t, 1) };
    assert_eq!(rv, CKR_OBJECT_HANDLE_INVALID);
    assert_eq!(login(h, PIN), CKR_OK);

    // The gateway goes away: calls fail fast with CKR_DEVICE_ERROR, and work again
    // once it is back, on new connections.
    forwarder.down();
    let started = Instant::now();
    let mut none: [CK_ATTRIBUTE; 0] = [];
    let label_attr = |s: &str| CK_ATTRIBUTE {
        type_: CKA_LABEL,
        pValue: s.as_ptr().cast_mut().cast(),
        ulValueLen: s.len() as CK_ULONG,
    };
    let mut by_label = [label_attr(&label)];
    assert_eq!(find(h, &mut by_label), Err(CKR_DEVICE_ERROR));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(find(h, &mut none).err(), Some(CKR_DEVICE_ERROR));
    forwarder.up();
    let again = find(h, &mut by_label).expect("C_FindObjects after the gateway came back");
    assert_eq!(again, vec![public], "the labelled public key");

    // C_Finalize releases everything; calls after it are refused.
    assert_eq!(finalize(), CKR_OK);
    assert_eq!(finalize(), CKR_CRYPTOKI_NOT_INITIALIZED);
    // SAFETY: a valid output location.
    let rv = unsafe { C_GetInfo(info.as_mut_ptr()) };
    assert_eq!(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
}

/// Creates an AES-256 key with a known value (wrap and unwrap allowed, extractable).
fn known_aes(h: CK_SESSION_HANDLE, value: &[u8; 32]) -> CK_OBJECT_HANDLE {
    let (class, kt, yes) = (CKO_SECRET_KEY, CKK_AES, CK_TRUE);
    let no: CK_BBOOL = CK_FALSE;
    let mut t = [
        attr(CKA_CLASS, &class),
        attr(CKA_KEY_TYPE, &kt),
        attr(CKA_VALUE, value),
        attr(CKA_TOKEN, &yes),
        attr(CKA_ENCRYPT, &yes),
        attr(CKA_WRAP, &yes),
        attr(CKA_UNWRAP, &yes),
        attr(CKA_EXTRACTABLE, &yes),
        attr(CKA_SENSITIVE, &no),
    ];
    let mut k = 0;
    // SAFETY: a valid template and output.
    let rv = unsafe { C_CreateObject(h, t.as_mut_ptr(), t.len() as CK_ULONG, &mut k) };
    assert_eq!(rv, CKR_OK, "C_CreateObject");
    k
}

fn ecb_block(h: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> Vec<u8> {
    let mut m = CK_MECHANISM {
        mechanism: CKM_AES_ECB,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let mut out = vec![0u8; 16];
    let mut len: CK_ULONG = 16;
    let mut zero = [0u8; 16];
    // SAFETY: valid mechanism, 16-byte input and output.
    unsafe {
        assert_eq!(C_EncryptInit(h, &mut m, key), CKR_OK);
        assert_eq!(
            C_Encrypt(h, zero.as_mut_ptr(), 16, out.as_mut_ptr(), &mut len),
            CKR_OK
        );
    }
    out
}

fn openssl_ecb_block(key: &[u8; 32]) -> Vec<u8> {
    use openssl::symm::{Cipher, Crypter, Mode};
    let mut c = Crypter::new(Cipher::aes_256_ecb(), Mode::Encrypt, key, None).expect("crypter");
    c.pad(false);
    let mut out = vec![0u8; 32];
    let n = c.update(&[0u8; 16], &mut out).expect("update");
    out.truncate(n);
    out
}

/// AES-CTR, CKM_AES_KEY_WRAP_KWP (0x210B) and CKM_RSA_AES_KEY_WRAP (0x1054): the
/// mechanisms the `cryptoki` crate has no variant for, sent raw.
fn mechanisms_cryptoki_cannot_name(
    h: CK_SESSION_HANDLE,
    public: CK_OBJECT_HANDLE,
    private: CK_OBJECT_HANDLE,
) {
    let kek = [0x11u8; 32];
    let target = [0x22u8; 32];
    let k = known_aes(h, &kek);
    let t = known_aes(h, &target);

    // CTR with a full 128-bit counter, against OpenSSL.
    let mut ctr = CK_AES_CTR_PARAMS {
        ulCounterBits: 128,
        cb: [0xf0; 16],
    };
    let mut m = CK_MECHANISM {
        mechanism: CKM_AES_CTR,
        pParameter: (&mut ctr as *mut CK_AES_CTR_PARAMS).cast(),
        ulParameterLen: std::mem::size_of::<CK_AES_CTR_PARAMS>() as CK_ULONG,
    };
    let mut data = *b"forty bytes of counter-mode plaintext..!";
    let mut out = vec![0u8; 40];
    let mut len: CK_ULONG = 40;
    // SAFETY: valid mechanism and 40-byte buffers.
    unsafe {
        assert_eq!(C_EncryptInit(h, &mut m, k), CKR_OK);
        assert_eq!(
            C_Encrypt(h, data.as_mut_ptr(), 40, out.as_mut_ptr(), &mut len),
            CKR_OK
        );
    }
    let expect = openssl::symm::encrypt(
        openssl::symm::Cipher::aes_256_ctr(),
        &kek,
        Some(&[0xf0; 16]),
        &data,
    )
    .expect("openssl CTR");
    assert_eq!(out, expect, "AES-CTR");

    // Key wrap with padding under the PKCS#11 3.0 value.
    let mut m = CK_MECHANISM {
        mechanism: CKM_AES_KEY_WRAP_KWP,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let mut wrapped = vec![0u8; 64];
    let mut len: CK_ULONG = 64;
    // SAFETY: valid mechanism and a 64-byte output.
    let rv = unsafe { C_WrapKey(h, &mut m, k, t, wrapped.as_mut_ptr(), &mut len) };
    assert_eq!(rv, CKR_OK, "C_WrapKey KWP");
    wrapped.truncate(len as usize);
    let expect = aes_kw::KekAes256::from(kek)
        .wrap_with_padding_vec(&target)
        .expect("kwp");
    assert_eq!(wrapped, expect, "RFC 5649 under 0x210B");

    // RSA-AES key wrap made outside with the vault key pair's public key.
    let mut modulus = vec![0u8; 256];
    let mut ma = CK_ATTRIBUTE {
        type_: CKA_MODULUS,
        pValue: modulus.as_mut_ptr().cast(),
        ulValueLen: 256,
    };
    // SAFETY: a 256-byte value buffer.
    let rv = unsafe { C_GetAttributeValue(h, public, &mut ma, 1) };
    assert_eq!(rv, CKR_OK);
    let rsa = openssl::rsa::Rsa::from_public_components(
        openssl::bn::BigNum::from_slice(&modulus).expect("n"),
        openssl::bn::BigNum::from_u32(65537).expect("e"),
    )
    .expect("rsa");
    let eph = [0x33u8; 32];
    let mut blob = vec![0u8; 256];
    let n = rsa
        .public_encrypt(&eph, &mut blob, openssl::rsa::Padding::PKCS1_OAEP)
        .expect("oaep");
    blob.truncate(n);
    blob.extend(
        aes_kw::KekAes256::from(eph)
            .wrap_with_padding_vec(&target)
            .expect("kwp"),
    );
    let mut oaep = CK_RSA_PKCS_OAEP_PARAMS {
        hashAlg: CKM_SHA_1,
        mgf: CKG_MGF1_SHA1,
        source: CKZ_DATA_SPECIFIED,
        pSourceData: null_mut(),
        ulSourceDataLen: 0,
    };
    let mut p = CK_RSA_AES_KEY_WRAP_PARAMS {
        ulAESKeyBits: 256,
        pOAEPParams: &mut oaep,
    };
    let mut m = CK_MECHANISM {
        mechanism: CKM_RSA_AES_KEY_WRAP,
        pParameter: (&mut p as *mut CK_RSA_AES_KEY_WRAP_PARAMS).cast(),
        ulParameterLen: std::mem::size_of::<CK_RSA_AES_KEY_WRAP_PARAMS>() as CK_ULONG,
    };
    let (class, kt, yes) = (CKO_SECRET_KEY, CKK_AES, CK_TRUE);
    let mut tmpl = [
        attr(CKA_CLASS, &class),
        attr(CKA_KEY_TYPE, &kt),
        attr(CKA_ENCRYPT, &yes),
        attr(CKA_TOKEN, &yes),
    ];
    let mut imported = 0;
    // SAFETY: valid mechanism (with its nested OAEP parameters), blob and template.
    let rv = unsafe {
        C_UnwrapKey(
            h,
            &mut m,
            private,
            blob.as_mut_ptr(),
            blob.len() as CK_ULONG,
            tmpl.as_mut_ptr(),
            4,
            &mut imported,
        )
    };
    assert_eq!(rv, CKR_OK, "C_UnwrapKey RSA-AES key wrap");
    assert_eq!(
        ecb_block(h, imported),
        openssl_ecb_block(&target),
        "the imported key is the target"
    );
}
