#!/usr/bin/env bash
# Runs every fuzz target (fuzz/README.md) for SECONDS each: with cargo-fuzz
# (libFuzzer, coverage-guided) where the nightly toolchain is installed,
# else with the stable harness fuzz_stable, which runs the same target
# bodies over the same seeds and mutations of them. A crash, a hang (an
# input over 10 s) or more than 2 GiB resident fails the run and leaves the
# input in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 20 s, every target)
#   GONGKAI_FUZZ_STABLE=1 scripts/fuzz.sh ...  (the stable harness even with nightly)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds="${1:-20}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(document check store_values requests)
fi

# Seeds of each target: the fixtures and checked-in seeds, then the inputs
# that once crashed it (kept as regressions). fuzz_stable knows the same list.
seeds_of() {
    case "$1" in
        document) echo "testdata/reports fuzz/seeds/document fuzz/regressions/document" ;;
        *) echo "fuzz/seeds/$1 fuzz/regressions/$1" ;;
    esac
}

if [ "${GONGKAI_FUZZ_STABLE:-}" != 1 ] && command -v rustup >/dev/null &&
    rustup toolchain list | grep -q '^nightly'; then
    if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
        cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
    fi
    # No sanitizer: unsafe code is forbidden in the code under test, and
    # what is looked for is a panic (overflow checks and debug assertions
    # on), a hang or unbounded memory.
    cargo +nightly fuzz build -s none
    for t in "${targets[@]}"; do
        work="$(mktemp -d)"
        mkdir -p "fuzz/artifacts/$t"
        dirs=()
        for d in $(seeds_of "$t"); do
            [ -d "$d" ] && dirs+=("$d")
        done
        echo "--- cargo fuzz run $t: ${seconds}s (seeds: ${dirs[*]})"
        # New inputs go to the first (temporary) directory: the checked-in
        # seeds stay as they are.
        set +e
        cargo +nightly fuzz run -s none "$t" "$work" "${dirs[@]}" -- \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$work.log" 2>&1
        status=$?
        set -e
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done |stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' "$work.log" || true
        if [ "$status" -ne 0 ]; then
            tail -n 80 "$work.log"
            echo "fuzz target $t failed (exit $status); the input is in fuzz/artifacts/$t/"
            exit 1
        fi
        rm -rf "$work" "$work.log"
    done
else
    if [ "${GONGKAI_FUZZ_STABLE:-}" = 1 ]; then
        echo "NOTE: GONGKAI_FUZZ_STABLE=1: the stable harness fuzz_stable instead of cargo-fuzz."
    else
        echo "NOTE: no nightly toolchain here ('rustup toolchain list' lists none): cargo-fuzz"
        echo "      needs it, so the targets run under the stable harness fuzz_stable instead"
        echo "      (same bodies and seeds, blind mutation, no coverage feedback)."
    fi
    cargo build --release --manifest-path fuzz/Cargo.toml -p gongkai-fuzz-targets --bin fuzz_stable
    for t in "${targets[@]}"; do
        echo "--- fuzz_stable run $t: ${seconds}s"
        fuzz/target/release/fuzz_stable run "$t" --seconds "$seconds" --timeout 10 --rss-mb 2048
    done
fi
