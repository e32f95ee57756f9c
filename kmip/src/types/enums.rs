//! Every KMIP enumeration and mask, 1.0 to 2.1, and the registry saying which tag
//! carries which.
//!
//! The 1.x tables and names are those of the KMIP 1.4 specification (§9.1.3.2 and
//! §9.1.3.3); values and enumerations added by KMIP 2.0 and 2.1 follow the 2.x
//! enumeration lists. Each value records the version that introduced it and, for
//! values KMIP 2.0 turned into "(Reserved)", the version that dropped it. The XML name
//! is the specification name normalised as the KMIP XML and JSON profiles prescribe
//! (`Pre-Active` -> `PreActive`, `SHA-256` -> `SHA_256`, `3DES` -> `DES3`).

use super::table::{kmip_enum, EnumEntry, EnumTable};
use crate::ttlv::Tag;
use std::sync::OnceLock;

kmip_enum! {
    /// Credential Type (KMIP 1.4 §9.1.3.2.1).
    CredentialType {
        UsernameAndPassword = 0x01, "UsernameAndPassword", (1, 0);
        Device = 0x02, "Device", (1, 1);
        Attestation = 0x03, "Attestation", (1, 2);
        OneTimePassword = 0x04, "OneTimePassword", (2, 0);
        HashedPassword = 0x05, "HashedPassword", (2, 0);
        Ticket = 0x06, "Ticket", (2, 0);
    }
}

kmip_enum! {
    /// Key Compression Type (KMIP 1.4 §9.1.3.2.2).
    KeyCompressionType {
        EcPublicKeyTypeUncompressed = 0x01, "ECPublicKeyTypeUncompressed", (1, 0);
        EcPublicKeyTypeX9_62CompressedPrime = 0x02, "ECPublicKeyTypeX9_62CompressedPrime", (1, 0);
        EcPublicKeyTypeX9_62CompressedChar2 = 0x03, "ECPublicKeyTypeX9_62CompressedChar2", (1, 0);
        EcPublicKeyTypeX9_62Hybrid = 0x04, "ECPublicKeyTypeX9_62Hybrid", (1, 0);
    }
}

kmip_enum! {
    /// Key Format Type (KMIP 1.4 §9.1.3.2.3).
    KeyFormatType {
        Raw = 0x01, "Raw", (1, 0);
        Opaque = 0x02, "Opaque", (1, 0);
        Pkcs1 = 0x03, "PKCS_1", (1, 0);
        Pkcs8 = 0x04, "PKCS_8", (1, 0);
        X509 = 0x05, "X_509", (1, 0);
        EcPrivateKey = 0x06, "ECPrivateKey", (1, 0);
        TransparentSymmetricKey = 0x07, "TransparentSymmetricKey", (1, 0);
        TransparentDsaPrivateKey = 0x08, "TransparentDSAPrivateKey", (1, 0);
        TransparentDsaPublicKey = 0x09, "TransparentDSAPublicKey", (1, 0);
        TransparentRsaPrivateKey = 0x0A, "TransparentRSAPrivateKey", (1, 0);
        TransparentRsaPublicKey = 0x0B, "TransparentRSAPublicKey", (1, 0);
        TransparentDhPrivateKey = 0x0C, "TransparentDHPrivateKey", (1, 0);
        TransparentDhPublicKey = 0x0D, "TransparentDHPublicKey", (1, 0);
        TransparentEcdsaPrivateKey = 0x0E, "TransparentECDSAPrivateKey", (1, 0) .. (2, 0);
        TransparentEcdsaPublicKey = 0x0F, "TransparentECDSAPublicKey", (1, 0) .. (2, 0);
        TransparentEcdhPrivateKey = 0x10, "TransparentECDHPrivateKey", (1, 0) .. (2, 0);
        TransparentEcdhPublicKey = 0x11, "TransparentECDHPublicKey", (1, 0) .. (2, 0);
        TransparentEcmqvPrivateKey = 0x12, "TransparentECMQVPrivateKey", (1, 0) .. (2, 0);
        TransparentEcmqvPublicKey = 0x13, "TransparentECMQVPublicKey", (1, 0) .. (2, 0);
        TransparentEcPrivateKey = 0x14, "TransparentECPrivateKey", (1, 3);
        TransparentEcPublicKey = 0x15, "TransparentECPublicKey", (1, 3);
        Pkcs12 = 0x16, "PKCS_12", (1, 4);
        Pkcs10 = 0x17, "PKCS_10", (2, 1);
    }
}

kmip_enum! {
    /// Wrapping Method (KMIP 1.4 §9.1.3.2.4).
    WrappingMethod {
        Encrypt = 0x01, "Encrypt", (1, 0);
        MacSign = 0x02, "MACSign", (1, 0);
        EncryptThenMacSign = 0x03, "EncryptThenMACSign", (1, 0);
        MacSignThenEncrypt = 0x04, "MACSignThenEncrypt", (1, 0);
        Tr31 = 0x05, "TR_31", (1, 0);
    }
}

kmip_enum! {
    /// Recommended Curve (KMIP 1.4 §9.1.3.2.5).
    RecommendedCurve {
        P192 = 0x01, "P_192", (1, 0);
        K163 = 0x02, "K_163", (1, 0);
        B163 = 0x03, "B_163", (1, 0);
        P224 = 0x04, "P_224", (1, 0);
        K233 = 0x05, "K_233", (1, 0);
        B233 = 0x06, "B_233", (1, 0);
        P256 = 0x07, "P_256", (1, 0);
        K283 = 0x08, "K_283", (1, 0);
        B283 = 0x09, "B_283", (1, 0);
        P384 = 0x0A, "P_384", (1, 0);
        K409 = 0x0B, "K_409", (1, 0);
        B409 = 0x0C, "B_409", (1, 0);
        P521 = 0x0D, "P_521", (1, 0);
        K571 = 0x0E, "K_571", (1, 0);
        B571 = 0x0F, "B_571", (1, 0);
        Secp112R1 = 0x10, "SECP112R1", (1, 2);
        Secp112R2 = 0x11, "SECP112R2", (1, 2);
        Secp128R1 = 0x12, "SECP128R1", (1, 2);
        Secp128R2 = 0x13, "SECP128R2", (1, 2);
        Secp160K1 = 0x14, "SECP160K1", (1, 2);
        Secp160R1 = 0x15, "SECP160R1", (1, 2);
        Secp160R2 = 0x16, "SECP160R2", (1, 2);
        Secp192K1 = 0x17, "SECP192K1", (1, 2);
        Secp224K1 = 0x18, "SECP224K1", (1, 2);
        Secp256K1 = 0x19, "SECP256K1", (1, 2);
        Sect113R1 = 0x1A, "SECT113R1", (1, 2);
        Sect113R2 = 0x1B, "SECT113R2", (1, 2);
        Sect131R1 = 0x1C, "SECT131R1", (1, 2);
        Sect131R2 = 0x1D, "SECT131R2", (1, 2);
        Sect163R1 = 0x1E, "SECT163R1", (1, 2);
        Sect193R1 = 0x1F, "SECT193R1", (1, 2);
        Sect193R2 = 0x20, "SECT193R2", (1, 2);
        Sect239K1 = 0x21, "SECT239K1", (1, 2);
        AnsiX9P192V2 = 0x22, "ANSIX9P192V2", (1, 2);
        AnsiX9P192V3 = 0x23, "ANSIX9P192V3", (1, 2);
        AnsiX9P239V1 = 0x24, "ANSIX9P239V1", (1, 2);
        AnsiX9P239V2 = 0x25, "ANSIX9P239V2", (1, 2);
        AnsiX9P239V3 = 0x26, "ANSIX9P239V3", (1, 2);
        AnsiX9C2Pnb163V1 = 0x27, "ANSIX9C2PNB163V1", (1, 2);
        AnsiX9C2Pnb163V2 = 0x28, "ANSIX9C2PNB163V2", (1, 2);
        AnsiX9C2Pnb163V3 = 0x29, "ANSIX9C2PNB163V3", (1, 2);
        AnsiX9C2Pnb176V1 = 0x2A, "ANSIX9C2PNB176V1", (1, 2);
        AnsiX9C2Tnb191V1 = 0x2B, "ANSIX9C2TNB191V1", (1, 2);
        AnsiX9C2Tnb191V2 = 0x2C, "ANSIX9C2TNB191V2", (1, 2);
        AnsiX9C2Tnb191V3 = 0x2D, "ANSIX9C2TNB191V3", (1, 2);
        AnsiX9C2Pnb208W1 = 0x2E, "ANSIX9C2PNB208W1", (1, 2);
        AnsiX9C2Tnb239V1 = 0x2F, "ANSIX9C2TNB239V1", (1, 2);
        AnsiX9C2Tnb239V2 = 0x30, "ANSIX9C2TNB239V2", (1, 2);
        AnsiX9C2Tnb239V3 = 0x31, "ANSIX9C2TNB239V3", (1, 2);
        AnsiX9C2Pnb272W1 = 0x32, "ANSIX9C2PNB272W1", (1, 2);
        AnsiX9C2Pnb304W1 = 0x33, "ANSIX9C2PNB304W1", (1, 2);
        AnsiX9C2Tnb359V1 = 0x34, "ANSIX9C2TNB359V1", (1, 2);
        AnsiX9C2Pnb368W1 = 0x35, "ANSIX9C2PNB368W1", (1, 2);
        AnsiX9C2Tnb431R1 = 0x36, "ANSIX9C2TNB431R1", (1, 2);
        Brainpoolp160R1 = 0x37, "BRAINPOOLP160R1", (1, 2);
        Brainpoolp160T1 = 0x38, "BRAINPOOLP160T1", (1, 2);
        Brainpoolp192R1 = 0x39, "BRAINPOOLP192R1", (1, 2);
        Brainpoolp192T1 = 0x3A, "BRAINPOOLP192T1", (1, 2);
        Brainpoolp224R1 = 0x3B, "BRAINPOOLP224R1", (1, 2);
        Brainpoolp224T1 = 0x3C, "BRAINPOOLP224T1", (1, 2);
        Brainpoolp256R1 = 0x3D, "BRAINPOOLP256R1", (1, 2);
        Brainpoolp256T1 = 0x3E, "BRAINPOOLP256T1", (1, 2);
        Brainpoolp320R1 = 0x3F, "BRAINPOOLP320R1", (1, 2);
        Brainpoolp320T1 = 0x40, "BRAINPOOLP320T1", (1, 2);
        Brainpoolp384R1 = 0x41, "BRAINPOOLP384R1", (1, 2);
        Brainpoolp384T1 = 0x42, "BRAINPOOLP384T1", (1, 2);
        Brainpoolp512R1 = 0x43, "BRAINPOOLP512R1", (1, 2);
        Brainpoolp512T1 = 0x44, "BRAINPOOLP512T1", (1, 2);
        Curve25519 = 0x45, "CURVE25519", (2, 0);
        Curve448 = 0x46, "CURVE448", (2, 0);
    }
}

kmip_enum! {
    /// Certificate Type (KMIP 1.4 §9.1.3.2.6).
    CertificateType {
        X509 = 0x01, "X_509", (1, 0);
        Pgp = 0x02, "PGP", (1, 0);
    }
}

kmip_enum! {
    /// Digital Signature Algorithm (KMIP 1.4 §9.1.3.2.7).
    DigitalSignatureAlgorithm {
        Md2WithRsaEncryption = 0x01, "MD2WithRSAEncryption", (1, 1);
        Md5WithRsaEncryption = 0x02, "MD5WithRSAEncryption", (1, 1);
        Sha1WithRsaEncryption = 0x03, "SHA_1WithRSAEncryption", (1, 1);
        Sha224WithRsaEncryption = 0x04, "SHA_224WithRSAEncryption", (1, 1);
        Sha256WithRsaEncryption = 0x05, "SHA_256WithRSAEncryption", (1, 1);
        Sha384WithRsaEncryption = 0x06, "SHA_384WithRSAEncryption", (1, 1);
        Sha512WithRsaEncryption = 0x07, "SHA_512WithRSAEncryption", (1, 1);
        RsassaPss = 0x08, "RSASSA_PSS", (1, 1);
        DsaWithSha1 = 0x09, "DSAWithSHA_1", (1, 1);
        DsaWithSha224 = 0x0A, "DSAWithSHA224", (1, 1);
        DsaWithSha256 = 0x0B, "DSAWithSHA256", (1, 1);
        EcdsaWithSha1 = 0x0C, "ECDSAWithSHA_1", (1, 1);
        EcdsaWithSha224 = 0x0D, "ECDSAWithSHA224", (1, 1);
        EcdsaWithSha256 = 0x0E, "ECDSAWithSHA256", (1, 1);
        EcdsaWithSha384 = 0x0F, "ECDSAWithSHA384", (1, 1);
        EcdsaWithSha512 = 0x10, "ECDSAWithSHA512", (1, 1);
        Sha3_256WithRsaEncryption = 0x11, "SHA3_256WithRSAEncryption", (1, 4);
        Sha3_384WithRsaEncryption = 0x12, "SHA3_384WithRSAEncryption", (1, 4);
        Sha3_512WithRsaEncryption = 0x13, "SHA3_512WithRSAEncryption", (1, 4);
    }
}

kmip_enum! {
    /// Split Key Method (KMIP 1.4 §9.1.3.2.8).
    SplitKeyMethod {
        Xor = 0x01, "XOR", (1, 0);
        PolynomialSharingGf216 = 0x02, "PolynomialSharingGF216", (1, 0);
        PolynomialSharingPrimeField = 0x03, "PolynomialSharingPrimeField", (1, 0);
        PolynomialSharingGf28 = 0x04, "PolynomialSharingGF28", (1, 2);
    }
}

kmip_enum! {
    /// Secret Data Type (KMIP 1.4 §9.1.3.2.9).
    SecretDataType {
        Password = 0x01, "Password", (1, 0);
        Seed = 0x02, "Seed", (1, 0);
    }
}

kmip_enum! {
    /// Opaque Data Type (KMIP 1.4 §9.1.3.2.10).
    OpaqueDataType {
    }
}

kmip_enum! {
    /// Name Type (KMIP 1.4 §9.1.3.2.11).
    NameType {
        UninterpretedTextString = 0x01, "UninterpretedTextString", (1, 0);
        Uri = 0x02, "URI", (1, 0);
    }
}

kmip_enum! {
    /// Object Type (KMIP 1.4 §9.1.3.2.12).
    ObjectType {
        Certificate = 0x01, "Certificate", (1, 0);
        SymmetricKey = 0x02, "SymmetricKey", (1, 0);
        PublicKey = 0x03, "PublicKey", (1, 0);
        PrivateKey = 0x04, "PrivateKey", (1, 0);
        SplitKey = 0x05, "SplitKey", (1, 0);
        Template = 0x06, "Template", (1, 0) .. (2, 0);
        SecretData = 0x07, "SecretData", (1, 0);
        OpaqueObject = 0x08, "OpaqueObject", (1, 0);
        PgpKey = 0x09, "PGPKey", (1, 2);
        CertificateRequest = 0x0A, "CertificateRequest", (2, 0);
    }
}

kmip_enum! {
    /// Cryptographic Algorithm (KMIP 1.4 §9.1.3.2.13).
    CryptographicAlgorithm {
        Des = 0x01, "DES", (1, 0);
        Des3 = 0x02, "DES3", (1, 0);
        Aes = 0x03, "AES", (1, 0);
        Rsa = 0x04, "RSA", (1, 0);
        Dsa = 0x05, "DSA", (1, 0);
        Ecdsa = 0x06, "ECDSA", (1, 0);
        HmacSha1 = 0x07, "HMAC_SHA1", (1, 0);
        HmacSha224 = 0x08, "HMAC_SHA224", (1, 0);
        HmacSha256 = 0x09, "HMAC_SHA256", (1, 0);
        HmacSha384 = 0x0A, "HMAC_SHA384", (1, 0);
        HmacSha512 = 0x0B, "HMAC_SHA512", (1, 0);
        HmacMd5 = 0x0C, "HMAC_MD5", (1, 0);
        Dh = 0x0D, "DH", (1, 0);
        Ecdh = 0x0E, "ECDH", (1, 0);
        Ecmqv = 0x0F, "ECMQV", (1, 0);
        Blowfish = 0x10, "Blowfish", (1, 0);
        Camellia = 0x11, "Camellia", (1, 0);
        Cast5 = 0x12, "CAST5", (1, 0);
        Idea = 0x13, "IDEA", (1, 0);
        Mars = 0x14, "MARS", (1, 0);
        Rc2 = 0x15, "RC2", (1, 0);
        Rc4 = 0x16, "RC4", (1, 0);
        Rc5 = 0x17, "RC5", (1, 0);
        Skipjack = 0x18, "SKIPJACK", (1, 0);
        Twofish = 0x19, "Twofish", (1, 0);
        Ec = 0x1A, "EC", (1, 2);
        OneTimePad = 0x1B, "OneTimePad", (1, 3);
        ChaCha20 = 0x1C, "ChaCha20", (1, 4);
        Poly1305 = 0x1D, "Poly1305", (1, 4);
        ChaCha20Poly1305 = 0x1E, "ChaCha20Poly1305", (1, 4);
        Sha3_224 = 0x1F, "SHA3_224", (1, 4);
        Sha3_256 = 0x20, "SHA3_256", (1, 4);
        Sha3_384 = 0x21, "SHA3_384", (1, 4);
        Sha3_512 = 0x22, "SHA3_512", (1, 4);
        HmacSha3_224 = 0x23, "HMAC_SHA3_224", (1, 4);
        HmacSha3_256 = 0x24, "HMAC_SHA3_256", (1, 4);
        HmacSha3_384 = 0x25, "HMAC_SHA3_384", (1, 4);
        HmacSha3_512 = 0x26, "HMAC_SHA3_512", (1, 4);
        Shake128 = 0x27, "SHAKE_128", (1, 4);
        Shake256 = 0x28, "SHAKE_256", (1, 4);
        Aria = 0x29, "ARIA", (2, 0);
        Seed = 0x2A, "SEED", (2, 0);
        Sm2 = 0x2B, "SM2", (2, 0);
        Sm3 = 0x2C, "SM3", (2, 0);
        Sm4 = 0x2D, "SM4", (2, 0);
        GostR34_10_2012 = 0x2E, "GOSTR34_10_2012", (2, 0);
        GostR34_11_2012 = 0x2F, "GOSTR34_11_2012", (2, 0);
        GostR34_13_2015 = 0x30, "GOSTR34_13_2015", (2, 0);
        Gost28147_89 = 0x31, "GOST28147_89", (2, 0);
        Xmss = 0x32, "XMSS", (2, 0);
        Sphincs256 = 0x33, "SPHINCS_256", (2, 0);
        McEliece = 0x34, "McEliece", (2, 0);
        McEliece6960119 = 0x35, "McEliece_6960119", (2, 0);
        McEliece8192128 = 0x36, "McEliece_8192128", (2, 0);
        Ed25519 = 0x37, "Ed25519", (2, 0);
        Ed448 = 0x38, "Ed448", (2, 0);
    }
}

kmip_enum! {
    /// Block Cipher Mode (KMIP 1.4 §9.1.3.2.14).
    BlockCipherMode {
        Cbc = 0x01, "CBC", (1, 0);
        Ecb = 0x02, "ECB", (1, 0);
        Pcbc = 0x03, "PCBC", (1, 0);
        Cfb = 0x04, "CFB", (1, 0);
        Ofb = 0x05, "OFB", (1, 0);
        Ctr = 0x06, "CTR", (1, 0);
        Cmac = 0x07, "CMAC", (1, 0);
        Ccm = 0x08, "CCM", (1, 0);
        Gcm = 0x09, "GCM", (1, 0);
        CbcMac = 0x0A, "CBC_MAC", (1, 0);
        Xts = 0x0B, "XTS", (1, 0);
        AesKeyWrapPadding = 0x0C, "AESKeyWrapPadding", (1, 0);
        NistKeyWrap = 0x0D, "NISTKeyWrap", (1, 0);
        X9_102Aeskw = 0x0E, "X9_102AESKW", (1, 0);
        X9_102Tdkw = 0x0F, "X9_102TDKW", (1, 0);
        X9_102Akw1 = 0x10, "X9_102AKW1", (1, 0);
        X9_102Akw2 = 0x11, "X9_102AKW2", (1, 0);
        Aead = 0x12, "AEAD", (1, 4);
    }
}

kmip_enum! {
    /// Padding Method (KMIP 1.4 §9.1.3.2.15).
    PaddingMethod {
        None = 0x01, "None", (1, 0);
        Oaep = 0x02, "OAEP", (1, 0);
        Pkcs5 = 0x03, "PKCS5", (1, 0);
        Ssl3 = 0x04, "SSL3", (1, 0);
        Zeros = 0x05, "Zeros", (1, 0);
        AnsiX9_23 = 0x06, "ANSIX9_23", (1, 0);
        Iso10126 = 0x07, "ISO10126", (1, 0);
        Pkcs1V1_5 = 0x08, "PKCS1V1_5", (1, 0);
        X9_31 = 0x09, "X9_31", (1, 0);
        Pss = 0x0A, "PSS", (1, 0);
    }
}

kmip_enum! {
    /// Hashing Algorithm (KMIP 1.4 §9.1.3.2.16).
    HashingAlgorithm {
        Md2 = 0x01, "MD2", (1, 0);
        Md4 = 0x02, "MD4", (1, 0);
        Md5 = 0x03, "MD5", (1, 0);
        Sha1 = 0x04, "SHA_1", (1, 0);
        Sha224 = 0x05, "SHA_224", (1, 0);
        Sha256 = 0x06, "SHA_256", (1, 0);
        Sha384 = 0x07, "SHA_384", (1, 0);
        Sha512 = 0x08, "SHA_512", (1, 0);
        Ripemd160 = 0x09, "RIPEMD_160", (1, 0);
        Tiger = 0x0A, "Tiger", (1, 0);
        Whirlpool = 0x0B, "Whirlpool", (1, 0);
        Sha512_224 = 0x0C, "SHA_512_224", (1, 2);
        Sha512_256 = 0x0D, "SHA_512_256", (1, 2);
        Sha3_224 = 0x0E, "SHA3_224", (1, 4);
        Sha3_256 = 0x0F, "SHA3_256", (1, 4);
        Sha3_384 = 0x10, "SHA3_384", (1, 4);
        Sha3_512 = 0x11, "SHA3_512", (1, 4);
    }
}

kmip_enum! {
    /// Key Role Type (KMIP 1.4 §9.1.3.2.17).
    KeyRoleType {
        Bdk = 0x01, "BDK", (1, 0);
        Cvk = 0x02, "CVK", (1, 0);
        Dek = 0x03, "DEK", (1, 0);
        Mkac = 0x04, "MKAC", (1, 0);
        Mksmc = 0x05, "MKSMC", (1, 0);
        Mksmi = 0x06, "MKSMI", (1, 0);
        Mkdac = 0x07, "MKDAC", (1, 0);
        Mkdn = 0x08, "MKDN", (1, 0);
        Mkcp = 0x09, "MKCP", (1, 0);
        Mkoth = 0x0A, "MKOTH", (1, 0);
        Kek = 0x0B, "KEK", (1, 0);
        Mac16609 = 0x0C, "MAC16609", (1, 0);
        Mac97971 = 0x0D, "MAC97971", (1, 0);
        Mac97972 = 0x0E, "MAC97972", (1, 0);
        Mac97973 = 0x0F, "MAC97973", (1, 0);
        Mac97974 = 0x10, "MAC97974", (1, 0);
        Mac97975 = 0x11, "MAC97975", (1, 0);
        Zpk = 0x12, "ZPK", (1, 0);
        Pvkibm = 0x13, "PVKIBM", (1, 0);
        Pvkpvv = 0x14, "PVKPVV", (1, 0);
        Pvkoth = 0x15, "PVKOTH", (1, 0);
        Dukpt = 0x16, "DUKPT", (1, 4);
        Iv = 0x17, "IV", (1, 4);
        Trkbk = 0x18, "TRKBK", (1, 4);
    }
}

kmip_enum! {
    /// State (KMIP 1.4 §9.1.3.2.18).
    State {
        PreActive = 0x01, "PreActive", (1, 0);
        Active = 0x02, "Active", (1, 0);
        Deactivated = 0x03, "Deactivated", (1, 0);
        Compromised = 0x04, "Compromised", (1, 0);
        Destroyed = 0x05, "Destroyed", (1, 0);
        DestroyedCompromised = 0x06, "DestroyedCompromised", (1, 0);
    }
}

kmip_enum! {
    /// Revocation Reason Code (KMIP 1.4 §9.1.3.2.19).
    RevocationReasonCode {
        Unspecified = 0x01, "Unspecified", (1, 0);
        KeyCompromise = 0x02, "KeyCompromise", (1, 0);
        CaCompromise = 0x03, "CACompromise", (1, 0);
        AffiliationChanged = 0x04, "AffiliationChanged", (1, 0);
        Superseded = 0x05, "Superseded", (1, 0);
        CessationOfOperation = 0x06, "CessationOfOperation", (1, 0);
        PrivilegeWithdrawn = 0x07, "PrivilegeWithdrawn", (1, 0);
    }
}

kmip_enum! {
    /// Link Type (KMIP 1.4 §9.1.3.2.20).
    LinkType {
        CertificateLink = 0x101, "CertificateLink", (1, 0);
        PublicKeyLink = 0x102, "PublicKeyLink", (1, 0);
        PrivateKeyLink = 0x103, "PrivateKeyLink", (1, 0);
        DerivationBaseObjectLink = 0x104, "DerivationBaseObjectLink", (1, 0);
        DerivedKeyLink = 0x105, "DerivedKeyLink", (1, 0);
        ReplacementObjectLink = 0x106, "ReplacementObjectLink", (1, 0);
        ReplacedObjectLink = 0x107, "ReplacedObjectLink", (1, 0);
        ParentLink = 0x108, "ParentLink", (1, 2);
        ChildLink = 0x109, "ChildLink", (1, 2);
        PreviousLink = 0x10A, "PreviousLink", (1, 2);
        NextLink = 0x10B, "NextLink", (1, 2);
        Pkcs12CertificateLink = 0x10C, "PKCS_12CertificateLink", (1, 4);
        Pkcs12PasswordLink = 0x10D, "PKCS_12PasswordLink", (1, 4);
        WrappingKeyLink = 0x10E, "WrappingKeyLink", (2, 0);
    }
}

kmip_enum! {
    /// Derivation Method (KMIP 1.4 §9.1.3.2.21).
    DerivationMethod {
        Pbkdf2 = 0x01, "PBKDF2", (1, 0);
        Hash = 0x02, "HASH", (1, 0);
        Hmac = 0x03, "HMAC", (1, 0);
        Encrypt = 0x04, "ENCRYPT", (1, 0);
        Nist800_108C = 0x05, "NIST800_108_C", (1, 0);
        Nist800_108F = 0x06, "NIST800_108_F", (1, 0);
        Nist800_108Dpi = 0x07, "NIST800_108_DPI", (1, 0);
        AsymmetricKey = 0x08, "AsymmetricKey", (1, 4);
        AwsSignatureVersion4 = 0x09, "AWSSignatureVersion4", (2, 0);
        Hkdf = 0x0A, "HKDF", (2, 0);
    }
}

kmip_enum! {
    /// Certificate Request Type (KMIP 1.4 §9.1.3.2.22).
    CertificateRequestType {
        Crmf = 0x01, "CRMF", (1, 0);
        Pkcs10 = 0x02, "PKCS_10", (1, 0);
        Pem = 0x03, "PEM", (1, 0);
        Pgp = 0x04, "PGP", (1, 0) .. (2, 0);
    }
}

kmip_enum! {
    /// Validity Indicator (KMIP 1.4 §9.1.3.2.23).
    ValidityIndicator {
        Valid = 0x01, "Valid", (1, 0);
        Invalid = 0x02, "Invalid", (1, 0);
        ValidityUnknown = 0x03, "Unknown", (1, 0);
    }
}

kmip_enum! {
    /// Query Function (KMIP 1.4 §9.1.3.2.24).
    QueryFunction {
        QueryOperations = 0x01, "QueryOperations", (1, 0);
        QueryObjects = 0x02, "QueryObjects", (1, 0);
        QueryServerInformation = 0x03, "QueryServerInformation", (1, 0);
        QueryApplicationNamespaces = 0x04, "QueryApplicationNamespaces", (1, 0);
        QueryExtensionList = 0x05, "QueryExtensionList", (1, 1);
        QueryExtensionMap = 0x06, "QueryExtensionMap", (1, 1);
        QueryAttestationTypes = 0x07, "QueryAttestationTypes", (1, 2);
        QueryRnGs = 0x08, "QueryRNGs", (1, 3);
        QueryValidations = 0x09, "QueryValidations", (1, 3);
        QueryProfiles = 0x0A, "QueryProfiles", (1, 3);
        QueryCapabilities = 0x0B, "QueryCapabilities", (1, 3);
        QueryClientRegistrationMethods = 0x0C, "QueryClientRegistrationMethods", (1, 3);
        QueryDefaultsInformation = 0x0D, "QueryDefaultsInformation", (2, 0);
        QueryStorageProtectionMasks = 0x0E, "QueryStorageProtectionMasks", (2, 0);
    }
}

kmip_enum! {
    /// Cancellation Result (KMIP 1.4 §9.1.3.2.25).
    CancellationResult {
        Canceled = 0x01, "Canceled", (1, 0);
        UnableToCancel = 0x02, "UnableToCancel", (1, 0);
        Completed = 0x03, "Completed", (1, 0);
        Failed = 0x04, "Failed", (1, 0);
        Unavailable = 0x05, "Unavailable", (1, 0);
    }
}

kmip_enum! {
    /// Put Function (KMIP 1.4 §9.1.3.2.26).
    PutFunction {
        New = 0x01, "New", (1, 0);
        Replace = 0x02, "Replace", (1, 0);
    }
}

kmip_enum! {
    /// Operation (KMIP 1.4 §9.1.3.2.27).
    Operation {
        Create = 0x01, "Create", (1, 0);
        CreateKeyPair = 0x02, "CreateKeyPair", (1, 0);
        Register = 0x03, "Register", (1, 0);
        ReKey = 0x04, "ReKey", (1, 0);
        DeriveKey = 0x05, "DeriveKey", (1, 0);
        Certify = 0x06, "Certify", (1, 0);
        ReCertify = 0x07, "ReCertify", (1, 0);
        Locate = 0x08, "Locate", (1, 0);
        Check = 0x09, "Check", (1, 0);
        Get = 0x0A, "Get", (1, 0);
        GetAttributes = 0x0B, "GetAttributes", (1, 0);
        GetAttributeList = 0x0C, "GetAttributeList", (1, 0);
        AddAttribute = 0x0D, "AddAttribute", (1, 0);
        ModifyAttribute = 0x0E, "ModifyAttribute", (1, 0);
        DeleteAttribute = 0x0F, "DeleteAttribute", (1, 0);
        ObtainLease = 0x10, "ObtainLease", (1, 0);
        GetUsageAllocation = 0x11, "GetUsageAllocation", (1, 0);
        Activate = 0x12, "Activate", (1, 0);
        Revoke = 0x13, "Revoke", (1, 0);
        Destroy = 0x14, "Destroy", (1, 0);
        Archive = 0x15, "Archive", (1, 0);
        Recover = 0x16, "Recover", (1, 0);
        Validate = 0x17, "Validate", (1, 0);
        Query = 0x18, "Query", (1, 0);
        Cancel = 0x19, "Cancel", (1, 0);
        Poll = 0x1A, "Poll", (1, 0);
        Notify = 0x1B, "Notify", (1, 0);
        Put = 0x1C, "Put", (1, 0);
        ReKeyKeyPair = 0x1D, "ReKeyKeyPair", (1, 1);
        DiscoverVersions = 0x1E, "DiscoverVersions", (1, 1);
        Encrypt = 0x1F, "Encrypt", (1, 2);
        Decrypt = 0x20, "Decrypt", (1, 2);
        Sign = 0x21, "Sign", (1, 2);
        SignatureVerify = 0x22, "SignatureVerify", (1, 2);
        Mac = 0x23, "MAC", (1, 2);
        MacVerify = 0x24, "MACVerify", (1, 2);
        RngRetrieve = 0x25, "RNGRetrieve", (1, 2);
        RngSeed = 0x26, "RNGSeed", (1, 2);
        Hash = 0x27, "Hash", (1, 2);
        CreateSplitKey = 0x28, "CreateSplitKey", (1, 2);
        JoinSplitKey = 0x29, "JoinSplitKey", (1, 2);
        Import = 0x2A, "Import", (1, 4);
        Export = 0x2B, "Export", (1, 4);
        Log = 0x2C, "Log", (2, 0);
        Login = 0x2D, "Login", (2, 0);
        Logout = 0x2E, "Logout", (2, 0);
        DelegatedLogin = 0x2F, "DelegatedLogin", (2, 0);
        AdjustAttribute = 0x30, "AdjustAttribute", (2, 0);
        SetAttribute = 0x31, "SetAttribute", (2, 0);
        SetEndpointRole = 0x32, "SetEndpointRole", (2, 0);
        Pkcs11 = 0x33, "PKCS_11", (2, 0);
        Interop = 0x34, "Interop", (2, 0);
        ReProvision = 0x35, "ReProvision", (2, 0);
        SetDefaults = 0x36, "SetDefaults", (2, 1);
        SetConstraints = 0x37, "SetConstraints", (2, 1);
        GetConstraints = 0x38, "GetConstraints", (2, 1);
        QueryAsynchronousRequests = 0x39, "QueryAsynchronousRequests", (2, 1);
        Process = 0x3A, "Process", (2, 1);
        Ping = 0x3B, "Ping", (2, 1);
    }
}

kmip_enum! {
    /// Result Status (KMIP 1.4 §9.1.3.2.28).
    ResultStatus {
        Success = 0x00, "Success", (1, 0);
        OperationFailed = 0x01, "OperationFailed", (1, 0);
        OperationPending = 0x02, "OperationPending", (1, 0);
        OperationUndone = 0x03, "OperationUndone", (1, 0);
    }
}

kmip_enum! {
    /// Result Reason (KMIP 1.4 §9.1.3.2.29).
    ResultReason {
        ItemNotFound = 0x01, "ItemNotFound", (1, 0);
        ResponseTooLarge = 0x02, "ResponseTooLarge", (1, 0);
        AuthenticationNotSuccessful = 0x03, "AuthenticationNotSuccessful", (1, 0);
        InvalidMessage = 0x04, "InvalidMessage", (1, 0);
        OperationNotSupported = 0x05, "OperationNotSupported", (1, 0);
        MissingData = 0x06, "MissingData", (1, 0);
        InvalidField = 0x07, "InvalidField", (1, 0);
        FeatureNotSupported = 0x08, "FeatureNotSupported", (1, 0);
        OperationCanceledByRequester = 0x09, "OperationCanceledByRequester", (1, 0);
        CryptographicFailure = 0x0A, "CryptographicFailure", (1, 0);
        IllegalOperation = 0x0B, "IllegalOperation", (1, 0);
        PermissionDenied = 0x0C, "PermissionDenied", (1, 0);
        ObjectArchived = 0x0D, "ObjectArchived", (1, 0);
        IndexOutOfBounds = 0x0E, "IndexOutOfBounds", (1, 0);
        ApplicationNamespaceNotSupported = 0x0F, "ApplicationNamespaceNotSupported", (1, 0);
        KeyFormatTypeNotSupported = 0x10, "KeyFormatTypeNotSupported", (1, 0);
        KeyCompressionTypeNotSupported = 0x11, "KeyCompressionTypeNotSupported", (1, 0);
        EncodingOptionError = 0x12, "EncodingOptionError", (1, 1);
        KeyValueNotPresent = 0x13, "KeyValueNotPresent", (1, 2);
        AttestationRequired = 0x14, "AttestationRequired", (1, 2);
        AttestationFailed = 0x15, "AttestationFailed", (1, 2);
        Sensitive = 0x16, "Sensitive", (1, 4);
        NotExtractable = 0x17, "NotExtractable", (1, 4);
        ObjectAlreadyExists = 0x18, "ObjectAlreadyExists", (1, 4);
        InvalidTicket = 0x19, "InvalidTicket", (2, 0);
        UsageLimitExceeded = 0x1A, "UsageLimitExceeded", (2, 0);
        NumericRange = 0x1B, "NumericRange", (2, 0);
        InvalidDataType = 0x1C, "InvalidDataType", (2, 0);
        ReadOnlyAttribute = 0x1D, "ReadOnlyAttribute", (2, 0);
        MultiValuedAttribute = 0x1E, "MultiValuedAttribute", (2, 0);
        UnsupportedAttribute = 0x1F, "UnsupportedAttribute", (2, 0);
        AttributeInstanceNotFound = 0x20, "AttributeInstanceNotFound", (2, 0);
        AttributeNotFound = 0x21, "AttributeNotFound", (2, 0);
        AttributeReadOnly = 0x22, "AttributeReadOnly", (2, 0);
        AttributeSingleValued = 0x23, "AttributeSingleValued", (2, 0);
        BadCryptographicParameters = 0x24, "BadCryptographicParameters", (2, 0);
        BadPassword = 0x25, "BadPassword", (2, 0);
        CodecError = 0x26, "CodecError", (2, 0);
        IllegalObjectType = 0x28, "IllegalObjectType", (2, 0);
        IncompatibleCryptographicUsageMask = 0x29, "IncompatibleCryptographicUsageMask", (2, 0);
        InternalServerError = 0x2A, "InternalServerError", (2, 0);
        InvalidAsynchronousCorrelationValue = 0x2B, "InvalidAsynchronousCorrelationValue", (2, 0);
        InvalidAttribute = 0x2C, "InvalidAttribute", (2, 0);
        InvalidAttributeValue = 0x2D, "InvalidAttributeValue", (2, 0);
        InvalidCorrelationValue = 0x2E, "InvalidCorrelationValue", (2, 0);
        InvalidCsr = 0x2F, "InvalidCSR", (2, 0);
        InvalidObjectType = 0x30, "InvalidObjectType", (2, 0);
        KeyWrapTypeNotSupported = 0x32, "KeyWrapTypeNotSupported", (2, 0);
        MissingInitializationVector = 0x34, "MissingInitializationVector", (2, 0);
        NonUniqueNameAttribute = 0x35, "NonUniqueNameAttribute", (2, 0);
        ObjectDestroyed = 0x36, "ObjectDestroyed", (2, 0);
        ObjectNotFound = 0x37, "ObjectNotFound", (2, 0);
        NotAuthorised = 0x39, "NotAuthorised", (2, 0);
        ServerLimitExceeded = 0x3A, "ServerLimitExceeded", (2, 0);
        UnknownEnumeration = 0x3B, "UnknownEnumeration", (2, 0);
        UnknownMessageExtension = 0x3C, "UnknownMessageExtension", (2, 0);
        UnknownTag = 0x3D, "UnknownTag", (2, 0);
        UnsupportedCryptographicParameters = 0x3E, "UnsupportedCryptographicParameters", (2, 0);
        UnsupportedProtocolVersion = 0x3F, "UnsupportedProtocolVersion", (2, 0);
        WrappingObjectArchived = 0x40, "WrappingObjectArchived", (2, 0);
        WrappingObjectDestroyed = 0x41, "WrappingObjectDestroyed", (2, 0);
        WrappingObjectNotFound = 0x42, "WrappingObjectNotFound", (2, 0);
        WrongKeyLifecycleState = 0x43, "WrongKeyLifecycleState", (2, 0);
        ProtectionStorageUnavailable = 0x44, "ProtectionStorageUnavailable", (2, 0);
        Pkcs11CodecError = 0x45, "PKCS_11CodecError", (2, 0);
        Pkcs11InvalidFunction = 0x46, "PKCS_11InvalidFunction", (2, 0);
        Pkcs11InvalidInterface = 0x47, "PKCS_11InvalidInterface", (2, 0);
        PrivateProtectionStorageUnavailable = 0x48, "PrivateProtectionStorageUnavailable", (2, 1);
        PublicProtectionStorageUnavailable = 0x49, "PublicProtectionStorageUnavailable", (2, 1);
        UnknownObjectGroup = 0x4A, "UnknownObjectGroup", (2, 1);
        ConstraintViolation = 0x4B, "ConstraintViolation", (2, 1);
        DuplicateProcessRequest = 0x4C, "DuplicateProcessRequest", (2, 1);
        GeneralFailure = 0x100, "GeneralFailure", (1, 0);
    }
}

kmip_enum! {
    /// Batch Error Continuation Option (KMIP 1.4 §9.1.3.2.30).
    BatchErrorContinuationOption {
        Continue = 0x01, "Continue", (1, 0);
        Stop = 0x02, "Stop", (1, 0);
        Undo = 0x03, "Undo", (1, 0);
    }
}

kmip_enum! {
    /// Usage Limits Unit (KMIP 1.4 §9.1.3.2.31).
    UsageLimitsUnit {
        Byte = 0x01, "Byte", (1, 0);
        Object = 0x02, "Object", (1, 0);
    }
}

kmip_enum! {
    /// Encoding Option (KMIP 1.4 §9.1.3.2.32).
    EncodingOption {
        NoEncoding = 0x01, "NoEncoding", (1, 1);
        TtlvEncoding = 0x02, "TTLVEncoding", (1, 1);
    }
}

kmip_enum! {
    /// Object Group Member (KMIP 1.4 §9.1.3.2.33).
    ObjectGroupMember {
        GroupMemberFresh = 0x01, "GroupMemberFresh", (1, 1);
        GroupMemberDefault = 0x02, "GroupMemberDefault", (1, 1);
    }
}

kmip_enum! {
    /// Alternative Name Type (KMIP 1.4 §9.1.3.2.34).
    AlternativeNameType {
        UninterpretedTextString = 0x01, "UninterpretedTextString", (1, 2);
        Uri = 0x02, "URI", (1, 2);
        ObjectSerialNumber = 0x03, "ObjectSerialNumber", (1, 2);
        EmailAddress = 0x04, "EmailAddress", (1, 2);
        DnsName = 0x05, "DNSName", (1, 2);
        X500DistinguishedName = 0x06, "X_500DistinguishedName", (1, 2);
        IpAddress = 0x07, "IPAddress", (1, 2);
    }
}

kmip_enum! {
    /// Key Value Location Type (KMIP 1.4 §9.1.3.2.35).
    KeyValueLocationType {
        UninterpretedTextString = 0x01, "UninterpretedTextString", (1, 2);
        Uri = 0x02, "URI", (1, 2);
    }
}

kmip_enum! {
    /// Attestation Type (KMIP 1.4 §9.1.3.2.36).
    AttestationType {
        TpmQuote = 0x01, "TPMQuote", (1, 2);
        TcgIntegrityReport = 0x02, "TCGIntegrityReport", (1, 2);
        SamlAssertion = 0x03, "SAMLAssertion", (1, 2);
    }
}

kmip_enum! {
    /// RNG Algorithm (KMIP 1.4 §9.1.3.2.37).
    RNGAlgorithm {
        Unspecified = 0x01, "Unspecified", (1, 3);
        Fips186_2 = 0x02, "FIPS186_2", (1, 3);
        Drbg = 0x03, "DRBG", (1, 3);
        Nrbg = 0x04, "NRBG", (1, 3);
        AnsiX9_31 = 0x05, "ANSIX9_31", (1, 3);
        AnsiX9_62 = 0x06, "ANSIX9_62", (1, 3);
    }
}

kmip_enum! {
    /// DRBG Algorithm (KMIP 1.4 §9.1.3.2.38).
    DRBGAlgorithm {
        Unspecified = 0x01, "Unspecified", (1, 3);
        DualEc = 0x02, "Dual_EC", (1, 3);
        Hash = 0x03, "Hash", (1, 3);
        Hmac = 0x04, "HMAC", (1, 3);
        Ctr = 0x05, "CTR", (1, 3);
    }
}

kmip_enum! {
    /// FIPS186 Variation (KMIP 1.4 §9.1.3.2.39).
    FIPS186Variation {
        Unspecified = 0x01, "Unspecified", (1, 3);
        GpxOriginal = 0x02, "GPXOriginal", (1, 3);
        GpxChangeNotice = 0x03, "GPXChangeNotice", (1, 3);
        XOriginal = 0x04, "XOriginal", (1, 3);
        XChangeNotice = 0x05, "XChangeNotice", (1, 3);
        KOriginal = 0x06, "KOriginal", (1, 3);
        KChangeNotice = 0x07, "KChangeNotice", (1, 3);
    }
}

kmip_enum! {
    /// Validation Authority Type (KMIP 1.4 §9.1.3.2.40).
    ValidationAuthorityType {
        Unspecified = 0x01, "Unspecified", (1, 3);
        Nistcmvp = 0x02, "NISTCMVP", (1, 3);
        CommonCriteria = 0x03, "CommonCriteria", (1, 3);
    }
}

kmip_enum! {
    /// Validation Type (KMIP 1.4 §9.1.3.2.41).
    ValidationType {
        Unspecified = 0x01, "Unspecified", (1, 3);
        Hardware = 0x02, "Hardware", (1, 3);
        Software = 0x03, "Software", (1, 3);
        Firmware = 0x04, "Firmware", (1, 3);
        Hybrid = 0x05, "Hybrid", (1, 3);
    }
}

kmip_enum! {
    /// Profile Name (KMIP 1.4 §9.1.3.2.42).
    ProfileName {
        BaselineServerBasicKmipV1_2 = 0x01, "BaselineServerBasicKMIPV1_2", (1, 3) .. (2, 0);
        BaselineServerTlsV1_2KmipV1_2 = 0x02, "BaselineServerTLSV1_2KMIPV1_2", (1, 3) .. (2, 0);
        BaselineClientBasicKmipV1_2 = 0x03, "BaselineClientBasicKMIPV1_2", (1, 3) .. (2, 0);
        BaselineClientTlsV1_2KmipV1_2 = 0x04, "BaselineClientTLSV1_2KMIPV1_2", (1, 3) .. (2, 0);
        CompleteServerBasicKmipV1_2 = 0x05, "CompleteServerBasicKMIPV1_2", (1, 3) .. (2, 0);
        CompleteServerTlsV1_2KmipV1_2 = 0x06, "CompleteServerTLSV1_2KMIPV1_2", (1, 3) .. (2, 0);
        TapeLibraryClientKmipV1_0 = 0x07, "TapeLibraryClientKMIPV1_0", (1, 3) .. (2, 0);
        TapeLibraryClientKmipV1_1 = 0x08, "TapeLibraryClientKMIPV1_1", (1, 3) .. (2, 0);
        TapeLibraryClientKmipV1_2 = 0x09, "TapeLibraryClientKMIPV1_2", (1, 3) .. (2, 0);
        TapeLibraryServerKmipV1_0 = 0x0A, "TapeLibraryServerKMIPV1_0", (1, 3) .. (2, 0);
        TapeLibraryServerKmipV1_1 = 0x0B, "TapeLibraryServerKMIPV1_1", (1, 3) .. (2, 0);
        TapeLibraryServerKmipV1_2 = 0x0C, "TapeLibraryServerKMIPV1_2", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleClientKmipV1_0 = 0x0D, "SymmetricKeyLifecycleClientKMIPV1_0", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleClientKmipV1_1 = 0x0E, "SymmetricKeyLifecycleClientKMIPV1_1", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleClientKmipV1_2 = 0x0F, "SymmetricKeyLifecycleClientKMIPV1_2", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleServerKmipV1_0 = 0x10, "SymmetricKeyLifecycleServerKMIPV1_0", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleServerKmipV1_1 = 0x11, "SymmetricKeyLifecycleServerKMIPV1_1", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleServerKmipV1_2 = 0x12, "SymmetricKeyLifecycleServerKMIPV1_2", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleClientKmipV1_0 = 0x13, "AsymmetricKeyLifecycleClientKMIPV1_0", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleClientKmipV1_1 = 0x14, "AsymmetricKeyLifecycleClientKMIPV1_1", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleClientKmipV1_2 = 0x15, "AsymmetricKeyLifecycleClientKMIPV1_2", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleServerKmipV1_0 = 0x16, "AsymmetricKeyLifecycleServerKMIPV1_0", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleServerKmipV1_1 = 0x17, "AsymmetricKeyLifecycleServerKMIPV1_1", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleServerKmipV1_2 = 0x18, "AsymmetricKeyLifecycleServerKMIPV1_2", (1, 3) .. (2, 0);
        BasicCryptographicClientKmipV1_2 = 0x19, "BasicCryptographicClientKMIPV1_2", (1, 3) .. (2, 0);
        BasicCryptographicServerKmipV1_2 = 0x1A, "BasicCryptographicServerKMIPV1_2", (1, 3) .. (2, 0);
        AdvancedCryptographicClientKmipV1_2 = 0x1B, "AdvancedCryptographicClientKMIPV1_2", (1, 3) .. (2, 0);
        AdvancedCryptographicServerKmipV1_2 = 0x1C, "AdvancedCryptographicServerKMIPV1_2", (1, 3) .. (2, 0);
        RngCryptographicClientKmipV1_2 = 0x1D, "RNGCryptographicClientKMIPV1_2", (1, 3) .. (2, 0);
        RngCryptographicServerKmipV1_2 = 0x1E, "RNGCryptographicServerKMIPV1_2", (1, 3) .. (2, 0);
        BasicSymmetricKeyFoundryClientKmipV1_0 = 0x1F, "BasicSymmetricKeyFoundryClientKMIPV1_0", (1, 3) .. (2, 0);
        IntermediateSymmetricKeyFoundryClientKmipV1_0 = 0x20, "IntermediateSymmetricKeyFoundryClientKMIPV1_0", (1, 3) .. (2, 0);
        AdvancedSymmetricKeyFoundryClientKmipV1_0 = 0x21, "AdvancedSymmetricKeyFoundryClientKMIPV1_0", (1, 3) .. (2, 0);
        BasicSymmetricKeyFoundryClientKmipV1_1 = 0x22, "BasicSymmetricKeyFoundryClientKMIPV1_1", (1, 3) .. (2, 0);
        IntermediateSymmetricKeyFoundryClientKmipV1_1 = 0x23, "IntermediateSymmetricKeyFoundryClientKMIPV1_1", (1, 3) .. (2, 0);
        AdvancedSymmetricKeyFoundryClientKmipV1_1 = 0x24, "AdvancedSymmetricKeyFoundryClientKMIPV1_1", (1, 3) .. (2, 0);
        BasicSymmetricKeyFoundryClientKmipV1_2 = 0x25, "BasicSymmetricKeyFoundryClientKMIPV1_2", (1, 3) .. (2, 0);
        IntermediateSymmetricKeyFoundryClientKmipV1_2 = 0x26, "IntermediateSymmetricKeyFoundryClientKMIPV1_2", (1, 3) .. (2, 0);
        AdvancedSymmetricKeyFoundryClientKmipV1_2 = 0x27, "AdvancedSymmetricKeyFoundryClientKMIPV1_2", (1, 3) .. (2, 0);
        SymmetricKeyFoundryServerKmipV1_0 = 0x28, "SymmetricKeyFoundryServerKMIPV1_0", (1, 3) .. (2, 0);
        SymmetricKeyFoundryServerKmipV1_1 = 0x29, "SymmetricKeyFoundryServerKMIPV1_1", (1, 3) .. (2, 0);
        SymmetricKeyFoundryServerKmipV1_2 = 0x2A, "SymmetricKeyFoundryServerKMIPV1_2", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreClientKmipV1_0 = 0x2B, "OpaqueManagedObjectStoreClientKMIPV1_0", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreClientKmipV1_1 = 0x2C, "OpaqueManagedObjectStoreClientKMIPV1_1", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreClientKmipV1_2 = 0x2D, "OpaqueManagedObjectStoreClientKMIPV1_2", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreServerKmipV1_0 = 0x2E, "OpaqueManagedObjectStoreServerKMIPV1_0", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreServerKmipV1_1 = 0x2F, "OpaqueManagedObjectStoreServerKMIPV1_1", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreServerKmipV1_2 = 0x30, "OpaqueManagedObjectStoreServerKMIPV1_2", (1, 3) .. (2, 0);
        SuiteBMinLos128ClientKmipV1_0 = 0x31, "SuiteBMinLOS_128ClientKMIPV1_0", (1, 3) .. (2, 0);
        SuiteBMinLos128ClientKmipV1_1 = 0x32, "SuiteBMinLOS_128ClientKMIPV1_1", (1, 3) .. (2, 0);
        SuiteBMinLos128ClientKmipV1_2 = 0x33, "SuiteBMinLOS_128ClientKMIPV1_2", (1, 3) .. (2, 0);
        SuiteBMinLos128ServerKmipV1_0 = 0x34, "SuiteBMinLOS_128ServerKMIPV1_0", (1, 3) .. (2, 0);
        SuiteBMinLos128ServerKmipV1_1 = 0x35, "SuiteBMinLOS_128ServerKMIPV1_1", (1, 3) .. (2, 0);
        SuiteBMinLos128ServerKmipV1_2 = 0x36, "SuiteBMinLOS_128ServerKMIPV1_2", (1, 3) .. (2, 0);
        SuiteBMinLos192ClientKmipV1_0 = 0x37, "SuiteBMinLOS_192ClientKMIPV1_0", (1, 3) .. (2, 0);
        SuiteBMinLos192ClientKmipV1_1 = 0x38, "SuiteBMinLOS_192ClientKMIPV1_1", (1, 3) .. (2, 0);
        SuiteBMinLos192ClientKmipV1_2 = 0x39, "SuiteBMinLOS_192ClientKMIPV1_2", (1, 3) .. (2, 0);
        SuiteBMinLos192ServerKmipV1_0 = 0x3A, "SuiteBMinLOS_192ServerKMIPV1_0", (1, 3) .. (2, 0);
        SuiteBMinLos192ServerKmipV1_1 = 0x3B, "SuiteBMinLOS_192ServerKMIPV1_1", (1, 3) .. (2, 0);
        SuiteBMinLos192ServerKmipV1_2 = 0x3C, "SuiteBMinLOS_192ServerKMIPV1_2", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveClientKmipV1_0 = 0x3D, "StorageArrayWithSelfEncryptingDriveClientKMIPV1_0", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveClientKmipV1_1 = 0x3E, "StorageArrayWithSelfEncryptingDriveClientKMIPV1_1", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveClientKmipV1_2 = 0x3F, "StorageArrayWithSelfEncryptingDriveClientKMIPV1_2", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveServerKmipV1_0 = 0x40, "StorageArrayWithSelfEncryptingDriveServerKMIPV1_0", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveServerKmipV1_1 = 0x41, "StorageArrayWithSelfEncryptingDriveServerKMIPV1_1", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveServerKmipV1_2 = 0x42, "StorageArrayWithSelfEncryptingDriveServerKMIPV1_2", (1, 3) .. (2, 0);
        HttpsClientKmipV1_0 = 0x43, "HTTPSClientKMIPV1_0", (1, 3) .. (2, 0);
        HttpsClientKmipV1_1 = 0x44, "HTTPSClientKMIPV1_1", (1, 3) .. (2, 0);
        HttpsClientKmipV1_2 = 0x45, "HTTPSClientKMIPV1_2", (1, 3) .. (2, 0);
        HttpsServerKmipV1_0 = 0x46, "HTTPSServerKMIPV1_0", (1, 3) .. (2, 0);
        HttpsServerKmipV1_1 = 0x47, "HTTPSServerKMIPV1_1", (1, 3) .. (2, 0);
        HttpsServerKmipV1_2 = 0x48, "HTTPSServerKMIPV1_2", (1, 3) .. (2, 0);
        JsonClientKmipV1_0 = 0x49, "JSONClientKMIPV1_0", (1, 3) .. (2, 0);
        JsonClientKmipV1_1 = 0x4A, "JSONClientKMIPV1_1", (1, 3) .. (2, 0);
        JsonClientKmipV1_2 = 0x4B, "JSONClientKMIPV1_2", (1, 3) .. (2, 0);
        JsonServerKmipV1_0 = 0x4C, "JSONServerKMIPV1_0", (1, 3) .. (2, 0);
        JsonServerKmipV1_1 = 0x4D, "JSONServerKMIPV1_1", (1, 3) .. (2, 0);
        JsonServerKmipV1_2 = 0x4E, "JSONServerKMIPV1_2", (1, 3) .. (2, 0);
        XmlClientKmipV1_0 = 0x4F, "XMLClientKMIPV1_0", (1, 3) .. (2, 0);
        XmlClientKmipV1_1 = 0x50, "XMLClientKMIPV1_1", (1, 3) .. (2, 0);
        XmlClientKmipV1_2 = 0x51, "XMLClientKMIPV1_2", (1, 3) .. (2, 0);
        XmlServerKmipV1_0 = 0x52, "XMLServerKMIPV1_0", (1, 3) .. (2, 0);
        XmlServerKmipV1_1 = 0x53, "XMLServerKMIPV1_1", (1, 3) .. (2, 0);
        XmlServerKmipV1_2 = 0x54, "XMLServerKMIPV1_2", (1, 3) .. (2, 0);
        BaselineServerBasicKmipV1_3 = 0x55, "BaselineServerBasicKMIPV1_3", (1, 3) .. (2, 0);
        BaselineServerTlsV1_2KmipV1_3 = 0x56, "BaselineServerTLSV1_2KMIPV1_3", (1, 3) .. (2, 0);
        BaselineClientBasicKmipV1_3 = 0x57, "BaselineClientBasicKMIPV1_3", (1, 3) .. (2, 0);
        BaselineClientTlsV1_2KmipV1_3 = 0x58, "BaselineClientTLSV1_2KMIPV1_3", (1, 3) .. (2, 0);
        CompleteServerBasicKmipV1_3 = 0x59, "CompleteServerBasicKMIPV1_3", (1, 3) .. (2, 0);
        CompleteServerTlsV1_2KmipV1_3 = 0x5A, "CompleteServerTLSV1_2KMIPV1_3", (1, 3) .. (2, 0);
        TapeLibraryClientKmipV1_3 = 0x5B, "TapeLibraryClientKMIPV1_3", (1, 3) .. (2, 0);
        TapeLibraryServerKmipV1_3 = 0x5C, "TapeLibraryServerKMIPV1_3", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleClientKmipV1_3 = 0x5D, "SymmetricKeyLifecycleClientKMIPV1_3", (1, 3) .. (2, 0);
        SymmetricKeyLifecycleServerKmipV1_3 = 0x5E, "SymmetricKeyLifecycleServerKMIPV1_3", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleClientKmipV1_3 = 0x5F, "AsymmetricKeyLifecycleClientKMIPV1_3", (1, 3) .. (2, 0);
        AsymmetricKeyLifecycleServerKmipV1_3 = 0x60, "AsymmetricKeyLifecycleServerKMIPV1_3", (1, 3) .. (2, 0);
        BasicCryptographicClientKmipV1_3 = 0x61, "BasicCryptographicClientKMIPV1_3", (1, 3) .. (2, 0);
        BasicCryptographicServerKmipV1_3 = 0x62, "BasicCryptographicServerKMIPV1_3", (1, 3) .. (2, 0);
        AdvancedCryptographicClientKmipV1_3 = 0x63, "AdvancedCryptographicClientKMIPV1_3", (1, 3) .. (2, 0);
        AdvancedCryptographicServerKmipV1_3 = 0x64, "AdvancedCryptographicServerKMIPV1_3", (1, 3) .. (2, 0);
        RngCryptographicClientKmipV1_3 = 0x65, "RNGCryptographicClientKMIPV1_3", (1, 3) .. (2, 0);
        RngCryptographicServerKmipV1_3 = 0x66, "RNGCryptographicServerKMIPV1_3", (1, 3) .. (2, 0);
        BasicSymmetricKeyFoundryClientKmipV1_3 = 0x67, "BasicSymmetricKeyFoundryClientKMIPV1_3", (1, 3) .. (2, 0);
        IntermediateSymmetricKeyFoundryClientKmipV1_3 = 0x68, "IntermediateSymmetricKeyFoundryClientKMIPV1_3", (1, 3) .. (2, 0);
        AdvancedSymmetricKeyFoundryClientKmipV1_3 = 0x69, "AdvancedSymmetricKeyFoundryClientKMIPV1_3", (1, 3) .. (2, 0);
        SymmetricKeyFoundryServerKmipV1_3 = 0x6A, "SymmetricKeyFoundryServerKMIPV1_3", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreClientKmipV1_3 = 0x6B, "OpaqueManagedObjectStoreClientKMIPV1_3", (1, 3) .. (2, 0);
        OpaqueManagedObjectStoreServerKmipV1_3 = 0x6C, "OpaqueManagedObjectStoreServerKMIPV1_3", (1, 3) .. (2, 0);
        SuiteBMinLos128ClientKmipV1_3 = 0x6D, "SuiteBMinLOS_128ClientKMIPV1_3", (1, 3) .. (2, 0);
        SuiteBMinLos128ServerKmipV1_3 = 0x6E, "SuiteBMinLOS_128ServerKMIPV1_3", (1, 3) .. (2, 0);
        SuiteBMinLos192ClientKmipV1_3 = 0x6F, "SuiteBMinLOS_192ClientKMIPV1_3", (1, 3) .. (2, 0);
        SuiteBMinLos192ServerKmipV1_3 = 0x70, "SuiteBMinLOS_192ServerKMIPV1_3", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveClientKmipV1_3 = 0x71, "StorageArrayWithSelfEncryptingDriveClientKMIPV1_3", (1, 3) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveServerKmipV1_3 = 0x72, "StorageArrayWithSelfEncryptingDriveServerKMIPV1_3", (1, 3) .. (2, 0);
        HttpsClientKmipV1_3 = 0x73, "HTTPSClientKMIPV1_3", (1, 3) .. (2, 0);
        HttpsServerKmipV1_3 = 0x74, "HTTPSServerKMIPV1_3", (1, 3) .. (2, 0);
        JsonClientKmipV1_3 = 0x75, "JSONClientKMIPV1_3", (1, 3) .. (2, 0);
        JsonServerKmipV1_3 = 0x76, "JSONServerKMIPV1_3", (1, 3) .. (2, 0);
        XmlClientKmipV1_3 = 0x77, "XMLClientKMIPV1_3", (1, 3) .. (2, 0);
        XmlServerKmipV1_3 = 0x78, "XMLServerKMIPV1_3", (1, 3) .. (2, 0);
        BaselineServerBasicKmipV1_4 = 0x79, "BaselineServerBasicKMIPV1_4", (1, 4) .. (2, 0);
        BaselineServerTlsV1_2KmipV1_4 = 0x7A, "BaselineServerTLSV1_2KMIPV1_4", (1, 4) .. (2, 0);
        BaselineClientBasicKmipV1_4 = 0x7B, "BaselineClientBasicKMIPV1_4", (1, 4) .. (2, 0);
        BaselineClientTlsV1_2KmipV1_4 = 0x7C, "BaselineClientTLSV1_2KMIPV1_4", (1, 4) .. (2, 0);
        CompleteServerBasicKmipV1_4 = 0x7D, "CompleteServerBasicKMIPV1_4", (1, 4) .. (2, 0);
        CompleteServerTlsV1_2KmipV1_4 = 0x7E, "CompleteServerTLSV1_2KMIPV1_4", (1, 4) .. (2, 0);
        TapeLibraryClientKmipV1_4 = 0x7F, "TapeLibraryClientKMIPV1_4", (1, 4) .. (2, 0);
        TapeLibraryServerKmipV1_4 = 0x80, "TapeLibraryServerKMIPV1_4", (1, 4) .. (2, 0);
        SymmetricKeyLifecycleClientKmipV1_4 = 0x81, "SymmetricKeyLifecycleClientKMIPV1_4", (1, 4) .. (2, 0);
        SymmetricKeyLifecycleServerKmipV1_4 = 0x82, "SymmetricKeyLifecycleServerKMIPV1_4", (1, 4) .. (2, 0);
        AsymmetricKeyLifecycleClientKmipV1_4 = 0x83, "AsymmetricKeyLifecycleClientKMIPV1_4", (1, 4) .. (2, 0);
        AsymmetricKeyLifecycleServerKmipV1_4 = 0x84, "AsymmetricKeyLifecycleServerKMIPV1_4", (1, 4) .. (2, 0);
        BasicCryptographicClientKmipV1_4 = 0x85, "BasicCryptographicClientKMIPV1_4", (1, 4) .. (2, 0);
        BasicCryptographicServerKmipV1_4 = 0x86, "BasicCryptographicServerKMIPV1_4", (1, 4) .. (2, 0);
        AdvancedCryptographicClientKmipV1_4 = 0x87, "AdvancedCryptographicClientKMIPV1_4", (1, 4) .. (2, 0);
        AdvancedCryptographicServerKmipV1_4 = 0x88, "AdvancedCryptographicServerKMIPV1_4", (1, 4) .. (2, 0);
        RngCryptographicClientKmipV1_4 = 0x89, "RNGCryptographicClientKMIPV1_4", (1, 4) .. (2, 0);
        RngCryptographicServerKmipV1_4 = 0x8A, "RNGCryptographicServerKMIPV1_4", (1, 4) .. (2, 0);
        BasicSymmetricKeyFoundryClientKmipV1_4 = 0x8B, "BasicSymmetricKeyFoundryClientKMIPV1_4", (1, 4) .. (2, 0);
        IntermediateSymmetricKeyFoundryClientKmipV1_4 = 0x8C, "IntermediateSymmetricKeyFoundryClientKMIPV1_4", (1, 4) .. (2, 0);
        AdvancedSymmetricKeyFoundryClientKmipV1_4 = 0x8D, "AdvancedSymmetricKeyFoundryClientKMIPV1_4", (1, 4) .. (2, 0);
        SymmetricKeyFoundryServerKmipV1_4 = 0x8E, "SymmetricKeyFoundryServerKMIPV1_4", (1, 4) .. (2, 0);
        OpaqueManagedObjectStoreClientKmipV1_4 = 0x8F, "OpaqueManagedObjectStoreClientKMIPV1_4", (1, 4) .. (2, 0);
        OpaqueManagedObjectStoreServerKmipV1_4 = 0x90, "OpaqueManagedObjectStoreServerKMIPV1_4", (1, 4) .. (2, 0);
        SuiteBMinLos128ClientKmipV1_4 = 0x91, "SuiteBMinLOS_128ClientKMIPV1_4", (1, 4) .. (2, 0);
        SuiteBMinLos128ServerKmipV1_4 = 0x92, "SuiteBMinLOS_128ServerKMIPV1_4", (1, 4) .. (2, 0);
        SuiteBMinLos192ClientKmipV1_4 = 0x93, "SuiteBMinLOS_192ClientKMIPV1_4", (1, 4) .. (2, 0);
        SuiteBMinLos192ServerKmipV1_4 = 0x94, "SuiteBMinLOS_192ServerKMIPV1_4", (1, 4) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveClientKmipV1_4 = 0x95, "StorageArrayWithSelfEncryptingDriveClientKMIPV1_4", (1, 4) .. (2, 0);
        StorageArrayWithSelfEncryptingDriveServerKmipV1_4 = 0x96, "StorageArrayWithSelfEncryptingDriveServerKMIPV1_4", (1, 4) .. (2, 0);
        HttpsClientKmipV1_4 = 0x97, "HTTPSClientKMIPV1_4", (1, 4) .. (2, 0);
        HttpsServerKmipV1_4 = 0x98, "HTTPSServerKMIPV1_4", (1, 4) .. (2, 0);
        JsonClientKmipV1_4 = 0x99, "JSONClientKMIPV1_4", (1, 4) .. (2, 0);
        JsonServerKmipV1_4 = 0x9A, "JSONServerKMIPV1_4", (1, 4) .. (2, 0);
        XmlClientKmipV1_4 = 0x9B, "XMLClientKMIPV1_4", (1, 4) .. (2, 0);
        XmlServerKmipV1_4 = 0x9C, "XMLServerKMIPV1_4", (1, 4) .. (2, 0);
        CompleteServerBasic = 0x104, "CompleteServerBasic", (2, 0);
        CompleteServerTlsV1_2 = 0x105, "CompleteServerTLSV1_2", (2, 0);
        TapeLibraryClient = 0x106, "TapeLibraryClient", (2, 0);
        TapeLibraryServer = 0x107, "TapeLibraryServer", (2, 0);
        SymmetricKeyLifecycleClient = 0x108, "SymmetricKeyLifecycleClient", (2, 0);
        SymmetricKeyLifecycleServer = 0x109, "SymmetricKeyLifecycleServer", (2, 0);
        AsymmetricKeyLifecycleClient = 0x10A, "AsymmetricKeyLifecycleClient", (2, 0);
        AsymmetricKeyLifecycleServer = 0x10B, "AsymmetricKeyLifecycleServer", (2, 0);
        BasicCryptographicClient = 0x10C, "BasicCryptographicClient", (2, 0);
        BasicCryptographicServer = 0x10D, "BasicCryptographicServer", (2, 0);
        AdvancedCryptographicClient = 0x10E, "AdvancedCryptographicClient", (2, 0);
        AdvancedCryptographicServer = 0x10F, "AdvancedCryptographicServer", (2, 0);
        RngCryptographicClient = 0x110, "RNGCryptographicClient", (2, 0);
        RngCryptographicServer = 0x111, "RNGCryptographicServer", (2, 0);
        BasicSymmetricKeyFoundryClient = 0x112, "BasicSymmetricKeyFoundryClient", (2, 0);
        IntermediateSymmetricKeyFoundryClient = 0x113, "IntermediateSymmetricKeyFoundryClient", (2, 0);
        AdvancedSymmetricKeyFoundryClient = 0x114, "AdvancedSymmetricKeyFoundryClient", (2, 0);
        SymmetricKeyFoundryServer = 0x115, "SymmetricKeyFoundryServer", (2, 0);
        OpaqueManagedObjectStoreClient = 0x116, "OpaqueManagedObjectStoreClient", (2, 0);
        OpaqueManagedObjectStoreServer = 0x117, "OpaqueManagedObjectStoreServer", (2, 0);
        SuiteBMinLos128Client = 0x118, "SuiteBMinLOS_128Client", (2, 0);
        SuiteBMinLos128Server = 0x119, "SuiteBMinLOS_128Server", (2, 0);
        SuiteBMinLos192Client = 0x11A, "SuiteBMinLOS_192Client", (2, 0);
        SuiteBMinLos192Server = 0x11B, "SuiteBMinLOS_192Server", (2, 0);
        StorageArrayWithSelfEncryptingDriveClient = 0x11C, "StorageArrayWithSelfEncryptingDriveClient", (2, 0);
        StorageArrayWithSelfEncryptingDriveServer = 0x11D, "StorageArrayWithSelfEncryptingDriveServer", (2, 0);
        HttpsClient = 0x11E, "HTTPSClient", (2, 0);
        HttpsServer = 0x11F, "HTTPSServer", (2, 0);
        JsonClient = 0x120, "JSONClient", (2, 0);
        JsonServer = 0x121, "JSONServer", (2, 0);
        XmlClient = 0x122, "XMLClient", (2, 0);
        XmlServer = 0x123, "XMLServer", (2, 0);
        AesxtsClient = 0x124, "AESXTSClient", (2, 0);
        AesxtsServer = 0x125, "AESXTSServer", (2, 0);
        QuantumSafeClient = 0x126, "QuantumSafeClient", (2, 0);
        QuantumSafeServer = 0x127, "QuantumSafeServer", (2, 0);
        Pkcs11Client = 0x128, "PKCS_11Client", (2, 0);
        Pkcs11Server = 0x129, "PKCS_11Server", (2, 0);
        BaselineClient = 0x12A, "BaselineClient", (2, 0);
        BaselineServer = 0x12B, "BaselineServer", (2, 0);
        CompleteServer = 0x12C, "CompleteServer", (2, 0);
    }
}

kmip_enum! {
    /// Unwrap Mode (KMIP 1.4 §9.1.3.2.43).
    UnwrapMode {
        Unspecified = 0x01, "Unspecified", (1, 3);
        Processed = 0x02, "Processed", (1, 3);
        NotProcessed = 0x03, "NotProcessed", (1, 3);
    }
}

kmip_enum! {
    /// Destroy Action (KMIP 1.4 §9.1.3.2.44).
    DestroyAction {
        Unspecified = 0x01, "Unspecified", (1, 3);
        KeyMaterialDeleted = 0x02, "KeyMaterialDeleted", (1, 3);
        KeyMaterialShredded = 0x03, "KeyMaterialShredded", (1, 3);
        MetaDataDeleted = 0x04, "MetaDataDeleted", (1, 3);
        MetaDataShredded = 0x05, "MetaDataShredded", (1, 3);
        Deleted = 0x06, "Deleted", (1, 3);
        Shredded = 0x07, "Shredded", (1, 3);
    }
}

kmip_enum! {
    /// Shredding Algorithm (KMIP 1.4 §9.1.3.2.45).
    ShreddingAlgorithm {
        Unspecified = 0x01, "Unspecified", (1, 3);
        Cryptographic = 0x02, "Cryptographic", (1, 3);
        Unsupported = 0x03, "Unsupported", (1, 3);
    }
}

kmip_enum! {
    /// RNG Mode (KMIP 1.4 §9.1.3.2.46).
    RNGMode {
        Unspecified = 0x01, "Unspecified", (1, 3);
        SharedInstantiation = 0x02, "SharedInstantiation", (1, 3);
        NonSharedInstantiation = 0x03, "NonSharedInstantiation", (1, 3);
    }
}

kmip_enum! {
    /// Client Registration Method (KMIP 1.4 §9.1.3.2.47).
    ClientRegistrationMethod {
        Unspecified = 0x01, "Unspecified", (1, 3);
        ServerPreGenerated = 0x02, "ServerPreGenerated", (1, 3);
        ServerOnDemand = 0x03, "ServerOnDemand", (1, 3);
        ClientGenerated = 0x04, "ClientGenerated", (1, 3);
        ClientRegistered = 0x05, "ClientRegistered", (1, 3);
    }
}

kmip_enum! {
    /// Key Wrap Type (KMIP 1.4 §9.1.3.2.48).
    KeyWrapType {
        NotWrapped = 0x01, "NotWrapped", (1, 4);
        AsRegistered = 0x02, "AsRegistered", (1, 4);
    }
}

kmip_enum! {
    /// Mask Generator (KMIP 1.4 §9.1.3.2.49).
    MaskGenerator {
        Mgf1 = 0x01, "MGF1", (1, 4);
    }
}

kmip_enum! {
    /// Adjustment Type (KMIP 2.0).
    AdjustmentType {
        Increment = 0x01, "Increment", (2, 0);
        Decrement = 0x02, "Decrement", (2, 0);
        Negate = 0x03, "Negate", (2, 0);
    }
}

kmip_enum! {
    /// Asynchronous Indicator (KMIP 2.0; a Boolean in KMIP 1.x).
    AsynchronousIndicator {
        Mandatory = 0x01, "Mandatory", (2, 0);
        Optional = 0x02, "Optional", (2, 0);
        Prohibited = 0x03, "Prohibited", (2, 0);
    }
}

kmip_enum! {
    /// Data (KMIP 2.0).
    Data {
        Decrypt = 0x01, "Decrypt", (2, 0);
        Encrypt = 0x02, "Encrypt", (2, 0);
        Hash = 0x03, "Hash", (2, 0);
        MacmacData = 0x04, "MACMACData", (2, 0);
        RngRetrieve = 0x05, "RNGRetrieve", (2, 0);
        SignSignatureData = 0x06, "SignSignatureData", (2, 0);
        SignatureVerify = 0x07, "SignatureVerify", (2, 0);
    }
}

kmip_enum! {
    /// Endpoint Role (KMIP 2.0).
    EndpointRole {
        Client = 0x01, "Client", (2, 0);
        Server = 0x02, "Server", (2, 0);
    }
}

kmip_enum! {
    /// Interop Function (KMIP 2.0).
    InteropFunction {
        Begin = 0x01, "Begin", (2, 0);
        End = 0x02, "End", (2, 0);
        Reset = 0x03, "Reset", (2, 0);
    }
}

kmip_enum! {
    /// NIST Key Type (KMIP 2.0).
    NISTKeyType {
        PrivateSignatureKey = 0x01, "PrivateSignatureKey", (2, 0);
        PublicSignatureVerificationKey = 0x02, "PublicSignatureVerificationKey", (2, 0);
        SymmetricAuthenticationKey = 0x03, "SymmetricAuthenticationKey", (2, 0);
        PrivateAuthenticationKey = 0x04, "PrivateAuthenticationKey", (2, 0);
        PublicAuthenticationKey = 0x05, "PublicAuthenticationKey", (2, 0);
        SymmetricDataEncryptionKey = 0x06, "SymmetricDataEncryptionKey", (2, 0);
        SymmetricKeyWrappingKey = 0x07, "SymmetricKeyWrappingKey", (2, 0);
        SymmetricRandomNumberGenerationKey = 0x08, "SymmetricRandomNumberGenerationKey", (2, 0);
        SymmetricMasterKey = 0x09, "SymmetricMasterKey", (2, 0);
        PrivateKeyTransportKey = 0x0A, "PrivateKeyTransportKey", (2, 0);
        PublicKeyTransportKey = 0x0B, "PublicKeyTransportKey", (2, 0);
        SymmetricKeyAgreementKey = 0x0C, "SymmetricKeyAgreementKey", (2, 0);
        PrivateStaticKeyAgreementKey = 0x0D, "PrivateStaticKeyAgreementKey", (2, 0);
        PublicStaticKeyAgreementKey = 0x0E, "PublicStaticKeyAgreementKey", (2, 0);
        PrivateEphemeralKeyAgreementKey = 0x0F, "PrivateEphemeralKeyAgreementKey", (2, 0);
        PublicEphemeralKeyAgreementKey = 0x10, "PublicEphemeralKeyAgreementKey", (2, 0);
        SymmetricAuthorizationKey = 0x11, "SymmetricAuthorizationKey", (2, 0);
        PrivateAuthorizationKey = 0x12, "PrivateAuthorizationKey", (2, 0);
        PublicAuthorizationKey = 0x13, "PublicAuthorizationKey", (2, 0);
    }
}

kmip_enum! {
    /// Protection Level (KMIP 2.0).
    ProtectionLevel {
        High = 0x01, "High", (2, 0);
        Low = 0x02, "Low", (2, 0);
    }
}

kmip_enum! {
    /// Ticket Type (KMIP 2.0).
    TicketType {
        Login = 0x01, "Login", (2, 0);
    }
}

kmip_enum! {
    /// Unique Identifier enumeration (KMIP 2.0): an Enumeration-typed Unique Identifier names
    /// the object created by an earlier operation of the same batch.
    UniqueIdentifier {
        IdPlaceholder = 0x01, "IDPlaceholder", (2, 0);
        Certify = 0x02, "Certify", (2, 0);
        Create = 0x03, "Create", (2, 0);
        CreateKeyPair = 0x04, "CreateKeyPair", (2, 0);
        CreateKeyPairPrivateKey = 0x05, "CreateKeyPairPrivateKey", (2, 0);
        CreateKeyPairPublicKey = 0x06, "CreateKeyPairPublicKey", (2, 0);
        CreateSplitKey = 0x07, "CreateSplitKey", (2, 0);
        DeriveKey = 0x08, "DeriveKey", (2, 0);
        Import = 0x09, "Import", (2, 0);
        JoinSplitKey = 0x0A, "JoinSplitKey", (2, 0);
        Locate = 0x0B, "Locate", (2, 0);
        Register = 0x0C, "Register", (2, 0);
        ReKey = 0x0D, "ReKey", (2, 0);
        ReCertify = 0x0E, "ReCertify", (2, 0);
        ReKeyKeyPair = 0x0F, "ReKeyKeyPair", (2, 0);
        ReKeyKeyPairPrivateKey = 0x10, "ReKeyKeyPairPrivateKey", (2, 0);
        ReKeyKeyPairPublicKey = 0x11, "ReKeyKeyPairPublicKey", (2, 0);
    }
}

kmip_enum! {
    /// Processing Stage (KMIP 2.1).
    ProcessingStage {
        Submitted = 0x01, "Submitted", (2, 1);
        InProcess = 0x02, "InProcess", (2, 1);
        Completed = 0x03, "Completed", (2, 1);
    }
}

kmip_enum! {
    /// PKCS#11 Function (KMIP 2.0): the 1-based position of the function in PKCS#11 3.0
    /// `CK_FUNCTION_LIST_3_0`; the XML name is the C function name.
    PKCS11Function {
        CInitialize = 0x01, "C_Initialize", (2, 0);
        CFinalize = 0x02, "C_Finalize", (2, 0);
        CGetInfo = 0x03, "C_GetInfo", (2, 0);
        CGetFunctionList = 0x04, "C_GetFunctionList", (2, 0);
        CGetSlotList = 0x05, "C_GetSlotList", (2, 0);
        CGetSlotInfo = 0x06, "C_GetSlotInfo", (2, 0);
        CGetTokenInfo = 0x07, "C_GetTokenInfo", (2, 0);
        CGetMechanismList = 0x08, "C_GetMechanismList", (2, 0);
        CGetMechanismInfo = 0x09, "C_GetMechanismInfo", (2, 0);
        CInitToken = 0x0A, "C_InitToken", (2, 0);
        CInitPin = 0x0B, "C_InitPIN", (2, 0);
        CSetPin = 0x0C, "C_SetPIN", (2, 0);
        COpenSession = 0x0D, "C_OpenSession", (2, 0);
        CCloseSession = 0x0E, "C_CloseSession", (2, 0);
        CCloseAllSessions = 0x0F, "C_CloseAllSessions", (2, 0);
        CGetSessionInfo = 0x10, "C_GetSessionInfo", (2, 0);
        CGetOperationState = 0x11, "C_GetOperationState", (2, 0);
        CSetOperationState = 0x12, "C_SetOperationState", (2, 0);
        CLogin = 0x13, "C_Login", (2, 0);
        CLogout = 0x14, "C_Logout", (2, 0);
        CCreateObject = 0x15, "C_CreateObject", (2, 0);
        CCopyObject = 0x16, "C_CopyObject", (2, 0);
        CDestroyObject = 0x17, "C_DestroyObject", (2, 0);
        CGetObjectSize = 0x18, "C_GetObjectSize", (2, 0);
        CGetAttributeValue = 0x19, "C_GetAttributeValue", (2, 0);
        CSetAttributeValue = 0x1A, "C_SetAttributeValue", (2, 0);
        CFindObjectsInit = 0x1B, "C_FindObjectsInit", (2, 0);
        CFindObjects = 0x1C, "C_FindObjects", (2, 0);
        CFindObjectsFinal = 0x1D, "C_FindObjectsFinal", (2, 0);
        CEncryptInit = 0x1E, "C_EncryptInit", (2, 0);
        CEncrypt = 0x1F, "C_Encrypt", (2, 0);
        CEncryptUpdate = 0x20, "C_EncryptUpdate", (2, 0);
        CEncryptFinal = 0x21, "C_EncryptFinal", (2, 0);
        CDecryptInit = 0x22, "C_DecryptInit", (2, 0);
        CDecrypt = 0x23, "C_Decrypt", (2, 0);
        CDecryptUpdate = 0x24, "C_DecryptUpdate", (2, 0);
        CDecryptFinal = 0x25, "C_DecryptFinal", (2, 0);
        CDigestInit = 0x26, "C_DigestInit", (2, 0);
        CDigest = 0x27, "C_Digest", (2, 0);
        CDigestUpdate = 0x28, "C_DigestUpdate", (2, 0);
        CDigestKey = 0x29, "C_DigestKey", (2, 0);
        CDigestFinal = 0x2A, "C_DigestFinal", (2, 0);
        CSignInit = 0x2B, "C_SignInit", (2, 0);
        CSign = 0x2C, "C_Sign", (2, 0);
        CSignUpdate = 0x2D, "C_SignUpdate", (2, 0);
        CSignFinal = 0x2E, "C_SignFinal", (2, 0);
        CSignRecoverInit = 0x2F, "C_SignRecoverInit", (2, 0);
        CSignRecover = 0x30, "C_SignRecover", (2, 0);
        CVerifyInit = 0x31, "C_VerifyInit", (2, 0);
        CVerify = 0x32, "C_Verify", (2, 0);
        CVerifyUpdate = 0x33, "C_VerifyUpdate", (2, 0);
        CVerifyFinal = 0x34, "C_VerifyFinal", (2, 0);
        CVerifyRecoverInit = 0x35, "C_VerifyRecoverInit", (2, 0);
        CVerifyRecover = 0x36, "C_VerifyRecover", (2, 0);
        CDigestEncryptUpdate = 0x37, "C_DigestEncryptUpdate", (2, 0);
        CDecryptDigestUpdate = 0x38, "C_DecryptDigestUpdate", (2, 0);
        CSignEncryptUpdate = 0x39, "C_SignEncryptUpdate", (2, 0);
        CDecryptVerifyUpdate = 0x3A, "C_DecryptVerifyUpdate", (2, 0);
        CGenerateKey = 0x3B, "C_GenerateKey", (2, 0);
        CGenerateKeyPair = 0x3C, "C_GenerateKeyPair", (2, 0);
        CWrapKey = 0x3D, "C_WrapKey", (2, 0);
        CUnwrapKey = 0x3E, "C_UnwrapKey", (2, 0);
        CDeriveKey = 0x3F, "C_DeriveKey", (2, 0);
        CSeedRandom = 0x40, "C_SeedRandom", (2, 0);
        CGenerateRandom = 0x41, "C_GenerateRandom", (2, 0);
        CGetFunctionStatus = 0x42, "C_GetFunctionStatus", (2, 0);
        CCancelFunction = 0x43, "C_CancelFunction", (2, 0);
        CWaitForSlotEvent = 0x44, "C_WaitForSlotEvent", (2, 0);
        CGetInterfaceList = 0x45, "C_GetInterfaceList", (2, 0);
        CGetInterface = 0x46, "C_GetInterface", (2, 0);
        CLoginUser = 0x47, "C_LoginUser", (2, 0);
        CSessionCancel = 0x48, "C_SessionCancel", (2, 0);
        CMessageEncryptInit = 0x49, "C_MessageEncryptInit", (2, 0);
        CEncryptMessage = 0x4A, "C_EncryptMessage", (2, 0);
        CEncryptMessageBegin = 0x4B, "C_EncryptMessageBegin", (2, 0);
        CEncryptMessageNext = 0x4C, "C_EncryptMessageNext", (2, 0);
        CMessageEncryptFinal = 0x4D, "C_MessageEncryptFinal", (2, 0);
        CMessageDecryptInit = 0x4E, "C_MessageDecryptInit", (2, 0);
        CDecryptMessage = 0x4F, "C_DecryptMessage", (2, 0);
        CDecryptMessageBegin = 0x50, "C_DecryptMessageBegin", (2, 0);
        CDecryptMessageNext = 0x51, "C_DecryptMessageNext", (2, 0);
        CMessageDecryptFinal = 0x52, "C_MessageDecryptFinal", (2, 0);
        CMessageSignInit = 0x53, "C_MessageSignInit", (2, 0);
        CSignMessage = 0x54, "C_SignMessage", (2, 0);
        CSignMessageBegin = 0x55, "C_SignMessageBegin", (2, 0);
        CSignMessageNext = 0x56, "C_SignMessageNext", (2, 0);
        CMessageSignFinal = 0x57, "C_MessageSignFinal", (2, 0);
        CMessageVerifyInit = 0x58, "C_MessageVerifyInit", (2, 0);
        CVerifyMessage = 0x59, "C_VerifyMessage", (2, 0);
        CVerifyMessageBegin = 0x5A, "C_VerifyMessageBegin", (2, 0);
        CVerifyMessageNext = 0x5B, "C_VerifyMessageNext", (2, 0);
        CMessageVerifyFinal = 0x5C, "C_MessageVerifyFinal", (2, 0);
    }
}

kmip_enum! {
    /// PKCS#11 Return Code (KMIP 2.0): a PKCS#11 `CK_RV`; the XML name is the `CKR_` constant
    /// without its prefix (`OK`).
    PKCS11ReturnCode {
        Ok = 0x00, "OK", (2, 0);
        Cancel = 0x01, "CANCEL", (2, 0);
        HostMemory = 0x02, "HOST_MEMORY", (2, 0);
        SlotIdInvalid = 0x03, "SLOT_ID_INVALID", (2, 0);
        GeneralError = 0x05, "GENERAL_ERROR", (2, 0);
        FunctionFailed = 0x06, "FUNCTION_FAILED", (2, 0);
        ArgumentsBad = 0x07, "ARGUMENTS_BAD", (2, 0);
        NoEvent = 0x08, "NO_EVENT", (2, 0);
        NeedToCreateThreads = 0x09, "NEED_TO_CREATE_THREADS", (2, 0);
        CantLock = 0x0A, "CANT_LOCK", (2, 0);
        AttributeReadOnly = 0x10, "ATTRIBUTE_READ_ONLY", (2, 0);
        AttributeSensitive = 0x11, "ATTRIBUTE_SENSITIVE", (2, 0);
        AttributeTypeInvalid = 0x12, "ATTRIBUTE_TYPE_INVALID", (2, 0);
        AttributeValueInvalid = 0x13, "ATTRIBUTE_VALUE_INVALID", (2, 0);
        ActionProhibited = 0x1B, "ACTION_PROHIBITED", (2, 0);
        DataInvalid = 0x20, "DATA_INVALID", (2, 0);
        DataLenRange = 0x21, "DATA_LEN_RANGE", (2, 0);
        DeviceError = 0x30, "DEVICE_ERROR", (2, 0);
        DeviceMemory = 0x31, "DEVICE_MEMORY", (2, 0);
        DeviceRemoved = 0x32, "DEVICE_REMOVED", (2, 0);
        EncryptedDataInvalid = 0x40, "ENCRYPTED_DATA_INVALID", (2, 0);
        EncryptedDataLenRange = 0x41, "ENCRYPTED_DATA_LEN_RANGE", (2, 0);
        AeadDecryptFailed = 0x42, "AEAD_DECRYPT_FAILED", (2, 0);
        FunctionCanceled = 0x50, "FUNCTION_CANCELED", (2, 0);
        FunctionNotParallel = 0x51, "FUNCTION_NOT_PARALLEL", (2, 0);
        FunctionNotSupported = 0x54, "FUNCTION_NOT_SUPPORTED", (2, 0);
        KeyHandleInvalid = 0x60, "KEY_HANDLE_INVALID", (2, 0);
        KeySizeRange = 0x62, "KEY_SIZE_RANGE", (2, 0);
        KeyTypeInconsistent = 0x63, "KEY_TYPE_INCONSISTENT", (2, 0);
        KeyNotNeeded = 0x64, "KEY_NOT_NEEDED", (2, 0);
        KeyChanged = 0x65, "KEY_CHANGED", (2, 0);
        KeyNeeded = 0x66, "KEY_NEEDED", (2, 0);
        KeyIndigestible = 0x67, "KEY_INDIGESTIBLE", (2, 0);
        KeyFunctionNotPermitted = 0x68, "KEY_FUNCTION_NOT_PERMITTED", (2, 0);
        KeyNotWrappable = 0x69, "KEY_NOT_WRAPPABLE", (2, 0);
        KeyUnextractable = 0x6A, "KEY_UNEXTRACTABLE", (2, 0);
        MechanismInvalid = 0x70, "MECHANISM_INVALID", (2, 0);
        MechanismParamInvalid = 0x71, "MECHANISM_PARAM_INVALID", (2, 0);
        ObjectHandleInvalid = 0x82, "OBJECT_HANDLE_INVALID", (2, 0);
        OperationActive = 0x90, "OPERATION_ACTIVE", (2, 0);
        OperationNotInitialized = 0x91, "OPERATION_NOT_INITIALIZED", (2, 0);
        PinIncorrect = 0xA0, "PIN_INCORRECT", (2, 0);
        PinInvalid = 0xA1, "PIN_INVALID", (2, 0);
        PinLenRange = 0xA2, "PIN_LEN_RANGE", (2, 0);
        PinExpired = 0xA3, "PIN_EXPIRED", (2, 0);
        PinLocked = 0xA4, "PIN_LOCKED", (2, 0);
        SessionClosed = 0xB0, "SESSION_CLOSED", (2, 0);
        SessionCount = 0xB1, "SESSION_COUNT", (2, 0);
        SessionHandleInvalid = 0xB3, "SESSION_HANDLE_INVALID", (2, 0);
        SessionParallelNotSupported = 0xB4, "SESSION_PARALLEL_NOT_SUPPORTED", (2, 0);
        SessionReadOnly = 0xB5, "SESSION_READ_ONLY", (2, 0);
        SessionExists = 0xB6, "SESSION_EXISTS", (2, 0);
        SessionReadOnlyExists = 0xB7, "SESSION_READ_ONLY_EXISTS", (2, 0);
        SessionReadWriteSoExists = 0xB8, "SESSION_READ_WRITE_SO_EXISTS", (2, 0);
        SignatureInvalid = 0xC0, "SIGNATURE_INVALID", (2, 0);
        SignatureLenRange = 0xC1, "SIGNATURE_LEN_RANGE", (2, 0);
        TemplateIncomplete = 0xD0, "TEMPLATE_INCOMPLETE", (2, 0);
        TemplateInconsistent = 0xD1, "TEMPLATE_INCONSISTENT", (2, 0);
        TokenNotPresent = 0xE0, "TOKEN_NOT_PRESENT", (2, 0);
        TokenNotRecognized = 0xE1, "TOKEN_NOT_RECOGNIZED", (2, 0);
        TokenWriteProtected = 0xE2, "TOKEN_WRITE_PROTECTED", (2, 0);
        UnwrappingKeyHandleInvalid = 0xF0, "UNWRAPPING_KEY_HANDLE_INVALID", (2, 0);
        UnwrappingKeySizeRange = 0xF1, "UNWRAPPING_KEY_SIZE_RANGE", (2, 0);
        UnwrappingKeyTypeInconsistent = 0xF2, "UNWRAPPING_KEY_TYPE_INCONSISTENT", (2, 0);
        UserAlreadyLoggedIn = 0x100, "USER_ALREADY_LOGGED_IN", (2, 0);
        UserNotLoggedIn = 0x101, "USER_NOT_LOGGED_IN", (2, 0);
        UserPinNotInitialized = 0x102, "USER_PIN_NOT_INITIALIZED", (2, 0);
        UserTypeInvalid = 0x103, "USER_TYPE_INVALID", (2, 0);
        UserAnotherAlreadyLoggedIn = 0x104, "USER_ANOTHER_ALREADY_LOGGED_IN", (2, 0);
        UserTooManyTypes = 0x105, "USER_TOO_MANY_TYPES", (2, 0);
        WrappedKeyInvalid = 0x110, "WRAPPED_KEY_INVALID", (2, 0);
        WrappedKeyLenRange = 0x112, "WRAPPED_KEY_LEN_RANGE", (2, 0);
        WrappingKeyHandleInvalid = 0x113, "WRAPPING_KEY_HANDLE_INVALID", (2, 0);
        WrappingKeySizeRange = 0x114, "WRAPPING_KEY_SIZE_RANGE", (2, 0);
        WrappingKeyTypeInconsistent = 0x115, "WRAPPING_KEY_TYPE_INCONSISTENT", (2, 0);
        RandomSeedNotSupported = 0x120, "RANDOM_SEED_NOT_SUPPORTED", (2, 0);
        RandomNoRng = 0x121, "RANDOM_NO_RNG", (2, 0);
        DomainParamsInvalid = 0x130, "DOMAIN_PARAMS_INVALID", (2, 0);
        CurveNotSupported = 0x140, "CURVE_NOT_SUPPORTED", (2, 0);
        BufferTooSmall = 0x150, "BUFFER_TOO_SMALL", (2, 0);
        SavedStateInvalid = 0x160, "SAVED_STATE_INVALID", (2, 0);
        InformationSensitive = 0x170, "INFORMATION_SENSITIVE", (2, 0);
        StateUnsaveable = 0x180, "STATE_UNSAVEABLE", (2, 0);
        CryptokiNotInitialized = 0x190, "CRYPTOKI_NOT_INITIALIZED", (2, 0);
        CryptokiAlreadyInitialized = 0x191, "CRYPTOKI_ALREADY_INITIALIZED", (2, 0);
        MutexBad = 0x1A0, "MUTEX_BAD", (2, 0);
        MutexNotLocked = 0x1A1, "MUTEX_NOT_LOCKED", (2, 0);
        NewPinMode = 0x1B0, "NEW_PIN_MODE", (2, 0);
        NextOtp = 0x1B1, "NEXT_OTP", (2, 0);
        ExceededMaxIterations = 0x1B5, "EXCEEDED_MAX_ITERATIONS", (2, 0);
        FipsSelfTestFailed = 0x1B6, "FIPS_SELF_TEST_FAILED", (2, 0);
        LibraryLoadFailed = 0x1B7, "LIBRARY_LOAD_FAILED", (2, 0);
        PinTooWeak = 0x1B8, "PIN_TOO_WEAK", (2, 0);
        PublicKeyInvalid = 0x1B9, "PUBLIC_KEY_INVALID", (2, 0);
        FunctionRejected = 0x200, "FUNCTION_REJECTED", (2, 0);
        TokenResourceExceeded = 0x201, "TOKEN_RESOURCE_EXCEEDED", (2, 0);
        OperationCancelFailed = 0x202, "OPERATION_CANCEL_FAILED", (2, 0);
    }
}

kmip_enum! {
    /// Cryptographic Usage Mask (KMIP 1.4 §9.1.3.3.1).
    CryptographicUsageMask {
        Sign = 0x0000_0001, "Sign", (1, 0);
        Verify = 0x0000_0002, "Verify", (1, 0);
        Encrypt = 0x0000_0004, "Encrypt", (1, 0);
        Decrypt = 0x0000_0008, "Decrypt", (1, 0);
        WrapKey = 0x0000_0010, "WrapKey", (1, 0);
        UnwrapKey = 0x0000_0020, "UnwrapKey", (1, 0);
        Export = 0x0000_0040, "Export", (1, 0);
        MacGenerate = 0x0000_0080, "MACGenerate", (1, 0);
        MacVerify = 0x0000_0100, "MACVerify", (1, 0);
        DeriveKey = 0x0000_0200, "DeriveKey", (1, 0);
        ContentCommitment = 0x0000_0400, "ContentCommitment", (1, 0);
        KeyAgreement = 0x0000_0800, "KeyAgreement", (1, 0);
        CertificateSign = 0x0000_1000, "CertificateSign", (1, 0);
        CrlSign = 0x0000_2000, "CRLSign", (1, 0);
        GenerateCryptogram = 0x0000_4000, "GenerateCryptogram", (1, 0) .. (2, 0);
        ValidateCryptogram = 0x0000_8000, "ValidateCryptogram", (1, 0) .. (2, 0);
        TranslateEncrypt = 0x0001_0000, "TranslateEncrypt", (1, 0) .. (2, 0);
        TranslateDecrypt = 0x0002_0000, "TranslateDecrypt", (1, 0) .. (2, 0);
        TranslateWrap = 0x0004_0000, "TranslateWrap", (1, 0) .. (2, 0);
        TranslateUnwrap = 0x0008_0000, "TranslateUnwrap", (1, 0) .. (2, 0);
        Authenticate = 0x0010_0000, "Authenticate", (2, 0);
        Unrestricted = 0x0020_0000, "Unrestricted", (2, 0);
        FpeEncrypt = 0x0040_0000, "FPEEncrypt", (2, 0);
        FpeDecrypt = 0x0080_0000, "FPEDecrypt", (2, 0);
    }
}

kmip_enum! {
    /// Storage Status Mask (KMIP 1.4 §9.1.3.3.2).
    StorageStatusMask {
        OnLineStorage = 0x0000_0001, "OnLineStorage", (1, 0);
        ArchivalStorage = 0x0000_0002, "ArchivalStorage", (1, 0);
        DestroyedStorage = 0x0000_0004, "DestroyedStorage", (2, 0);
    }
}

kmip_enum! {
    /// Protection Storage Mask (KMIP 2.0).
    ProtectionStorageMask {
        Software = 0x0000_0001, "Software", (2, 0);
        Hardware = 0x0000_0002, "Hardware", (2, 0);
        OnProcessor = 0x0000_0004, "OnProcessor", (2, 0);
        OnSystem = 0x0000_0008, "OnSystem", (2, 0);
        OffSystem = 0x0000_0010, "OffSystem", (2, 0);
        Hypervisor = 0x0000_0020, "Hypervisor", (2, 0);
        OperatingSystem = 0x0000_0040, "OperatingSystem", (2, 0);
        Container = 0x0000_0080, "Container", (2, 0);
        OnPremises = 0x0000_0100, "OnPremises", (2, 0);
        OffPremises = 0x0000_0200, "OffPremises", (2, 0);
        SelfManaged = 0x0000_0400, "SelfManaged", (2, 0);
        Outsourced = 0x0000_0800, "Outsourced", (2, 0);
        Validated = 0x0000_1000, "Validated", (2, 0);
        SameJurisdiction = 0x0000_2000, "SameJurisdiction", (2, 0);
    }
}

/// The enumeration table for a tag, or `None` when the tag does not carry an
/// Enumeration (or carries one this crate does not name).
pub(crate) fn enum_table_for(tag: Tag) -> Option<&'static EnumTable> {
    Some(match tag {
        Tag::ASYNCHRONOUS_INDICATOR => &AsynchronousIndicator::TABLE,
        Tag::BATCH_ERROR_CONTINUATION_OPTION => &BatchErrorContinuationOption::TABLE,
        Tag::BLOCK_CIPHER_MODE => &BlockCipherMode::TABLE,
        Tag::CANCELLATION_RESULT => &CancellationResult::TABLE,
        Tag::CERTIFICATE_REQUEST_TYPE => &CertificateRequestType::TABLE,
        Tag::CERTIFICATE_TYPE => &CertificateType::TABLE,
        Tag::CREDENTIAL_TYPE => &CredentialType::TABLE,
        Tag::CRYPTOGRAPHIC_ALGORITHM => &CryptographicAlgorithm::TABLE,
        Tag::DERIVATION_METHOD => &DerivationMethod::TABLE,
        Tag::HASHING_ALGORITHM => &HashingAlgorithm::TABLE,
        Tag::KEY_COMPRESSION_TYPE => &KeyCompressionType::TABLE,
        Tag::KEY_FORMAT_TYPE => &KeyFormatType::TABLE,
        Tag::LINK_TYPE => &LinkType::TABLE,
        Tag::NAME_TYPE => &NameType::TABLE,
        Tag::OBJECT_TYPE => &ObjectType::TABLE,
        Tag::OPAQUE_DATA_TYPE => &OpaqueDataType::TABLE,
        Tag::OPERATION => &Operation::TABLE,
        Tag::PADDING_METHOD => &PaddingMethod::TABLE,
        Tag::PUT_FUNCTION => &PutFunction::TABLE,
        Tag::QUERY_FUNCTION => &QueryFunction::TABLE,
        Tag::RECOMMENDED_CURVE => &RecommendedCurve::TABLE,
        Tag::RESULT_REASON => &ResultReason::TABLE,
        Tag::RESULT_STATUS => &ResultStatus::TABLE,
        Tag::REVOCATION_REASON_CODE => &RevocationReasonCode::TABLE,
        Tag::KEY_ROLE_TYPE => &KeyRoleType::TABLE,
        Tag::SECRET_DATA_TYPE => &SecretDataType::TABLE,
        Tag::SPLIT_KEY_METHOD => &SplitKeyMethod::TABLE,
        Tag::STATE => &State::TABLE,
        Tag::UNIQUE_IDENTIFIER => &UniqueIdentifier::TABLE,
        Tag::USAGE_LIMITS_UNIT => &UsageLimitsUnit::TABLE,
        Tag::VALIDITY_INDICATOR => &ValidityIndicator::TABLE,
        Tag::WRAPPING_METHOD => &WrappingMethod::TABLE,
        Tag::ENCODING_OPTION => &EncodingOption::TABLE,
        Tag::OBJECT_GROUP_MEMBER => &ObjectGroupMember::TABLE,
        Tag::DIGITAL_SIGNATURE_ALGORITHM => &DigitalSignatureAlgorithm::TABLE,
        Tag::KEY_VALUE_LOCATION_TYPE => &KeyValueLocationType::TABLE,
        Tag::ALTERNATIVE_NAME_TYPE => &AlternativeNameType::TABLE,
        Tag::ATTESTATION_TYPE => &AttestationType::TABLE,
        Tag::RNG_ALGORITHM => &RNGAlgorithm::TABLE,
        Tag::DRBG_ALGORITHM => &DRBGAlgorithm::TABLE,
        Tag::FIPS186_VARIATION => &FIPS186Variation::TABLE,
        Tag::VALIDATION_AUTHORITY_TYPE => &ValidationAuthorityType::TABLE,
        Tag::VALIDATION_TYPE => &ValidationType::TABLE,
        Tag::PROFILE_NAME => &ProfileName::TABLE,
        Tag::UNWRAP_MODE => &UnwrapMode::TABLE,
        Tag::DESTROY_ACTION => &DestroyAction::TABLE,
        Tag::SHREDDING_ALGORITHM => &ShreddingAlgorithm::TABLE,
        Tag::RNG_MODE => &RNGMode::TABLE,
        Tag::CLIENT_REGISTRATION_METHOD => &ClientRegistrationMethod::TABLE,
        Tag::KEY_WRAP_TYPE => &KeyWrapType::TABLE,
        Tag::MASK_GENERATOR => &MaskGenerator::TABLE,
        Tag::MASK_GENERATOR_HASHING_ALGORITHM => &HashingAlgorithm::TABLE,
        Tag::NIST_KEY_TYPE => &NISTKeyType::TABLE,
        Tag::ATTRIBUTE_REFERENCE => tag_enum_table(),
        Tag::PROTECTION_LEVEL => &ProtectionLevel::TABLE,
        Tag::TICKET_TYPE => &TicketType::TABLE,
        Tag::ENDPOINT_ROLE => &EndpointRole::TABLE,
        Tag::ADJUSTMENT_TYPE => &AdjustmentType::TABLE,
        Tag::PKCS_11_FUNCTION => &PKCS11Function::TABLE,
        Tag::PKCS_11_RETURN_CODE => &PKCS11ReturnCode::TABLE,
        Tag::INTEROP_FUNCTION => &InteropFunction::TABLE,
        Tag::ROTATE_NAME_TYPE => &NameType::TABLE,
        Tag::PROCESSING_STAGE => &ProcessingStage::TABLE,
        _ => return None,
    })
}

/// The mask table for a tag whose Integer value is a bit set.
pub(crate) fn mask_table_for(tag: Tag) -> Option<&'static EnumTable> {
    Some(match tag {
        Tag::CRYPTOGRAPHIC_USAGE_MASK => &CryptographicUsageMask::TABLE,
        Tag::STORAGE_STATUS_MASK => &StorageStatusMask::TABLE,
        Tag::PROTECTION_STORAGE_MASK => &ProtectionStorageMask::TABLE,
        _ => return None,
    })
}

/// Attribute Reference (KMIP 2.0) names an attribute by its tag: the Enumeration value
/// is the tag value, the text form the tag's XML name (`ActivationDate`).
fn tag_enum_table() -> &'static EnumTable {
    static ENTRIES: OnceLock<Vec<EnumEntry>> = OnceLock::new();
    static TABLE: OnceLock<EnumTable> = OnceLock::new();
    TABLE.get_or_init(|| EnumTable {
        name: "Tag",
        entries: ENTRIES.get_or_init(|| {
            (0x42_0000..=0x42_FFFF)
                .filter_map(|v| Tag(v).info())
                .map(|i| EnumEntry {
                    value: i.value,
                    name: i.name,
                    since: i.since,
                    until: i.until,
                })
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::ProtocolVersion;
    use std::collections::HashSet;

    /// Every table registered for a tag or a mask, plus the unregistered `Data`.
    fn all_tables() -> Vec<&'static EnumTable> {
        let mut tables: Vec<&'static EnumTable> = (0x42_0000..=0x42_FFFF)
            .map(Tag)
            .filter_map(|t| enum_table_for(t).or_else(|| mask_table_for(t)))
            .collect();
        tables.push(&Data::TABLE);
        tables.sort_by_key(|t| t.name);
        tables.dedup_by_key(|t| t.name);
        tables
    }

    #[test]
    fn values_and_names_unique_within_each_table() {
        for table in all_tables() {
            let mut values = HashSet::new();
            let mut names = HashSet::new();
            for e in table.entries {
                assert!(
                    values.insert(e.value),
                    "{}: value {:#x} twice",
                    table.name,
                    e.value
                );
                assert!(
                    names.insert(e.name),
                    "{}: name {} twice",
                    table.name,
                    e.name
                );
                assert!(
                    e.until.is_none_or(|u| u > e.since),
                    "{}: {}",
                    table.name,
                    e.name
                );
            }
        }
    }

    #[test]
    fn masks_are_single_bits() {
        for tag in [
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            Tag::STORAGE_STATUS_MASK,
            Tag::PROTECTION_STORAGE_MASK,
        ] {
            let table = mask_table_for(tag).expect("mask table");
            for e in table.entries {
                assert_eq!(e.value.count_ones(), 1, "{}: {}", table.name, e.name);
            }
        }
    }

    #[test]
    fn every_registered_tag_is_known() {
        for v in 0x42_0000..=0x42_FFFF {
            let tag = Tag(v);
            if enum_table_for(tag).is_some() || mask_table_for(tag).is_some() {
                assert!(tag.is_known(), "{tag:?}");
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(ObjectType::SymmetricKey.value(), 0x02);
        assert_eq!(
            ObjectType::from_name("SymmetricKey"),
            Some(ObjectType::SymmetricKey)
        );
        assert_eq!(
            ObjectType::from_name("Symmetric Key"),
            Some(ObjectType::SymmetricKey)
        );
        assert_eq!(
            CryptographicAlgorithm::from_name("DES3"),
            Some(CryptographicAlgorithm::Des3)
        );
        assert_eq!(ResultReason::GeneralFailure.value(), 0x100);
        assert_eq!(ResultReason::from_value(0x07), ResultReason::InvalidField);
        assert_eq!(
            ResultReason::from_value(0x8000_0001),
            ResultReason::Unknown(0x8000_0001)
        );
        assert_eq!(LinkType::PublicKeyLink.value(), 0x102);
        assert_eq!(CryptographicUsageMask::Decrypt.value(), 0x08);
        assert_eq!(ValidityIndicator::ValidityUnknown.name(), Some("Unknown"));
        let e = ObjectType::TABLE.by_value(6).expect("Template");
        assert!(ObjectType::TABLE.defined_in(6, ProtocolVersion::V1_4));
        assert!(!ObjectType::TABLE.defined_in(6, ProtocolVersion::V2_0));
        assert_eq!(e.name, "Template");
        assert!(!Operation::TABLE.defined_in(Operation::Interop.value(), ProtocolVersion::V1_4));
        assert!(Operation::TABLE.defined_in(Operation::Ping.value(), ProtocolVersion::V2_1));
        assert!(!Operation::TABLE.defined_in(Operation::Ping.value(), ProtocolVersion::V2_0));
    }

    #[test]
    fn registry() {
        assert_eq!(
            enum_table_for(Tag::OBJECT_TYPE).map(|t| t.name),
            Some("ObjectType")
        );
        assert_eq!(
            enum_table_for(Tag::MASK_GENERATOR_HASHING_ALGORITHM).map(|t| t.name),
            Some("HashingAlgorithm")
        );
        assert!(enum_table_for(Tag::CRYPTOGRAPHIC_USAGE_MASK).is_none());
        assert_eq!(
            mask_table_for(Tag::CRYPTOGRAPHIC_USAGE_MASK).map(|t| t.name),
            Some("CryptographicUsageMask")
        );
        let refs = enum_table_for(Tag::ATTRIBUTE_REFERENCE).expect("tag table");
        assert_eq!(
            refs.by_name("ActivationDate").map(|e| e.value),
            Some(0x42_0001)
        );
        assert!(enum_table_for(Tag::UNIQUE_BATCH_ITEM_ID).is_none());
    }
}
