#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets/ for a while over its committed corpus; CI calls it
# with a short time. Usage: fuzz/run.sh [seconds-per-target] (default 20).
#
# - Installs cargo-fuzz (pinned) when `cargo fuzz` is missing: 40 s on an idle machine of this kind.
# - No sanitizer by default (FUZZ_SANITIZER=address to change it): the parsers are safe Rust, so
#   AddressSanitizer finds nothing a panic would not, and ran the search target 5 times slower.
# - Needs no nightly: without a sanitizer cargo-fuzz passes only stable `-C` flags; with one, its
#   `-Zsanitizer` is allowed on the stable toolchain by RUSTC_BOOTSTRAP=1. If the build still fails
#   and a nightly toolchain is installed, it builds with nightly instead.
# - New inputs go to a scratch corpus; the committed one is only read. A crash (or timeout, or
#   out-of-memory) is left in fuzz/artifacts/<target>/, printed, and makes the script exit 1
#   after the other targets have run.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
cargo_fuzz_version="0.13.2"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz $cargo_fuzz_version"
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

targets=()
for f in fuzz_targets/*.rs; do
  targets+=("$(basename "$f" .rs)")
done
listed="$(cargo fuzz list)"
for t in "${targets[@]}"; do
  if ! grep -qx "$t" <<<"$listed"; then
    echo "fuzz/fuzz_targets/$t.rs has no [[bin]] entry in fuzz/Cargo.toml (see fuzz/README.md)" >&2
    exit 1
  fi
done

# Which cargo builds: the default toolchain (allowing `-Z` flags for a sanitizer), else nightly.
fuzz=(cargo fuzz)
if [[ "$sanitizer" != none ]]; then
  fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi
echo "== cargo fuzz build (sanitizer: $sanitizer)"
if ! "${fuzz[@]}" build --sanitizer "$sanitizer"; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "== the default toolchain could not build the targets; trying nightly"
    fuzz=(cargo +nightly fuzz)
    "${fuzz[@]}" build --sanitizer "$sanitizer"
  else
    exit 1
  fi
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${secs}s"
  mkdir -p "corpus/$t" "artifacts/$t" "$scratch/$t"
  touch "$scratch/started"
  # The first corpus directory receives new inputs; the committed one after it is only read.
  # -timeout: one input taking over 10 s is a finding, not a slow machine.
  if ! "${fuzz[@]}" run --sanitizer "$sanitizer" "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
    failed+=("$t")
    # What went wrong (the panic or libFuzzer's error), then cargo-fuzz's reproduction steps.
    grep -A 3 -E 'panicked at|ERROR: libFuzzer' "$scratch/$t.log" | head -n 40 || true
    sed -n '/Failing input:/,/Error: Fuzz target/p' "$scratch/$t.log"
    echo "== $t failed; the input, as text and in base64:"
    while IFS= read -r -d '' a; do
      echo "-- $a"
      od -c "$a" | head -n 20
      base64 -w0 "$a"
      echo
    done < <(find "artifacts/$t" -type f -newer "$scratch/started" -print0)
  else
    grep -E 'stat::number_of_executed_units|INITED|DONE' "$scratch/$t.log" || true
  fi
done

if ((${#failed[@]})); then
  echo "== fuzz targets failed: ${failed[*]} (inputs in fuzz/artifacts/; see fuzz/README.md)" >&2
fi
echo "== fuzz: ${#targets[@]} target(s), ${secs}s each"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
