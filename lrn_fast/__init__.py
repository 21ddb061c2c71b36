"""lrn_fast: fast, exact Local Response Normalization on the CPU.

>>> import numpy as np, lrn_fast
>>> x = np.random.default_rng(0).standard_normal((2, 96, 55, 55), dtype=np.float32)
>>> y = lrn_fast.lrn(x, size=5, alpha=1e-4, beta=0.75, k=1.0)       # NCHW
>>> dx = lrn_fast.lrn_backward(np.ones_like(y), x, size=5)           # dL/dx
"""
import os as _os

from ._version import __version__

try:
    from . import _lrn
except ImportError as _e:   # the source tree, without a compiled extension
    raise ImportError(
        f"lrn_fast's compiled extension is missing in {_os.path.dirname(__file__)}: this "
        "looks like the source directory. Install with 'pip install .' and run Python "
        "from another directory, or build in place with "
        "'python setup.py build_ext --inplace'.") from _e
from ._api import lrn, lrn_backward
from ._runtime import available_targets, runtime_info, show_runtime, select_target as _select

_select()

# A child made with fork() must not enter an OpenMP parallel region when the parent has
# used one (libgomp hangs there, GCC bug 60035): the C side registers a pthread_atfork
# handler; this is the same for forks that bypass it.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_lrn.after_fork_child)

__all__ = ["lrn", "lrn_backward", "show_runtime", "runtime_info", "available_targets",
           "__version__"]
