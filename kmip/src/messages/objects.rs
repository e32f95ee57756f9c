//! Managed objects (KMIP 1.4 §2.2, 2.1 §2.2) and the base objects they are built
//! from: Key Block (1.4 §2.1.3), Key Value (§2.1.4), Key Wrapping Data (§2.1.5),
//! Key Wrapping Specification (§2.1.6), the Transparent key structures (§2.1.7) and
//! Cryptographic Parameters (§3.6).
//!
//! One model serves every version. The only version-dependent shape here is the
//! attribute list a plaintext Key Value may carry: KMIP 1.x repeats `Attribute`
//! children inside the Key Value, KMIP 2.x nests one `Attributes` structure. The
//! [`KeyValue`] codec translates between them through [`Ctx`].
//!
//! Key material must never reach a log: the `Debug` output of [`KeyMaterial`],
//! [`TransparentKey`], [`KeyValue`] and [`OpaqueObject`] shows lengths, never bytes.

use std::fmt;

use super::attributes::{AttributeReferences, Attributes};
use super::codec::{
    encode_opt, kmip_struct, object_tag, wrong_type_of, BigInt, Codec, Ctx, Node, Slot,
};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::ttlv::binary::ItemRef;
use crate::ttlv::{ItemType, Tag, Ttlv, Value};
use crate::types::{
    BlockCipherMode, CertificateRequestType, CertificateType, CryptographicAlgorithm,
    DigitalSignatureAlgorithm, EncodingOption, HashingAlgorithm, KeyCompressionType, KeyFormatType,
    KeyRoleType, MaskGenerator, ObjectType, OpaqueDataType, PaddingMethod, RecommendedCurve,
    SecretDataType, SplitKeyMethod, WrappingMethod,
};

/// A managed object, as carried by Register, Get, Put, Import and Export payloads
/// (KMIP 1.4 §2.2, 2.1 §2.2). Each variant is encoded under its own tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedObject {
    /// Certificate (1.4 §2.2.1).
    Certificate(Certificate),
    /// Symmetric Key (1.4 §2.2.2).
    SymmetricKey(SymmetricKey),
    /// Public Key (1.4 §2.2.3).
    PublicKey(PublicKey),
    /// Private Key (1.4 §2.2.4).
    PrivateKey(PrivateKey),
    /// Split Key (1.4 §2.2.5).
    SplitKey(SplitKey),
    /// Template (1.4 §2.2.6; deprecated in 1.3, removed in 2.0). Kept as the raw
    /// item so a 1.x Register of a Template survives a round trip and the server
    /// can refuse it explicitly instead of failing to parse the request.
    Template(Ttlv),
    /// Secret Data (1.4 §2.2.7).
    SecretData(SecretData),
    /// Opaque Object (1.4 §2.2.8).
    OpaqueObject(OpaqueObject),
    /// PGP Key (1.4 §2.2.9).
    PgpKey(PgpKey),
    /// Certificate Request (2.1 §2.2.1).
    CertificateRequest(CertificateRequest),
}

impl ManagedObject {
    /// The tags under which a managed object travels.
    pub const OBJECT_TAGS: &'static [Tag] = &[
        Tag::CERTIFICATE,
        Tag::SYMMETRIC_KEY,
        Tag::PUBLIC_KEY,
        Tag::PRIVATE_KEY,
        Tag::SPLIT_KEY,
        Tag::TEMPLATE,
        Tag::SECRET_DATA,
        Tag::OPAQUE_OBJECT,
        Tag::PGP_KEY,
        Tag::CERTIFICATE_REQUEST,
    ];

    /// Finds and decodes the one managed object among a payload's `children`.
    /// `Ok(None)` when there is none; two objects are a `Repeated` error (no
    /// operation carries more than one). A Byte String under the Certificate Request
    /// tag is the 1.x Certify request's CSR, not an object, and is skipped.
    pub fn decode_from(children: &[Ttlv], ctx: &Ctx) -> Result<Option<Self>, DecodeError> {
        Self::decode_among(children.iter(), ctx)
    }

    /// [`Self::decode_from`] over the children of a tree or of a binary item.
    pub(crate) fn decode_among<'a, N: Node<'a>>(
        children: impl Iterator<Item = N>,
        ctx: &Ctx,
    ) -> Result<Option<Self>, DecodeError> {
        let mut found = children.filter(|c| is_object_item(*c));
        let Some(first) = found.next() else {
            return Ok(None);
        };
        if let Some(second) = found.next() {
            return Err(DecodeError::new(DecodeErrorKind::Repeated(second.tag())));
        }
        Self::from_node(first, ctx)
    }

    /// Decodes `item` as a managed object, or `Ok(None)` when it is not one (see
    /// [`Self::decode_from`] for the 1.x Certificate Request byte string).
    pub fn from_ttlv(item: &Ttlv, ctx: &Ctx) -> Result<Option<Self>, DecodeError> {
        Self::from_node(item, ctx)
    }

    fn from_node<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<Option<Self>, DecodeError> {
        if !is_object_item(item) {
            return Ok(None);
        }
        Ok(Some(match item.tag() {
            Tag::CERTIFICATE => Self::Certificate(item.decode(ctx)?),
            Tag::SYMMETRIC_KEY => Self::SymmetricKey(item.decode(ctx)?),
            Tag::PUBLIC_KEY => Self::PublicKey(item.decode(ctx)?),
            Tag::PRIVATE_KEY => Self::PrivateKey(item.decode(ctx)?),
            Tag::SPLIT_KEY => Self::SplitKey(item.decode(ctx)?),
            Tag::TEMPLATE => {
                // Kept raw; only its type is checked.
                let _ = item.structure()?;
                Self::Template(item.to_ttlv())
            }
            Tag::SECRET_DATA => Self::SecretData(item.decode(ctx)?),
            Tag::OPAQUE_OBJECT => Self::OpaqueObject(item.decode(ctx)?),
            Tag::PGP_KEY => Self::PgpKey(item.decode(ctx)?),
            Tag::CERTIFICATE_REQUEST => Self::CertificateRequest(item.decode(ctx)?),
            _ => return Ok(None),
        }))
    }

    /// Encodes the object under its own tag.
    pub fn encode(&self, ctx: &Ctx) -> Ttlv {
        let tag = self.tag();
        match self {
            Self::Certificate(o) => o.encode(tag, ctx),
            Self::SymmetricKey(o) => o.encode(tag, ctx),
            Self::PublicKey(o) => o.encode(tag, ctx),
            Self::PrivateKey(o) => o.encode(tag, ctx),
            Self::SplitKey(o) => o.encode(tag, ctx),
            Self::Template(t) => Ttlv::new(tag, t.value.clone()),
            Self::SecretData(o) => o.encode(tag, ctx),
            Self::OpaqueObject(o) => o.encode(tag, ctx),
            Self::PgpKey(o) => o.encode(tag, ctx),
            Self::CertificateRequest(o) => o.encode(tag, ctx),
        }
    }

    /// The tag the object travels under.
    pub fn tag(&self) -> Tag {
        match self {
            Self::Certificate(_) => Tag::CERTIFICATE,
            Self::SymmetricKey(_) => Tag::SYMMETRIC_KEY,
            Self::PublicKey(_) => Tag::PUBLIC_KEY,
            Self::PrivateKey(_) => Tag::PRIVATE_KEY,
            Self::SplitKey(_) => Tag::SPLIT_KEY,
            Self::Template(_) => Tag::TEMPLATE,
            Self::SecretData(_) => Tag::SECRET_DATA,
            Self::OpaqueObject(_) => Tag::OPAQUE_OBJECT,
            Self::PgpKey(_) => Tag::PGP_KEY,
            Self::CertificateRequest(_) => Tag::CERTIFICATE_REQUEST,
        }
    }

    /// The Object Type attribute value for this object.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Self::Certificate(_) => ObjectType::Certificate,
            Self::SymmetricKey(_) => ObjectType::SymmetricKey,
            Self::PublicKey(_) => ObjectType::PublicKey,
            Self::PrivateKey(_) => ObjectType::PrivateKey,
            Self::SplitKey(_) => ObjectType::SplitKey,
            Self::Template(_) => ObjectType::Template,
            Self::SecretData(_) => ObjectType::SecretData,
            Self::OpaqueObject(_) => ObjectType::OpaqueObject,
            Self::PgpKey(_) => ObjectType::PgpKey,
            Self::CertificateRequest(_) => ObjectType::CertificateRequest,
        }
    }

    /// The object's Key Block, for the object types that have one.
    pub fn key_block(&self) -> Option<&KeyBlock> {
        match self {
            Self::SymmetricKey(o) => Some(&o.key_block),
            Self::PublicKey(o) => Some(&o.key_block),
            Self::PrivateKey(o) => Some(&o.key_block),
            Self::SplitKey(o) => Some(&o.key_block),
            Self::SecretData(o) => Some(&o.key_block),
            Self::PgpKey(o) => Some(&o.key_block),
            Self::Certificate(_)
            | Self::Template(_)
            | Self::OpaqueObject(_)
            | Self::CertificateRequest(_) => None,
        }
    }

    /// The object's Key Block, mutably (to wrap or unwrap it in place).
    pub fn key_block_mut(&mut self) -> Option<&mut KeyBlock> {
        match self {
            Self::SymmetricKey(o) => Some(&mut o.key_block),
            Self::PublicKey(o) => Some(&mut o.key_block),
            Self::PrivateKey(o) => Some(&mut o.key_block),
            Self::SplitKey(o) => Some(&mut o.key_block),
            Self::SecretData(o) => Some(&mut o.key_block),
            Self::PgpKey(o) => Some(&mut o.key_block),
            Self::Certificate(_)
            | Self::Template(_)
            | Self::OpaqueObject(_)
            | Self::CertificateRequest(_) => None,
        }
    }
}

kmip_struct! {
    /// Key Block (KMIP 1.4 §2.1.3): the key and what is closely associated with it.
    pub struct KeyBlock {
        /// Key Format Type.
        pub key_format_type: KeyFormatType = one(KEY_FORMAT_TYPE),
        /// Key Compression Type (elliptic curve public keys).
        pub key_compression_type: Option<KeyCompressionType> = opt(KEY_COMPRESSION_TYPE),
        /// Key Value (absent when the server keeps the value elsewhere).
        pub key_value: Option<KeyValue> = opt(KEY_VALUE),
        /// Cryptographic Algorithm (absent for Secret Data and Opaque Objects).
        pub cryptographic_algorithm: Option<CryptographicAlgorithm> = opt(CRYPTOGRAPHIC_ALGORITHM),
        /// Cryptographic Length in bits.
        pub cryptographic_length: Option<i32> = opt(CRYPTOGRAPHIC_LENGTH),
        /// Key Wrapping Data, present exactly when the Key Value is wrapped (boxed:
        /// it is three times the size of the rest of the Key Block, and rare).
        pub key_wrapping_data: Option<Box<KeyWrappingData>> = opt(KEY_WRAPPING_DATA),
    }
}

/// Key Value (KMIP 1.4 §2.1.4, 2.1 §2.1.4): a Structure in the clear, a Byte String
/// when wrapped.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// The plaintext Key Value structure.
    Plain {
        /// Key Material.
        key_material: KeyMaterial,
        /// Attributes wrapped together with the key material (1.x: repeated
        /// `Attribute`; 2.x: one `Attributes` structure). An empty set is not
        /// emitted.
        attributes: Attributes,
        /// Children this model does not name (vendor tags), re-emitted last.
        extensions: Vec<Ttlv>,
    },
    /// The wrapped Key Value: the encrypted/MACed TTLV encoding of the Key Value
    /// structure, or of the Key Material bytes alone (see Encoding Option).
    Wrapped(Vec<u8>),
}

impl KeyValue {
    /// A plaintext Key Value carrying only `key_material`.
    pub fn plain(key_material: KeyMaterial) -> Self {
        Self::Plain {
            key_material,
            attributes: Attributes::default(),
            extensions: Vec::new(),
        }
    }

    /// The key material, when the value is not wrapped.
    pub fn key_material(&self) -> Option<&KeyMaterial> {
        match self {
            Self::Plain { key_material, .. } => Some(key_material),
            Self::Wrapped(_) => None,
        }
    }

    /// True when the value is wrapped.
    pub fn is_wrapped(&self) -> bool {
        matches!(self, Self::Wrapped(_))
    }
}

impl KeyValue {
    fn decode_node<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
        match item.item_type() {
            ItemType::ByteString => item.decode(ctx).map(Self::Wrapped),
            ItemType::Structure => {
                let mut key_material = Slot::EMPTY;
                let mut extensions = Vec::new();
                for c in item.structure()? {
                    match c.tag() {
                        Tag::KEY_MATERIAL => key_material.see(c),
                        Tag::ATTRIBUTES | Tag::ATTRIBUTE => {}
                        _ => extensions.push(c.to_ttlv()),
                    }
                }
                let attributes =
                    item.children_slice(|t| t == Tag::ATTRIBUTES || t == Tag::ATTRIBUTE);
                Ok(Self::Plain {
                    key_material: key_material.one(Tag::KEY_MATERIAL, ctx)?,
                    attributes: Attributes::decode_field(
                        &attributes,
                        Tag::ATTRIBUTES,
                        Tag::ATTRIBUTE,
                        ctx,
                    )?,
                    extensions,
                })
            }
            found => Err(wrong_type_of(item.tag(), ItemType::Structure, found)),
        }
    }
}

impl Codec for KeyValue {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        match self {
            Self::Wrapped(b) => Ttlv::new(tag, Value::ByteString(b.clone())),
            Self::Plain {
                key_material,
                attributes,
                extensions,
            } => {
                let mut out = vec![key_material.encode(Tag::KEY_MATERIAL, ctx)];
                if !attributes.items.is_empty() {
                    attributes.encode_field_as(Tag::ATTRIBUTES, Tag::ATTRIBUTE, ctx, &mut out);
                }
                out.extend(extensions.iter().cloned());
                Ttlv::structure(tag, out)
            }
        }
    }
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain {
                key_material,
                attributes,
                extensions,
            } => f
                .debug_struct("Plain")
                .field("key_material", key_material)
                .field("attributes", attributes)
                .field("extensions", &extensions.len())
                .finish(),
            Self::Wrapped(b) => write!(f, "Wrapped(<{} bytes>)", b.len()),
        }
    }
}

/// Key Material (KMIP 1.4 §2.1.4, §2.1.7): bytes for the Raw, Opaque, PKCS#1,
/// PKCS#8, X.509 and ECPrivateKey formats, a structure for the Transparent formats.
/// The wire item type decides the variant, since the Key Format Type that names
/// the format is a sibling of the Key Value, not visible to its decoder.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// Encoded key bytes.
    Bytes(Vec<u8>),
    /// A Transparent key structure (boxed: it is ten times the size of `Bytes`).
    Transparent(Box<TransparentKey>),
}

impl KeyMaterial {
    /// The key bytes of a byte-string material, or of a Transparent Symmetric Key.
    pub fn symmetric_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            Self::Transparent(t) => t.key.as_deref(),
        }
    }
}

impl KeyMaterial {
    fn decode_node<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
        match item.item_type() {
            ItemType::ByteString => item.decode(ctx).map(Self::Bytes),
            ItemType::Structure => item.decode(ctx).map(Self::Transparent),
            found => Err(wrong_type_of(item.tag(), ItemType::ByteString, found)),
        }
    }
}

impl Codec for KeyMaterial {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        match self {
            Self::Bytes(b) => Ttlv::new(tag, Value::ByteString(b.clone())),
            Self::Transparent(t) => t.encode(tag, ctx),
        }
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
            Self::Transparent(t) => f.debug_tuple("Transparent").field(t).finish(),
        }
    }
}

/// The Transparent key structures (KMIP 1.4 §2.1.7.1–2.1.7.15) as one structure
/// whose fields are all optional.
///
/// Why one structure: the Key Format Type that says which Transparent structure a
/// Key Material is travels beside the Key Value, so the Key Material decoder cannot
/// see it; and the fifteen structures only differ in which of these fields they
/// use. A single field order, the one below, is the order of every structure in the
/// specification (DSA `P Q G X|Y`, DH `P Q G J X|Y`, RSA `Modulus PrivateExponent
/// PublicExponent P Q PrimeExponentP PrimeExponentQ CRTCoefficient`, EC
/// `RecommendedCurve D|QString`, symmetric `Key`), so each re-encodes exactly.
/// Which fields a given format requires is checked where keys are used, against
/// the Key Block's Key Format Type.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TransparentKey {
    /// Key (Transparent Symmetric Key).
    pub key: Option<Vec<u8>>,
    /// Modulus (RSA).
    pub modulus: Option<BigInt>,
    /// Private Exponent (RSA).
    pub private_exponent: Option<BigInt>,
    /// Public Exponent (RSA).
    pub public_exponent: Option<BigInt>,
    /// P (DSA, DH: the prime field order; RSA: a prime factor).
    pub p: Option<BigInt>,
    /// Q (DSA, DH: the subgroup order; RSA: a prime factor).
    pub q: Option<BigInt>,
    /// G (DSA, DH generator).
    pub g: Option<BigInt>,
    /// J (DH cofactor).
    pub j: Option<BigInt>,
    /// X (DSA, DH private key).
    pub x: Option<BigInt>,
    /// Y (DSA, DH public key).
    pub y: Option<BigInt>,
    /// Prime Exponent P (RSA CRT).
    pub prime_exponent_p: Option<BigInt>,
    /// Prime Exponent Q (RSA CRT).
    pub prime_exponent_q: Option<BigInt>,
    /// CRT Coefficient (RSA CRT).
    pub crt_coefficient: Option<BigInt>,
    /// Recommended Curve (EC, ECDSA, ECDH, ECMQV).
    pub recommended_curve: Option<RecommendedCurve>,
    /// D (EC private key).
    pub d: Option<BigInt>,
    /// Q String (EC public key point).
    pub q_string: Option<Vec<u8>>,
    /// Children this model does not name (vendor Transparent formats), re-emitted
    /// last.
    pub extensions: Vec<Ttlv>,
}

/// The tags [`TransparentKey`] names, in its encoding order.
const TRANSPARENT_TAGS: [Tag; 16] = [
    Tag::KEY,
    Tag::MODULUS,
    Tag::PRIVATE_EXPONENT,
    Tag::PUBLIC_EXPONENT,
    Tag::P,
    Tag::Q,
    Tag::G,
    Tag::J,
    Tag::X,
    Tag::Y,
    Tag::PRIME_EXPONENT_P,
    Tag::PRIME_EXPONENT_Q,
    Tag::CRT_COEFFICIENT,
    Tag::RECOMMENDED_CURVE,
    Tag::D,
    Tag::Q_STRING,
];

impl TransparentKey {
    fn decode_node<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
        let mut slots = [Slot::EMPTY; TRANSPARENT_TAGS.len()];
        let mut extensions = Vec::new();
        for c in item.structure()? {
            match TRANSPARENT_TAGS.iter().position(|t| *t == c.tag()) {
                Some(i) => slots[i].see(c),
                None => extensions.push(c.to_ttlv()),
            }
        }
        let [key, modulus, private_exponent, public_exponent, p, q, g, j, x, y, prime_exponent_p, prime_exponent_q, crt_coefficient, recommended_curve, d, q_string] =
            slots;
        Ok(Self {
            key: key.opt(Tag::KEY, ctx)?,
            modulus: modulus.opt(Tag::MODULUS, ctx)?,
            private_exponent: private_exponent.opt(Tag::PRIVATE_EXPONENT, ctx)?,
            public_exponent: public_exponent.opt(Tag::PUBLIC_EXPONENT, ctx)?,
            p: p.opt(Tag::P, ctx)?,
            q: q.opt(Tag::Q, ctx)?,
            g: g.opt(Tag::G, ctx)?,
            j: j.opt(Tag::J, ctx)?,
            x: x.opt(Tag::X, ctx)?,
            y: y.opt(Tag::Y, ctx)?,
            prime_exponent_p: prime_exponent_p.opt(Tag::PRIME_EXPONENT_P, ctx)?,
            prime_exponent_q: prime_exponent_q.opt(Tag::PRIME_EXPONENT_Q, ctx)?,
            crt_coefficient: crt_coefficient.opt(Tag::CRT_COEFFICIENT, ctx)?,
            recommended_curve: recommended_curve.opt(Tag::RECOMMENDED_CURVE, ctx)?,
            d: d.opt(Tag::D, ctx)?,
            q_string: q_string.opt(Tag::Q_STRING, ctx)?,
            extensions,
        })
    }
}

impl Codec for TransparentKey {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut out = Vec::new();
        encode_opt(&self.key, Tag::KEY, ctx, &mut out);
        encode_opt(&self.modulus, Tag::MODULUS, ctx, &mut out);
        encode_opt(&self.private_exponent, Tag::PRIVATE_EXPONENT, ctx, &mut out);
        encode_opt(&self.public_exponent, Tag::PUBLIC_EXPONENT, ctx, &mut out);
        encode_opt(&self.p, Tag::P, ctx, &mut out);
        encode_opt(&self.q, Tag::Q, ctx, &mut out);
        encode_opt(&self.g, Tag::G, ctx, &mut out);
        encode_opt(&self.j, Tag::J, ctx, &mut out);
        encode_opt(&self.x, Tag::X, ctx, &mut out);
        encode_opt(&self.y, Tag::Y, ctx, &mut out);
        encode_opt(&self.prime_exponent_p, Tag::PRIME_EXPONENT_P, ctx, &mut out);
        encode_opt(&self.prime_exponent_q, Tag::PRIME_EXPONENT_Q, ctx, &mut out);
        encode_opt(&self.crt_coefficient, Tag::CRT_COEFFICIENT, ctx, &mut out);
        encode_opt(
            &self.recommended_curve,
            Tag::RECOMMENDED_CURVE,
            ctx,
            &mut out,
        );
        encode_opt(&self.d, Tag::D, ctx, &mut out);
        encode_opt(&self.q_string, Tag::Q_STRING, ctx, &mut out);
        out.extend(self.extensions.iter().cloned());
        Ttlv::structure(tag, out)
    }
}

impl fmt::Debug for TransparentKey {
    /// Names the fields present and their lengths; no value is printed (the curve
    /// name excepted, which is public).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransparentKey");
        let bytes = [("key", &self.key), ("q_string", &self.q_string)];
        for (name, v) in bytes {
            if let Some(v) = v {
                d.field(name, &Redacted(v.len()));
            }
        }
        let ints = [
            ("modulus", &self.modulus),
            ("private_exponent", &self.private_exponent),
            ("public_exponent", &self.public_exponent),
            ("p", &self.p),
            ("q", &self.q),
            ("g", &self.g),
            ("j", &self.j),
            ("x", &self.x),
            ("y", &self.y),
            ("prime_exponent_p", &self.prime_exponent_p),
            ("prime_exponent_q", &self.prime_exponent_q),
            ("crt_coefficient", &self.crt_coefficient),
            ("d", &self.d),
        ];
        for (name, v) in ints {
            if let Some(v) = v {
                d.field(name, &Redacted(v.0.len()));
            }
        }
        if let Some(c) = &self.recommended_curve {
            d.field("recommended_curve", c);
        }
        if !self.extensions.is_empty() {
            d.field("extensions", &Redacted(self.extensions.len()));
        }
        d.finish()
    }
}

/// Prints `<n bytes>` in place of a secret.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

kmip_struct! {
    /// Key Wrapping Data (KMIP 1.4 §2.1.5): how a wrapped Key Value was wrapped.
    pub struct KeyWrappingData {
        /// Wrapping Method.
        pub wrapping_method: WrappingMethod = one(WRAPPING_METHOD),
        /// Encryption Key Information.
        pub encryption_key_information: Option<EncryptionKeyInformation> = opt(ENCRYPTION_KEY_INFORMATION),
        /// MAC/Signature Key Information.
        pub mac_signature_key_information: Option<MacSignatureKeyInformation> = opt(MAC_SIGNATURE_KEY_INFORMATION),
        /// MAC/Signature over the Key Value.
        pub mac_signature: Option<Vec<u8>> = opt(MAC_SIGNATURE),
        /// IV/Counter/Nonce used by the wrapping method.
        pub iv_counter_nonce: Option<Vec<u8>> = opt(IV_COUNTER_NONCE),
        /// Encoding Option of the wrapped Key Value (absent: TTLV encoding).
        pub encoding_option: Option<EncodingOption> = opt(ENCODING_OPTION),
    }
}

impl KeyWrappingData {
    /// The Key Wrapping Data of a Key Value encrypted under `key` (Wrapping Method
    /// Encrypt; no MAC/signature, no IV), encoded as `encoding_option` says.
    pub fn encrypted(key: KeyInformation, encoding_option: Option<EncodingOption>) -> Self {
        Self {
            wrapping_method: WrappingMethod::Encrypt,
            encryption_key_information: Some(key),
            mac_signature_key_information: None,
            mac_signature: None,
            iv_counter_nonce: None,
            encoding_option,
            extensions: Vec::new(),
        }
    }
}

kmip_struct! {
    /// Key Wrapping Specification (KMIP 1.4 §2.1.6): how a client asks for a key to
    /// be returned wrapped.
    pub struct KeyWrappingSpecification {
        /// Wrapping Method.
        pub wrapping_method: WrappingMethod = one(WRAPPING_METHOD),
        /// Encryption Key Information.
        pub encryption_key_information: Option<EncryptionKeyInformation> = opt(ENCRYPTION_KEY_INFORMATION),
        /// MAC/Signature Key Information.
        pub mac_signature_key_information: Option<MacSignatureKeyInformation> = opt(MAC_SIGNATURE_KEY_INFORMATION),
        /// Attributes to wrap with the key material. Both 1.x and 2.x carry them as
        /// `Attribute Name` text strings here (2.1 §2.1.6 kept the 1.x form).
        pub attribute_names: AttributeReferences = refs(ATTRIBUTE_NAME, ATTRIBUTE_NAME),
        /// Encoding Option of the wrapped Key Value (absent: TTLV encoding).
        pub encoding_option: Option<EncodingOption> = opt(ENCODING_OPTION),
    }
}

kmip_struct! {
    /// Encryption Key Information and MAC/Signature Key Information (KMIP 1.4
    /// §2.1.5 Tables 10 and 11): the wrapping key and its parameters.
    pub struct KeyInformation {
        /// Unique Identifier of the wrapping (or MAC/signing) key.
        pub unique_identifier: String = one(UNIQUE_IDENTIFIER),
        /// Cryptographic Parameters (absent: the key's own attribute applies). Boxed:
        /// four times the size of the rest.
        pub cryptographic_parameters: Option<Box<CryptographicParameters>> = opt(CRYPTOGRAPHIC_PARAMETERS),
    }
}

/// Encryption Key Information (KMIP 1.4 §2.1.5 Table 10).
pub type EncryptionKeyInformation = KeyInformation;
/// MAC/Signature Key Information (KMIP 1.4 §2.1.5 Table 11).
pub type MacSignatureKeyInformation = KeyInformation;

kmip_struct! {
    /// Cryptographic Parameters (KMIP 1.4 §3.6, unchanged in 2.1 §4.7): every field
    /// optional.
    #[derive(Default)]
    pub struct CryptographicParameters {
        /// Block Cipher Mode.
        pub block_cipher_mode: Option<BlockCipherMode> = opt(BLOCK_CIPHER_MODE),
        /// Padding Method.
        pub padding_method: Option<PaddingMethod> = opt(PADDING_METHOD),
        /// Hashing Algorithm.
        pub hashing_algorithm: Option<HashingAlgorithm> = opt(HASHING_ALGORITHM),
        /// Key Role Type.
        pub key_role_type: Option<KeyRoleType> = opt(KEY_ROLE_TYPE),
        /// Digital Signature Algorithm (1.2).
        pub digital_signature_algorithm: Option<DigitalSignatureAlgorithm> = opt(DIGITAL_SIGNATURE_ALGORITHM),
        /// Cryptographic Algorithm (1.2).
        pub cryptographic_algorithm: Option<CryptographicAlgorithm> = opt(CRYPTOGRAPHIC_ALGORITHM),
        /// Random IV: ask the server to generate the IV (1.2).
        pub random_iv: Option<bool> = opt(RANDOM_IV),
        /// IV Length in bits (1.2).
        pub iv_length: Option<i32> = opt(IV_LENGTH),
        /// Tag Length in bytes (1.2).
        pub tag_length: Option<i32> = opt(TAG_LENGTH),
        /// Fixed Field Length in bits (1.2).
        pub fixed_field_length: Option<i32> = opt(FIXED_FIELD_LENGTH),
        /// Invocation Field Length in bits (1.2).
        pub invocation_field_length: Option<i32> = opt(INVOCATION_FIELD_LENGTH),
        /// Counter Length in bits (1.2).
        pub counter_length: Option<i32> = opt(COUNTER_LENGTH),
        /// Initial Counter Value (1.2).
        pub initial_counter_value: Option<i32> = opt(INITIAL_COUNTER_VALUE),
        /// Salt Length (1.4).
        pub salt_length: Option<i32> = opt(SALT_LENGTH),
        /// Mask Generator (1.4).
        pub mask_generator: Option<MaskGenerator> = opt(MASK_GENERATOR),
        /// Mask Generator Hashing Algorithm (1.4).
        pub mask_generator_hashing_algorithm: Option<HashingAlgorithm> = opt(MASK_GENERATOR_HASHING_ALGORITHM),
        /// P Source, the OAEP encoding parameter (1.4).
        pub p_source: Option<Vec<u8>> = opt(P_SOURCE),
        /// Trailer Field of PSS padding (1.4).
        pub trailer_field: Option<i32> = opt(TRAILER_FIELD),
    }
}

kmip_struct! {
    /// Certificate (KMIP 1.4 §2.2.1).
    pub struct Certificate {
        /// Certificate Type.
        pub certificate_type: CertificateType = one(CERTIFICATE_TYPE),
        /// Certificate Value (DER for X.509).
        pub certificate_value: Vec<u8> = one(CERTIFICATE_VALUE),
    }
}

kmip_struct! {
    /// Symmetric Key (KMIP 1.4 §2.2.2).
    pub struct SymmetricKey {
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// Public Key (KMIP 1.4 §2.2.3).
    pub struct PublicKey {
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// Private Key (KMIP 1.4 §2.2.4).
    pub struct PrivateKey {
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// Split Key (KMIP 1.4 §2.2.5).
    pub struct SplitKey {
        /// Split Key Parts: total number of parts.
        pub split_key_parts: i32 = one(SPLIT_KEY_PARTS),
        /// Key Part Identifier: which part this is.
        pub key_part_identifier: i32 = one(KEY_PART_IDENTIFIER),
        /// Split Key Threshold: parts needed to reconstruct.
        pub split_key_threshold: i32 = one(SPLIT_KEY_THRESHOLD),
        /// Split Key Method.
        pub split_key_method: SplitKeyMethod = one(SPLIT_KEY_METHOD),
        /// Prime Field Size (polynomial sharing over a prime field only).
        pub prime_field_size: Option<BigInt> = opt(PRIME_FIELD_SIZE),
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// Secret Data (KMIP 1.4 §2.2.7).
    pub struct SecretData {
        /// Secret Data Type.
        pub secret_data_type: SecretDataType = one(SECRET_DATA_TYPE),
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// PGP Key (KMIP 1.4 §2.2.9).
    pub struct PgpKey {
        /// PGP Key Version.
        pub pgp_key_version: i32 = one(PGP_KEY_VERSION),
        /// Key Block.
        pub key_block: KeyBlock = one(KEY_BLOCK),
    }
}

kmip_struct! {
    /// Certificate Request (KMIP 2.1 §2.2.1, a managed object since 2.0).
    pub struct CertificateRequest {
        /// Certificate Request Type.
        pub certificate_request_type: CertificateRequestType = one(CERTIFICATE_REQUEST_TYPE),
        /// Certificate Request Value.
        pub certificate_request_value: Vec<u8> = one(CERTIFICATE_REQUEST_VALUE),
    }
}

/// Opaque Object (KMIP 1.4 §2.2.8). Written out rather than declared with
/// `kmip_struct!` so that `Debug` does not print the value: opaque data is often a
/// password (the OMOS profile stores one).
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueObject {
    /// Opaque Data Type (usually a vendor value, 0x8xxxxxxx).
    pub opaque_data_type: OpaqueDataType,
    /// Opaque Data Value.
    pub opaque_data_value: Vec<u8>,
    /// Children this declaration does not name, re-emitted last.
    pub extensions: Vec<Ttlv>,
}

impl OpaqueObject {
    fn decode_node<'a, N: Node<'a>>(item: N, ctx: &Ctx) -> Result<Self, DecodeError> {
        let (mut data_type, mut data_value) = (Slot::EMPTY, Slot::EMPTY);
        let mut extensions = Vec::new();
        for c in item.structure()? {
            match c.tag() {
                Tag::OPAQUE_DATA_TYPE => data_type.see(c),
                Tag::OPAQUE_DATA_VALUE => data_value.see(c),
                _ => extensions.push(c.to_ttlv()),
            }
        }
        Ok(Self {
            opaque_data_type: data_type.one(Tag::OPAQUE_DATA_TYPE, ctx)?,
            opaque_data_value: data_value.one(Tag::OPAQUE_DATA_VALUE, ctx)?,
            extensions,
        })
    }
}

impl Codec for OpaqueObject {
    fn decode(item: &Ttlv, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn decode_ref(item: ItemRef<'_>, ctx: &Ctx) -> Result<Self, DecodeError> {
        Self::decode_node(item, ctx)
    }

    fn encode(&self, tag: Tag, ctx: &Ctx) -> Ttlv {
        let mut out = vec![
            self.opaque_data_type.encode(Tag::OPAQUE_DATA_TYPE, ctx),
            self.opaque_data_value.encode(Tag::OPAQUE_DATA_VALUE, ctx),
        ];
        out.extend(self.extensions.iter().cloned());
        Ttlv::structure(tag, out)
    }
}

impl fmt::Debug for OpaqueObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpaqueObject")
            .field("opaque_data_type", &self.opaque_data_type)
            .field("opaque_data_value", &Redacted(self.opaque_data_value.len()))
            .field("extensions", &self.extensions.len())
            .finish()
    }
}

/// True when `item` is a managed object. 1.x Certify and Re-certify requests use
/// the Certificate Request tag for a Byte String (the request itself), so under
/// that tag only a Structure counts.
fn is_object_item<'a, N: Node<'a>>(item: N) -> bool {
    let tag = item.tag();
    matches!(tag, object_tag!())
        && (tag != Tag::CERTIFICATE_REQUEST || item.item_type() == ItemType::Structure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::attributes::Attribute;
    use crate::version::ProtocolVersion;

    const V14: Ctx = Ctx::new(ProtocolVersion::V1_4);
    const V21: Ctx = Ctx::new(ProtocolVersion::V2_1);

    fn t(tag: Tag, value: Value) -> Ttlv {
        Ttlv::new(tag, value)
    }

    fn enumeration(tag: Tag, v: u32) -> Ttlv {
        t(tag, Value::Enumeration(v))
    }

    fn key_block(key_value: Ttlv) -> Ttlv {
        Ttlv::structure(
            Tag::KEY_BLOCK,
            vec![
                enumeration(Tag::KEY_FORMAT_TYPE, KeyFormatType::Raw.value()),
                key_value,
                enumeration(
                    Tag::CRYPTOGRAPHIC_ALGORITHM,
                    CryptographicAlgorithm::Aes.value(),
                ),
                t(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(128)),
            ],
        )
    }

    fn round_trip(item: &Ttlv, ctx: &Ctx) -> ManagedObject {
        let obj = ManagedObject::from_ttlv(item, ctx)
            .unwrap()
            .expect("an object tag");
        assert_eq!(&obj.encode(ctx), item, "round trip under {}", ctx.version);
        obj
    }

    const SECRET: [u8; 16] = [0xA5; 16];

    #[test]
    fn symmetric_key_round_trips_in_both_versions() {
        let item = Ttlv::structure(
            Tag::SYMMETRIC_KEY,
            vec![key_block(Ttlv::structure(
                Tag::KEY_VALUE,
                vec![t(Tag::KEY_MATERIAL, Value::ByteString(SECRET.to_vec()))],
            ))],
        );
        for ctx in [V14, V21] {
            let obj = round_trip(&item, &ctx);
            assert_eq!(obj.object_type(), ObjectType::SymmetricKey);
            let kv = obj.key_block().unwrap().key_value.as_ref().unwrap();
            assert_eq!(
                kv.key_material().unwrap().symmetric_bytes(),
                Some(&SECRET[..])
            );
        }
    }

    #[test]
    fn key_value_attributes_follow_the_version() {
        let material = t(Tag::KEY_MATERIAL, Value::ByteString(SECRET.to_vec()));
        let v1 = Ttlv::structure(
            Tag::KEY_VALUE,
            vec![
                material.clone(),
                Ttlv::structure(
                    Tag::ATTRIBUTE,
                    vec![
                        t(
                            Tag::ATTRIBUTE_NAME,
                            Value::TextString("Cryptographic Length".into()),
                        ),
                        t(Tag::ATTRIBUTE_VALUE, Value::Integer(128)),
                    ],
                ),
                Ttlv::structure(
                    Tag::ATTRIBUTE,
                    vec![
                        t(Tag::ATTRIBUTE_NAME, Value::TextString("x-Owner".into())),
                        t(Tag::ATTRIBUTE_VALUE, Value::TextString("ops".into())),
                    ],
                ),
            ],
        );
        let v2 = Ttlv::structure(
            Tag::KEY_VALUE,
            vec![
                material,
                Ttlv::structure(
                    Tag::ATTRIBUTES,
                    vec![
                        t(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(128)),
                        Ttlv::structure(
                            Tag::ATTRIBUTE,
                            vec![
                                t(Tag::VENDOR_IDENTIFICATION, Value::TextString("x".into())),
                                t(Tag::ATTRIBUTE_NAME, Value::TextString("Owner".into())),
                                t(Tag::ATTRIBUTE_VALUE, Value::TextString("ops".into())),
                            ],
                        ),
                    ],
                ),
            ],
        );
        let from_v1 = KeyValue::decode(&v1, &V14).unwrap();
        let from_v2 = KeyValue::decode(&v2, &V21).unwrap();
        assert_eq!(from_v1, from_v2, "one internal model");
        let KeyValue::Plain { attributes, .. } = &from_v1 else {
            panic!("plain")
        };
        assert_eq!(attributes.cryptographic_length(), Some(128));
        assert_eq!(
            attributes.vendor("x", "Owner"),
            Some(&Value::TextString("ops".into()))
        );
        assert_eq!(from_v1.encode(Tag::KEY_VALUE, &V14), v1);
        assert_eq!(from_v1.encode(Tag::KEY_VALUE, &V21), v2);
    }

    #[test]
    fn wrapped_key_value_is_a_byte_string() {
        let wrapped = vec![0x5A; 40];
        let mut kb = key_block(t(Tag::KEY_VALUE, Value::ByteString(wrapped.clone())));
        let Value::Structure(c) = &mut kb.value else {
            unreachable!()
        };
        c.push(Ttlv::structure(
            Tag::KEY_WRAPPING_DATA,
            vec![
                enumeration(Tag::WRAPPING_METHOD, WrappingMethod::Encrypt.value()),
                Ttlv::structure(
                    Tag::ENCRYPTION_KEY_INFORMATION,
                    vec![
                        t(Tag::UNIQUE_IDENTIFIER, Value::TextString("kek-1".into())),
                        Ttlv::structure(
                            Tag::CRYPTOGRAPHIC_PARAMETERS,
                            vec![enumeration(
                                Tag::BLOCK_CIPHER_MODE,
                                BlockCipherMode::NistKeyWrap.value(),
                            )],
                        ),
                    ],
                ),
                t(Tag::IV_COUNTER_NONCE, Value::ByteString(vec![1, 2, 3])),
            ],
        ));
        let item = Ttlv::structure(Tag::SYMMETRIC_KEY, vec![kb]);
        for ctx in [V14, V21] {
            let obj = round_trip(&item, &ctx);
            let kb = obj.key_block().unwrap();
            assert_eq!(kb.key_value, Some(KeyValue::Wrapped(wrapped.clone())));
            let kwd = kb.key_wrapping_data.as_ref().unwrap();
            let eki = kwd.encryption_key_information.as_ref().unwrap();
            assert_eq!(eki.unique_identifier, "kek-1");
            let cp = eki.cryptographic_parameters.as_ref().unwrap();
            assert_eq!(cp.block_cipher_mode, Some(BlockCipherMode::NistKeyWrap));
        }
    }

    #[test]
    fn transparent_rsa_private_key_round_trips() {
        let fields = [
            Tag::MODULUS,
            Tag::PRIVATE_EXPONENT,
            Tag::PUBLIC_EXPONENT,
            Tag::P,
            Tag::Q,
            Tag::PRIME_EXPONENT_P,
            Tag::PRIME_EXPONENT_Q,
            Tag::CRT_COEFFICIENT,
        ];
        let material = Ttlv::structure(
            Tag::KEY_MATERIAL,
            fields
                .iter()
                .zip(1u8..)
                .map(|(&tag, n)| t(tag, Value::BigInteger(vec![n; 8])))
                .collect(),
        );
        let item = Ttlv::structure(
            Tag::PRIVATE_KEY,
            vec![Ttlv::structure(
                Tag::KEY_BLOCK,
                vec![
                    enumeration(
                        Tag::KEY_FORMAT_TYPE,
                        KeyFormatType::TransparentRsaPrivateKey.value(),
                    ),
                    Ttlv::structure(Tag::KEY_VALUE, vec![material]),
                    enumeration(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        CryptographicAlgorithm::Rsa.value(),
                    ),
                    t(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(64)),
                ],
            )],
        );
        for ctx in [V14, V21] {
            let obj = round_trip(&item, &ctx);
            let km = obj
                .key_block()
                .unwrap()
                .key_value
                .as_ref()
                .unwrap()
                .key_material()
                .unwrap();
            let KeyMaterial::Transparent(tk) = km else {
                panic!("transparent")
            };
            assert_eq!(tk.crt_coefficient, Some(BigInt(vec![8; 8])));
            assert_eq!(tk.key, None);
        }
    }

    #[test]
    fn transparent_ec_public_key_round_trips() {
        let item = Ttlv::structure(
            Tag::PUBLIC_KEY,
            vec![Ttlv::structure(
                Tag::KEY_BLOCK,
                vec![
                    enumeration(
                        Tag::KEY_FORMAT_TYPE,
                        KeyFormatType::TransparentEcPublicKey.value(),
                    ),
                    Ttlv::structure(
                        Tag::KEY_VALUE,
                        vec![Ttlv::structure(
                            Tag::KEY_MATERIAL,
                            vec![
                                enumeration(Tag::RECOMMENDED_CURVE, RecommendedCurve::P256.value()),
                                t(Tag::Q_STRING, Value::ByteString(vec![4; 65])),
                            ],
                        )],
                    ),
                    enumeration(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        CryptographicAlgorithm::Ec.value(),
                    ),
                    t(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
                ],
            )],
        );
        for ctx in [V14, V21] {
            round_trip(&item, &ctx);
        }
    }

    #[test]
    fn split_key_secret_data_opaque_certificate_round_trip() {
        let kv = Ttlv::structure(
            Tag::KEY_VALUE,
            vec![t(Tag::KEY_MATERIAL, Value::ByteString(SECRET.to_vec()))],
        );
        let split = Ttlv::structure(
            Tag::SPLIT_KEY,
            vec![
                t(Tag::SPLIT_KEY_PARTS, Value::Integer(3)),
                t(Tag::KEY_PART_IDENTIFIER, Value::Integer(1)),
                t(Tag::SPLIT_KEY_THRESHOLD, Value::Integer(2)),
                enumeration(
                    Tag::SPLIT_KEY_METHOD,
                    SplitKeyMethod::PolynomialSharingPrimeField.value(),
                ),
                t(
                    Tag::PRIME_FIELD_SIZE,
                    Value::BigInteger(vec![0, 0, 0, 0, 0, 0, 0, 0x65]),
                ),
                key_block(kv.clone()),
            ],
        );
        let secret = Ttlv::structure(
            Tag::SECRET_DATA,
            vec![
                enumeration(Tag::SECRET_DATA_TYPE, SecretDataType::Password.value()),
                Ttlv::structure(
                    Tag::KEY_BLOCK,
                    vec![
                        enumeration(Tag::KEY_FORMAT_TYPE, KeyFormatType::Opaque.value()),
                        kv.clone(),
                    ],
                ),
            ],
        );
        let opaque = Ttlv::structure(
            Tag::OPAQUE_OBJECT,
            vec![
                enumeration(Tag::OPAQUE_DATA_TYPE, 0x8000_0001),
                t(
                    Tag::OPAQUE_DATA_VALUE,
                    Value::ByteString(b"hunter2".to_vec()),
                ),
            ],
        );
        let cert = Ttlv::structure(
            Tag::CERTIFICATE,
            vec![
                enumeration(Tag::CERTIFICATE_TYPE, CertificateType::X509.value()),
                t(Tag::CERTIFICATE_VALUE, Value::ByteString(vec![0x30, 0x82])),
            ],
        );
        let pgp = Ttlv::structure(
            Tag::PGP_KEY,
            vec![t(Tag::PGP_KEY_VERSION, Value::Integer(4)), key_block(kv)],
        );
        for ctx in [V14, V21] {
            for item in [&split, &secret, &opaque, &cert, &pgp] {
                round_trip(item, &ctx);
            }
        }
        let obj = ManagedObject::from_ttlv(&split, &V14).unwrap().unwrap();
        assert_eq!(obj.object_type(), ObjectType::SplitKey);
        assert!(obj.key_block().is_some());
        let obj = ManagedObject::from_ttlv(&opaque, &V14).unwrap().unwrap();
        assert_eq!(obj.object_type(), ObjectType::OpaqueObject);
        assert!(obj.key_block().is_none());
    }

    #[test]
    fn template_is_kept_raw() {
        let item = Ttlv::structure(
            Tag::TEMPLATE,
            vec![Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    t(
                        Tag::ATTRIBUTE_NAME,
                        Value::TextString("Cryptographic Length".into()),
                    ),
                    t(Tag::ATTRIBUTE_VALUE, Value::Integer(128)),
                ],
            )],
        );
        let obj = round_trip(&item, &V14);
        assert_eq!(obj.object_type(), ObjectType::Template);
    }

    #[test]
    fn certificate_request_object_versus_1x_byte_string() {
        let object = Ttlv::structure(
            Tag::CERTIFICATE_REQUEST,
            vec![
                enumeration(
                    Tag::CERTIFICATE_REQUEST_TYPE,
                    CertificateRequestType::Pkcs10.value(),
                ),
                t(
                    Tag::CERTIFICATE_REQUEST_VALUE,
                    Value::ByteString(vec![0x30]),
                ),
            ],
        );
        round_trip(&object, &V21);
        // A 1.x Certify request's Certificate Request is a Byte String, not an object.
        let certify = [
            enumeration(
                Tag::CERTIFICATE_REQUEST_TYPE,
                CertificateRequestType::Pkcs10.value(),
            ),
            t(Tag::CERTIFICATE_REQUEST, Value::ByteString(vec![0x30])),
        ];
        assert_eq!(ManagedObject::decode_from(&certify, &V14).unwrap(), None);
        assert_eq!(ManagedObject::from_ttlv(&certify[1], &V14).unwrap(), None);
    }

    #[test]
    fn decode_from_finds_one_object_and_refuses_two() {
        let key = Ttlv::structure(
            Tag::SYMMETRIC_KEY,
            vec![key_block(Ttlv::structure(
                Tag::KEY_VALUE,
                vec![t(Tag::KEY_MATERIAL, Value::ByteString(SECRET.to_vec()))],
            ))],
        );
        let uid = t(Tag::UNIQUE_IDENTIFIER, Value::TextString("1".into()));
        assert_eq!(
            ManagedObject::decode_from(std::slice::from_ref(&uid), &V21).unwrap(),
            None
        );
        let one = [uid.clone(), key.clone()];
        let obj = ManagedObject::decode_from(&one, &V21).unwrap().unwrap();
        assert_eq!(obj.tag(), Tag::SYMMETRIC_KEY);
        let two = [uid, key.clone(), key];
        let err = ManagedObject::decode_from(&two, &V21).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Repeated(Tag::SYMMETRIC_KEY));
    }

    #[test]
    fn object_tag_pattern_is_the_object_tag_list() {
        let mut tags: Vec<Tag> = ManagedObject::OBJECT_TAGS.to_vec();
        tags.extend((0x42_0000..0x42_0200).map(Tag));
        tags.push(Tag(0x54_0001));
        for t in tags {
            assert_eq!(
                matches!(t, object_tag!()),
                ManagedObject::OBJECT_TAGS.contains(&t),
                "{t:?}"
            );
        }
    }

    #[test]
    fn missing_key_block_is_an_error() {
        let item = Ttlv::structure(Tag::SYMMETRIC_KEY, vec![]);
        let err = ManagedObject::from_ttlv(&item, &V14).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::MissingField(Tag::KEY_BLOCK));
    }

    #[test]
    fn vendor_children_survive() {
        let vendor = t(Tag(0x54_0001), Value::TextString("v".into()));
        let item = Ttlv::structure(
            Tag::SYMMETRIC_KEY,
            vec![key_block(Ttlv::structure(
                Tag::KEY_VALUE,
                vec![
                    t(Tag::KEY_MATERIAL, Value::ByteString(SECRET.to_vec())),
                    vendor.clone(),
                ],
            ))],
        );
        round_trip(&item, &V21);
        let km = Ttlv::structure(
            Tag::KEY_MATERIAL,
            vec![t(Tag::KEY, Value::ByteString(SECRET.to_vec())), vendor],
        );
        let decoded = KeyMaterial::decode(&km, &V21).unwrap();
        assert_eq!(decoded.encode(Tag::KEY_MATERIAL, &V21), km);
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let secret_hex = "a5a5a5a5";
        let secret_dec = "165, 165";
        let plain = KeyValue::plain(KeyMaterial::Bytes(SECRET.to_vec()));
        let transparent = KeyMaterial::Transparent(Box::new(TransparentKey {
            private_exponent: Some(BigInt(SECRET.to_vec())),
            key: Some(SECRET.to_vec()),
            ..TransparentKey::default()
        }));
        let wrapped = KeyValue::Wrapped(SECRET.to_vec());
        let opaque = OpaqueObject {
            opaque_data_type: OpaqueDataType::from_value(0x8000_0001),
            opaque_data_value: SECRET.to_vec(),
            extensions: Vec::new(),
        };
        let mut attrs = Attributes::default();
        attrs.push(Attribute::standard(
            Tag::CRYPTOGRAPHIC_LENGTH,
            Value::Integer(128),
        ));
        let object = ManagedObject::SymmetricKey(SymmetricKey {
            key_block: KeyBlock {
                key_format_type: KeyFormatType::Raw,
                key_compression_type: None,
                key_value: Some(KeyValue::Plain {
                    key_material: KeyMaterial::Bytes(SECRET.to_vec()),
                    attributes: attrs,
                    extensions: Vec::new(),
                }),
                cryptographic_algorithm: Some(CryptographicAlgorithm::Aes),
                cryptographic_length: Some(128),
                key_wrapping_data: None,
                extensions: Vec::new(),
            },
            extensions: Vec::new(),
        });
        for s in [
            format!("{plain:?}"),
            format!("{transparent:?}"),
            format!("{wrapped:?}"),
            format!("{opaque:?}"),
            format!("{object:?}"),
            format!("{object:#?}"),
        ] {
            assert!(
                !s.contains(secret_hex) && !s.contains(secret_dec),
                "leaks key bytes: {s}"
            );
            assert!(s.contains("16 bytes"), "shows the length: {s}");
        }
    }
}
