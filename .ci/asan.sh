#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run.
#
#  1. Copies the repository (its tracked and untracked-but-not-ignored files, as
#     they are in the work tree) to a temporary directory and builds the
#     extension there, in place, with -fsanitize=address,undefined; the work tree
#     is never built in.  It runs with a throwaway virtualenv whose packages
#     are the caller's (a .pth file), so nothing is installed anywhere.
#  2. Runs the core pytest files under it (LD_PRELOAD of libasan), once per
#     dispatch path: LRN_FAST_DISABLE_CPU_FEATURES unset, =AVX512F, =AVX2.
#  3. Builds src_c/test/test_kernels.c natively with the sanitizers (leak
#     detection on) and runs it twice: plainly, and with every allocation
#     filled with 0xff bytes (NaN as float and double), which turns a read of
#     scratch memory the kernels never wrote into a NaN the test sees.
# Any sanitizer report (also from a subprocess) or test failure fails the run.
#
# Usage: bash .ci/asan.sh [PYTHON [TEST_FILE...]]
#   PYTHON: an interpreter with numpy, Cython, setuptools, pytest (and whatever
#   the tests import); default $PYTHON, else python3.  TEST_FILE: paths relative
#   to the repository; default tests/test_lrn.py tests/test_backward.py
#   tests/test_api.py (those that exist).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python3}"
if [ $# -gt 0 ]; then
    py="$1"
    shift
fi
py="$(command -v "$py")"
if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for f in tests/test_lrn.py tests/test_backward.py tests/test_api.py; do
        [ -f "$repo/$f" ] && tests+=("$f")
    done
fi
CC="${CC:-gcc}"
# -O1 (after the build's -O3, so it wins): the sanitizers' recommended level; at -O3
# gcc took over 8 minutes per target file on the unrolled strip kernels
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1)
tmp="$(mktemp -d)"
# LRN_ASAN_KEEP=1 keeps the directory (build, outputs) for a look afterwards
if [ "${LRN_ASAN_KEEP:-0}" = 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
status=0
t0=$SECONDS
fail() { echo "FAILED: $*"; status=1; }

# sanitizer reports go to files, so that one from any process (subprocesses
# of the tests included) is seen; each run checks that none appeared
mkdir -p "$tmp/reports"
check_reports() {
    if compgen -G "$tmp/reports/*" > /dev/null; then
        for f in "$tmp"/reports/*; do
            echo "---- sanitizer report $(basename "$f")"
            head -n 60 "$f"
        done
        fail "$1: sanitizer report(s) above"
        rm -f "$tmp"/reports/*
    fi
}

# ---- 1. copy and build ---------------------------------------------------------
echo "== copying $repo to $tmp/src"
mkdir -p "$tmp/src"
if git -C "$repo" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2> /dev/null) | tar -x -C "$tmp/src"
else
    cp -r "$repo/." "$tmp/src"
    rm -rf "$tmp/src/build" "$tmp/src"/lrn_fast/*.so "$tmp/src"/lrn_fast/_lrn.c
fi

echo "== throwaway virtualenv on $py ($("$py" --version 2>&1))"
"$py" -m venv --without-pip "$tmp/venv"
vpy="$tmp/venv/bin/python"
vsite="$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$py" -c 'import site, sys
paths = site.getsitepackages() + [site.getusersitepackages()]
print("\n".join(p for p in paths if p))' > "$vsite/caller-site-packages.pth"
# the build tools (pyproject.toml's build-system.requires), if the caller lacks
# them or has older ones, go into the throwaway venv only
read -r -a missing <<< "$("$vpy" -c 'import importlib.metadata as md
need = {"Cython": (3, 0), "setuptools": (77, 0)}
def version(name):
    try:
        return tuple(int(p) for p in md.version(name).split(".")[:2])
    except Exception:
        return None
print(" ".join(f"{n}>={v[0]}.{v[1]}" for n, v in need.items()
               if version(n) is None or version(n) < v))')"
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} into the throwaway venv"
    "$py" -m pip install -q --disable-pip-version-check --target "$vsite" "${missing[@]}" ||
        { echo "FAILED: could not install ${missing[*]}"; exit 1; }
fi
if ! "$vpy" -c 'import numpy, Cython, setuptools, pytest' 2> /dev/null; then
    echo "FAILED: $py needs numpy and pytest (and Cython, setuptools)"
    exit 1
fi

asan_rt="$("$CC" -print-file-name=libasan.so)"
[ -f "$asan_rt" ] || { echo "FAILED: $CC has no libasan.so ($asan_rt)"; exit 1; }
echo "== building the extension with ${SAN[*]} ($("$CC" --version | head -n 1))"
t=$SECONDS
if ! (cd "$tmp/src" &&
      CC="$CC" LRN_FAST_REQUIRE_OPENMP=1 \
      LRN_FAST_EXTRA_CFLAGS="${SAN[*]}" LRN_FAST_EXTRA_LDFLAGS="-fsanitize=address,undefined" \
      "$vpy" setup.py -q build_ext --inplace > "$tmp/build.txt" 2>&1); then
    tail -n 40 "$tmp/build.txt"
    echo "FAILED: the sanitizer build"
    exit 1
fi
so="$(ls "$tmp"/src/lrn_fast/_lrn*.so)"
# grep -c reads all of nm's output: grep -q stops at the first match, and under pipefail
# nm's next write then dies of SIGPIPE (141), a false "not instrumented" once the symbol
# list passed 8 KB (the first __asan_report at byte 5920 of 8762)
if [ "$(nm -D "$so" | grep -c __asan_report)" -eq 0 ]; then
    echo "FAILED: $so is not instrumented"
    exit 1
fi
echo "built $(basename "$so") in $((SECONDS - t)) s"

# ---- 2. pytest once per dispatch path --------------------------------------------
san_env=(
    LD_PRELOAD="$asan_rt"
    ASAN_OPTIONS="detect_leaks=0:log_path=$tmp/reports/asan"
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$tmp/reports/ubsan"
    PYTHONMALLOC=malloc
    PYTHONPATH="$tmp/src"
    PYTHONDONTWRITEBYTECODE=1
)
# canary: a deliberate heap overflow must be reported (in a file) and fail, or
# a clean run below would mean nothing
if env "${san_env[@]}" "$vpy" -c 'import ctypes
a = ctypes.create_string_buffer(16)
ctypes.memmove(a, ctypes.create_string_buffer(64), 64)' > /dev/null 2>&1 ||
   ! compgen -G "$tmp/reports/asan*" > /dev/null; then
    echo "FAILED: ASan did not report a deliberate overflow in the test environment"
    exit 1
fi
rm -f "$tmp"/reports/*
echo "canary: a deliberate overflow was reported"

for disable in "" AVX512F AVX2; do
    label="dispatch default"
    [ -z "$disable" ] || label="LRN_FAST_DISABLE_CPU_FEATURES=$disable"
    t=$SECONDS
    info="$(cd "$tmp/src" && env "${san_env[@]}" LRN_FAST_DISABLE_CPU_FEATURES="$disable" \
            "$vpy" -c 'import lrn_fast, os
from lrn_fast import _lrn
assert os.path.dirname(lrn_fast.__file__).startswith(os.environ["PYTHONPATH"]), lrn_fast.__file__
print(_lrn.target_name(_lrn.get_target()))' 2>&1)" || {
        echo "$info"
        check_reports "$label: import"
        fail "$label: could not import the sanitizer build"
        continue
    }
    echo "== pytest, $label (target $info): ${tests[*]:-smoke test}"
    if [ ${#tests[@]} -gt 0 ]; then
        if (cd "$tmp/src" && env "${san_env[@]}" LRN_FAST_DISABLE_CPU_FEATURES="$disable" \
                "$vpy" -m pytest -q -rfE -p no:cacheprovider "${tests[@]}" > "$tmp/pytest-${disable:-default}.txt" 2>&1); then
            tail -n 3 "$tmp/pytest-${disable:-default}.txt"
        else
            tail -n 80 "$tmp/pytest-${disable:-default}.txt"
            fail "$label: pytest"
        fi
    else
        (cd "$tmp/src" && env "${san_env[@]}" LRN_FAST_DISABLE_CPU_FEATURES="$disable" \
            "$vpy" - <<'EOF') || fail "$label: smoke test"
import numpy as np
import lrn_fast
from lrn_fast import reference as ref
rng = np.random.default_rng(0)
for dt, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
    for shape, region in (((2, 7, 5, 6), "across"), ((2, 3, 6, 7), "within")):
        x = rng.standard_normal(shape).astype(dt)
        g = rng.standard_normal(shape).astype(dt)
        for xs in (x, np.moveaxis(np.moveaxis(x, 1, -1).copy(), -1, 1)):
            for size in (1, 3, 4, 5):
                kw = dict(size=size, alpha=0.5, beta=0.75, k=1.0, region=region)
                np.testing.assert_allclose(lrn_fast.lrn(xs, **kw), ref.lrn(xs, **kw), rtol=tol * 10)
                np.testing.assert_allclose(lrn_fast.lrn_backward(g, xs, **kw),
                                           ref.lrn_backward(g, xs, **kw), rtol=tol * 10, atol=tol)
print("smoke test ok")
EOF
    fi
    check_reports "$label"
    echo "$label: $((SECONDS - t)) s"
done

# ---- 3. the C test program with the sanitizers, leak detection on ------------------
echo "== src_c/test/test_kernels.c with ${SAN[*]}"
t=$SECONDS
src="$tmp/src/src_c"
if "$CC" -std=c99 -O3 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp "${SAN[@]}" -I"$src" \
        "$src/test/test_kernels.c" "$src"/lrn_driver.c "$src"/lrn_target_*.c -lm \
        -o "$tmp/test_kernels" 2> "$tmp/cbuild.txt"; then
    for fill in plain 0xff; do
        opts="detect_leaks=1:log_path=$tmp/reports/asan"
        [ "$fill" = plain ] || opts="$opts:malloc_fill_byte=255:max_malloc_fill_size=1073741824"
        if ASAN_OPTIONS="$opts" \
           UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$tmp/reports/ubsan" \
           "$tmp/test_kernels" > "$tmp/ctest.txt" 2>&1; then
            echo "test_kernels (allocations $fill): $(tail -n 1 "$tmp/ctest.txt")"
        else
            grep -E '^(FAIL|    )' "$tmp/ctest.txt" | head -n 40 || true
            fail "test_kernels (allocations $fill): $(tail -n 1 "$tmp/ctest.txt")"
        fi
        check_reports "test_kernels (allocations $fill)"
    done
else
    cat "$tmp/cbuild.txt"
    fail "could not build test_kernels with the sanitizers"
fi
echo "C test: $((SECONDS - t)) s"

echo "== asan.sh: $([ $status -eq 0 ] && echo OK || echo FAILED) in $((SECONDS - t0)) s"
exit $status
