#!/usr/bin/env bash
# Compile cost of #[differentiate]: generates a forward function of N
# straight-line statements, builds it in a throwaway crate (in a temp dir,
# depending on this repo's `neuron` by path) without and with the attribute,
# and reports build times and code sizes.
#
# Usage: benches/compile_cost.sh [--with] [N ...]      (default N: 100 1000 10000)
#   without --with: only the plain function (works with the stub macro);
#   with --with:    also `#[neuron::differentiate]` plus a caller of
#                   `f_backward`, so the generated code is really compiled.
#
# What it measures, per N and mode (all on stable Rust):
#   dev_s / rel_s  wall time of `cargo build` / `cargo build --release` of the
#                  throwaway crate alone (its dependencies are built once
#                  beforehand, so the times are this crate's rustc time,
#                  including macro expansion);
#   mir_lines      lines of the crate's MIR (`rustc --emit=mir`, dev profile):
#                  how much code the macro's output is, after expansion and
#                  type checking, before LLVM;
#   rlib_dev / rlib_rel  bytes of the crate's .rlib (object code + metadata).
# With --with, the "added" rows are with minus without.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WITH=0
SIZES=()
for arg in "$@"; do
    case "$arg" in
        --with) WITH=1 ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) SIZES+=("$arg") ;;
    esac
done
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100 1000 10000)

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export CARGO_TARGET_DIR="$TMP/target"
export CARGO_TERM_COLOR=never
unset RUSTFLAGS
# rustc itself overflows its stack on a 10 000-statement function (with or
# without the macro); it suggests this itself.
export RUST_MIN_STACK=${RUST_MIN_STACK:-67108864}

# write_crate DIR NAME N MODE
write_crate() {
    local dir=$1 name=$2 n=$3 mode=$4
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
neuron = { path = "$ROOT" }

[workspace]

# As the README recommends for functions of thousands of statements: the
# macro's compiler and the token crates it calls into optimised, in both
# profiles.
[profile.dev.package.neuron-codegen]
opt-level = 3
[profile.dev.package.proc-macro2]
opt-level = 3
[profile.dev.package.quote]
opt-level = 3
[profile.dev.package.syn]
opt-level = 3

[profile.release.package.neuron-codegen]
opt-level = 3
[profile.release.package.proc-macro2]
opt-level = 3
[profile.release.package.quote]
opt-level = 3
[profile.release.package.syn]
opt-level = 3
TOML
    {
        echo "#![allow(clippy::all)]"
        echo "use neuron::relu;"
        [ "$mode" = with ] && echo "#[neuron::differentiate]"
        echo "pub fn f(x: f64, a: f64, b: f64) -> f64 {"
        echo "    let v0 = x;"
        local k p j
        for ((k = 1; k <= n; k++)); do
            p=$((k - 1)); j=$((k / 2))
            case $((k % 5)) in
                0) echo "    let v$k = (v$p * a + b).tanh();" ;;
                1) echo "    let v$k = v$p * v$j - a;" ;;
                2) echo "    let v$k = v$p / (1.0 + v$p * v$p);" ;;
                3) echo "    let v$k = relu(v$p - b) + 0.5 * v$j;" ;;
                4) echo "    let v$k = (v$p * 0.1).exp() - v$j;" ;;
            esac
        done
        echo "    v$n"
        echo "}"
        if [ "$mode" = with ]; then
            echo "pub fn g(x: f64, a: f64, b: f64) -> (f64, f64, f64) {"
            echo "    f_backward(x, a, b, 1.0)"
            echo "}"
        fi
    } > "$dir/src/lib.rs"
}

now() { date +%s.%N; }

# build DIR PROFILE-ARGS... : prints seconds, or FAIL
build() {
    local dir=$1; shift
    local t0 t1
    t0=$(now)
    if cargo build --quiet --manifest-path "$dir/Cargo.toml" "$@" > "$dir/build.log" 2>&1; then
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
    else
        echo FAIL
    fi
}

echo "compile_cost: $(rustc --version), $(nproc) cores, neuron at $ROOT"
echo "building dependencies once (dev and release)..."
write_crate "$TMP/warm" warm 1 without
for profile in --profile=dev --release; do
    if ! cargo build --quiet "$profile" --manifest-path "$TMP/warm/Cargo.toml" > "$TMP/warm.log" 2>&1; then
        echo "cannot build neuron at $ROOT:"; tail -20 "$TMP/warm.log"; exit 1
    fi
done

MODES=(without)
[ $WITH = 1 ] && MODES+=(with)

printf '%-7s %-8s %8s %8s %10s %10s %10s\n' N mode dev_s rel_s mir_lines rlib_dev rlib_rel
declare -A R
for n in "${SIZES[@]}"; do
    for mode in "${MODES[@]}"; do
        name="cc_${mode}_$n"
        dir="$TMP/$name"
        write_crate "$dir" "$name" "$n" "$mode"
        # Dependencies first, untimed (they may have changed since the warm-up).
        cargo build --quiet --manifest-path "$dir/Cargo.toml" -p neuron > /dev/null 2>&1
        cargo build --quiet --release --manifest-path "$dir/Cargo.toml" -p neuron > /dev/null 2>&1
        dev=$(build "$dir")
        rel=$(build "$dir" --release)
        if [ "$dev" = FAIL ] || [ "$rel" = FAIL ]; then
            printf '%-7s %-8s build failed:\n' "$n" "$mode"
            grep -m5 -E '^error' -A4 "$dir/build.log" | sed 's/^/    /' || tail -5 "$dir/build.log" | sed 's/^/    /'
            cp "$dir/build.log" "${TMPDIR:-/tmp}/compile_cost_${name}.log" && echo "    full log: ${TMPDIR:-/tmp}/compile_cost_${name}.log"
            [ "$mode" = with ] && echo "    (does the macro generate f_backward for straight-line code yet?)"
            continue
        fi
        # rustc may crash emitting the MIR of a huge function: report 0 then.
        cargo rustc --quiet --lib --manifest-path "$dir/Cargo.toml" -- --emit=mir > /dev/null 2>&1 || true
        mir=$(cat "$CARGO_TARGET_DIR"/debug/deps/"$name"-*.mir 2>/dev/null | wc -l || echo 0)
        rd=$(stat -c %s "$CARGO_TARGET_DIR/debug/lib$name.rlib")
        rr=$(stat -c %s "$CARGO_TARGET_DIR/release/lib$name.rlib")
        printf '%-7s %-8s %8s %8s %10s %10s %10s\n' "$n" "$mode" "$dev" "$rel" "$mir" "$rd" "$rr"
        R[$n,$mode]="$dev $rel $mir $rd $rr"
        rm -rf "$CARGO_TARGET_DIR"/{debug,release}/{deps,.fingerprint,incremental}/"$name"-* \
            "$CARGO_TARGET_DIR"/{debug,release}/deps/lib"$name"-* "$CARGO_TARGET_DIR"/debug/deps/"$name"-*.mir 2>/dev/null || true
    done
    if [ $WITH = 1 ] && [ -n "${R[$n,without]:-}" ] && [ -n "${R[$n,with]:-}" ]; then
        read -r d0 r0 m0 a0 b0 <<< "${R[$n,without]}"
        read -r d1 r1 m1 a1 b1 <<< "${R[$n,with]}"
        printf '%-7s %-8s %8.2f %8.2f %10d %10d %10d\n' "$n" added \
            "$(awk -v a="$d1" -v b="$d0" 'BEGIN{print a-b}')" \
            "$(awk -v a="$r1" -v b="$r0" 'BEGIN{print a-b}')" \
            $((m1 - m0)) $((a1 - a0)) $((b1 - b0))
    fi
done
