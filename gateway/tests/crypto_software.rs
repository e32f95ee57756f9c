//! Software crypto engine: published known-answer vectors, round trips for every
//! cipher, signatures for every scheme, and parameter validation.

use std::sync::OnceLock;

use keygate::crypto::software::{self, MacAlg};
use keygate::crypto::{
    Cipher, CryptoError, Curve, GeneratedPair, HashAlg, KeyKind, KeyPairSpec, SignInput,
    SignatureScheme,
};
use openssl::pkey::{Id, PKey};

fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(s).unwrap()
}

fn is_bad<T: std::fmt::Debug>(r: Result<T, CryptoError>) -> bool {
    matches!(r, Err(CryptoError::BadParameters(_)))
}

fn is_failed<T: std::fmt::Debug>(r: Result<T, CryptoError>) -> bool {
    matches!(r, Err(CryptoError::Failed(_)))
}

fn rsa2048() -> &'static GeneratedPair {
    static K: OnceLock<GeneratedPair> = OnceLock::new();
    K.get_or_init(|| software::generate_pair(KeyPairSpec::Rsa(2048)).unwrap())
}

fn p256() -> &'static GeneratedPair {
    static K: OnceLock<GeneratedPair> = OnceLock::new();
    K.get_or_init(|| software::generate_pair(KeyPairSpec::Ec(Curve::P256)).unwrap())
}

fn p384() -> &'static GeneratedPair {
    static K: OnceLock<GeneratedPair> = OnceLock::new();
    K.get_or_init(|| software::generate_pair(KeyPairSpec::Ec(Curve::P384)).unwrap())
}

fn ed25519() -> &'static GeneratedPair {
    static K: OnceLock<GeneratedPair> = OnceLock::new();
    K.get_or_init(|| software::generate_pair(KeyPairSpec::Ed25519).unwrap())
}

const AES128: KeyKind = KeyKind::Aes(128);
const AES192: KeyKind = KeyKind::Aes(192);
const AES256: KeyKind = KeyKind::Aes(256);
const RSA_PRIV: KeyKind = KeyKind::RsaPrivate(2048);
const RSA_PUB: KeyKind = KeyKind::RsaPublic(2048);

fn gcm(nonce: Option<Vec<u8>>, aad: &[u8], tag_len: usize, tag: Option<Vec<u8>>) -> Cipher {
    Cipher::AesGcm {
        nonce,
        aad: aad.to_vec(),
        tag_len,
        tag,
    }
}

// ---------------------------------------------------------------------------
// Known-answer tests

/// NIST GCM specification (McGrew–Viega, as used by SP 800-38D validation), test
/// cases 2 and 4 (AES-128).
#[test]
fn kat_aes_gcm() {
    // Test case 2.
    let key = [0u8; 16];
    let enc = software::encrypt(
        AES128,
        &key,
        &gcm(Some(vec![0; 12]), b"", 16, None),
        &[0; 16],
    )
    .unwrap();
    assert_eq!(enc.data, h("0388dace60b6a392f328c2b971b2fe78"));
    assert_eq!(enc.tag.unwrap(), h("ab6e47d42cec13bdf53a67b21257bddf"));
    assert_eq!(enc.iv, None, "caller's nonce is not echoed");

    // Test case 4: AAD, plaintext not a multiple of the block size.
    let key = h("feffe9928665731c6d6a8f9467308308");
    let iv = h("cafebabefacedbaddecaf888");
    let pt = h(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
                1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
    let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let ct = h(
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
                21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    );
    let tag = h("5bc94fbc3221a5db94fae95ae7121a47");
    let enc = software::encrypt(AES128, &key, &gcm(Some(iv.clone()), &aad, 16, None), &pt).unwrap();
    assert_eq!(enc.data, ct);
    assert_eq!(enc.tag.as_deref(), Some(&tag[..]));

    // Truncated tag (12 bytes) is the prefix of the full tag.
    let enc12 =
        software::encrypt(AES128, &key, &gcm(Some(iv.clone()), &aad, 12, None), &pt).unwrap();
    assert_eq!(enc12.tag.as_deref(), Some(&tag[..12]));

    let dec = software::decrypt(
        AES128,
        &key,
        &gcm(Some(iv.clone()), &aad, 16, Some(tag.clone())),
        &ct,
    )
    .unwrap();
    assert_eq!(&dec[..], &pt[..]);
    let dec = software::decrypt(
        AES128,
        &key,
        &gcm(Some(iv.clone()), &aad, 12, Some(tag[..12].to_vec())),
        &ct,
    )
    .unwrap();
    assert_eq!(&dec[..], &pt[..]);

    // Tampering with tag, ciphertext or AAD fails authentication.
    let mut bad_tag = tag.clone();
    bad_tag[0] ^= 1;
    assert!(is_failed(software::decrypt(
        AES128,
        &key,
        &gcm(Some(iv.clone()), &aad, 16, Some(bad_tag)),
        &ct
    )));
    let mut bad_ct = ct.clone();
    bad_ct[5] ^= 0x80;
    assert!(is_failed(software::decrypt(
        AES128,
        &key,
        &gcm(Some(iv.clone()), &aad, 16, Some(tag.clone())),
        &bad_ct
    )));
    assert!(is_failed(software::decrypt(
        AES128,
        &key,
        &gcm(Some(iv), b"other", 16, Some(tag)),
        &ct
    )));
}

/// RFC 3394 §4.1, §4.2, §4.3 and §4.6.
#[test]
fn kat_rfc3394_key_wrap() {
    let wrap = Cipher::AesKeyWrap { pad: false };
    let cases = [
        (
            AES128,
            "000102030405060708090A0B0C0D0E0F",
            "00112233445566778899AABBCCDDEEFF",
            "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5",
        ),
        (
            AES192,
            "000102030405060708090A0B0C0D0E0F1011121314151617",
            "00112233445566778899AABBCCDDEEFF",
            "96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D",
        ),
        (
            AES256,
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF",
            "64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7",
        ),
        (
            AES256,
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21",
        ),
    ];
    for (kind, kek, key, wrapped) in cases {
        let (kek, key, wrapped) = (h(kek), h(key), h(wrapped));
        let enc = software::encrypt(kind, &kek, &wrap, &key).unwrap();
        assert_eq!(enc.data, wrapped);
        assert_eq!((enc.iv, enc.tag), (None, None));
        let dec = software::decrypt(kind, &kek, &wrap, &wrapped).unwrap();
        assert_eq!(&dec[..], &key[..]);
        let mut tampered = wrapped.clone();
        tampered[3] ^= 1;
        assert!(is_failed(software::decrypt(kind, &kek, &wrap, &tampered)));
    }
}

/// RFC 5649 §6 (192-bit KEK, 20-byte and 7-byte keys).
#[test]
fn kat_rfc5649_key_wrap_with_padding() {
    let wrap = Cipher::AesKeyWrap { pad: true };
    let kek = h("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8");
    let cases = [
        (
            "c37b7e6492584340 bed1220780894115 5068f738",
            "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a",
        ),
        ("466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"),
    ];
    for (key, wrapped) in cases {
        let (key, wrapped) = (h(key), h(wrapped));
        let enc = software::encrypt(AES192, &kek, &wrap, &key).unwrap();
        assert_eq!(enc.data, wrapped);
        let dec = software::decrypt(AES192, &kek, &wrap, &wrapped).unwrap();
        assert_eq!(&dec[..], &key[..]);
        let mut tampered = wrapped.clone();
        tampered[0] ^= 1;
        assert!(is_failed(software::decrypt(AES192, &kek, &wrap, &tampered)));
    }
}

/// SP 800-38A F.1.1 (ECB), F.2.1/F.2.2 (CBC), F.5.1/F.5.2 (CTR), first block,
/// AES-128.
#[test]
fn kat_aes_modes_sp800_38a() {
    let key = h("2b7e151628aed2a6abf7158809cf4f3c");
    let pt = h("6bc1bee22e409f96e93d7e117393172a");

    let ecb = software::encrypt(AES128, &key, &Cipher::AesEcb, &pt).unwrap();
    assert_eq!(ecb.data, h("3ad77bb40d7a3660a89ecaf32466ef97"));
    assert_eq!(
        &software::decrypt(AES128, &key, &Cipher::AesEcb, &ecb.data).unwrap()[..],
        &pt[..]
    );

    let cbc = Cipher::AesCbc {
        iv: Some(h("000102030405060708090a0b0c0d0e0f")),
        pad: false,
    };
    let enc = software::encrypt(AES128, &key, &cbc, &pt).unwrap();
    assert_eq!(enc.data, h("7649abac8119b246cee98e9b12e9197d"));
    assert_eq!(enc.iv, None);
    assert_eq!(
        &software::decrypt(AES128, &key, &cbc, &enc.data).unwrap()[..],
        &pt[..]
    );

    let ctr = Cipher::AesCtr {
        iv: Some(h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")),
    };
    let enc = software::encrypt(AES128, &key, &ctr, &pt).unwrap();
    assert_eq!(enc.data, h("874d6191b620e3261bef6864990db6ce"));
    assert_eq!(
        &software::decrypt(AES128, &key, &ctr, &enc.data).unwrap()[..],
        &pt[..]
    );
}

/// RFC 4231 test case 2 ("Jefe").
#[test]
fn kat_hmac_rfc4231_case2() {
    let key = b"Jefe";
    let data = b"what do ya want for nothing?";
    let kind = KeyKind::Hmac(32);
    let cases = [
        (HashAlg::Sha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            HashAlg::Sha384,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        ),
        (
            HashAlg::Sha512,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
    ];
    for (alg, expected) in cases {
        let expected = h(expected);
        let mac = software::mac(kind, key, MacAlg::Hmac(alg), data).unwrap();
        assert_eq!(mac, expected, "{alg:?}");
        assert!(software::mac_verify(kind, key, MacAlg::Hmac(alg), data, &expected).unwrap());
        let mut bad = expected.clone();
        bad[7] ^= 1;
        assert!(!software::mac_verify(kind, key, MacAlg::Hmac(alg), data, &bad).unwrap());
        assert!(
            !software::mac_verify(kind, key, MacAlg::Hmac(alg), data, &expected[..16]).unwrap()
        );
        assert!(!software::mac_verify(kind, key, MacAlg::Hmac(alg), b"other", &expected).unwrap());
    }
}

/// SP 800-38B Appendix D.1 (AES-128 CMAC), examples 1–4.
#[test]
fn kat_aes_cmac_sp800_38b() {
    let key = h("2b7e151628aed2a6abf7158809cf4f3c");
    let msg = h(
        "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
    );
    let cases = [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ];
    for (len, expected) in cases {
        let expected = h(expected);
        let mac = software::mac(AES128, &key, MacAlg::AesCmac, &msg[..len]).unwrap();
        assert_eq!(mac, expected, "Mlen = {len}");
        assert!(
            software::mac_verify(AES128, &key, MacAlg::AesCmac, &msg[..len], &expected).unwrap()
        );
        let mut bad = expected.clone();
        bad[15] ^= 1;
        assert!(!software::mac_verify(AES128, &key, MacAlg::AesCmac, &msg[..len], &bad).unwrap());
    }
}

/// FIPS 180-2 "abc" examples.
#[test]
fn kat_sha2_abc() {
    assert_eq!(
        software::hash(HashAlg::Sha256, b"abc"),
        h("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        software::hash(HashAlg::Sha384, b"abc"),
        h(
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed
           8086072ba1e7cc2358baeca134c825a7"
        )
    );
    assert_eq!(
        software::hash(HashAlg::Sha512, b"abc"),
        h(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a
           2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
    assert_eq!(
        software::hash(HashAlg::Sha1, b"abc"),
        h("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    assert_eq!(
        software::hash(HashAlg::Sha224, b"abc"),
        h("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")
    );
}

// ---------------------------------------------------------------------------
// Symmetric round trips

#[test]
fn round_trip_every_symmetric_cipher() {
    for kind in [AES128, AES192, AES256] {
        let KeyKind::Aes(bits) = kind else {
            unreachable!()
        };
        let key = software::random(bits as usize / 8).unwrap();
        let data: Vec<u8> = (0..64u8).collect();
        let odd: Vec<u8> = (0..37u8).collect();
        let cases: Vec<(Cipher, &[u8])> = vec![
            (gcm(None, b"header", 16, None), &odd),
            (gcm(None, b"", 12, None), &data),
            (gcm(Some(vec![7; 16]), b"aad", 14, None), &odd),
            (
                Cipher::AesCbc {
                    iv: None,
                    pad: true,
                },
                &odd,
            ),
            (
                Cipher::AesCbc {
                    iv: None,
                    pad: true,
                },
                &data,
            ),
            (
                Cipher::AesCbc {
                    iv: None,
                    pad: false,
                },
                &data,
            ),
            (Cipher::AesCtr { iv: None }, &odd),
            (Cipher::AesEcb, &data),
            (Cipher::AesKeyWrap { pad: false }, &data[..32]),
            (Cipher::AesKeyWrap { pad: true }, &odd),
        ];
        for (cipher, pt) in cases {
            let enc = software::encrypt(kind, &key, &cipher, pt).unwrap();
            assert_ne!(&enc.data[..], pt, "{cipher:?}");
            // Fill in what the engine generated, as the caller would for decryption.
            let dec_cipher = match &cipher {
                Cipher::AesGcm {
                    nonce,
                    aad,
                    tag_len,
                    ..
                } => {
                    let nonce = nonce.clone().or(enc.iv.clone());
                    assert_eq!(
                        nonce.as_ref().map(Vec::len).unwrap(),
                        if enc.iv.is_some() { 12 } else { 16 }
                    );
                    assert_eq!(enc.tag.as_ref().map(Vec::len), Some(*tag_len));
                    Cipher::AesGcm {
                        nonce,
                        aad: aad.clone(),
                        tag_len: *tag_len,
                        tag: enc.tag.clone(),
                    }
                }
                Cipher::AesCbc { pad, .. } => {
                    assert_eq!(enc.iv.as_ref().map(Vec::len), Some(16));
                    if *pad {
                        assert_eq!(enc.data.len(), (pt.len() / 16 + 1) * 16);
                    }
                    Cipher::AesCbc {
                        iv: enc.iv.clone(),
                        pad: *pad,
                    }
                }
                Cipher::AesCtr { .. } => {
                    assert_eq!(enc.data.len(), pt.len());
                    Cipher::AesCtr { iv: enc.iv.clone() }
                }
                other => other.clone(),
            };
            let dec = software::decrypt(kind, &key, &dec_cipher, &enc.data).unwrap();
            assert_eq!(&dec[..], pt, "{cipher:?} with {kind:?}");
        }
    }
}

#[test]
fn generated_ivs_are_fresh() {
    let key = [9u8; 16];
    let a = software::encrypt(AES128, &key, &gcm(None, b"", 16, None), b"same").unwrap();
    let b = software::encrypt(AES128, &key, &gcm(None, b"", 16, None), b"same").unwrap();
    assert_ne!(a.iv, b.iv);
    assert_ne!(a.data, b.data);
    let a = software::encrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: None,
            pad: true,
        },
        b"same",
    )
    .unwrap();
    let b = software::encrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: None,
            pad: true,
        },
        b"same",
    )
    .unwrap();
    assert_ne!(a.iv, b.iv);
}

#[test]
fn cbc_bad_padding_fails() {
    let key = [1u8; 16];
    let iv = vec![2u8; 16];
    // Encrypt a block without padding whose last byte is not a valid pad.
    let mut block = [0u8; 16];
    block[15] = 0x42;
    let enc = software::encrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: Some(iv.clone()),
            pad: false,
        },
        &block,
    )
    .unwrap();
    assert!(is_failed(software::decrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: Some(iv),
            pad: true
        },
        &enc.data
    )));
}

#[test]
fn des3_cbc_and_ecb_round_trip() {
    let key168 = software::random(24).unwrap();
    let key112 = software::random(16).unwrap();
    let data: Vec<u8> = (0..21u8).collect();
    for (kind, key) in [(KeyKind::Des3(168), &key168), (KeyKind::Des3(112), &key112)] {
        let enc = software::encrypt(
            kind,
            key,
            &Cipher::AesCbc {
                iv: None,
                pad: true,
            },
            &data,
        )
        .unwrap();
        assert_eq!(enc.iv.as_ref().map(Vec::len), Some(8));
        assert_eq!(enc.data.len(), 24);
        let dec = software::decrypt(
            kind,
            key,
            &Cipher::AesCbc {
                iv: enc.iv.clone(),
                pad: true,
            },
            &enc.data,
        )
        .unwrap();
        assert_eq!(&dec[..], &data[..]);
        let enc = software::encrypt(kind, key, &Cipher::AesEcb, &data[..16]).unwrap();
        let dec = software::decrypt(kind, key, &Cipher::AesEcb, &enc.data).unwrap();
        assert_eq!(&dec[..], &data[..16]);
        assert!(is_bad(software::encrypt(
            kind,
            key,
            &gcm(None, b"", 16, None),
            &data
        )));
    }
    // Two-key 3DES equals three-key 3DES with K3 = K1.
    let mut k3 = key112.to_vec();
    k3.extend_from_slice(&key112[..8]);
    let a = software::encrypt(KeyKind::Des3(112), &key112, &Cipher::AesEcb, &data[..8]).unwrap();
    let b = software::encrypt(KeyKind::Des3(168), &k3, &Cipher::AesEcb, &data[..8]).unwrap();
    assert_eq!(a.data, b.data);
}

// ---------------------------------------------------------------------------
// Parameter validation

#[test]
fn wrong_parameter_lengths_are_bad_parameters() {
    let key = [0u8; 16];
    let d16 = [0u8; 16];
    // Key size vs kind.
    assert!(is_bad(software::encrypt(
        AES256,
        &key,
        &Cipher::AesEcb,
        &d16
    )));
    assert!(is_bad(software::encrypt(
        KeyKind::Aes(100),
        &key,
        &Cipher::AesEcb,
        &d16
    )));
    assert!(is_bad(software::encrypt(
        KeyKind::Hmac(128),
        &key,
        &Cipher::AesEcb,
        &d16
    )));
    // GCM tag length, nonce length, missing tag/nonce on decrypt.
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &gcm(None, b"", 8, None),
        &d16
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &gcm(None, b"", 17, None),
        &d16
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &gcm(Some(vec![]), b"", 16, None),
        &d16
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &gcm(Some(vec![0; 129]), b"", 16, None),
        &d16
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &gcm(Some(vec![0; 12]), b"", 16, None),
        &d16
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &gcm(Some(vec![0; 12]), b"", 16, Some(vec![0; 8])),
        &d16
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &gcm(None, b"", 16, Some(vec![0; 16])),
        &d16
    )));
    // CBC/CTR IV sizes; IV required on decrypt; block multiples.
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: Some(vec![0; 8]),
            pad: true
        },
        &d16
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: None,
            pad: true
        },
        &d16
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: None,
            pad: false
        },
        &d16[..15]
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: Some(vec![0; 16]),
            pad: true
        },
        &d16[..15]
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &Cipher::AesCbc {
            iv: Some(vec![0; 16]),
            pad: true
        },
        &[]
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &Cipher::AesCtr {
            iv: Some(vec![0; 12])
        },
        &d16
    )));
    assert!(is_bad(software::decrypt(
        AES128,
        &key,
        &Cipher::AesCtr { iv: None },
        &d16
    )));
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &Cipher::AesEcb,
        &d16[..10]
    )));
    assert!(is_bad(software::encrypt(
        KeyKind::Des3(168),
        &[0; 24],
        &Cipher::AesCbc {
            iv: Some(vec![0; 16]),
            pad: true
        },
        &d16
    )));
    // Key wrap input sizes.
    let w = Cipher::AesKeyWrap { pad: false };
    let wp = Cipher::AesKeyWrap { pad: true };
    assert!(is_bad(software::encrypt(AES128, &key, &w, &[0; 8])));
    assert!(is_bad(software::encrypt(AES128, &key, &w, &[0; 20])));
    assert!(is_bad(software::decrypt(AES128, &key, &w, &[0; 16])));
    assert!(is_bad(software::encrypt(AES128, &key, &wp, &[])));
    assert!(is_bad(software::decrypt(AES128, &key, &wp, &[0; 12])));
    // MAC keys.
    assert!(is_bad(software::mac(
        KeyKind::Hmac(64),
        &key,
        MacAlg::Hmac(HashAlg::Sha256),
        b"x"
    )));
    assert!(is_bad(software::mac(
        KeyKind::Hmac(0),
        &[],
        MacAlg::Hmac(HashAlg::Sha256),
        b"x"
    )));
    assert!(is_bad(software::mac(
        AES128,
        &key,
        MacAlg::Hmac(HashAlg::Sha256),
        b"x"
    )));
    assert!(is_bad(software::mac(
        KeyKind::Hmac(128),
        &key,
        MacAlg::AesCmac,
        b"x"
    )));
    assert!(is_bad(software::mac(AES192, &key, MacAlg::AesCmac, b"x")));
    // Random length bound.
    assert!(is_bad(software::random(software::MAX_RANDOM_LEN + 1)));
    // Symmetric key with an RSA scheme.
    assert!(is_bad(software::encrypt(
        AES128,
        &key,
        &Cipher::RsaPkcs1v15,
        &d16
    )));
}

#[test]
fn random_has_requested_length() {
    assert_eq!(software::random(0).unwrap().len(), 0);
    let a = software::random(32).unwrap();
    let b = software::random(32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
}

// ---------------------------------------------------------------------------
// Key generation and encodings

fn check_pair(pair: &GeneratedPair, id: Id, bits: u32, spki_len: usize) {
    let private = PKey::private_key_from_pkcs8(&pair.private_pkcs8).unwrap();
    let public = PKey::public_key_from_der(&pair.public_spki).unwrap();
    assert_eq!(private.id(), id);
    assert_eq!(public.id(), id);
    assert_eq!(private.bits(), bits);
    assert_eq!(public.bits(), bits);
    assert!(public.public_eq(&private));
    assert_eq!(pair.public_spki.len(), spki_len);
}

#[test]
fn keygen_produces_parseable_der_of_the_right_size() {
    check_pair(rsa2048(), Id::RSA, 2048, 294);
    check_pair(p256(), Id::EC, 256, 91);
    check_pair(p384(), Id::EC, 384, 120);
    check_pair(ed25519(), Id::ED25519, 256, 44);
    assert_eq!(ed25519().private_pkcs8.len(), 48);
    let rsa = PKey::private_key_from_pkcs8(&rsa2048().private_pkcs8)
        .unwrap()
        .rsa()
        .unwrap();
    assert_eq!(rsa.e().to_vec(), vec![1, 0, 1]);
    assert!(rsa.check_key().unwrap());
    // Debug does not print key material.
    let dbg = format!("{:?}", rsa2048());
    assert!(!dbg.contains("private_pkcs8:"), "{dbg}");
}

#[test]
fn keygen_rsa_3072_and_4096() {
    let p = software::generate_pair(KeyPairSpec::Rsa(3072)).unwrap();
    check_pair(&p, Id::RSA, 3072, 422);
    let p = software::generate_pair(KeyPairSpec::Rsa(4096)).unwrap();
    check_pair(&p, Id::RSA, 4096, 550);
}

#[test]
fn keygen_rejects_other_rsa_sizes() {
    assert!(is_bad(software::generate_pair(KeyPairSpec::Rsa(1024))));
    assert!(is_bad(software::generate_pair(KeyPairSpec::Rsa(2047))));
}

#[test]
fn public_from_private_matches_generated_spki() {
    for (kind, pair) in [
        (RSA_PRIV, rsa2048()),
        (KeyKind::EcPrivate(Curve::P256), p256()),
        (KeyKind::EcPrivate(Curve::P384), p384()),
        (KeyKind::Ed25519Private, ed25519()),
    ] {
        assert_eq!(
            software::public_from_private(kind, &pair.private_pkcs8).unwrap(),
            pair.public_spki
        );
    }
    // Kind must match the key.
    assert!(is_bad(software::public_from_private(
        KeyKind::RsaPrivate(3072),
        &rsa2048().private_pkcs8
    )));
    assert!(is_bad(software::public_from_private(
        KeyKind::EcPrivate(Curve::P384),
        &p256().private_pkcs8
    )));
    assert!(is_bad(software::public_from_private(
        KeyKind::EcPrivate(Curve::P256),
        &ed25519().private_pkcs8
    )));
    assert!(is_bad(software::public_from_private(
        RSA_PUB,
        &rsa2048().public_spki
    )));
    assert!(is_bad(software::public_from_private(RSA_PRIV, b"not der")));
}

#[test]
fn rsa_public_key_format_conversions() {
    let spki = &rsa2048().public_spki;
    let pkcs1 = software::spki_to_pkcs1_rsa(spki).unwrap();
    assert_eq!(pkcs1.len(), 270);
    assert_eq!(
        &spki[spki.len() - 270..],
        &pkcs1[..],
        "SPKI wraps the PKCS#1 key in its BIT STRING"
    );
    assert_eq!(&software::pkcs1_rsa_to_spki(&pkcs1).unwrap(), spki);
    assert!(is_bad(software::spki_to_pkcs1_rsa(&p256().public_spki)));
    assert!(is_bad(software::pkcs1_rsa_to_spki(&p256().public_spki)));

    let pkcs1_private = software::pkcs8_to_pkcs1_rsa(&rsa2048().private_pkcs8).unwrap();
    let rsa = openssl::rsa::Rsa::private_key_from_der(&pkcs1_private).unwrap();
    assert_eq!(rsa.size(), 256);
    let back = software::pkcs1_rsa_to_pkcs8(&pkcs1_private).unwrap();
    assert_eq!(&back[..], &rsa2048().private_pkcs8[..]);
    assert!(is_bad(software::pkcs8_to_pkcs1_rsa(&p256().private_pkcs8)));
}

// ---------------------------------------------------------------------------
// RSA encryption

#[test]
fn rsa_oaep_and_pkcs1v15_round_trip() {
    let pair = rsa2048();
    let msg = b"a 32-byte AES key goes in here!!";
    for cipher in [
        Cipher::RsaOaep {
            hash: HashAlg::Sha1,
        },
        Cipher::RsaOaep {
            hash: HashAlg::Sha256,
        },
        Cipher::RsaPkcs1v15,
    ] {
        let enc = software::encrypt(RSA_PUB, &pair.public_spki, &cipher, msg).unwrap();
        assert_eq!(enc.data.len(), 256);
        assert_eq!((enc.iv.as_ref(), enc.tag.as_ref()), (None, None));
        let dec = software::decrypt(RSA_PRIV, &pair.private_pkcs8, &cipher, &enc.data).unwrap();
        assert_eq!(&dec[..], msg, "{cipher:?}");
        // Encrypting with the private key's kind uses its public half.
        let enc2 = software::encrypt(RSA_PRIV, &pair.private_pkcs8, &cipher, msg).unwrap();
        assert_eq!(
            &software::decrypt(RSA_PRIV, &pair.private_pkcs8, &cipher, &enc2.data).unwrap()[..],
            msg
        );
        // Tampered ciphertext fails.
        let mut bad = enc.data.clone();
        bad[100] ^= 1;
        assert!(is_failed(software::decrypt(
            RSA_PRIV,
            &pair.private_pkcs8,
            &cipher,
            &bad
        )));
    }
    // OAEP hashes differ: SHA-1 ciphertext does not decrypt as SHA-256.
    let enc = software::encrypt(
        RSA_PUB,
        &pair.public_spki,
        &Cipher::RsaOaep {
            hash: HashAlg::Sha1,
        },
        msg,
    )
    .unwrap();
    assert!(is_failed(software::decrypt(
        RSA_PRIV,
        &pair.private_pkcs8,
        &Cipher::RsaOaep {
            hash: HashAlg::Sha256
        },
        &enc.data
    )));
}

/// OAEP ciphertext made by OpenSSL's RSA API directly (SHA-1, the PKCS#1 default)
/// decrypts with the engine.
#[test]
fn rsa_oaep_ciphertext_from_independent_encryptor_decrypts() {
    let pair = rsa2048();
    let rsa = PKey::public_key_from_der(&pair.public_spki)
        .unwrap()
        .rsa()
        .unwrap();
    let msg = b"independent";
    let mut ct = vec![0u8; 256];
    let n = rsa
        .public_encrypt(msg, &mut ct, openssl::rsa::Padding::PKCS1_OAEP)
        .unwrap();
    assert_eq!(n, 256);
    let dec = software::decrypt(
        RSA_PRIV,
        &pair.private_pkcs8,
        &Cipher::RsaOaep {
            hash: HashAlg::Sha1,
        },
        &ct,
    )
    .unwrap();
    assert_eq!(&dec[..], msg);
}

#[test]
fn rsa_encryption_parameter_checks() {
    let pair = rsa2048();
    let oaep256 = Cipher::RsaOaep {
        hash: HashAlg::Sha256,
    };
    // Plaintext bounds: k - 2hLen - 2 and k - 11.
    assert!(software::encrypt(RSA_PUB, &pair.public_spki, &oaep256, &[1; 190]).is_ok());
    assert!(is_bad(software::encrypt(
        RSA_PUB,
        &pair.public_spki,
        &oaep256,
        &[1; 191]
    )));
    assert!(software::encrypt(RSA_PUB, &pair.public_spki, &Cipher::RsaPkcs1v15, &[1; 245]).is_ok());
    assert!(is_bad(software::encrypt(
        RSA_PUB,
        &pair.public_spki,
        &Cipher::RsaPkcs1v15,
        &[1; 246]
    )));
    // Ciphertext must be the modulus length.
    assert!(is_bad(software::decrypt(
        RSA_PRIV,
        &pair.private_pkcs8,
        &oaep256,
        &[1; 255]
    )));
    // Wrong kinds and encodings.
    assert!(is_bad(software::decrypt(
        RSA_PUB,
        &pair.public_spki,
        &oaep256,
        &[1; 256]
    )));
    assert!(is_bad(software::encrypt(
        RSA_PUB,
        &pair.private_pkcs8,
        &oaep256,
        b"x"
    )));
    assert!(is_bad(software::encrypt(
        KeyKind::RsaPublic(4096),
        &pair.public_spki,
        &oaep256,
        b"x"
    )));
    assert!(is_bad(software::encrypt(
        KeyKind::EcPublic(Curve::P256),
        &p256().public_spki,
        &oaep256,
        b"x"
    )));
    assert!(is_bad(software::encrypt(
        RSA_PUB,
        &pair.public_spki,
        &Cipher::AesEcb,
        &[0; 16]
    )));
}

// ---------------------------------------------------------------------------
// Signatures

struct SigCase {
    scheme: SignatureScheme,
    private_kind: KeyKind,
    public_kind: KeyKind,
    pair: &'static GeneratedPair,
}

fn sig_cases() -> Vec<SigCase> {
    let mut v = Vec::new();
    for hash in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
        for scheme in [
            SignatureScheme::RsaPkcs1v15(hash),
            SignatureScheme::RsaPss(hash),
        ] {
            v.push(SigCase {
                scheme,
                private_kind: RSA_PRIV,
                public_kind: RSA_PUB,
                pair: rsa2048(),
            });
        }
    }
    for hash in [HashAlg::Sha256, HashAlg::Sha384] {
        v.push(SigCase {
            scheme: SignatureScheme::Ecdsa(hash),
            private_kind: KeyKind::EcPrivate(Curve::P256),
            public_kind: KeyKind::EcPublic(Curve::P256),
            pair: p256(),
        });
        v.push(SigCase {
            scheme: SignatureScheme::Ecdsa(hash),
            private_kind: KeyKind::EcPrivate(Curve::P384),
            public_kind: KeyKind::EcPublic(Curve::P384),
            pair: p384(),
        });
    }
    v.push(SigCase {
        scheme: SignatureScheme::Ed25519,
        private_kind: KeyKind::Ed25519Private,
        public_kind: KeyKind::Ed25519Public,
        pair: ed25519(),
    });
    v
}

fn scheme_hash(s: SignatureScheme) -> Option<HashAlg> {
    match s {
        SignatureScheme::RsaPkcs1v15(h)
        | SignatureScheme::RsaPss(h)
        | SignatureScheme::Ecdsa(h) => Some(h),
        SignatureScheme::Ed25519 => None,
    }
}

#[test]
fn sign_verify_every_scheme_with_tamper_detection() {
    let msg = b"the quick brown fox jumps over the lazy dog";
    for c in sig_cases() {
        let what = format!("{:?} / {:?}", c.scheme, c.private_kind);
        let sig = software::sign(
            c.private_kind,
            &c.pair.private_pkcs8,
            c.scheme,
            SignInput::Message(msg),
        )
        .unwrap();
        match c.scheme {
            SignatureScheme::RsaPkcs1v15(_) | SignatureScheme::RsaPss(_) => {
                assert_eq!(sig.len(), 256)
            }
            SignatureScheme::Ed25519 => assert_eq!(sig.len(), 64),
            SignatureScheme::Ecdsa(_) => assert_eq!(sig[0], 0x30, "DER SEQUENCE"),
        }
        // Verify with the SPKI and with the PKCS#8 (public half).
        assert!(
            software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        assert!(
            software::verify(
                c.private_kind,
                &c.pair.private_pkcs8,
                c.scheme,
                SignInput::Message(msg),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        // Tampered message, tampered signature, truncated signature: false, not an error.
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(b"the quick brown fox jumps over the lazy cat"),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &bad
            )
            .unwrap(),
            "{what}"
        );
        let mut bad = sig.clone();
        bad[1] ^= 0x40;
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &bad
            )
            .unwrap(),
            "{what}"
        );
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &sig[..sig.len() - 3]
            )
            .unwrap(),
            "{what}"
        );
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &[]
            )
            .unwrap(),
            "{what}"
        );
    }
}

#[test]
fn digest_input_signatures_match_message_input() {
    let msg = b"pre-hashed by the client";
    for c in sig_cases() {
        let Some(hash) = scheme_hash(c.scheme) else {
            continue;
        };
        let what = format!("{:?} / {:?}", c.scheme, c.private_kind);
        let digest = software::hash(hash, msg);
        // Signed over the digest, verified over the message (and vice versa).
        let sig = software::sign(
            c.private_kind,
            &c.pair.private_pkcs8,
            c.scheme,
            SignInput::Digest(&digest),
        )
        .unwrap();
        assert!(
            software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(msg),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        assert!(
            software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Digest(&digest),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        let sig2 = software::sign(
            c.private_kind,
            &c.pair.private_pkcs8,
            c.scheme,
            SignInput::Message(msg),
        )
        .unwrap();
        assert!(
            software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Digest(&digest),
                &sig2
            )
            .unwrap(),
            "{what}"
        );
        // The digest is not hashed again: a signature over hash(digest) does not verify.
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Message(&digest),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        // Tampered digest.
        let mut bad = digest.clone();
        bad[0] ^= 1;
        assert!(
            !software::verify(
                c.public_kind,
                &c.pair.public_spki,
                c.scheme,
                SignInput::Digest(&bad),
                &sig
            )
            .unwrap(),
            "{what}"
        );
        // PKCS#1 v1.5 is deterministic: both paths give the same bytes.
        if let SignatureScheme::RsaPkcs1v15(_) = c.scheme {
            assert_eq!(sig, sig2, "{what}");
        }
    }
}

/// Signatures verify with OpenSSL's own high-level verifier, configured
/// independently of the engine.
#[test]
fn signatures_verify_independently() {
    use openssl::hash::MessageDigest;
    use openssl::sign::{RsaPssSaltlen, Verifier};
    let msg = b"independent check";
    let pss = software::sign(
        RSA_PRIV,
        &rsa2048().private_pkcs8,
        SignatureScheme::RsaPss(HashAlg::Sha384),
        SignInput::Message(msg),
    )
    .unwrap();
    let key = PKey::public_key_from_der(&rsa2048().public_spki).unwrap();
    let mut v = Verifier::new(MessageDigest::sha384(), &key).unwrap();
    v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
    v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(48)).unwrap();
    v.set_rsa_mgf1_md(MessageDigest::sha384()).unwrap();
    assert!(
        v.verify_oneshot(&pss, msg).unwrap(),
        "PSS salt length is the hash length"
    );

    let digest = software::hash(HashAlg::Sha256, msg);
    let ecdsa = software::sign(
        KeyKind::EcPrivate(Curve::P256),
        &p256().private_pkcs8,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        SignInput::Digest(&digest),
    )
    .unwrap();
    let key = PKey::public_key_from_der(&p256().public_spki).unwrap();
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    assert!(v.verify_oneshot(&ecdsa, msg).unwrap());

    let ed = software::sign(
        KeyKind::Ed25519Private,
        &ed25519().private_pkcs8,
        SignatureScheme::Ed25519,
        SignInput::Message(msg),
    )
    .unwrap();
    let key = PKey::public_key_from_der(&ed25519().public_spki).unwrap();
    let mut v = Verifier::new_without_digest(&key).unwrap();
    assert!(v.verify_oneshot(&ed, msg).unwrap());
}

#[test]
fn signature_parameter_checks() {
    let rsa = rsa2048();
    let pss = SignatureScheme::RsaPss(HashAlg::Sha256);
    // Digest of the wrong length.
    assert!(is_bad(software::sign(
        RSA_PRIV,
        &rsa.private_pkcs8,
        pss,
        SignInput::Digest(&[0; 31])
    )));
    assert!(is_bad(software::sign(
        RSA_PRIV,
        &rsa.private_pkcs8,
        SignatureScheme::RsaPkcs1v15(HashAlg::Sha512),
        SignInput::Digest(&[0; 32])
    )));
    assert!(is_bad(software::verify(
        RSA_PUB,
        &rsa.public_spki,
        pss,
        SignInput::Digest(&[0; 48]),
        &[0; 256]
    )));
    // Ed25519 takes no digest.
    assert!(is_bad(software::sign(
        KeyKind::Ed25519Private,
        &ed25519().private_pkcs8,
        SignatureScheme::Ed25519,
        SignInput::Digest(&[0; 32])
    )));
    assert!(is_bad(software::verify(
        KeyKind::Ed25519Public,
        &ed25519().public_spki,
        SignatureScheme::Ed25519,
        SignInput::Digest(&[0; 64]),
        &[0; 64]
    )));
    // SHA-1 is refused for signatures.
    assert!(is_bad(software::sign(
        RSA_PRIV,
        &rsa.private_pkcs8,
        SignatureScheme::RsaPkcs1v15(HashAlg::Sha1),
        SignInput::Message(b"x")
    )));
    // Scheme vs kind, kind vs key, public key for signing.
    assert!(is_bad(software::sign(
        RSA_PRIV,
        &rsa.private_pkcs8,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        SignInput::Message(b"x")
    )));
    assert!(is_bad(software::sign(
        KeyKind::EcPrivate(Curve::P256),
        &rsa.private_pkcs8,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        SignInput::Message(b"x")
    )));
    assert!(is_bad(software::sign(
        KeyKind::EcPrivate(Curve::P384),
        &p256().private_pkcs8,
        SignatureScheme::Ecdsa(HashAlg::Sha256),
        SignInput::Message(b"x")
    )));
    assert!(is_bad(software::sign(
        RSA_PUB,
        &rsa.public_spki,
        pss,
        SignInput::Message(b"x")
    )));
    assert!(is_bad(software::sign(
        KeyKind::RsaPrivate(4096),
        &rsa.private_pkcs8,
        pss,
        SignInput::Message(b"x")
    )));
    assert!(is_bad(software::verify(
        KeyKind::Ed25519Public,
        &p256().public_spki,
        SignatureScheme::Ed25519,
        SignInput::Message(b"x"),
        &[0; 64]
    )));
    assert!(is_bad(software::verify(
        RSA_PUB,
        b"garbage",
        pss,
        SignInput::Message(b"x"),
        &[0; 256]
    )));
    assert!(is_bad(software::sign(
        AES128,
        &[0; 16],
        pss,
        SignInput::Message(b"x")
    )));
}
