#!/usr/bin/env python3
"""python-pkcs11 driving libkeygate_pkcs11.so (the library reads the gateway from
KEYGATE_PKCS11_CONF in this process's environment).

Usage:
    shim_pkcs11.py LIBRARY TOKEN_LABEL PIN

Steps, in a read-write user session on the token:

  * AES-256 session key (CKA_TOKEN false): AES-CBC-PAD encrypt / decrypt with an IV
    from C_GenerateRandom, and AES-GCM with AAD; the round trips must give the
    plaintext back, and GCM must refuse a changed tag.
  * AES-256 token key (extractable, sensitive) with a label, found again by label
    (C_FindObjects).
  * RSA-2048 token pair: SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures verified
    through the library (and refused for a changed message); RSA-OAEP (SHA-1)
    encrypt / decrypt round trip. The public key (PKCS#1 RSAPublicKey DER), the message and the
    PKCS#1 v1.5 signature go into the output for the caller to verify on its own.
  * EC P-256 token pair: ECDSA over a SHA-256 hash, verified through the library;
    the public key (SPKI DER) and signature are reported for the caller to verify too.
  * C_WrapKey of the AES token key under the session key (CKM_AES_KEY_WRAP): the
    outcome ("wrapped N bytes" and an unwrap back, or the PKCS#11 error) is
    reported; the caller decides what the library promises.
  * destroy everything it made.

On success prints one JSON line; on failure `FAIL step <name>: <why>` on stderr and
exit 1.
"""

import hashlib
import json
import sys

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.rsa import encode_rsa_public_key


class StepFailure(Exception):
    """A step whose result is wrong (as opposed to an exception from the library)."""


def check(cond, why):
    if not cond:
        raise StepFailure(why)


class Run:
    """The report being built and the objects to destroy at the end."""

    def __init__(self):
        self.step = "load"
        self.report = {"steps": [], "checks": []}
        self.made = []

    def begin(self, step):
        self.step = step

    def done(self):
        self.report["steps"].append(self.step)


def steps(s, r):
    r.begin("aes-session-key")
    aes = s.generate_key(KeyType.AES, 256, label="py-aes-session")
    check(aes[Attribute.TOKEN] is False, "session key reports CKA_TOKEN true")
    r.done()

    r.begin("aes-cbc-pad")
    data = b"keygate python-pkcs11 round trip " * 3
    iv = s.generate_random(128)
    ct = aes.encrypt(data, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=iv)
    check(ct != data and len(ct) % 16 == 0, "CBC-PAD ciphertext has a wrong shape")
    check(
        aes.decrypt(ct, mechanism=Mechanism.AES_CBC_PAD, mechanism_param=iv) == data,
        "CBC-PAD decrypt did not give the plaintext back",
    )
    r.done()

    r.begin("aes-gcm")
    nonce = s.generate_random(96)
    gcm = pkcs11.GCMParams(nonce, b"header", 128)
    ct = aes.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=gcm)
    check(len(ct) == len(data) + 16, "GCM output is not ciphertext + 16-byte tag")
    check(
        aes.decrypt(ct, mechanism=Mechanism.AES_GCM, mechanism_param=gcm) == data,
        "GCM decrypt did not give the plaintext back",
    )
    bad = ct[:-1] + bytes([ct[-1] ^ 1])
    try:
        aes.decrypt(bad, mechanism=Mechanism.AES_GCM, mechanism_param=gcm)
        raise StepFailure("GCM decrypt accepted a changed tag")
    except p11e.PKCS11Error as e:
        r.report["checks"].append("gcm-bad-tag: " + type(e).__name__)
    r.done()

    r.begin("aes-token-key")
    # Extractable, so that it may be wrapped below.
    stored = s.generate_key(KeyType.AES, 256, label="py-aes-token", store=True,
                            template={Attribute.EXTRACTABLE: True})
    r.made.append(stored)
    check(stored[Attribute.EXTRACTABLE] is True, "asked for an extractable key")
    check(stored[Attribute.SENSITIVE] is True, "a generated key must stay sensitive")
    found = list(s.get_objects({Attribute.LABEL: "py-aes-token",
                                Attribute.CLASS: ObjectClass.SECRET_KEY}))
    check(len(found) == 1, f"find by label gave {len(found)} objects")
    check(found[0][Attribute.VALUE_LEN] == 32, "CKA_VALUE_LEN is not 32")
    r.done()

    r.begin("rsa-keypair")
    pub, priv = s.generate_keypair(KeyType.RSA, 2048, label="py-rsa", id=b"\x70", store=True)
    r.made += [pub, priv]
    r.done()

    r.begin("rsa-sign")
    msg = b"signed through python-pkcs11 and libkeygate_pkcs11"
    sig = priv.sign(msg, mechanism=Mechanism.SHA256_RSA_PKCS)
    check(pub.verify(msg, sig, mechanism=Mechanism.SHA256_RSA_PKCS),
          "PKCS#1 signature not valid through the library")
    check(not pub.verify(msg + b"!", sig, mechanism=Mechanism.SHA256_RSA_PKCS),
          "PKCS#1 signature valid for a changed message")
    pss = (Mechanism.SHA256, pkcs11.MGF.SHA256, 32)
    psig = priv.sign(msg, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=pss)
    check(pub.verify(msg, psig, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=pss),
          "PSS signature not valid through the library")
    r.report["rsa"] = {"pkcs1": encode_rsa_public_key(pub).hex(), "message": msg.hex(),
                       "signature": sig.hex()}
    r.done()

    r.begin("rsa-oaep")
    secret = b"sixteen byte key"
    ct = pub.encrypt(secret, mechanism=Mechanism.RSA_PKCS_OAEP)
    check(len(ct) == 256, f"OAEP ciphertext is {len(ct)} bytes")
    check(priv.decrypt(ct, mechanism=Mechanism.RSA_PKCS_OAEP) == secret,
          "OAEP decrypt did not give the plaintext back")
    r.done()

    r.begin("ec-keypair")
    params = s.create_domain_parameters(
        KeyType.EC,
        {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        local=True,
    )
    ecpub, ecpriv = params.generate_keypair(label="py-ec", store=True)
    r.made += [ecpub, ecpriv]
    digest = hashlib.sha256(msg).digest()
    esig = ecpriv.sign(digest, mechanism=Mechanism.ECDSA)
    check(len(esig) == 64, f"raw ECDSA signature is {len(esig)} bytes")
    check(ecpub.verify(digest, esig, mechanism=Mechanism.ECDSA),
          "ECDSA signature not valid through the library")
    r.report["ec"] = {"spki": encode_ec_public_key(ecpub).hex(), "message": msg.hex(),
                      "signature": esig.hex()}
    r.done()

    r.begin("wrap")
    try:
        wrapped = aes.wrap_key(stored, mechanism=Mechanism.AES_KEY_WRAP)
        back = aes.unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, wrapped,
                              mechanism=Mechanism.AES_KEY_WRAP, label="py-unwrapped")
        check(back[Attribute.VALUE_LEN] == 32, "unwrapped key is not 32 bytes")
        r.report["wrap"] = f"wrapped {len(wrapped)} bytes"
    except p11e.PKCS11Error as e:
        r.report["wrap"] = type(e).__name__
    r.done()

    r.begin("destroy")
    while r.made:
        r.made.pop().destroy()
    left = list(s.get_objects({Attribute.LABEL: "py-aes-token"}))
    check(not left, "destroyed key still found")
    r.done()


def run(lib_path, token_label, pin):
    r = Run()
    try:
        lib = pkcs11.lib(lib_path)
        token = lib.get_token(token_label=token_label)
        r.report["token"] = token.label
        with token.open(user_pin=pin, rw=True) as s:
            try:
                steps(s, r)
            finally:
                # Leaves nothing behind on failure either (best effort).
                for obj in r.made:
                    try:
                        obj.destroy()
                    except p11e.PKCS11Error:
                        pass
    except StepFailure as e:
        print(f"FAIL step {r.step}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 (any library error, reported with its step)
        print(f"FAIL step {r.step}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(r.report))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(run(*sys.argv[1:]))
