#!/usr/bin/env bash
# Rebuilds the fuzz seed corpora from the OASIS KMIP test vectors: every message of
# every vector file becomes one binary seed (corpus/decode_roundtrip/) and one XML
# seed (corpus/xml_roundtrip/), converted by `keygate kmip convert`. Old seeds are
# replaced; inputs libFuzzer found on its own are kept.
#
# Vectors folder: $KEYGATE_OASIS_VECTORS, default ../shared/kmip/vectors beside the repo.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vectors=${KEYGATE_OASIS_VECTORS:-$root/../shared/kmip/vectors}
if [[ ! -d $vectors ]]; then
    echo "seed.sh: vectors folder '$vectors' not found; set KEYGATE_OASIS_VECTORS" >&2
    exit 1
fi

# Build once through cargo, then call the binary directly: one process per message.
(cd "$root" && cargo build --quiet -p keygate)
target_dir=${CARGO_TARGET_DIR:-$root/target}
[[ $target_dir = /* ]] || target_dir=$root/$target_dir
keygate=$target_dir/debug/keygate
convert() { "$keygate" kmip convert "$@"; }

bin_dir=$here/corpus/decode_roundtrip
xml_dir=$here/corpus/xml_roundtrip
mkdir -p "$bin_dir" "$xml_dir"
rm -f "$bin_dir"/seed-* "$xml_dir"/seed-*

files=0 messages=0 failed=0
while IFS= read -r -d '' file; do
    files=$((files + 1))
    name=$(basename "$file" .xml)
    if ! hex=$(convert --from xml --to hex "$file" 2>&1); then
        echo "seed.sh: skipping $file: $hex" >&2
        failed=$((failed + 1))
        continue
    fi
    n=0
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        n=$((n + 1))
        printf '%s' "$line" | convert --from hex --to ttlv >"$bin_dir/seed-$name-$n"
        printf '%s' "$line" | convert --from hex --to xml >"$xml_dir/seed-$name-$n.xml"
    done <<<"$hex"
    messages=$((messages + n))
done < <(find "$vectors" -name '*.xml' -print0 | sort -z)

echo "seed.sh: $messages messages from $files vector files ($failed skipped) -> $here/corpus"
if [[ $messages -eq 0 ]]; then
    echo "seed.sh: no seed written" >&2
    exit 1
fi
