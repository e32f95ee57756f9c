#!/usr/bin/env bash
# bench/compare.sh: KMIP server throughput, side by side, on this machine in one run.
#
# Starts, each on a free port of 127.0.0.1:
#   - Keygate (`keygate serve`, software backend, set up by `keygate init` in a
#     temporary directory);
#   - PyKMIP's server (`pykmip-server` 0.11 from the project venv, TLS 1.2 auth suite,
#     ECDSA P-256 CA/server/client certificates made with the venv's `cryptography`,
#     client certificates required, SQLite database in the temporary directory);
# runs the same `keygate bench` loads against each (KMIP 1.2, same connection count,
# same duration): get, create, encrypt (AES-256-GCM, 64-byte payload); and writes a
# Markdown table (ops/s, p99 latency, errors, Keygate/PyKMIP ratio) to stdout.
# Progress goes to stderr.
#
# NOT YET (later steps of issue 7): Keygate on the pkcs11 backend with SoftHSM2
# (resident and wrapped placement), and the raw baseline (the same operations
# through `cryptoki` directly on the same SoftHSM2 token). Their rows are absent.
#
# Usage: bench/compare.sh [--long] [--connections N]
#   default: 3 s per load (about half a minute in all, plus the release build)
#   --long:  20 s per load
# Environment: KEYGATE_BIN (default: target/release/keygate, built here with
# `cargo build --release --locked -p keygate --bin keygate`), KEYGATE_PYTHON (the venv
# python with PyKMIP; default .venv/bin/python, made by ./test.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

duration=3s
connections=4
while [[ $# -gt 0 ]]; do
    case $1 in
        --long) duration=20s ;;
        --connections) connections=$2; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
ops=(get create encrypt)
kmip_version=1.2
payload=64

py=${KEYGATE_PYTHON:-$repo/.venv/bin/python}
if [[ ! -x $py ]] || ! "$py" -c 'import kmip, cryptography' 2>/dev/null; then
    echo "no python with PyKMIP at $py: run ./test.sh (it makes .venv) or set KEYGATE_PYTHON" >&2
    exit 1
fi
if [[ -z ${KEYGATE_BIN:-} ]]; then
    echo "building keygate (release)..." >&2
    cargo build --release --locked -q -p keygate --bin keygate >&2
    KEYGATE_BIN=$repo/target/release/keygate
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/keygate-compare.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port seconds
    "$py" - "$1" "$2" <<'EOF'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# --- Keygate, software backend --------------------------------------------------
kg_port=$(free_port)
"$KEYGATE_BIN" init --dir "$work/keygate" --listen "127.0.0.1:$kg_port" >/dev/null
"$KEYGATE_BIN" serve --config "$work/keygate/keygate.toml" >"$work/keygate.out" 2>&1 &
pids+=($!)
if ! wait_for_port "$kg_port" 30; then
    echo "keygate serve did not listen on $kg_port:" >&2
    cat "$work/keygate.out" >&2
    exit 1
fi
kg_args=(--server "127.0.0.1:$kg_port" --ca "$work/keygate/ca.pem"
    --cert "$work/keygate/clients/app/cert.pem" --key "$work/keygate/clients/app/key.pem")

# --- PyKMIP's server ---------------------------------------------------------------
pk=$work/pykmip
mkdir -p "$pk/policies"
"$py" - "$pk" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

d = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

def write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))

def builder(subject, issuer, key):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)))

ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (builder(name("compare CA"), name("compare CA"), ca_key)
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .sign(ca_key, hashes.SHA256()))
write_cert(d + "/ca.pem", ca)
for who, eku, san in (("server", ExtendedKeyUsageOID.SERVER_AUTH, True),
                      ("client", ExtendedKeyUsageOID.CLIENT_AUTH, False)):
    key = ec.generate_private_key(ec.SECP256R1())
    b = (builder(name("localhost" if san else "bench"), ca.subject, key)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([eku]), critical=False))
    if san:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    write_cert(f"{d}/{who}.pem", b.sign(ca_key, hashes.SHA256()))
    write_key(f"{d}/{who}.key", key)
EOF
pk_port=$(free_port)
cat >"$pk/server.conf" <<EOF
[server]
hostname=127.0.0.1
port=$pk_port
certificate_path=$pk/server.pem
key_path=$pk/server.key
ca_path=$pk/ca.pem
auth_suite=TLS1.2
enable_tls_client_auth=True
policy_path=$pk/policies
database_path=$pk/pykmip.sqlite
logging_level=WARNING
EOF
"$py" -W ignore -c 'import sys; from kmip.services.server.server import main; sys.exit(main())' \
    -f "$pk/server.conf" -l "$pk/server.log" >"$work/pykmip.out" 2>&1 &
pids+=($!)
if ! wait_for_port "$pk_port" 30; then
    echo "pykmip-server did not listen on $pk_port:" >&2
    cat "$work/pykmip.out" "$pk/server.log" >&2
    exit 1
fi
pk_args=(--server "127.0.0.1:$pk_port" --ca "$pk/ca.pem" --cert "$pk/client.pem" --key "$pk/client.key")

# --- The loads -----------------------------------------------------------------------
run() { # label op args...
    local label=$1 op=$2
    shift 2
    echo "$label $op: $connections connection(s), $duration..." >&2
    # keygate bench exits 1 when any operation failed; the JSON still says how many.
    "$KEYGATE_BIN" bench "$@" --op "$op" --connections "$connections" --duration "$duration" \
        --payload "$payload" --kmip-version "$kmip_version" --json \
        >"$work/$label-$op.json" 2>"$work/$label-$op.err" || true
    if [[ ! -s $work/$label-$op.json ]]; then
        echo "  failed: $(tr '\n' ' ' <"$work/$label-$op.err")" >&2
    fi
}
for op in "${ops[@]}"; do
    run keygate "$op" "${kg_args[@]}"
    run pykmip "$op" "${pk_args[@]}"
done

# --- The table -------------------------------------------------------------------------
"$py" - "$work" "$connections" "$duration" "$kmip_version" "$payload" "${ops[@]}" <<'EOF'
import json, os, sys
work, conns, duration, version, payload, ops = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]

def load(label, op):
    path = os.path.join(work, f"{label}-{op}.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        err = open(os.path.join(work, f"{label}-{op}.err")).read().strip().splitlines()
        return {"failed": err[-1] if err else "no output"}

def cells(r):
    if "failed" in r:
        return ["failed: " + r["failed"], "", ""]
    return [f"{r['ops_per_sec']:,.0f}", f"{r['latency_us']['p99']:,}", f"{r['errors']:,} / {r['ops']:,}"]

print(f"KMIP {version}, {conns} connections, {duration} per load, payload {payload} B (encrypt: AES-256-GCM).")
print()
print("| op | Keygate ops/s | Keygate p99 (µs) | Keygate errors / ops | PyKMIP ops/s | PyKMIP p99 (µs) | PyKMIP errors / ops | ops/s ratio Keygate / PyKMIP | p99 ratio PyKMIP / Keygate |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for op in ops:
    k, p = load("keygate", op), load("pykmip", op)
    if "failed" in k or "failed" in p or not p["ops_per_sec"] or not k["latency_us"]["p99"]:
        ratio, pratio = "n/a", "n/a"
    else:
        ratio = f"{k['ops_per_sec'] / p['ops_per_sec']:,.1f}×"
        pratio = f"{p['latency_us']['p99'] / k['latency_us']['p99']:,.1f}×"
    print("| " + " | ".join([op] + cells(k) + cells(p) + [ratio, pratio]) + " |")
EOF
