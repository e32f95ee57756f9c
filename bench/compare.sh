#!/usr/bin/env bash
# bench/compare.sh: KMIP server throughput, side by side, on this machine in one run,
# written into BENCHMARKS.md (between the compare.sh markers) with the command, date,
# machine, commit and load average.
#
# Starts, each on a free port of 127.0.0.1, from a fresh temporary directory:
#   - Keygate, software backend (`keygate init` defaults, SQLite store, durable);
#   - Keygate, pkcs11 backend on SoftHSM2, placement resident (token "kg-resident");
#   - Keygate, pkcs11 backend on SoftHSM2, placement wrapped (token "kg-wrapped");
#   - PyKMIP's server (`pykmip-server` 0.11 from the venv, TLS 1.2 auth suite, ECDSA
#     P-256 certificates, client certificates required, SQLite database);
# and the raw baseline: `keygate bench --raw-pkcs11`, the same operations through
# cryptoki straight on the resident daemon's SoftHSM2 token, same thread count.
#
# Loads (`keygate bench`, KMIP 1.2 so PyKMIP takes them too, payload 64 B):
#   P1 sign RSA-2048, 2 connections: Keygate resident and wrapped / raw cryptoki
#   P2 encrypt AES-256-GCM, software backend, 16 connections
#   P3 get, 4 connections: Keygate software / PyKMIP
#   P4 create AES-256, 8 connections: software (durable SQLite), resident, wrapped
#      (and PyKMIP, raw cryptoki token objects, for reference)
#   P5 connect (new mTLS connection + Discover Versions + Get + close), 4 connections,
#      with session resumption (one client TLS configuration) and without
#   P8 10,000 idle mTLS connections to the software daemon: its VmRSS
#   and, for P1, P2, P3 and P5, the same loads on a second daemon of each kind started
#   with `[audit] sync = "changes"` (reads answered once their audit records are
#   written, fsynced right after; README "Audit") next to the default ("always")
#   PKCS#11 library (issue 5): C_Sign RSA-2048 on 2 threads and C_Encrypt AES-GCM 64 B on
#      1 thread through libkeygate_pkcs11.so to the resident daemon, against the same
#      calls straight on its SoftHSM2 token
# Every load runs RUNS times (interleaved, so noise spreads over all); the table
# gives the median ops/s and the median p99.
#
# Usage: bench/compare.sh [--long] [--runs N] [--duration D] [--idle N] [--no-write]
#   default: 3 runs x 2 s per load (about 3 minutes in all, plus the release build)
#   --long:      5 runs x 10 s per load
#   --no-write:  print the section instead of writing it into BENCHMARKS.md
# Environment: KEYGATE_BIN (default: target/release/keygate, built here),
# KEYGATE_PYTHON (venv python with PyKMIP; default .venv/bin/python, made by
# ./test.sh), KEYGATE_PKCS11_MODULE (default: the usual SoftHSM2 paths),
# KEYGATE_PKCS11_LIB (default: target/release/libkeygate_pkcs11.so, built here).
# Needs: softhsm2-util, python3 with PyKMIP; run as a user that may raise
# `ulimit -n` to 12,048 (10,000 idle connections plus headroom; root can).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
command_line="bench/compare.sh${*:+ $*}"

duration=2s
runs=3
idle=10000
write=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --long) duration=10s; runs=5 ;;
        --runs) runs=$2; shift ;;
        --duration) duration=$2; shift ;;
        --idle) idle=$2; shift ;;
        --no-write) write=0 ;;
        -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
kmip_version=1.2
payload=64

py=${KEYGATE_PYTHON:-$repo/.venv/bin/python}
if [[ ! -x $py ]] || ! "$py" -I -c 'import kmip.pie.client, cryptography' 2>/dev/null; then
    echo "no python with PyKMIP at $py: run ./test.sh (it makes .venv) or set KEYGATE_PYTHON" >&2
    exit 1
fi
if [[ -z ${KEYGATE_BIN:-} ]]; then
    echo "building keygate (release)..." >&2
    cargo build --release --locked -q -p keygate --bin keygate >&2
    KEYGATE_BIN=$repo/target/release/keygate
fi
# The PKCS#11 library, for the rows that go through it (issue 5).
if [[ -z ${KEYGATE_PKCS11_LIB:-} ]]; then
    echo "building libkeygate_pkcs11.so (release)..." >&2
    cargo build --release --locked -q -p keygate-pkcs11 >&2
    KEYGATE_PKCS11_LIB=$repo/target/release/libkeygate_pkcs11.so
fi
module=${KEYGATE_PKCS11_MODULE:-}
if [[ -z $module ]]; then
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        if [[ -f $m ]]; then module=$m; break; fi
    done
fi

# 10,000 connections need as many descriptors in the daemon and in the client.
want_fds=$((idle + 2048))
if (( $(ulimit -n) < want_fds )); then
    ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
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

# --- SoftHSM2 tokens -------------------------------------------------------------------
export KEYGATE_BENCH_PIN=1234
have_hsm=0
if [[ -n $module ]] && command -v softhsm2-util >/dev/null; then
    mkdir -p "$work/softhsm/tokens"
    export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
        "$work/softhsm/tokens" >"$SOFTHSM2_CONF"
    for label in kg-resident kg-wrapped kg-resident-changes; do
        softhsm2-util --init-token --free --label "$label" --so-pin 123456 \
            --pin "$KEYGATE_BENCH_PIN" >/dev/null
    done
    have_hsm=1
else
    echo "SoftHSM2 not found: the pkcs11 and raw rows are left out" >&2
fi

# --- Keygate daemons ----------------------------------------------------------------------
declare -A port pid args
start_keygate() { # name [init args...]
    local name=$1
    shift
    port[$name]=$(free_port)
    "$KEYGATE_BIN" init --dir "$work/$name" --listen "127.0.0.1:${port[$name]}" "$@" >/dev/null
    printf '\n[limits]\nmax_connections = %d\n' $((idle + 1024)) >>"$work/$name/keygate.toml"
    if [[ $name == *-changes ]]; then
        sed -i 's/^\[audit\]$/[audit]\nsync = "changes"/' "$work/$name/keygate.toml"
        grep -q '^sync = "changes"$' "$work/$name/keygate.toml" || {
            echo "could not set [audit] sync in $work/$name/keygate.toml" >&2
            exit 1
        }
    fi
    "$KEYGATE_BIN" serve --config "$work/$name/keygate.toml" >"$work/$name.out" 2>&1 &
    pid[$name]=$!
    pids+=($!)
    if ! wait_for_port "${port[$name]}" 60; then
        echo "keygate serve ($name) did not listen on ${port[$name]}:" >&2
        cat "$work/$name.out" >&2
        exit 1
    fi
    args[$name]="--server 127.0.0.1:${port[$name]} --ca $work/$name/ca.pem --cert $work/$name/clients/app/cert.pem --key $work/$name/clients/app/key.pem"
}
start_keygate software
start_keygate software-changes
if (( have_hsm )); then
    for placement in resident wrapped; do
        start_keygate "$placement" --pkcs11-module "$module" --token-label "kg-$placement" \
            --pin-env KEYGATE_BENCH_PIN --placement "$placement"
    done
    start_keygate resident-changes --pkcs11-module "$module" --token-label kg-resident-changes \
        --pin-env KEYGATE_BENCH_PIN --placement resident
    # The PKCS#11 library, as identity app of the resident daemon's vault.
    r=$work/resident
    printf 'server = "127.0.0.1:%s"\nca = "%s"\n[[slot]]\ncert = "%s"\nkey = "%s"\npin = "%s"\n' \
        "${port[resident]}" "$r/ca.pem" "$r/clients/app/cert.pem" "$r/clients/app/key.pem" \
        "$KEYGATE_BENCH_PIN" >"$work/pkcs11.toml"
    export KEYGATE_PKCS11_CONF=$work/pkcs11.toml
fi

# --- PyKMIP's server ---------------------------------------------------------------------
pk=$work/pykmip
mkdir -p "$pk/policies"
"$py" - "$pk" <<'EOF'
import datetime, ipaddress, sys
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
args[pykmip]="--server 127.0.0.1:$pk_port --ca $pk/ca.pem --cert $pk/client.pem --key $pk/client.key"

# --- The loads -------------------------------------------------------------------------------
# Each line: label target op connections [extra bench arguments]
loads=(
    "sign-sw software sign 2"
    "encrypt-sw software encrypt 16"
    "get-sw software get 4"
    "get-pykmip pykmip get 4"
    "create-sw software create 8"
    "create-pykmip pykmip create 8"
    "connect-sw software connect 4"
    "connect-fresh-sw software connect 4 --fresh-tls"
    "encrypt-sw-changes software-changes encrypt 16"
    "get-sw-changes software-changes get 4"
    "connect-sw-changes software-changes connect 4"
)
if (( have_hsm )); then
    loads+=(
        "sign-resident resident sign 2"
        "sign-wrapped wrapped sign 2"
        "sign-raw raw sign 2"
        "sign-resident-changes resident-changes sign 2"
        "create-resident resident create 8"
        "create-wrapped wrapped create 8"
        "create-raw raw create 8"
        "sign-shim shim sign 2"
        "encrypt-shim shim encrypt 1"
        "encrypt-raw raw encrypt 1"
    )
fi

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

run_load() { # run-number label target op connections [extra...]
    local n=$1 label=$2 target=$3 op=$4 conns=$5
    shift 5
    local out=$work/results/$label.$n
    local -a target_args
    if [[ $target == raw ]]; then
        target_args=(--raw-pkcs11 "$module" --token-label kg-resident --pin-env KEYGATE_BENCH_PIN)
    elif [[ $target == shim ]]; then
        # The same PKCS#11 calls, through libkeygate_pkcs11.so to the resident daemon.
        target_args=(--raw-pkcs11 "$KEYGATE_PKCS11_LIB" --token-label default --pin-env KEYGATE_BENCH_PIN)
    else
        # shellcheck disable=SC2206
        target_args=(${args[$target]} --kmip-version "$kmip_version")
    fi
    echo "run $n/$runs: $label ($op, $conns connection(s), $duration; load $(load_avg))" >&2
    # keygate bench exits 1 when any operation failed; the JSON still says how many.
    "$KEYGATE_BIN" bench "${target_args[@]}" --op "$op" --connections "$conns" \
        --duration "$duration" --payload "$payload" --json "$@" >"$out.json" 2>"$out.err" || true
    if [[ ! -s $out.json ]]; then
        echo "  failed: $(tr '\n' ' ' <"$out.err")" >&2
    fi
}

mkdir -p "$work/results"
load_start=$(load_avg)
started=$(date -u +%s)
for ((n = 1; n <= runs; n++)); do
    for line in "${loads[@]}"; do
        # shellcheck disable=SC2086
        run_load "$n" $line
    done
done
echo "P8: $idle idle connections to the software daemon (load $(load_avg))" >&2
"$KEYGATE_BIN" bench ${args[software]} --kmip-version "$kmip_version" --op idle \
    --connections "$idle" --duration 3s --server-pid "${pid[software]}" --json \
    >"$work/results/idle.1.json" 2>"$work/results/idle.1.err" || true
load_end=$(load_avg)
elapsed=$(( $(date -u +%s) - started ))

# --- The section --------------------------------------------------------------------------------
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo" status --porcelain -- gateway kmip bench 2>/dev/null) ]]; then
    commit="$commit (plus uncommitted changes)"
fi
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
section=$work/section.md
"$py" - "$work/results" "$section" "$command_line" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$commit" \
    "$cpu" "$(nproc)" "$runs" "$duration" "$load_start" "$load_end" "$elapsed" "$idle" \
    "$kmip_version" "$payload" <<'EOF'
import glob, json, os, statistics, sys
(results, out, command, date, commit, cpu, nproc, runs, duration, load_start, load_end,
 elapsed, idle, version, payload) = sys.argv[1:]

def runs_of(label):
    rs, failures = [], []
    for path in sorted(glob.glob(os.path.join(results, label + ".*.json"))):
        try:
            with open(path) as f:
                rs.append(json.load(f))
        except (OSError, ValueError):
            err = open(path[:-5] + ".err").read().strip().splitlines()
            failures.append(err[-1] if err else "no output")
    for path in sorted(glob.glob(os.path.join(results, label + ".*.err"))):
        if not os.path.exists(path[:-4] + ".json") or os.path.getsize(path[:-4] + ".json") == 0:
            err = open(path).read().strip().splitlines()
            if (err[-1] if err else "no output") not in failures:
                failures.append(err[-1] if err else "no output")
    return rs, failures

def summary(label):
    rs, failures = runs_of(label)
    if not rs:
        return None
    return {
        "ops": statistics.median(r["ops_per_sec"] for r in rs),
        "p99": statistics.median(r["latency_us"]["p99"] for r in rs),
        "runs": [r["ops_per_sec"] for r in rs],
        "errors": sum(r["errors"] for r in rs),
        "total": sum(r["ops"] for r in rs),
        "resumed": sum(r.get("resumed", 0) for r in rs),
        "failures": failures,
        "raw": rs,
    }

labels = [
    ("sign-sw", "Keygate software", "sign RSA-2048", 2),
    ("sign-resident", "Keygate pkcs11 resident (SoftHSM2)", "sign RSA-2048", 2),
    ("sign-wrapped", "Keygate pkcs11 wrapped (SoftHSM2)", "sign RSA-2048", 2),
    ("sign-raw", "raw cryptoki on SoftHSM2 (token of the resident daemon)", "sign RSA-2048", 2),
    ("encrypt-sw", "Keygate software", "encrypt AES-256-GCM 64 B", 16),
    ("get-sw", "Keygate software", "get", 4),
    ("get-pykmip", "PyKMIP server", "get", 4),
    ("create-sw", "Keygate software (durable SQLite)", "create AES-256", 8),
    ("create-resident", "Keygate pkcs11 resident (SoftHSM2)", "create AES-256", 8),
    ("create-wrapped", "Keygate pkcs11 wrapped (SoftHSM2)", "create AES-256", 8),
    ("create-raw", "raw cryptoki on SoftHSM2: C_GenerateKey, token object", "create AES-256", 8),
    ("create-pykmip", "PyKMIP server", "create AES-256", 8),
    ("sign-shim", "PKCS#11 library -> Keygate resident (SoftHSM2)", "C_Sign RSA-2048", 2),
    ("encrypt-shim", "PKCS#11 library -> Keygate resident (SoftHSM2)", "C_Encrypt AES-256-GCM 64 B", 1),
    ("encrypt-raw", "raw cryptoki on SoftHSM2 (token of the resident daemon)", "C_Encrypt AES-256-GCM 64 B", 1),
    ("connect-sw", "Keygate software, TLS session resumption", "connect", 4),
    ("connect-fresh-sw", "Keygate software, full handshakes (--fresh-tls)", "connect", 4),
    ("sign-resident-changes", "Keygate pkcs11 resident (SoftHSM2), audit sync = changes", "sign RSA-2048", 2),
    ("encrypt-sw-changes", "Keygate software, audit sync = changes", "encrypt AES-256-GCM 64 B", 16),
    ("get-sw-changes", "Keygate software, audit sync = changes", "get", 4),
    ("connect-sw-changes", "Keygate software, audit sync = changes, TLS session resumption", "connect", 4),
]
s = {label: summary(label) for label, *_ in labels}

def num(x, d=0):
    return f"{x:,.{d}f}"

lines = []
w = lines.append
w(f"- Command: `{command}` ({runs} runs of {duration} per load, interleaved; medians)")
w(f"- Date: {date}; the loads took {elapsed} s")
w(f"- Commit: `{commit}`")
w(f"- Machine: {cpu}, {nproc} CPUs (`nproc`); load average (1/5/15 min) {load_start} at the start, {load_end} at the end")
w(f"- KMIP {version} requests, payload {payload} B; the load generator (`keygate bench`) runs on the same CPUs as the servers")
w("")
w("| load | target | connections | ops/s (median) | p99 µs (median) | ops/s of each run | errors / ops |")
w("|---|---|---:|---:|---:|---|---:|")
for label, target, op, conns in labels:
    r = s[label]
    if r is None:
        _, failures = runs_of(label)
        why = "; ".join(failures) if failures else "not run"
        w(f"| {op} | {target} | {conns} | – | – | {why} | – |")
        continue
    extra = f" ({r['resumed']:,} resumed)" if label.startswith("connect") else ""
    w(f"| {op} | {target} | {conns} | {num(r['ops'])} | {num(r['p99'])} | "
      f"{' / '.join(num(x) for x in r['runs'])} | {r['errors']:,} / {r['total']:,}{extra} |")

idle_r, idle_fail = runs_of("idle")
w("")
w("Goals (issue 7; the PKCS#11 rows are issue 5's). Rows without a setting are the default, `[audit] sync = \"always\"`:")
w("")
w("| goal | measure | measured | goal met |")
w("|---|---|---:|---|")

def ratio(a, b):
    if s.get(a) and s.get(b) and s[b]["ops"] > 0:
        return s[a]["ops"] / s[b]["ops"]
    return None

def goal(name, measure, value, fmt, ok):
    if value is None:
        w(f"| {name} | {measure} | not measured | – |")
    else:
        w(f"| {name} | {measure} | {fmt(value)} | {'yes' if ok(value) else '**no**'} |")

x = lambda v: f"{v:,.2f}×"
goal("P1", "sign RSA-2048, 2 threads: Keygate resident / raw cryptoki ≥ 0.95",
     ratio("sign-resident", "sign-raw"), x, lambda v: v >= 0.95)
goal("P1", "… Keygate wrapped / raw cryptoki ≥ 0.95",
     ratio("sign-wrapped", "sign-raw"), x, lambda v: v >= 0.95)
goal("P2", "encrypt AES-GCM 64 B, software, 16 connections ≥ 50,000 ops/s",
     s["encrypt-sw"] and s["encrypt-sw"]["ops"], lambda v: f"{v:,.0f} ops/s", lambda v: v >= 50000)
goal("P3", "get: Keygate / PyKMIP ≥ 100×", ratio("get-sw", "get-pykmip"), x, lambda v: v >= 100)
goal("P4", "create, durable SQLite (software) ≥ 5,000/s",
     s["create-sw"] and s["create-sw"]["ops"], lambda v: f"{v:,.0f}/s", lambda v: v >= 5000)
goal("P4", "create: wrapped / resident on SoftHSM2 ≥ 20×",
     ratio("create-wrapped", "create-resident"), x, lambda v: v >= 20)
goal("P5", "connect pattern, session resumption ≥ 2,000/s",
     s["connect-sw"] and s["connect-sw"]["ops"], lambda v: f"{v:,.0f}/s", lambda v: v >= 2000)
goal("P5", "… full handshakes (for reference) ≥ 2,000/s",
     s["connect-fresh-sw"] and s["connect-fresh-sw"]["ops"], lambda v: f"{v:,.0f}/s", lambda v: v >= 2000)
goal("P1", "… with `[audit] sync = \"changes\"`: Keygate resident / raw cryptoki ≥ 0.95",
     ratio("sign-resident-changes", "sign-raw"), x, lambda v: v >= 0.95)
goal("P2", "… with `[audit] sync = \"changes\"` ≥ 50,000 ops/s",
     s["encrypt-sw-changes"] and s["encrypt-sw-changes"]["ops"], lambda v: f"{v:,.0f} ops/s", lambda v: v >= 50000)
goal("P3", "… with `[audit] sync = \"changes\"`: Keygate / PyKMIP ≥ 100×",
     ratio("get-sw-changes", "get-pykmip"), x, lambda v: v >= 100)
goal("P5", "… with `[audit] sync = \"changes\"`, session resumption ≥ 2,000/s",
     s["connect-sw-changes"] and s["connect-sw-changes"]["ops"], lambda v: f"{v:,.0f}/s", lambda v: v >= 2000)
goal("PKCS#11", "C_Sign RSA-2048, 2 threads: library / SoftHSM2 directly ≥ 0.90",
     ratio("sign-shim", "sign-raw"), x, lambda v: v >= 0.90)
goal("PKCS#11", "C_Encrypt AES-GCM 64 B through the library, 1 thread ≥ 15,000/s",
     s["encrypt-shim"] and s["encrypt-shim"]["ops"], lambda v: f"{v:,.0f}/s", lambda v: v >= 15000)
rss = None
if idle_r and idle_r[0].get("server_rss_kib") and idle_r[0]["ok"] > 0:
    i = idle_r[0]
    rss = i["server_rss_kib"] * 1024 / 1e6
    goal("P8", f"daemon VmRSS with {i['ok']:,} idle mTLS connections (of {idle} asked; "
         f"{i['errors']:,} failed) ≤ 300 MB",
         rss, lambda v: f"{v:,.1f} MB (idle daemon before: {i['server_rss_before_kib'] * 1024 / 1e6:,.1f} MB)",
         lambda v: v <= 300 and i["ok"] >= int(idle))
else:
    w(f"| P8 | daemon VmRSS with {idle} idle connections | not measured: {'; '.join(idle_fail) or 'no output'} | – |")
w("")
w("MB = 10^6 bytes. Ratios are of the medians. A failed or errored run shows in the last column.")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
EOF

begin='<!-- bench/compare.sh: begin (generated; edits are overwritten) -->'
end='<!-- bench/compare.sh: end -->'
if (( write )); then
    "$py" - "$repo/BENCHMARKS.md" "$section" "$begin" "$end" <<'EOF'
import sys
path, section, begin, end = sys.argv[1:]
doc = open(path).read()
body = open(section).read()
block = f"{begin}\n{body}{end}"
if begin in doc and end in doc:
    head, rest = doc.split(begin, 1)
    doc = head + block + rest.split(end, 1)[1]
else:
    doc = doc.rstrip("\n") + "\n\n## KMIP server throughput (bench/compare.sh)\n\n" + block + "\n"
open(path, "w").write(doc)
EOF
    echo "wrote the table into BENCHMARKS.md" >&2
fi
cat "$section"
