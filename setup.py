"""Build of the lrn_fast extension.

The C kernels in src_c/ and the Cython bridge lrn_fast/_lrn.pyx become one
extension module.  OpenMP is used when the compiler has it (-fopenmp for
compiling and linking, so the runtime is linked dynamically and threadpoolctl
can see it); without it a serial build is made, with a warning, unless
LRN_FAST_REQUIRE_OPENMP=1 makes that an error.  The SIMD targets are selected
inside the sources (#pragma GCC target), never with -march=native.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCES = [
    "lrn_fast/_lrn.pyx",
    "src_c/lrn_driver.c",
    "src_c/lrn_target_baseline.c",
    "src_c/lrn_target_avx2.c",
    "src_c/lrn_target_avx512.c",
]

# -fno-math-errno lets sqrt vectorise; -fno-trapping-math lets the selects of the
# exp/log polynomials vectorise (it only concerns floating-point exception flags,
# which nothing reads); -ffp-contract=off keeps the compiler from fusing
# multiply-adds where it likes, so that scalar and vector code give the same bits.
# None of them changes a result, unlike -ffast-math, which is never used.
# -g0 overrides the -g of Python's own CFLAGS: the debug information of the unrolled
# kernels made the extension 53 MB instead of 8 and each target file 45% slower to
# compile (it changes no generated code).  LRN_FAST_EXTRA_CFLAGS=-g brings it back
# (extra flags come last), as .ci/asan.sh does.
BASE_FLAGS = ["-O3", "-std=c99", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
              "-g0"]


def _compiler_has_openmp(compiler):
    """Compile and link a tiny OpenMP program with the build's compiler."""
    code = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
        }
        """
    )
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "omp_probe.c")
        with open(src, "w") as f:
            f.write(code)
        objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
        compiler.link_executable(objs, "omp_probe", output_dir=tmp, extra_postargs=["-fopenmp"])
        return subprocess.run([os.path.join(tmp, "omp_probe")]).returncode == 0
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build_jobs(parallel):
    """Compiler processes at once: LRN_FAST_BUILD_JOBS, else build_ext's -j, else the CPUs."""
    env = os.environ.get("LRN_FAST_BUILD_JOBS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            sys.exit(f"LRN_FAST_BUILD_JOBS must be a whole number, not {env!r}")
    if parallel:
        return int(parallel)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _compile_in_parallel(compiler, jobs):
    """Make compiler.compile build its sources `jobs` at a time.

    setuptools compiles the sources of one extension one after the other, and each
    SIMD target file takes over a minute at -O3 (the unrolled strip kernels), so an
    install waits for three of them in a row.  Each source still goes through the
    compiler's own compile(); only the calls run side by side, in threads that each
    wait for a compiler process.
    """
    serial = compiler.compile

    def compile(sources, output_dir=None, *args, **kwargs):
        if jobs < 2 or len(sources) < 2:
            return serial(sources, output_dir, *args, **kwargs)
        # the object folders first: two threads creating one would race
        for obj in compiler.object_filenames(sources, output_dir=output_dir):
            os.makedirs(os.path.dirname(obj) or ".", exist_ok=True)
        with ThreadPoolExecutor(min(jobs, len(sources))) as pool:
            parts = list(pool.map(lambda src: serial([src], output_dir, *args, **kwargs), sources))
        return [obj for part in parts for obj in part]

    compiler.compile = compile


class BuildExt(build_ext):
    def build_extensions(self):
        _compile_in_parallel(self.compiler, _build_jobs(self.parallel))
        use_omp = _compiler_has_openmp(self.compiler)
        if not use_omp:
            msg = ("lrn_fast: the C compiler has no OpenMP support; building a serial "
                   "version (num_threads and OMP_NUM_THREADS will have no effect).")
            if os.environ.get("LRN_FAST_REQUIRE_OPENMP", "0") not in ("", "0"):
                sys.exit(msg + " LRN_FAST_REQUIRE_OPENMP is set: stopping.")
            warnings.warn(msg)
        extra_c = os.environ.get("LRN_FAST_EXTRA_CFLAGS", "").split()
        extra_l = os.environ.get("LRN_FAST_EXTRA_LDFLAGS", "").split()
        for ext in self.extensions:
            ext.extra_compile_args = BASE_FLAGS + (["-fopenmp"] if use_omp else []) + extra_c
            ext.extra_link_args = (["-fopenmp"] if use_omp else []) + extra_l
        super().build_extensions()


extensions = [
    Extension(
        "lrn_fast._lrn",
        sources=SOURCES,
        include_dirs=["src_c", numpy.get_include()],
        depends=sorted(glob.glob("src_c/*.h")),   # rebuild when a kernel header changes
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
    cmdclass={"build_ext": BuildExt},
)
