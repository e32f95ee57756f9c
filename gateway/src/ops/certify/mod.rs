//! Certify (KMIP 1.4 §4.7) and Re-certify (§4.8): X.509 v3 certificates issued by
//! a CA whose private key is held in the vault, on any backend. The CA key signs
//! the TBSCertificate through [`crate::backend::KeyBackend::sign`]; it never leaves
//! its backend (a PKCS#11 token's key stays in the token).
//!
//! What to certify: a public key of the vault (Unique Identifier, or the ID
//! placeholder) or a PKCS#10 request (Certificate Request Type PKCS#10 or PEM,
//! whose signature is verified). KMIP has no attribute for a requested subject,
//! alternative names or usage, so the request carries them as vendor attributes
//! (1.x custom names `x-keygate-…`, 2.x Vendor Attribute `x` / `keygate-…`):
//!
//! | attribute | value |
//! |---|---|
//! | `x-keygate-subject` | RFC 4514 name, e.g. `CN=db1,O=Example`; default: the CSR's subject, or on Re-certify the old certificate's |
//! | `x-keygate-san` (repeatable) | `DNS:host`, `IP:10.0.0.1`, `email:a@b`, `URI:…` (a bare value is a DNS name or an IP address); default: the CSR's, or the old certificate's |
//! | `x-keygate-profile` | `tls-server`, `tls-client`, `ca` or `default` (see [`PROFILES`]) |
//! | `x-keygate-validity` | seconds (Integer, Long Integer or Interval); default: the profile's |
//! | `x-keygate-issuer` | UID of the CA private key; default: the newest Active private key named [`CA_NAME`] |
//! | `x-keygate-self-signed` | Boolean: sign with the certified key's own private key (its Private Key Link): how a vault CA is bootstrapped |
//!
//! A Deactivation Date in the request sets notAfter instead of the validity. The
//! issuer is the CA certificate the CA private key links to (its newest
//! Certificate Link); its subject becomes the issuer name and its Subject Key
//! Identifier the Authority Key Identifier.
//!
//! The certificate is registered as a Certificate object, Active from notBefore and
//! Deactivated at notAfter (Activation and Deactivation Date), with the attributes
//! Register derives from a certificate, the request's attributes (vendor ones
//! included, so Re-certify and renewal issue alike) and links: Certificate ->
//! Public Key (Public Key Link) and issuer certificate (Certificate Link); the
//! public and private keys -> the certificate (Certificate Link). A certificate for
//! a CSR links to the vault's public key with the same SubjectPublicKeyInfo (by
//! its Digest), when there is one.

mod build;
mod csr;

use super::certificate;
use super::create::{apply_export_policy, new_obj};
use super::object::{self, aad, new_uid, Material, Obj};
use super::{OpCtx, OpError};
use crate::backend::KeyRef;
use crate::config::{CertProfileConfig, EXT_KEY_USAGES};
use crate::store::ObjectFilter;
use build::{BuildError, CaKey, Tbs, Usage};
use kmip::messages::objects::{Certificate as CertObject, KeyMaterial, KeyValue, ManagedObject};
use kmip::messages::payloads::{
    CertifyRequest, CertifyResponse, ReCertifyRequest, ReCertifyResponse,
};
use kmip::messages::{Attribute, Attributes};
use kmip::ttlv::{Tag, Value};
use kmip::types::{
    CertificateRequestType, CertificateType, KeyFormatType, LinkType, ObjectType, ResultReason,
    State,
};
use sha2::{Digest as _, Sha256};
use std::str::FromStr;
use x509_cert::der::asn1::{Ia5String, ObjectIdentifier};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsages, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

/// The Name of the vault's default CA private key (`keygate cert ca` creates it).
pub const CA_NAME: &str = "keygate-ca";

/// The vendor namespace of the request attributes (1.x `x-` custom attributes).
pub const VENDOR: &str = "x";

/// The vendor attribute (in [`VENDOR`]) a certificate the vault issued carries:
/// the UID of the private key that signed it.
pub const ISSUED_BY: &str = "keygate-issued-by";

/// The built-in certificate profiles. `default`: digitalSignature, 365 days;
/// `tls-server` / `tls-client`: the same with extended key usage serverAuth /
/// clientAuth; `ca`: cA, keyCertSign, cRLSign, digitalSignature, 10 years. RSA
/// subject keys also get keyEncipherment in `default` and `tls-server` (RSA key
/// transport).
pub const PROFILES: &[&str] = &["default", "tls-server", "tls-client", "ca"];

/// Longest validity a certificate may be issued for (seconds): 20 years.
pub const MAX_VALIDITY: i64 = 20 * 365 * 86_400;

const DAY: i64 = 86_400;
const SELF_SIGNED_NEEDS_KEY: &str =
    "a self-signed certificate needs a vault public key linked to its private key";
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Certify (KMIP 1.4 §4.7).
pub fn certify(ctx: &mut OpCtx<'_>, req: &CertifyRequest) -> Result<CertifyResponse, OpError> {
    let attrs = req.attributes.clone().unwrap_or_default();
    object::check_client_attributes(&attrs)?;
    let subject = subject_key(
        ctx,
        &req.unique_identifier,
        req.certificate_request_type,
        req.certificate_request_value.as_deref(),
    )?;
    let uid = issue(ctx, attrs, subject, None)?;
    Ok(CertifyResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// Re-certify (KMIP 1.4 §4.8): a new certificate for the key of an existing
/// certificate (or for the key of a new request, e.g. after a re-key), with the
/// old certificate's attributes carried as Re-key carries a key's (names,
/// vendor request attributes; not the server's, the links or the dates), the
/// request's on top. The validity lasts as long as the old one's, from now (plus
/// Offset). The two are linked Replacement / Replaced.
pub fn recertify(
    ctx: &mut OpCtx<'_>,
    req: &ReCertifyRequest,
) -> Result<ReCertifyResponse, OpError> {
    let mut old = object::load(ctx, &req.unique_identifier)?;
    object::not_archived(&old)?;
    if old.rec.object_type != ObjectType::Certificate.value() {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "Re-certify applies to certificates",
        ));
    }
    if matches!(
        object::state(&old),
        State::Destroyed | State::DestroyedCompromised
    ) {
        return Err(OpError::new(
            ResultReason::IllegalOperation,
            "the certificate is destroyed",
        ));
    }
    let old_der = certificate_der(ctx, &old)?;
    let old_cert = parse(&old_der)?;
    let mut attrs = object::carried(&old.attrs);
    if let Some(given) = &req.attributes {
        object::check_client_attributes(given)?;
        for item in &given.items {
            if let Attribute::Standard(t) = item {
                if !object::MULTI_VALUED.contains(&t.tag) {
                    attrs.remove(t.tag);
                }
            }
            attrs.push(item.clone());
        }
    }
    let validity = old_cert.tbs_certificate().validity();
    let span = secs(&validity.not_after) - secs(&validity.not_before);
    if vendor_int(&attrs, "keygate-validity")?.is_none()
        && object::date(&attrs, Tag::DEACTIVATION_DATE).is_none()
    {
        attrs.push(Attribute::Vendor {
            vendor: VENDOR.into(),
            name: "keygate-validity".into(),
            value: Value::LongInteger(span),
        });
    }
    let offset = req.offset.map_or(0, |o| i64::from(o.0));
    let mut subject = match &req.certificate_request_value {
        Some(v) => subject_key(ctx, &None, req.certificate_request_type, Some(v))?,
        None => SubjectKey {
            spki: old_cert.tbs_certificate().subject_public_key_info().clone(),
            public_uid: last_link(&old.attrs, LinkType::PublicKeyLink),
            subject: None,
            sans: Vec::new(),
        },
    };
    if subject.subject.is_none() {
        subject.subject = Some(old_cert.tbs_certificate().subject().clone());
    }
    if subject.sans.is_empty() {
        subject.sans = sans_of(&old_cert)?;
    }
    let uid = issue(
        ctx,
        attrs,
        subject,
        Some(Replacing {
            old: old.rec.uid.clone(),
            offset,
        }),
    )?;
    super::version::link_replacement(ctx, &mut old, &uid)?;
    Ok(ReCertifyResponse {
        unique_identifier: uid,
        extensions: Vec::new(),
    })
}

/// The key a certificate is issued for, and what its request asked.
#[derive(Debug, Clone)]
struct SubjectKey {
    spki: SubjectPublicKeyInfoOwned,
    /// The vault's public key of `spki`, when known.
    public_uid: Option<String>,
    /// Subject requested by a CSR (or carried over by Re-certify).
    subject: Option<Name>,
    /// Alternative names requested by a CSR (or carried over).
    sans: Vec<GeneralName>,
}

/// The certificate a Re-certify replaces.
struct Replacing {
    old: String,
    offset: i64,
}

/// The subject key of a Certify: the CSR's (verified), or the vault public key
/// `uid` names. With both, the two must be the same key.
fn subject_key(
    ctx: &mut OpCtx<'_>,
    uid: &Option<String>,
    kind: Option<CertificateRequestType>,
    csr: Option<&[u8]>,
) -> Result<SubjectKey, OpError> {
    let Some(value) = csr else {
        let obj = object::load(ctx, uid)?;
        let spki = public_spki(ctx, &obj)?;
        return Ok(SubjectKey {
            spki,
            public_uid: Some(obj.rec.uid),
            subject: None,
            sans: Vec::new(),
        });
    };
    let csr = csr::parse(kind, value)?;
    let public_uid = match uid {
        Some(u) => {
            let obj = object::load(ctx, &Some(u.clone()))?;
            if public_spki(ctx, &obj)? != csr.spki {
                return Err(OpError::new(
                    ResultReason::InvalidField,
                    "the certificate request is for another key than the Unique Identifier's",
                ));
            }
            Some(obj.rec.uid)
        }
        None => find_public_key(ctx, &csr.spki)?,
    };
    Ok(SubjectKey {
        spki: csr.spki,
        public_uid,
        subject: Some(csr.subject),
        sans: csr.sans,
    })
}

/// Issues and registers a certificate for `key` with the request's `attrs`.
fn issue(
    ctx: &mut OpCtx<'_>,
    mut attrs: Attributes,
    key: SubjectKey,
    replacing: Option<Replacing>,
) -> Result<String, OpError> {
    let bad = |m: String| OpError::new(ResultReason::InvalidField, m);
    let subject = match vendor_text(&attrs, "keygate-subject")? {
        Some(s) => Name::from_str(s).map_err(|e| bad(format!("x-keygate-subject: {e}")))?,
        None => key.subject.clone().ok_or_else(|| {
            bad("the certificate needs a subject: give x-keygate-subject or a CSR".into())
        })?,
    };
    let mut sans = Vec::new();
    for s in vendor_texts(&attrs, "keygate-san")? {
        sans.push(general_name(s)?);
    }
    if sans.is_empty() {
        sans = key.sans.clone();
    }
    let profile = vendor_text(&attrs, "keygate-profile")?.unwrap_or("default");
    let rsa = key.spki.algorithm.oid == RSA_ENCRYPTION;
    let (usage, default_validity) = profile_usage(&ctx.vault.cert_profiles, profile, rsa)?;
    let not_before = ctx.now + replacing.as_ref().map_or(0, |r| r.offset);
    let mut not_after = match object::date(&attrs, Tag::DEACTIVATION_DATE) {
        Some(d) => d,
        None => not_before + vendor_int(&attrs, "keygate-validity")?.unwrap_or(default_validity),
    };
    if not_after <= not_before || not_after - not_before > MAX_VALIDITY {
        return Err(bad(format!(
            "the validity must be positive and at most {MAX_VALIDITY} seconds"
        )));
    }
    let self_signed = match attrs.vendor(VENDOR, "keygate-self-signed") {
        None => false,
        Some(Value::Boolean(b)) => *b,
        Some(_) => return Err(bad("x-keygate-self-signed must be a Boolean".into())),
    };
    let issuer = if self_signed {
        let public = match &key.public_uid {
            Some(u) => Some(object::load(ctx, &Some(u.clone()))?),
            None => None,
        };
        let private = public
            .and_then(|o| last_link(&o.attrs, LinkType::PrivateKeyLink))
            .ok_or_else(|| bad(SELF_SIGNED_NEEDS_KEY.into()))?;
        Issuer {
            private,
            cert: None,
        }
    } else {
        ca_issuer(ctx, &attrs)?
    };
    let (ca_obj, ca_ref, ca_kind) = super::crypto::signing_key(ctx, &Some(issuer.private.clone()))?;
    let (issuer_name, issuer_spki, issuer_key_id) = match &issuer.cert {
        Some((_, c)) => {
            let t = c.tbs_certificate();
            let ca_end = secs(&t.validity().not_after);
            if ca_end <= not_before {
                return Err(bad(format!(
                    "the CA certificate {} has expired",
                    issuer.cert.as_ref().map_or("", |(u, _)| u.as_str())
                )));
            }
            // Nothing outlives its issuer.
            not_after = not_after.min(ca_end);
            let ski = c
                .tbs_certificate()
                .get_extension::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .map(|(_, s)| s.0.as_bytes().to_vec());
            (
                t.subject().clone(),
                t.subject_public_key_info().clone(),
                ski,
            )
        }
        None => (subject.clone(), key.spki.clone(), None),
    };
    // RFC 5280 §4.1.2.2: positive, at most 20 octets, unpredictable. A first
    // octet in 0x01..=0x7f keeps the INTEGER positive and minimally encoded.
    let mut serial: [u8; 16] = rand::random();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let tbs = Tbs {
        subject,
        issuer: issuer_name,
        spki: key.spki.clone(),
        issuer_spki: issuer_spki.clone(),
        issuer_key_id,
        sans,
        usage,
        not_before,
        not_after,
        serial: serial.to_vec(),
    };
    let ca = CaKey {
        backend: ctx.backend,
        key: ca_ref,
        aad: aad(&ctx.vault.name, &ca_obj.rec.uid),
        kind: ca_kind,
    };
    let der = build::build(&tbs, &ca).map_err(|e| match e {
        BuildError::Invalid(m) => bad(m),
        BuildError::Crypto(c) => super::crypto::crypto_error(c),
    })?;
    check_signature(&der, &issuer_spki)?;

    // The certificate object. It records the key that signed it: renewal
    // (crate::renewal) re-certifies only what the vault issued.
    let uid = new_uid();
    attrs.items.retain(|a| {
        !matches!(a, Attribute::Vendor { vendor, name, .. } if vendor == VENDOR && name == ISSUED_BY)
    });
    attrs.push(Attribute::Vendor {
        vendor: VENDOR.into(),
        name: ISSUED_BY.into(),
        value: Value::TextString(issuer.private.clone()),
    });
    attrs.set(Tag::ACTIVATION_DATE, Value::DateTime(not_before));
    attrs.set(Tag::DEACTIVATION_DATE, Value::DateTime(not_after));
    let mut a = object::new_attributes(ctx, &uid, ObjectType::Certificate, &attrs)?;
    for (tag, value) in certificate::derived(CertificateType::X509, &der)
        .into_iter()
        .chain(certificate::subject_key(&der))
    {
        a.set(tag, value);
    }
    for item in certificate::attributes(&der)? {
        a.push(item);
    }
    if let Some(p) = &key.public_uid {
        a.push(Attribute::standard(
            Tag::LINK,
            object::link(LinkType::PublicKeyLink, p),
        ));
    }
    if let Some((issuer_uid, _)) = &issuer.cert {
        a.push(Attribute::standard(
            Tag::LINK,
            object::link(LinkType::CertificateLink, issuer_uid),
        ));
    }
    if let Some(r) = &replacing {
        a.push(super::version::replaced_link(&r.old));
    }
    apply_export_policy(ctx, &mut a, false)?;
    object::server_attributes(
        ctx,
        &mut a,
        &uid,
        Material {
            digest_input: Some(&der),
            format: None,
            generated: false,
        },
    );
    let key_ref = ctx
        .backend
        .import_secret(&der, &aad(&ctx.vault.name, &uid))?;
    let template = ManagedObject::Certificate(CertObject {
        certificate_type: CertificateType::X509,
        certificate_value: Vec::new(),
        extensions: Vec::new(),
    });
    let mut obj = new_obj(ctx, &uid, ObjectType::Certificate, a, &template, key_ref.0);
    object::insert(ctx, &mut obj)?;

    if let Some(p) = &key.public_uid {
        link_keys(ctx, p, &uid)?;
    }
    ctx.id_placeholder = Some(uid.clone());
    Ok(uid)
}

/// Links a certificate registered by a client (Register, KMIP 1.4 §4.3) to the
/// vault's public key with the same SubjectPublicKeyInfo, and that key and its
/// private key back to the certificate, when the vault has the key. For the
/// Register path to call once the certificate object is stored; a certificate
/// that does not parse, or whose key the vault lacks, is left without links.
pub fn link_registered(ctx: &mut OpCtx<'_>, cert_uid: &str, der: &[u8]) -> Result<(), OpError> {
    let Ok(cert) = Certificate::from_der(der) else {
        return Ok(());
    };
    let Some(public) = find_public_key(ctx, cert.tbs_certificate().subject_public_key_info())?
    else {
        return Ok(());
    };
    let mut obj = object::load(ctx, &Some(cert_uid.to_owned()))?;
    add_link(ctx, &mut obj, LinkType::PublicKeyLink, &public)?;
    link_keys(ctx, &public, cert_uid)
}

/// Adds a Certificate Link to `cert` on the public key `public` and on the private
/// key it links to.
fn link_keys(ctx: &mut OpCtx<'_>, public: &str, cert: &str) -> Result<(), OpError> {
    let mut public = object::load(ctx, &Some(public.to_owned()))?;
    let private = last_link(&public.attrs, LinkType::PrivateKeyLink);
    add_link(ctx, &mut public, LinkType::CertificateLink, cert)?;
    if let Some(pr) = private {
        if let Ok(mut private) = object::load(ctx, &Some(pr)) {
            add_link(ctx, &mut private, LinkType::CertificateLink, cert)?;
        }
    }
    Ok(())
}

/// The CA that signs: its private key and, unless self-signed, its certificate
/// (UID and parsed).
struct Issuer {
    private: String,
    cert: Option<(String, Certificate)>,
}

/// The CA of a Certify: the private key `x-keygate-issuer` names, or the newest
/// Active private key named [`CA_NAME`]; its certificate is the newest one it
/// links to, which must be a CA certificate.
fn ca_issuer(ctx: &mut OpCtx<'_>, attrs: &Attributes) -> Result<Issuer, OpError> {
    let no_ca = |m: String| OpError::new(ResultReason::InvalidField, m);
    let private = match vendor_text(attrs, "keygate-issuer")? {
        Some(u) => u.to_owned(),
        None => {
            let filter = ObjectFilter {
                object_type: Some(ObjectType::PrivateKey.value()),
                state: Some(State::Active.value()),
                name: Some(CA_NAME.to_owned()),
                object_group: None,
            };
            ctx.txn
                .list(&ctx.vault.name, &filter)?
                .into_iter()
                .max_by_key(|r| r.created_at)
                .map(|r| r.uid)
                .ok_or_else(|| {
                    no_ca(format!(
                        "the vault has no CA: no Active private key named {CA_NAME} \
                         (keygate cert ca) and no x-keygate-issuer"
                    ))
                })?
        }
    };
    let key = object::load(ctx, &Some(private.clone()))?;
    let cert_uid = last_link(&key.attrs, LinkType::CertificateLink)
        .ok_or_else(|| no_ca(format!("the CA key {private} links to no certificate")))?;
    let cert_obj = object::load(ctx, &Some(cert_uid.clone()))?;
    let cert = parse(&certificate_der(ctx, &cert_obj)?)?;
    let is_ca = cert
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, bc)| bc.ca);
    if !is_ca {
        return Err(no_ca(format!(
            "certificate {cert_uid} of the CA key is not a CA certificate"
        )));
    }
    Ok(Issuer {
        private,
        cert: Some((cert_uid, cert)),
    })
}

/// Usage and default validity of a profile: the config's (`[[cert_profiles]]`,
/// validated at load), else a built-in one.
fn profile_usage(
    configured: &[CertProfileConfig],
    profile: &str,
    rsa: bool,
) -> Result<(Usage, i64), OpError> {
    use KeyUsages as K;
    if let Some(p) = configured.iter().find(|p| p.name == profile) {
        let key_usage = p
            .key_usage
            .iter()
            .filter_map(|k| {
                Some(match k.as_str() {
                    "digitalSignature" => K::DigitalSignature,
                    "nonRepudiation" => K::NonRepudiation,
                    "keyEncipherment" => K::KeyEncipherment,
                    "dataEncipherment" => K::DataEncipherment,
                    "keyAgreement" => K::KeyAgreement,
                    "keyCertSign" => K::KeyCertSign,
                    "cRLSign" => K::CRLSign,
                    _ => return None,
                })
            })
            .collect();
        let ext_key_usage = p
            .ext_key_usage
            .iter()
            .filter_map(|e| {
                let dotted = EXT_KEY_USAGES
                    .iter()
                    .find(|(n, _)| n == e)
                    .map_or(e.as_str(), |(_, o)| o);
                ObjectIdentifier::new(dotted).ok()
            })
            .collect();
        return Ok((
            Usage {
                ca: p.ca,
                key_usage,
                ext_key_usage,
            },
            i64::try_from(p.validity_secs).unwrap_or(MAX_VALIDITY),
        ));
    }
    let mut signing = vec![K::DigitalSignature];
    if rsa {
        signing.push(K::KeyEncipherment);
    }
    let (ca, key_usage, eku, days) = match profile {
        "default" => (false, signing, vec![], 365),
        "tls-server" => (false, signing, vec![SERVER_AUTH], 365),
        "tls-client" => (false, vec![K::DigitalSignature], vec![CLIENT_AUTH], 365),
        "ca" => (
            true,
            vec![K::KeyCertSign, K::CRLSign, K::DigitalSignature],
            vec![],
            10 * 365,
        ),
        other => {
            return Err(OpError::new(
                ResultReason::InvalidField,
                format!(
                    "unknown certificate profile {other:?} (known: {})",
                    PROFILES.join(", ")
                ),
            ))
        }
    };
    Ok((
        Usage {
            ca,
            key_usage,
            ext_key_usage: eku,
        },
        days * DAY,
    ))
}

/// A subject alternative name from `TYPE:value` or a bare DNS name / IP address.
fn general_name(s: &str) -> Result<GeneralName, OpError> {
    let bad = || {
        OpError::new(
            ResultReason::InvalidField,
            format!("bad x-keygate-san {s:?}"),
        )
    };
    let ia5 = |v: &str| Ia5String::new(v).map_err(|_| bad());
    let (kind, value) = s.split_once(':').unwrap_or(("", s));
    Ok(match kind.to_ascii_lowercase().as_str() {
        "dns" => GeneralName::DnsName(ia5(value)?),
        "ip" => GeneralName::from(value.parse::<std::net::IpAddr>().map_err(|_| bad())?),
        "email" => GeneralName::Rfc822Name(ia5(value)?),
        "uri" => GeneralName::UniformResourceIdentifier(ia5(value)?),
        _ => match s.parse::<std::net::IpAddr>() {
            Ok(ip) => GeneralName::from(ip),
            Err(_) => GeneralName::DnsName(ia5(s)?),
        },
    })
}

/// The DER of a stored certificate object.
pub(crate) fn certificate_der(ctx: &OpCtx<'_>, obj: &Obj) -> Result<Vec<u8>, OpError> {
    if obj.rec.object_type != ObjectType::Certificate.value() {
        return Err(OpError::new(
            ResultReason::InvalidField,
            format!("{} is not a certificate", obj.rec.uid),
        ));
    }
    let key_ref = obj.rec.key_ref.clone().ok_or_else(|| {
        OpError::new(
            ResultReason::IllegalOperation,
            format!("certificate {} was destroyed", obj.rec.uid),
        )
    })?;
    let der = ctx
        .backend
        .export_secret(&KeyRef(key_ref), &aad(&ctx.vault.name, &obj.rec.uid))?;
    Ok(der.to_vec())
}

/// The SubjectPublicKeyInfo of a vault public key: the one a generated key keeps in
/// its object, else the backend's copy (a registered key is kept as SPKI).
fn public_spki(ctx: &OpCtx<'_>, obj: &Obj) -> Result<SubjectPublicKeyInfoOwned, OpError> {
    if obj.rec.object_type != ObjectType::PublicKey.value() {
        return Err(OpError::new(
            ResultReason::InvalidField,
            "Certify takes a public key (or a certificate request)",
        ));
    }
    let template = object::template(obj)?;
    let held = template
        .as_ref()
        .and_then(|t| t.key_block())
        .and_then(|kb| match (&kb.key_format_type, &kb.key_value) {
            (
                KeyFormatType::X509,
                Some(KeyValue::Plain {
                    key_material: KeyMaterial::Bytes(b),
                    ..
                }),
            ) if !b.is_empty() => Some(b.clone()),
            _ => None,
        });
    let der = match held {
        Some(b) => b,
        None => {
            let key_ref = obj.rec.key_ref.clone().ok_or_else(|| {
                OpError::new(
                    ResultReason::KeyValueNotPresent,
                    "the public key was destroyed",
                )
            })?;
            ctx.backend
                .export_secret(&KeyRef(key_ref), &aad(&ctx.vault.name, &obj.rec.uid))?
                .to_vec()
        }
    };
    SubjectPublicKeyInfoOwned::from_der(&der).map_err(|_| {
        OpError::new(
            ResultReason::FeatureNotSupported,
            "the public key is not held as a SubjectPublicKeyInfo",
        )
    })
}

/// The vault public key whose Digest is the SHA-256 of `spki` (generated keys and
/// keys registered as X.509 have that Digest).
fn find_public_key(
    ctx: &mut OpCtx<'_>,
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<Option<String>, OpError> {
    let der = spki
        .to_der()
        .map_err(|e| OpError::new(ResultReason::InvalidField, e.to_string()))?;
    let want = Value::ByteString(Sha256::digest(&der).to_vec());
    let filter = ObjectFilter {
        object_type: Some(ObjectType::PublicKey.value()),
        ..ObjectFilter::default()
    };
    for rec in ctx.txn.list(&ctx.vault.name, &filter)? {
        let obj = object::load_record(rec)?;
        let hit = obj
            .attrs
            .all(Tag::DIGEST)
            .any(|d| d.child(Tag::DIGEST_VALUE).map(|v| &v.value) == Some(&want));
        if hit {
            return Ok(Some(obj.rec.uid));
        }
    }
    Ok(None)
}

fn add_link(ctx: &mut OpCtx<'_>, obj: &mut Obj, kind: LinkType, to: &str) -> Result<(), OpError> {
    obj.attrs
        .push(Attribute::standard(Tag::LINK, object::link(kind, to)));
    object::save(ctx, obj)
}

/// The target of the last Link of `kind` (the newest: links are appended).
pub(crate) fn last_link(attrs: &Attributes, kind: LinkType) -> Option<String> {
    attrs
        .all(Tag::LINK)
        .filter(|t| {
            t.child(Tag::LINK_TYPE).map(|c| &c.value) == Some(&Value::Enumeration(kind.value()))
        })
        .filter_map(|t| match &t.child(Tag::LINKED_OBJECT_IDENTIFIER)?.value {
            Value::TextString(s) => Some(s.clone()),
            _ => None,
        })
        .last()
}

pub(crate) fn parse(der: &[u8]) -> Result<Certificate, OpError> {
    Certificate::from_der(der).map_err(|_| {
        OpError::new(
            ResultReason::InvalidField,
            "the certificate is not a DER X.509 certificate",
        )
    })
}

fn sans_of(cert: &Certificate) -> Result<Vec<GeneralName>, OpError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .map_err(|e| OpError::new(ResultReason::InvalidField, e.to_string()))?
        .map(|(_, s)| s.0)
        .unwrap_or_default())
}

/// Seconds since the epoch of an X.509 time.
pub(crate) fn secs(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Checks the new certificate against the issuer's key: a backend that signed
/// with another key, or wrongly, must not produce a certificate.
fn check_signature(der: &[u8], issuer: &SubjectPublicKeyInfoOwned) -> Result<(), OpError> {
    let fail = || {
        OpError::new(
            ResultReason::CryptographicFailure,
            "the certificate's signature does not verify",
        )
    };
    let spki = issuer.to_der().map_err(|_| fail())?;
    let key = openssl::pkey::PKey::public_key_from_der(&spki).map_err(|_| fail())?;
    let cert = openssl::x509::X509::from_der(der).map_err(|_| fail())?;
    if cert.verify(&key).unwrap_or(false) {
        Ok(())
    } else {
        Err(fail())
    }
}

fn vendor_text<'a>(attrs: &'a Attributes, name: &str) -> Result<Option<&'a str>, OpError> {
    match attrs.vendor(VENDOR, name) {
        None => Ok(None),
        Some(Value::TextString(s)) => Ok(Some(s)),
        Some(_) => Err(OpError::new(
            ResultReason::InvalidField,
            format!("x-{name} must be a Text String"),
        )),
    }
}

fn vendor_texts<'a>(attrs: &'a Attributes, name: &str) -> Result<Vec<&'a str>, OpError> {
    attrs
        .items
        .iter()
        .filter_map(|a| match a {
            Attribute::Vendor {
                vendor,
                name: n,
                value,
            } if vendor == VENDOR && n == name => Some(value),
            _ => None,
        })
        .map(|v| match v {
            Value::TextString(s) => Ok(s.as_str()),
            _ => Err(OpError::new(
                ResultReason::InvalidField,
                format!("x-{name} must be a Text String"),
            )),
        })
        .collect()
}

fn vendor_int(attrs: &Attributes, name: &str) -> Result<Option<i64>, OpError> {
    match attrs.vendor(VENDOR, name) {
        None => Ok(None),
        Some(Value::Integer(i)) => Ok(Some(i64::from(*i))),
        Some(Value::LongInteger(i)) => Ok(Some(*i)),
        Some(Value::Interval(i)) => Ok(Some(i64::from(*i))),
        Some(_) => Err(OpError::new(
            ResultReason::InvalidField,
            format!("x-{name} must be a number of seconds"),
        )),
    }
}
