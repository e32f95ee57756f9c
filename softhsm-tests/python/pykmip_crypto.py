#!/usr/bin/env python3
"""Cryptographic operations through a Keygate daemon with PyKMIP 0.11, checked
independently with the `cryptography` library (installed with PyKMIP).

Usage:
    pykmip_crypto.py --host 127.0.0.1 --port 5696 --ca ca.pem \
        --cert clients/app/cert.pem --key clients/app/key.pem --version 1.2 \
        --placement resident|wrapped

The connection (mutual TLS, PyKMIP's ssl quirks, the host name check PyKMIP cannot
do) is `pykmip_driver.Driver.connect`; see that file's docstring.

Steps, all with `kmip.pie.client.ProxyKmipClient`:

  * create_key_pair RSA-2048, activate both keys; sign (PKCS#1 v1.5, SHA-256) with
    the private key; get the public key (X.509 / SPKI) and verify the signature with
    `cryptography`; signature_verify through the gateway (valid, and invalid for a
    changed message); also a signature made by `cryptography` with the private key
    when the placement lets it out (wrapped), verified by the gateway.
  * The same with an EC P-256 pair (PyKMIP asks for "EC, 256"; ECDSA with SHA-256).
  * create AES-256, activate; encrypt and decrypt with CBC / PKCS#5 and a client
    IV; with a wrapped (extractable) key, get the key and decrypt the ciphertext
    with `cryptography` too. AES-GCM: PyKMIP's encrypt returns no authentication tag
    and its decrypt takes none, so GCM cannot round-trip through PyKMIP; the driver
    encrypts with GCM and, when the key is extractable, checks the ciphertext with
    AES-CTR from the GCM counter block (the tag cannot be checked).
  * create HMAC-SHA256 (PyKMIP adds Encrypt|Decrypt to every usage mask it sends,
    so the mask is Encrypt|Decrypt|MAC Generate|MAC Verify), activate; mac; when
    extractable, get the key and recompute the HMAC with `cryptography`.
  * wrapped placement: the private keys are extractable; if the gateway answers
    their Get with Feature Not Supported (its PKCS#11 backend exports only secret
    keys), that is recorded under "gaps" and the outside signature is skipped.
  * resident placement: every Get of a private or secret key must fail (Not
    Extractable / Permission Denied): nothing can be checked with the key itself,
    so the independent checks are the signatures, verified with the public key.
  * destroy everything it made.

On success prints one JSON line (steps, requests, independent checks made, what
could not be done and why); on failure `FAIL step <name>: <why>` on stderr, exit 1.
"""

import argparse
import json
import os
import sys
import time

import pykmip_driver  # noqa: E402 (same directory; sets up logging and warnings)
from pykmip_driver import StepFailure, VERSIONS  # noqa: E402

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, hmac, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives import padding as sym_padding  # noqa: E402

from kmip import enums  # noqa: E402
from kmip.pie import exceptions as pie_exceptions  # noqa: E402
from kmip.pie import objects as pobjects  # noqa: E402

MESSAGE = b"Keygate: signed through PyKMIP, checked by cryptography"
PLAINTEXT = b"forty-seven bytes of plaintext, not a multiple"

RSA_PKCS1_SHA256 = {
    "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
    "padding_method": enums.PaddingMethod.PKCS1v15,
    "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
}
ECDSA_SHA256 = {
    "digital_signature_algorithm": enums.DigitalSignatureAlgorithm.ECDSA_WITH_SHA256,
}
AES_CBC_PKCS5 = {
    "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
    "block_cipher_mode": enums.BlockCipherMode.CBC,
    "padding_method": enums.PaddingMethod.PKCS5,
}
AES_GCM = {
    "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
    "block_cipher_mode": enums.BlockCipherMode.GCM,
    "tag_length": 16,
}

# A Get of a key that never leaves the token: Not Extractable where the version has
# it (1.4 and later), Permission Denied before.
REFUSED = ("NOT_EXTRACTABLE", "PERMISSION_DENIED", "SENSITIVE")


class CryptoDriver(pykmip_driver.Driver):
    def __init__(self, args):
        super().__init__(args)
        self.extractable = args.placement == "wrapped"
        self.made = []
        self.independent = []
        self.not_done = []
        self.refused = {}
        self.gaps = {}

    # -- helpers ----------------------------------------------------------------

    def get_refused(self, uid, what):
        """A Get that must fail because the key stays in the token."""
        try:
            self.call("get", uid)
        except pie_exceptions.KmipOperationFailure as e:
            assert e.reason.name in REFUSED, "Get of %s failed with %s: %s" % (
                what,
                e.reason.name,
                e,
            )
            self.refused[what] = e.reason.name
            return
        raise AssertionError("Get of the resident %s succeeded" % what)

    def public_key(self, uid):
        key = self.call("get", uid)
        assert isinstance(key, pobjects.PublicKey), "Get returned %s" % type(key)
        assert key.key_format_type == enums.KeyFormatType.X_509, (
            "public key format %r" % key.key_format_type
        )
        return serialization.load_der_public_key(key.value)

    def private_key(self, uid):
        key = self.call("get", uid)
        assert isinstance(key, pobjects.PrivateKey), "Get returned %s" % type(key)
        assert key.key_format_type == enums.KeyFormatType.PKCS_8, (
            "private key format %r" % key.key_format_type
        )
        return serialization.load_der_private_key(key.value, password=None)

    def secret(self, uid, length):
        key = self.call("get", uid)
        assert isinstance(key, pobjects.SymmetricKey), "Get returned %s" % type(key)
        assert len(key.value) == length, "key is %d bytes" % len(key.value)
        return key.value

    def verify_through_gateway(self, uid, message, signature, params):
        return self.call(
            "signature_verify",
            message,
            signature,
            uid=uid,
            cryptographic_parameters=params,
        )

    # -- asymmetric -------------------------------------------------------------

    def create_pair(self, alg, length):
        # ProxyKmipClient.create_key_pair returns (public uid, private uid).
        pub, priv = self.call(
            "create_key_pair",
            alg,
            length,
            private_usage_mask=[enums.CryptographicUsageMask.SIGN],
            public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
        )
        assert priv and pub and priv != pub, "uids %r %r" % (priv, pub)
        self.made += [priv, pub]
        self.call("activate", priv)
        self.call("activate", pub)
        return priv, pub

    def sign_and_verify(self, kind, priv, pub, params):
        sig = self.call("sign", MESSAGE, uid=priv, cryptographic_parameters=params)
        assert isinstance(sig, bytes) and sig, "Sign returned %r" % (sig,)
        key = self.public_key(pub)
        if kind == "rsa":
            assert isinstance(key, rsa.RSAPublicKey), "not RSA: %r" % key
            assert key.key_size == 2048, "RSA key of %d bits" % key.key_size
            key.verify(sig, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
            try:
                key.verify(sig, MESSAGE + b"!", padding.PKCS1v15(), hashes.SHA256())
                raise AssertionError("signature verifies for another message")
            except InvalidSignature:
                pass
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey), "not EC: %r" % key
            assert key.curve.name == "secp256r1", "curve %s" % key.curve.name
            key.verify(sig, MESSAGE, ec.ECDSA(hashes.SHA256()))
        self.independent.append("%s signature verified with the public key" % kind)
        valid = self.verify_through_gateway(pub, MESSAGE, sig, params)
        assert valid == enums.ValidityIndicator.VALID, "gateway says %r" % valid
        invalid = self.verify_through_gateway(pub, MESSAGE + b"!", sig, params)
        assert invalid == enums.ValidityIndicator.INVALID, (
            "gateway says %r for a changed message" % invalid
        )
        return sig

    def outside_signature(self, kind, priv, pub, params):
        """Wrapped: the private key comes out (PKCS#8); a signature made with it by
        `cryptography` verifies through the gateway. Resident: the Get is refused."""
        if not self.extractable:
            self.get_refused(priv, "%s private key" % kind)
            return
        try:
            key = self.private_key(priv)
        except pie_exceptions.KmipOperationFailure as e:
            # The gateway's PKCS#11 backend exports only secret keys today: the
            # extractable private key is refused with Feature Not Supported.
            if e.reason.name != "FEATURE_NOT_SUPPORTED":
                raise
            self.gaps["%s private key" % kind] = "%s: %s" % (e.reason.name, e.message)
            self.not_done.append(
                "%s signature by cryptography not made: Get of the extractable "
                "private key answered %s" % (kind, e.reason.name)
            )
            return
        if kind == "rsa":
            sig = key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
        else:
            sig = key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
        valid = self.verify_through_gateway(pub, MESSAGE, sig, params)
        assert valid == enums.ValidityIndicator.VALID, "gateway says %r" % valid
        self.independent.append(
            "%s signature made by cryptography verified by the gateway" % kind
        )

    # -- symmetric --------------------------------------------------------------

    def create_active(self, alg, length, masks):
        uid = self.call("create", alg, length, cryptographic_usage_mask=masks)
        assert isinstance(uid, str) and uid, "Create returned %r" % (uid,)
        self.made.append(uid)
        self.call("activate", uid)
        return uid

    def aes_cbc(self, uid):
        iv = os.urandom(16)
        ct, iv_back = self.call(
            "encrypt",
            PLAINTEXT,
            uid=uid,
            cryptographic_parameters=AES_CBC_PKCS5,
            iv_counter_nonce=iv,
        )
        assert iv_back in (None, iv), "server changed the IV: %r" % (iv_back,)
        assert len(ct) == 48, "CBC/PKCS5 of 47 bytes is %d bytes" % len(ct)
        pt = self.call(
            "decrypt",
            ct,
            uid=uid,
            cryptographic_parameters=AES_CBC_PKCS5,
            iv_counter_nonce=iv,
        )
        assert pt == PLAINTEXT, "round trip gave %r" % (pt,)
        return iv, ct

    def aes_cbc_outside(self, uid, iv, ct):
        if not self.extractable:
            self.get_refused(uid, "AES key")
            self.not_done.append(
                "AES-CBC ciphertext not decrypted outside: the resident key never "
                "leaves the token"
            )
            return
        key = self.secret(uid, 32)
        d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = d.update(ct) + d.finalize()
        u = sym_padding.PKCS7(128).unpadder()
        pt = u.update(padded) + u.finalize()
        assert pt == PLAINTEXT, "cryptography decrypts %r" % (pt,)
        self.independent.append("AES-CBC ciphertext decrypted by cryptography")
        # And the other way: cryptography encrypts, the gateway decrypts.
        iv2 = os.urandom(16)
        p = sym_padding.PKCS7(128).padder()
        e = Cipher(algorithms.AES(key), modes.CBC(iv2)).encryptor()
        ct2 = e.update(p.update(PLAINTEXT) + p.finalize()) + e.finalize()
        pt2 = self.call(
            "decrypt",
            ct2,
            uid=uid,
            cryptographic_parameters=AES_CBC_PKCS5,
            iv_counter_nonce=iv2,
        )
        assert pt2 == PLAINTEXT, "gateway decrypts %r" % (pt2,)
        self.independent.append("AES-CBC ciphertext by cryptography decrypted by the gateway")

    def aes_gcm(self, uid):
        nonce = os.urandom(12)
        ct, nonce_back = self.call(
            "encrypt",
            PLAINTEXT,
            uid=uid,
            cryptographic_parameters=AES_GCM,
            iv_counter_nonce=nonce,
        )
        assert nonce_back in (None, nonce), "server changed the nonce"
        assert len(ct) == len(PLAINTEXT), "GCM ciphertext of %d bytes" % len(ct)
        self.not_done.append(
            "AES-GCM decrypt through PyKMIP: ProxyKmipClient.encrypt drops the "
            "Authenticated Encryption Tag and decrypt cannot send one"
        )
        if self.extractable:
            key = self.secret(uid, 32)
            # GCM encrypts with CTR from inc32(J0), J0 = nonce || 0^31 || 1.
            d = Cipher(algorithms.AES(key), modes.CTR(nonce + b"\x00\x00\x00\x02"))
            pt = d.decryptor().update(ct)
            assert pt == PLAINTEXT, "GCM ciphertext does not decrypt: %r" % (pt,)
            self.independent.append(
                "AES-GCM ciphertext checked by cryptography (AES-CTR; tag not available)"
            )

    def hmac(self, uid):
        got_uid, mac = self.call(
            "mac", PLAINTEXT, uid=uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256
        )
        assert got_uid == uid, "MAC answered for %r" % (got_uid,)
        assert isinstance(mac, bytes) and len(mac) == 32, "MAC %r" % (mac,)
        _, again = self.call(
            "mac", PLAINTEXT, uid=uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256
        )
        assert again == mac, "HMAC is not deterministic"
        if not self.extractable:
            self.get_refused(uid, "HMAC key")
            self.not_done.append(
                "HMAC not recomputed outside: the resident key never leaves the token"
            )
            return
        key = self.secret(uid, 32)
        h = hmac.HMAC(key, hashes.SHA256())
        h.update(PLAINTEXT)
        h.verify(mac)
        self.independent.append("HMAC-SHA256 recomputed by cryptography")

    # -- the run ----------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        self.step("connect", self.connect)
        try:
            priv, pub = self.step(
                "create_key_pair_rsa", self.create_pair, enums.CryptographicAlgorithm.RSA, 2048
            )
            self.step("sign_verify_rsa", self.sign_and_verify, "rsa", priv, pub, RSA_PKCS1_SHA256)
            self.step(
                "private_key_rsa", self.outside_signature, "rsa", priv, pub, RSA_PKCS1_SHA256
            )
            priv, pub = self.step(
                "create_key_pair_ec", self.create_pair, enums.CryptographicAlgorithm.EC, 256
            )
            self.step("sign_verify_ec", self.sign_and_verify, "ec", priv, pub, ECDSA_SHA256)
            self.step("private_key_ec", self.outside_signature, "ec", priv, pub, ECDSA_SHA256)
            aes = self.step(
                "create_aes",
                self.create_active,
                enums.CryptographicAlgorithm.AES,
                256,
                [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT],
            )
            iv, ct = self.step("aes_cbc", self.aes_cbc, aes)
            self.step("aes_cbc_outside", self.aes_cbc_outside, aes, iv, ct)
            self.step("aes_gcm", self.aes_gcm, aes)
            mac_key = self.step(
                "create_hmac",
                self.create_active,
                enums.CryptographicAlgorithm.HMAC_SHA256,
                256,
                [
                    enums.CryptographicUsageMask.MAC_GENERATE,
                    enums.CryptographicUsageMask.MAC_VERIFY,
                ],
            )
            self.step("hmac", self.hmac, mac_key)
            self.step("cleanup", self.cleanup)
        finally:
            self.client.close()
        return {
            "ok": True,
            "kmip_version": self.args.version,
            "placement": self.args.placement,
            "tls_version": self.tls_version,
            "requests": self.requests,
            "steps": self.steps,
            "objects": len(self.made),
            "independent": self.independent,
            "not_done": self.not_done,
            "refused": self.refused,
            "gaps": self.gaps,
            "seconds": round(time.monotonic() - started, 3),
        }

    def cleanup(self):
        for uid in self.made:
            self.call("revoke", enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
            self.call("destroy", uid)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--version", required=True, choices=sorted(VERSIONS))
    p.add_argument("--placement", required=True, choices=["resident", "wrapped"])
    p.add_argument(
        "--ssl-version",
        default="PROTOCOL_TLS",
        choices=["PROTOCOL_TLS", "PROTOCOL_SSLv23", "PROTOCOL_TLSv1_2"],
    )
    args = p.parse_args()
    driver = CryptoDriver(args)
    try:
        summary = driver.run()
    except StepFailure as e:
        print(
            "FAIL KMIP %s (%s) after %d request(s): %s"
            % (args.version, args.placement, driver.requests, e),
            file=sys.stderr,
        )
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
