"""Dispatch target selection and the runtime report."""
import os
import platform
import sys

import numpy as np

from . import _lrn
from ._version import __version__

# names accepted in LRN_FAST_DISABLE_CPU_FEATURES, and the target they turn off
_FEATURE_TARGET = {"AVX512F": 2, "AVX512_SKX": 2, "AVX512": 2, "AVX2": 1, "FMA3": 1, "FMA": 1}
_TARGET_FEATURES = {0: [], 1: ["AVX2", "FMA3"], 2: ["AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ"]}


def _parse_disabled(value):
    names = [v.strip().upper() for v in value.replace(" ", ",").split(",") if v.strip()]
    bad = [n for n in names if n not in _FEATURE_TARGET]
    if bad:
        raise RuntimeError(
            f"LRN_FAST_DISABLE_CPU_FEATURES names unknown features {bad}; "
            f"known: {sorted(_FEATURE_TARGET)}")
    return {_FEATURE_TARGET[n] for n in names}


def select_target():
    """Pick the best target this CPU runs, minus those disabled by the environment.
    Disabling a target disables the ones above it too."""
    disabled = _parse_disabled(os.environ.get("LRN_FAST_DISABLE_CPU_FEATURES", ""))
    limit = min(disabled) - 1 if disabled else len(_lrn.TARGETS) - 1
    best = 0
    for t in range(limit + 1):
        if _lrn.target_compiled(t) and _lrn.cpu_supports(t):
            best = t
    _lrn.set_target(best)
    return best


def available_targets():
    """Targets compiled in and runnable on this CPU, lowest first."""
    return [_lrn.TARGETS[t] for t in range(len(_lrn.TARGETS))
            if _lrn.target_compiled(t) and _lrn.cpu_supports(t)]


def runtime_info():
    """A dict describing the build, the CPU dispatch and the threading runtime."""
    from threadpoolctl import threadpool_info

    pools = [p for p in threadpool_info() if p.get("user_api") == "openmp"]
    t = _lrn.get_target()
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "build": {
            "openmp": _lrn.openmp_enabled(),
            "compiled_targets": [_lrn.TARGETS[i] for i in range(len(_lrn.TARGETS))
                                 if _lrn.target_compiled(i)],
            "flags": "-O3 -fno-math-errno -fno-trapping-math -ffp-contract=off (+ -fopenmp); "
                     "targets via #pragma GCC target",
        },
        "cpu_targets_supported": available_targets(),
        "cpu_features_disabled": os.environ.get("LRN_FAST_DISABLE_CPU_FEATURES", ""),
        "dispatch": _lrn.target_name(t),
        "dispatch_features": _TARGET_FEATURES[t],
        "max_threads": _lrn.max_threads(),
        # outputs from this many bytes are written by non-temporal stores (across
        # channels NCHW, fast betas, not in place; the AVX-512 target only)
        "stream_above_bytes": int(_lrn.stream_above()) if t == 2 else None,
        "openmp_runtime": [{k: p.get(k) for k in ("internal_api", "version", "filepath",
                                                   "num_threads")} for p in pools],
        "forked_child_serial": _lrn.in_forked_child(),
    }


def show_runtime():
    """Print version, build, OpenMP runtime, threads and the SIMD path in use."""
    info = runtime_info()
    b = info["build"]
    lines = [
        f"lrn_fast {info['version']} (Python {info['python']}, NumPy {info['numpy']})",
        f"platform: {info['platform']}",
        f"build: OpenMP {'yes' if b['openmp'] else 'no (serial build)'}; "
        f"targets compiled: {', '.join(b['compiled_targets'])}",
        f"       flags: {b['flags']}",
        f"CPU: runs {', '.join(info['cpu_targets_supported'])}"
        + (f"; disabled by LRN_FAST_DISABLE_CPU_FEATURES={info['cpu_features_disabled']}"
           if info["cpu_features_disabled"] else ""),
        f"dispatch: {info['dispatch']}"
        + (f" ({', '.join(info['dispatch_features'])})" if info["dispatch_features"] else ""),
        f"threads: max {info['max_threads']} (OMP_NUM_THREADS, threadpoolctl or num_threads=)",
    ]
    if info["stream_above_bytes"] is not None:
        lines.append(f"non-temporal stores: outputs from {info['stream_above_bytes'] / 2**20:g} MiB "
                     "(across channels NCHW, beta 0.75/0.5/1, not in place)")
    for p in info["openmp_runtime"]:
        lines.append(f"OpenMP runtime: {p['internal_api']} {p['version'] or ''} at {p['filepath']}")
    if not info["openmp_runtime"] and b["openmp"]:
        lines.append("OpenMP runtime: not seen by threadpoolctl")
    if info["forked_child_serial"]:
        lines.append("this is a forked child: calls run on one thread")
    print("\n".join(lines))
