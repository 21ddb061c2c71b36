#!/bin/bash
# Times the kernels of a git revision (A) against the working tree's (B) in one
# process (src_c/test/bench_ab.c), each case in its own run.  Both are built with
# setup.py's flags; B's global symbols get a B_ prefix.  Not run by CI.
#
#   bash src_c/test/bench_ab.sh REV ["N C HW fwd|bwd beta threads reps f32|f64 [size [k alpha]]" ...]
#
# LRN_AB_TARGET=AVX2 (or baseline) times that target instead of the best one.
# LRN_AB_LAYOUT=hhh (x, g, y: c NCHW, h NHWC) times other memory orders.
#
# Without cases: AlexNet norm1 and norm2, float32, beta 0.75, forward and backward,
# 1 and 2 threads, and (1,96,55,55) forward.  Two builds of the same source read
# B/A within about 0.985-1.015 here; a change smaller than that is not measured.
set -e
rev=${1:?usage: bench_ab.sh REV [CASE ...]}
shift
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/a" "$tmp/A" "$tmp/B"
git -C "$root" archive "$rev" src_c | tar -x -C "$tmp/a"
flags="-O3 -std=c99 -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp -fwrapv -DNDEBUG"
for f in lrn_driver lrn_target_baseline lrn_target_avx2 lrn_target_avx512; do
    gcc $flags -I"$tmp/a/src_c" -c "$tmp/a/src_c/$f.c" -o "$tmp/A/$f.o" &
    gcc $flags -I"$root/src_c" -c "$root/src_c/$f.c" -o "$tmp/B/$f.o" &
done
wait
nm --defined-only -g "$tmp"/B/*.o | awk 'NF == 3 {print $3, "B_" $3}' | sort -u > "$tmp/syms"
for o in "$tmp"/B/*.o; do objcopy --redefine-syms="$tmp/syms" "$o"; done
gcc -O2 -std=c99 -fopenmp -I"$root/src_c" "$root/src_c/test/bench_ab.c" "$tmp"/A/*.o "$tmp"/B/*.o \
    -o "$tmp/bench_ab" -lm
if [ $# -eq 0 ]; then
    set -- "32 96 3025 fwd 0.75 1" "32 96 3025 fwd 0.75 2" "32 256 729 fwd 0.75 1" \
        "32 256 729 fwd 0.75 2" "32 96 3025 bwd 0.75 1" "32 96 3025 bwd 0.75 2" \
        "32 256 729 bwd 0.75 1" "32 256 729 bwd 0.75 2" "1 96 3025 fwd 0.75 1 200"
fi
echo "A: $(git -C "$root" rev-parse --short "$rev"), B: the working tree"
for c in "$@"; do "$tmp/bench_ab" $c; done
