#!/usr/bin/env bash
# Builds the C kernels (src_c/) and their C test (src_c/test/test_kernels.c)
#   1. natively (gcc, OpenMP), and
#   2. for aarch64 with aarch64-linux-gnu-gcc, serial and with OpenMP, run under
#      qemu-aarch64,
# with the extension's flags; checks that every file compiles without a warning
# under -Wall -Wextra and that the aarch64 kernels use NEON vector arithmetic.
# Installs the cross compiler and qemu with apt-get when they are missing (CI
# runs as root).  Build output goes to a temporary directory.  Exits nonzero on
# any failure.  Usage: bash .ci/aarch64.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
src="$repo/src_c"
# the flags of setup.py's BASE_FLAGS
FLAGS=(-std=c99 -O3 -fno-math-errno -fno-trapping-math -ffp-contract=off)
WARN=(-Wall -Wextra)
KERNELS=("$src"/lrn_driver.c "$src"/lrn_target_*.c)
TEST="$src/test/test_kernels.c"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
t0=$SECONDS

fail() { echo "FAILED: $*"; status=1; }

# compile every file with -Wall -Wextra; any warning fails
# usage: compile CC TAG EXTRA_FLAGS... ; objects go to $out/TAG/
compile() {
    local cc=$1 tag=$2
    shift 2
    mkdir -p "$out/$tag"
    local f log="$out/$tag/warnings.txt"
    : > "$log"
    for f in "${KERNELS[@]}" "$TEST"; do
        if ! "$cc" "${FLAGS[@]}" "${WARN[@]}" "$@" -I"$src" -c "$f" \
                -o "$out/$tag/$(basename "$f" .c).o" 2>> "$log"; then
            cat "$log"
            fail "$tag: $cc could not compile $f"
            return 1
        fi
    done
    if [ -s "$log" ]; then
        cat "$log"
        fail "$tag: warnings with ${WARN[*]} (above)"
    else
        echo "$tag: compiled without warnings (${WARN[*]})"
    fi
}

# link; linker notes (libgomp.a's dlopen note under -static) are not compile warnings
link() {
    local cc=$1 tag=$2
    shift 2
    if ! "$cc" "$@" "$out/$tag"/*.o -lm -o "$out/$tag/test_kernels" 2> "$out/$tag/link.txt"; then
        cat "$out/$tag/link.txt"
        fail "$tag: link failed"
        return 1
    fi
}

# run the test; its last line is "N passed, N failed"
run() {
    local tag=$1
    shift
    echo "== $tag: running test_kernels"
    local t=$SECONDS
    if "$@" "$out/$tag/test_kernels" > "$out/$tag/test.txt" 2>&1; then
        grep -E '^(lrn kernels|group )' "$out/$tag/test.txt" || true
        echo "$tag: $(tail -n 1 "$out/$tag/test.txt") ($((SECONDS - t)) s)"
    else
        grep -E '^(FAIL|    )' "$out/$tag/test.txt" | head -n 60 || true
        grep -E '^(lrn kernels|group )' "$out/$tag/test.txt" || true
        fail "$tag: $(tail -n 1 "$out/$tag/test.txt")"
    fi
}

# ---- native ---------------------------------------------------------------------
echo "== native ($(uname -m), $(gcc --version | head -n 1))"
if compile gcc native -fopenmp && link gcc native -fopenmp; then
    run native
fi

# ---- aarch64 ----------------------------------------------------------------------
if [ "$(uname -m)" = aarch64 ]; then
    echo "== aarch64: this machine is aarch64; the native run above covered it"
    exit $status
fi

need=()
command -v aarch64-linux-gnu-gcc > /dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# Debian 12: qemu-user ships /usr/bin/qemu-aarch64, qemu-user-static qemu-aarch64-static
QEMU="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
[ -n "$QEMU" ] || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "FAILED: ${need[*]} missing and not root: apt-get install ${need[*]}"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q > "$out/apt.txt" 2>&1 &&
        apt-get install -y -q --no-install-recommends "${need[@]}" >> "$out/apt.txt" 2>&1 ||
        { tail -n 20 "$out/apt.txt"; echo "FAILED: apt-get install ${need[*]}"; exit 1; }
    QEMU="$(command -v qemu-aarch64 || command -v qemu-aarch64-static)"
fi
echo "== aarch64 ($(aarch64-linux-gnu-gcc --version | head -n 1); $("$QEMU" --version | head -n 1))"

# serial build (no OpenMP), static so that qemu needs no aarch64 libraries
if compile aarch64-linux-gnu-gcc aarch64-serial && link aarch64-linux-gnu-gcc aarch64-serial -static; then
    run aarch64-serial "$QEMU"
fi

# OpenMP build, if the cross toolchain has libgomp
if [ "$(aarch64-linux-gnu-gcc -print-file-name=libgomp.a)" != libgomp.a ]; then
    if compile aarch64-linux-gnu-gcc aarch64-openmp -fopenmp &&
        link aarch64-linux-gnu-gcc aarch64-openmp -fopenmp -static; then
        run aarch64-openmp "$QEMU"
    fi
else
    echo "aarch64-openmp: skipped, the cross toolchain has no libgomp.a"
fi

# the float32 generic power (its NEON table lookups: vqtbl4q) against double pow
echo "== aarch64: test_pow_f32, every 997th positive float, four betas and the fast powers"
if aarch64-linux-gnu-gcc "${FLAGS[@]}" -I"$src" -DLRN_POW_PART=0 -c "$src/test/test_pow_f32.c" \
        -o "$out/test_pow_f32_0.o" &&
    aarch64-linux-gnu-gcc "${FLAGS[@]}" -I"$src" "$src/test/test_pow_f32.c" "$out/test_pow_f32_0.o" \
        -lm -static -o "$out/test_pow_f32"; then
    "$QEMU" "$out/test_pow_f32" 997 0.6 3.7 -2.5 1e-3 | grep -E "row|^fast|passed|FAILED" ||
        fail "aarch64: test_pow_f32"
else
    fail "aarch64: test_pow_f32 did not build"
fi

# NEON: count vector floating-point instructions (.4s float, .2d double lanes)
obj="$out/aarch64-serial/lrn_target_baseline.o"
if [ -f "$obj" ]; then
    aarch64-linux-gnu-objdump -d "$obj" > "$out/baseline.dis"
    echo "== NEON in the aarch64 baseline kernels ($(basename "$obj"))"
    total=0
    for op in fmul fadd fsub fdiv fsqrt; do
        nf=$(grep -cE "[[:space:]]$op[[:space:]]+v[0-9]+\.4s" "$out/baseline.dis" || true)
        nd=$(grep -cE "[[:space:]]$op[[:space:]]+v[0-9]+\.2d" "$out/baseline.dis" || true)
        echo "  $op v: $nf float (4s), $nd double (2d)"
        total=$((total + nf + nd))
    done
    # -ffp-contract=off: no fused multiply-adds (vector fmla/fmls, scalar fmadd/fmsub)
    nfma=$(grep -cE "[[:space:]](fmla|fmls|fmadd|fmsub|fnmadd|fnmsub)[[:space:]]" "$out/baseline.dis" || true)
    echo "  per function, top 12 (vector fmul/fadd/fsub/fdiv/fsqrt):"
    awk '/^[0-9a-f]+ <.*>:$/ { f = $2 }
         /[[:space:]](fmul|fadd|fsub|fdiv|fsqrt)[[:space:]]+v[0-9]+\.(4s|2d)/ { c[f]++ }
         END { for (k in c) printf "    %5d %s\n", c[k], k }' "$out/baseline.dis" | sort -rn | head -n 12 || true
    # for information: is the generic-beta power vectorised? (its out-of-line version for
    # vectors with special values; the fast one is inlined into the kernels)
    awk '/^[0-9a-f]+ <.*>:$/ { f = $2 }
         f ~ /vpow_generic_full/ && /[[:space:]]v[0-9]+\.(4s|2d)/ { c[f]++ }
         f ~ /vpow_generic_full/ && /^[[:space:]]+[0-9a-f]+:/ { n[f]++ }
         END { for (k in n) printf "  generic power %s %d of %d instructions on vectors\n", k, c[k], n[k] }' \
        "$out/baseline.dis"
    echo "  fused multiply-adds: $nfma"
    [ "$total" -gt 0 ] || fail "no NEON vector arithmetic in the aarch64 kernels"
    [ "$(grep -cE "[[:space:]]fsqrt[[:space:]]+v" "$out/baseline.dis" || true)" -gt 0 ] ||
        fail "sqrt is not vectorised on aarch64 (fsqrt v)"
    [ "$nfma" -eq 0 ] || fail "fused multiply-adds despite -ffp-contract=off"
fi

echo "== aarch64.sh: $([ $status -eq 0 ] && echo OK || echo FAILED) in $((SECONDS - t0)) s"
exit $status
