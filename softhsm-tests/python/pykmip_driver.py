#!/usr/bin/env python3
"""Drive a Keygate daemon with PyKMIP 0.11's ProxyKmipClient and check the answers.

Usage:
    pykmip_driver.py --host 127.0.0.1 --port 5696 --ca ca.pem \
        --cert clients/app/cert.pem --key clients/app/key.pem --version 1.2 \
        [--ssl-version PROTOCOL_TLS|PROTOCOL_TLSv1_2]

Runs one object lifecycle at the requested KMIP version over mutual TLS:

    create AES-256 (named) -> activate -> get (x2, same 32 bytes) -> locate by name
    -> register SecretData (96 bytes) -> get it back -> get_attributes
    (State, Name, Cryptographic Algorithm) -> modify_attribute (Name) -> get_attributes
    (new Name) -> locate by the new and the old name -> revoke (Cessation of Operation)
    -> get_attributes (State Deactivated) -> destroy -> get fails
    -> destroy the SecretData -> get of it fails

Every step is checked. On success it prints exactly one JSON line on stdout (the
summary, including `requests`: the number of KMIP requests sent, each with one batch
item); on failure it prints `FAIL step <name>: <why>` on stderr and exits 1.

TLS notes (PyKMIP 0.11, kmip/services/kmip_client.py `KMIPProxy._create_socket`):
the client builds `ssl.SSLContext(ssl_version)` from the *name* of an `ssl` module
constant, loads the CA and the client certificate, and calls `wrap_socket` WITHOUT
`server_hostname`. So:
  * `PROTOCOL_TLS_CLIENT` cannot be used: it turns `check_hostname` on, and
    `wrap_socket` then raises "check_hostname requires server_hostname".
  * `PROTOCOL_TLS` (alias `PROTOCOL_SSLv23`) works: it negotiates the highest common
    version (TLS 1.3 against rustls), verifies the server chain against `--ca`
    (`cert_reqs` defaults to CERT_REQUIRED) but does no hostname check and sends no SNI.
    Python >= 3.10 warns that PROTOCOL_TLS is deprecated; the warning is silenced here.
  * `PROTOCOL_TLSv1_2` (`--ssl-version`) pins TLS 1.2 the same way, as older clients do.
  * Because PyKMIP cannot check the host name, this driver checks it itself right after
    the handshake: the server certificate's subjectAltName must contain `--host`.
"""

import argparse
import ipaddress
import json
import logging
import os
import sys
import time
import traceback
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
# Every setting is passed as an argument; PyKMIP's "Config file [...] not found"
# warning about its optional pykmip.conf is noise here.
logging.getLogger("kmip.core.config_helper").setLevel(logging.ERROR)

from kmip import enums  # noqa: E402
from kmip.core import objects as cobjects  # noqa: E402
from kmip.core import attributes as cattributes  # noqa: E402
from kmip.pie import client as pie_client  # noqa: E402
from kmip.pie import exceptions as pie_exceptions  # noqa: E402
from kmip.pie import objects as pobjects  # noqa: E402

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}


class StepFailure(Exception):
    pass


class Driver:
    def __init__(self, args):
        self.args = args
        self.version = VERSIONS[args.version]
        self.is_2x = self.version >= enums.KMIPVersion.KMIP_2_0
        self.requests = 0
        self.steps = []
        self.client = None
        tag = "%s-%d-%d" % (args.version, os.getpid(), int(time.time() * 1000))
        self.key_name = "pykmip-aes-" + tag
        self.key_name2 = "pykmip-aes-renamed-" + tag
        self.secret_name = "pykmip-secret-" + tag

    # -- helpers ----------------------------------------------------------------

    def step(self, name, fn, *a, **kw):
        """Run one step; failures carry the step name."""
        try:
            result = fn(*a, **kw)
        except StepFailure as e:
            raise StepFailure("step %s: %s" % (name, e))
        except AssertionError as e:
            raise StepFailure("step %s: check failed: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 - report any client error precisely
            raise StepFailure(
                "step %s: %s: %s\n%s"
                % (name, type(e).__name__, e, traceback.format_exc())
            )
        self.steps.append(name)
        return result

    def call(self, method, *a, **kw):
        """One KMIP request (one batch item) through the ProxyKmipClient."""
        self.requests += 1
        return getattr(self.client, method)(*a, **kw)

    def name_attr(self, name):
        return self.client.attribute_factory.create_attribute(
            enums.AttributeType.NAME, name
        )

    @staticmethod
    def attrs_by_name(attributes):
        out = {}
        for a in attributes:
            out.setdefault(a.attribute_name.value, []).append(a.attribute_value)
        return out

    def get_attributes(self, uid, names):
        got_uid, attributes = self.call("get_attributes", uid, names)
        assert got_uid == uid, "GetAttributes answered for uid %r, asked %r" % (
            got_uid,
            uid,
        )
        return self.attrs_by_name(attributes)

    # -- the steps --------------------------------------------------------------

    def connect(self):
        self.client = pie_client.ProxyKmipClient(
            hostname=self.args.host,
            port=self.args.port,
            cert=self.args.cert,
            key=self.args.key,
            ca=self.args.ca,
            ssl_version=self.args.ssl_version,
            kmip_version=self.version,
            # No config file: all settings are given here.
            config_file=None,
        )
        self.client.open()
        sock = self.client.proxy.socket
        peer = sock.getpeercert()
        assert peer, "no verified server certificate"
        sans = peer.get("subjectAltName", ())
        host = self.args.host
        try:
            ipaddress.ip_address(host)
            wanted = ("IP Address", host)
        except ValueError:
            wanted = ("DNS", host)
        assert wanted in sans, "server certificate SANs %r lack %r" % (sans, wanted)
        self.tls_version = sock.version()
        self.cipher = sock.cipher()[0]

    def create(self):
        uid = self.call(
            "create", enums.CryptographicAlgorithm.AES, 256, name=self.key_name
        )
        assert isinstance(uid, str) and uid, "Create returned uid %r" % (uid,)
        self.key_uid = uid

    def activate(self):
        self.call("activate", self.key_uid)

    def get_key(self):
        key = self.call("get", self.key_uid)
        assert isinstance(key, pobjects.SymmetricKey), "Get returned %s" % type(key)
        assert len(key.value) == 32, "key is %d bytes, want 32" % len(key.value)
        assert key.cryptographic_algorithm == enums.CryptographicAlgorithm.AES, (
            "algorithm %r" % key.cryptographic_algorithm
        )
        assert key.cryptographic_length == 256, "length %r" % key.cryptographic_length
        assert key.value != b"\x00" * 32, "key material is all zero"
        return key.value

    def get_key_again(self, first):
        second = self.get_key()
        assert second == first, "two Gets of the same key returned different bytes"

    def locate(self, name, expect):
        uids = self.call("locate", attributes=[self.name_attr(name)])
        assert list(uids) == expect, "Locate Name=%r returned %r, want %r" % (
            name,
            list(uids),
            expect,
        )

    def register_secret(self):
        # 96 bytes, like libmongocrypt's local master key.
        self.secret_value = os.urandom(96)
        secret = pobjects.SecretData(
            self.secret_value, enums.SecretDataType.SEED, name=self.secret_name
        )
        uid = self.call("register", secret)
        assert isinstance(uid, str) and uid, "Register returned uid %r" % (uid,)
        assert uid != self.key_uid, "Register reused the key's uid %r" % uid
        self.secret_uid = uid

    def get_secret(self):
        got = self.call("get", self.secret_uid)
        assert isinstance(got, pobjects.SecretData), "Get returned %s" % type(got)
        assert got.data_type == enums.SecretDataType.SEED, (
            "data type %r" % got.data_type
        )
        assert len(got.value) == 96, "secret is %d bytes, want 96" % len(got.value)
        assert got.value == self.secret_value, "secret bytes differ from registered"

    def check_attributes(self, state, name):
        got = self.get_attributes(
            self.key_uid, ["State", "Name", "Cryptographic Algorithm"]
        )
        assert set(got) == {"State", "Name", "Cryptographic Algorithm"}, (
            "GetAttributes returned %r" % sorted(got)
        )
        states = [v.value for v in got["State"]]
        assert states == [state], "State %r, want %r" % (states, state)
        names = [v.name_value.value for v in got["Name"]]
        assert names == [name], "Name %r, want %r" % (names, name)
        algs = [v.value for v in got["Cryptographic Algorithm"]]
        assert algs == [enums.CryptographicAlgorithm.AES], "algorithm %r" % algs

    def modify_name(self):
        new_value = cattributes.Name.create(
            self.key_name2, enums.NameType.UNINTERPRETED_TEXT_STRING
        )
        if self.is_2x:
            old_value = cattributes.Name.create(
                self.key_name, enums.NameType.UNINTERPRETED_TEXT_STRING
            )
            uid, attr = self.call(
                "modify_attribute",
                self.key_uid,
                current_attribute=cobjects.CurrentAttribute(attribute=old_value),
                new_attribute=cobjects.NewAttribute(attribute=new_value),
            )
            # KMIP 2.0 ModifyAttribute response carries only the Unique Identifier.
            assert attr is None, "2.0 response carried an attribute %r" % (attr,)
        else:
            attribute = self.client.attribute_factory.create_attribute(
                enums.AttributeType.NAME, self.key_name2, index=0
            )
            uid, attr = self.call("modify_attribute", self.key_uid, attribute=attribute)
            # KMIP 1.x: the response returns the modified attribute.
            assert attr is not None, "1.x response has no Attribute"
            assert attr.attribute_name.value == "Name", (
                "response attribute %r" % attr.attribute_name.value
            )
            assert attr.attribute_value.name_value.value == self.key_name2, (
                "response Name value %r" % attr.attribute_value.name_value.value
            )
        assert uid == self.key_uid, "ModifyAttribute answered uid %r" % (uid,)

    def revoke(self):
        self.call(
            "revoke", enums.RevocationReasonCode.CESSATION_OF_OPERATION, self.key_uid
        )

    def destroy(self, uid):
        self.call("destroy", uid)

    def get_fails(self, uid):
        try:
            self.call("get", uid)
        except pie_exceptions.KmipOperationFailure as e:
            return {"status": e.status.name, "reason": e.reason.name}
        raise AssertionError("Get of destroyed object %r succeeded" % uid)

    # -- the run ----------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        self.step("connect", self.connect)
        try:
            self.step("create", self.create)
            self.step("activate", self.activate)
            first = self.step("get", self.get_key)
            self.step("get_again", self.get_key_again, first)
            self.step("locate_by_name", self.locate, self.key_name, [self.key_uid])
            self.step("register_secret_data", self.register_secret)
            self.step("get_secret_data", self.get_secret)
            self.step(
                "get_attributes",
                self.check_attributes,
                enums.State.ACTIVE,
                self.key_name,
            )
            self.step("modify_attribute_name", self.modify_name)
            self.step(
                "get_attributes_after_modify",
                self.check_attributes,
                enums.State.ACTIVE,
                self.key_name2,
            )
            self.step(
                "locate_by_new_name", self.locate, self.key_name2, [self.key_uid]
            )
            self.step("locate_by_old_name", self.locate, self.key_name, [])
            self.step("revoke", self.revoke)
            self.step(
                "get_attributes_after_revoke",
                self.check_attributes,
                enums.State.DEACTIVATED,
                self.key_name2,
            )
            self.step("destroy", self.destroy, self.key_uid)
            key_failure = self.step("get_after_destroy", self.get_fails, self.key_uid)
            self.step("destroy_secret_data", self.destroy, self.secret_uid)
            secret_failure = self.step(
                "get_secret_after_destroy", self.get_fails, self.secret_uid
            )
        finally:
            self.client.close()
        return {
            "ok": True,
            "kmip_version": self.args.version,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "requests": self.requests,
            "steps": self.steps,
            "key_uid": self.key_uid,
            "secret_uid": self.secret_uid,
            "key_length": len(first),
            "secret_length": len(self.secret_value),
            "get_after_destroy": key_failure,
            "get_secret_after_destroy": secret_failure,
            "seconds": round(time.monotonic() - started, 3),
        }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--version", required=True, choices=sorted(VERSIONS))
    p.add_argument(
        "--ssl-version",
        default="PROTOCOL_TLS",
        choices=["PROTOCOL_TLS", "PROTOCOL_SSLv23", "PROTOCOL_TLSv1_2"],
        help="name of the ssl module constant PyKMIP builds its SSLContext from "
        "(PROTOCOL_TLS negotiates TLS 1.3; PROTOCOL_TLSv1_2 pins TLS 1.2)",
    )
    args = p.parse_args()
    driver = Driver(args)
    try:
        summary = driver.run()
    except StepFailure as e:
        print(
            "FAIL KMIP %s after %d request(s): %s" % (args.version, driver.requests, e),
            file=sys.stderr,
        )
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
