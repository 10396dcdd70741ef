"""BoTorch's fused qLogNEHVI kernel: built where it is safe, announced, and never waited on forever.

BoTorch (0.18) computes qLogNEHVI's log hypervolume areas with a C++ kernel that it compiles with
``torch.utils.cpp_extension.load`` the first time the acquisition function is built in a process (a C++ compiler and
``ninja``, a BoTorch dependency, are enough). On 2 cores it took 18-37 s, silently, and made a proposal at 50
BraninCurrin trials 1.6x faster (0.96 s against 1.50 s without it, side by side; docs/bench-optimizer.md). Three
things about that build bite a sweeper, so :func:`prepare_log_hypervolume_kernel` does it before Ax builds the
acquisition function:

- **A killed build hangs every later sweep.** torch guards the build directory with a ``lock`` file and waits, with
  no timeout and no message, for as long as the file exists. A sweep killed while compiling (SIGKILL, the OOM killer,
  SLURM's kill after its grace period) leaves the file, and every later qLogNEHVI proposal in that environment (the
  resume first) waits forever. While this module loads the kernel, torch's wait gives up once the lock is
  :data:`LOCK_WAIT_S` old (a lock found stale, or one that another process took and then died holding); the lock is
  reported with the fix, and the sweep goes on with BoTorch's Python implementation.
- **The binary is built for this CPU** (``-march=native``) and cached under the home directory, keyed by the source
  and the flags but not by the CPU: a cluster whose nodes share ``$HOME`` but not their instruction sets would load one
  node's binary on another (``Illegal instruction``). Unless ``TORCH_EXTENSIONS_DIR`` is set (then it is used as set),
  the kernel is built in a directory named after this CPU's model and flags and this environment (two virtualenvs
  sharing one directory rebuilt it at every switch: their include paths differ).
- **The compilation is announced** (where it will take time) and timed in the log.

Anything else that goes wrong here is logged and leaves BoTorch's Python implementation in place, as BoTorch's own
loader does: a faster kernel is never worth a failed sweep.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

KERNEL_NAME = "logei_fused_ext"
"""The extension's module name in BoTorch (``botorch/csrc/logei_fused.cpp``)."""

LOCK_WAIT_S = 180.0
"""How old torch's build lock may grow before it is taken for a killed build's: a build took 18-37 s on 2 cores."""

BUILD = True
"""False: never compile the kernel; qLogNEHVI runs BoTorch's Python implementation (slower, and equal to the kernel's
up to floating-point rounding)."""

ENV_SWITCH = "ECOPT_BOTORCH_KERNEL"
"""``ECOPT_BOTORCH_KERNEL=0`` in the environment does what ``BUILD = False`` does, in every process that inherits it.
The test suite sets it: its few qLogNEHVI proposals (some in benchmark subprocesses) would otherwise compile C++ for
~25 s on every fresh checkout."""

_POLL_S = 0.5

_BUILT_AFTER_S = 2.0
"""A load that took longer compiled (ninja rebuilds when the flags changed, e.g. another virtualenv's path)."""

Outcome = Literal["loaded", "built", "failed", "stale lock", "not needed"]


class StaleBuildLock(RuntimeError):
    """torch's build lock grew older than :data:`LOCK_WAIT_S`: a build that was killed left it."""


def cpu_key(cpuinfo: str | None = None) -> str:
    r"""A short digest of this CPU's model and instruction-set flags (what ``-march=native`` compiles for).

    Args:
        cpuinfo: The text of ``/proc/cpuinfo`` (read when not given; where there is none, the platform's names).

    >>> slow = "model name : A\nflags : sse avx\ncpu MHz : 2000"
    >>> fast = slow.replace("2000", "3000")
    >>> cpu_key(slow) == cpu_key(fast)
    True
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    lines = cpuinfo.splitlines()
    wanted = ("model name", "flags", "Features", "CPU implementer", "CPU part")  # x86; ARM
    identity = f"{platform.machine()} {platform.processor()} "
    identity += " | ".join(next((ln for ln in lines if ln.startswith(key)), "") for key in wanted)
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def extensions_root() -> Path:
    """Where torch builds the kernel for this sweep: ``TORCH_EXTENSIONS_DIR`` if set, else a per-CPU directory.

    The per-CPU directory sits where torch would build (``~/.cache/torch_extensions`` unless ``XDG_CACHE_HOME`` says
    otherwise), named like torch's own (Python version, accelerator) plus :func:`cpu_key` and a digest of this
    environment's prefix (``sys.prefix``).
    """
    given = os.environ.get("TORCH_EXTENSIONS_DIR")
    if given:
        return Path(given)
    import torch
    from torch.utils.cpp_extension import get_default_build_root

    if torch.version.hip is not None:
        accelerator = f"rocm{torch.version.hip.replace('.', '')}"
    elif torch.version.cuda is not None:
        accelerator = f"cu{torch.version.cuda.replace('.', '')}"
    else:
        accelerator = "cpu"
    python = f"py{sys.version_info.major}{sys.version_info.minor}{getattr(sys, 'abiflags', '')}"
    environment = hashlib.sha256(sys.prefix.encode()).hexdigest()[:8]
    return Path(get_default_build_root()) / f"{python}_{accelerator}_ecopt-cpu-{cpu_key()}-env-{environment}"


@contextlib.contextmanager
def _extensions_dir(root: Path) -> Iterator[None]:
    """Set ``TORCH_EXTENSIONS_DIR`` to ``root`` for the block, then restore what it was.

    With the variable set, torch builds in ``<root>/<name>`` (without it, in a Python- and accelerator-named folder).
    """
    before = os.environ.get("TORCH_EXTENSIONS_DIR")
    os.environ["TORCH_EXTENSIONS_DIR"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TORCH_EXTENSIONS_DIR", None)
        else:
            os.environ["TORCH_EXTENSIONS_DIR"] = before


def _lock_age(mtime: float) -> float:
    """How old a lock file stamped ``mtime`` is when first seen: this host's wall clock less the stamp, at least 0.

    The stamp is the file server's clock where the build directory is on a shared file system (``$HOME`` on a
    cluster), and either clock may be stepped (NTP, a VM resumed); the wait then counts on this host's monotonic
    clock. A stamp in the future (a server clock ahead, a clock stepped back) counts as a lock taken now: it is waited
    on for the full ``wait_s``, not for as long as the clocks differ.

    >>> _lock_age(time.time() + 3600.0)
    0.0
    """
    return max(time.time() - mtime, 0.0)


@contextlib.contextmanager
def _patient_batons(wait_s: float) -> Iterator[list[Path]]:
    """For the block, torch's extension builds wait on another process's lock only until it is ``wait_s`` old.

    Then the wait raises :class:`StaleBuildLock` (BoTorch's loader catches it and keeps its Python implementation).
    Yields the list of the stale locks met, filled as they are.
    """
    from torch.utils import cpp_extension

    original = cpp_extension.FileBaton
    stale: list[Path] = []

    class PatientBaton(original):  # type: ignore[misc,valid-type]
        def wait(self) -> None:
            announced = False
            seen: tuple[float, float] | None = None  # the lock's mtime, and its age less this host's monotonic clock
            while True:
                try:
                    mtime = os.stat(self.lock_file_path).st_mtime
                except FileNotFoundError:
                    return
                now = time.monotonic()
                if seen is None or seen[0] != mtime:  # first seen, or another process's lock replaced it
                    seen = (mtime, _lock_age(mtime) - now)
                age = now + seen[1]
                if age >= wait_s:
                    stale.append(Path(self.lock_file_path))
                    raise StaleBuildLock(f"{self.lock_file_path} is {age:.0f} s old")
                if not announced:
                    log.info("ecopt: waiting for another process to finish building BoTorch's qLogNEHVI kernel (%s)",
                             self.lock_file_path)  # fmt: skip
                    announced = True
                time.sleep(min(_POLL_S, wait_s - age))

    cpp_extension.FileBaton = PatientBaton  # type: ignore[misc]
    try:
        yield stale
    finally:
        cpp_extension.FileBaton = original  # type: ignore[misc]


def kernel_loaded() -> bool:
    """Whether BoTorch's compiled qLogNEHVI kernel is loaded in this process (else qLogNEHVI runs its Python)."""
    from botorch.acquisition.multi_objective import logei

    return getattr(logei, "_C", None) is not None


def prepare_log_hypervolume_kernel(wait_s: float = LOCK_WAIT_S) -> Outcome:
    """Load (building it if needed) BoTorch's fused qLogNEHVI kernel before Ax builds the acquisition function.

    Call it before a qLogNEHVI proposal; once the kernel is loaded or given up on, it returns at once. A failed
    compilation is BoTorch's to report (it warns and uses its Python implementation); nothing here raises.

    Args:
        wait_s: How old a build lock may grow before it is taken for a killed build's (another process's live build
            is waited for until then).

    Returns:
        ``"loaded"`` (it was built already), ``"built"`` (compiled now, or rebuilt), ``"failed"`` (BoTorch could
        not build it), ``"stale lock"`` (a killed build's lock: BoTorch's Python implementation for this process)
        or ``"not needed"`` (loaded or given up on before, or this BoTorch has no such kernel).
    """
    from botorch.acquisition.multi_objective import logei

    if kernel_loaded() or getattr(logei, "_load_attempted", True):
        return "not needed"
    if not hasattr(logei, "_try_load_fused_kernel"):
        return "not needed"
    switch = os.environ.get(ENV_SWITCH, "").strip()
    if switch not in ("", "0", "1"):
        log.warning(
            "ecopt: %s=%r: expected 0 (never build BoTorch's qLogNEHVI kernel) or 1 (build it, the default); "
            "building it. Set %s=0 to switch it off.",
            ENV_SWITCH,
            switch,
            ENV_SWITCH,
        )
    if not BUILD or switch == "0":
        logei._load_attempted = True
        return "not needed"
    try:
        root = extensions_root()
        build = root / KERNEL_NAME
        if not (build / f"{KERNEL_NAME}.so").exists() and not (build / "lock").exists():
            log.info(
                "ecopt: building BoTorch's fused qLogNEHVI kernel once for this CPU and environment (about 30 s on 2 "
                "cores) in %s",
                build,
            )
        start = time.perf_counter()
        with (
            _extensions_dir(root),
            _patient_batons(wait_s) as stale,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            logei._try_load_fused_kernel()
        took = time.perf_counter() - start
    except Exception as exc:  # e.g. a TORCH_EXTENSIONS_DIR that is a file, a directory it may not write
        logei._load_attempted = True
        log.warning(
            "ecopt: could not prepare BoTorch's qLogNEHVI kernel (%s: %s); this sweep uses BoTorch's Python "
            "implementation (slower proposals).",
            type(exc).__name__,
            exc,
        )
        return "failed"
    for caught_warning in caught:  # BoTorch's own (no compiler, say), but not its advice on a stale lock
        if not (stale and "fused" in str(caught_warning.message)):
            warnings.warn_explicit(
                caught_warning.message, caught_warning.category, caught_warning.filename, caught_warning.lineno
            )
    if stale:
        log.warning(
            "ecopt: %s is left from a build of BoTorch's qLogNEHVI kernel that was killed; this sweep uses BoTorch's "
            "Python implementation (slower proposals). If no other process is building it, delete the file: the "
            "next sweep builds the kernel again.",
            stale[0],
        )
        return "stale lock"
    if not kernel_loaded():
        return "failed"
    if took < _BUILT_AFTER_S:
        return "loaded"
    log.info("ecopt: BoTorch's qLogNEHVI kernel ready in %.0f s (built or rebuilt in %s)", took, build)
    return "built"
