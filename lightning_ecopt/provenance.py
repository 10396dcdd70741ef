"""Where and with what a sweep ran: package versions, Python, the machine, the launcher and the seed, one run a record.

The same configuration measures other joules on another machine or under another launcher (joblib's workers read
1.5-2x fewer than the basic launcher's lone process for one configuration), and the same commit proposes other
trials with another Ax, BoTorch or torch, or on a CPU with other vector units (they round the GP's linear algebra
differently). So each run of a sweep (the first and every resume) records them: the loop keeps the records with its
saved experiment and writes them to ``optimization_results.yaml`` under ``provenance``
(:class:`~lightning_ecopt.sweeper.loop.ParetoSweep`), and ``ecopt report`` says where runs differ. The benchmarks
record the same facts (``benchmarks/benchmark_env.py``).

Light on purpose: versions are read from the installed distributions' metadata (``importlib.metadata``), never by
importing torch or Ax, and the GPUs from the NVIDIA driver's ``/proc`` files, not through CUDA.
"""

from __future__ import annotations

import datetime
import platform
import socket
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "cpu_identity", "gpu_names", "package_versions", "run_record", "runs_line"]

PACKAGES = ("ax-platform", "botorch", "torch", "lightning", "hydra-core", "zeus")
"""The distributions whose versions a run records: what proposes the trials, runs them and measures their energy."""

_SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
"""The CPU flags that change floating-point results (vector units a BLAS or oneDNN kernel dispatches on)."""

_NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")

_SHORT_NAMES = {"ax-platform": "ax"}
"""How :func:`runs_line` names a distribution (as it is imported)."""


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each distribution in ``names``, or ``"not installed"``.

    >>> package_versions(["no-such-distribution-ecopt"])
    {'no-such-distribution-ecopt': 'not installed'}
    """
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_identity(cpuinfo: str | None = None) -> dict[str, Any]:
    r"""The CPU's model name, its vector-unit flags that change floating-point results, and the kernel build.

    Args:
        cpuinfo: The text of ``/proc/cpuinfo``; read when not given (where there is none, the platform's names).

    Returns:
        ``{"cpu": model, "cpu_simd": [flags], "kernel": release}``.

    >>> cpu_identity("model name : Xeon X\nflags : fpu avx2 fma sse\n")["cpu_simd"]
    ['avx2', 'fma']
    """
    model, flags = platform.processor() or platform.machine(), set()
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    return {"cpu": model, "cpu_simd": [f for f in _SIMD_FLAGS if f in flags], "kernel": platform.release()}


def gpu_names(folder: Path = _NVIDIA_GPUS) -> list[str]:
    """The models of the NVIDIA GPUs this machine's driver lists (``[]`` without one), in bus order.

    Read from the driver's ``/proc/driver/nvidia/gpus/<bus id>/information`` (its ``Model:`` line): no CUDA context
    is made and torch is not imported. All of the machine's GPUs, whatever ``CUDA_VISIBLE_DEVICES`` lets a job see.
    """
    try:
        cards = sorted(folder.iterdir())
    except OSError:
        return []
    names = []
    for card in cards:
        try:
            text = (card / "information").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model":
                names.append(value.strip())
                break
    return names


def run_record(
    *,
    launcher: Mapping[str, Any] | None = None,
    seed: int | None = None,
    sobol_seed: int | None = None,
    trials: Sequence[int] | None = None,
    finished: int = 0,
) -> dict[str, Any]:
    """This run's record: when, the versions, Python, the machine, and what the sweep passes in.

    Args:
        launcher: What runs the trials (the Hydra sweeper gives ``hydra.launcher``'s ``_target_`` and ``n_jobs``);
            ``None`` for a sweep's own ``evaluate`` (from Python).
        seed: The sweep's seed in force (a resumed sweep keeps the one it started with); ``None`` when unseeded.
        sobol_seed: The seed of the Sobol generator (when ``seed`` is ``None``, the one drawn for the sweep, which
            seeds the model's proposals too; Ax's own draw in sweeps saved before 2026-12-06); ``None`` until its
            first trial was generated.
        trials: The first and last index of the trials this run proposed.
        finished: How many trials finished (completed or failed) in this run.

    Returns:
        Plain data (lists, not tuples): ``when`` (UTC, ISO 8601), ``lightning_ecopt``, ``versions`` (of
        :data:`PACKAGES`), ``python``, ``platform``, ``cpu``, ``cpu_simd``, ``gpus``, ``hostname``, ``launcher``,
        ``seed``, ``sobol_seed``, ``trials``, ``finished``.
    """
    from lightning_ecopt import __version__

    cpu = cpu_identity()
    return {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "lightning_ecopt": __version__,
        "versions": package_versions(PACKAGES),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu["cpu"],
        "cpu_simd": cpu["cpu_simd"],
        "gpus": gpu_names(),
        "hostname": socket.gethostname(),
        "launcher": None if launcher is None else dict(launcher),
        "seed": seed,
        "sobol_seed": sobol_seed,
        "trials": None if trials is None else list(trials),
        "finished": finished,
    }


def _launcher_name(launcher: Any) -> str | None:
    """A launcher as the report names it: its class, with ``n_jobs`` where it has one.

    >>> _launcher_name({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2})
    'JoblibLauncher (n_jobs=2)'
    """
    if not isinstance(launcher, Mapping):
        return None
    name = str(launcher.get("_target_", "?")).rsplit(".", 1)[-1]
    return f"{name} (n_jobs={launcher['n_jobs']})" if launcher.get("n_jobs") is not None else name


def _shown(values: Sequence[Any]) -> str:
    """One run's value, or the distinct values of several in the order the runs met them (``a -> b``)."""
    distinct = list(dict.fromkeys(str(v) for v in values))
    return " -> ".join(distinct)


def _gpus(value: Any) -> list[str]:
    """A record's ``gpus`` as names: its list's items, or the one value another writer gave instead of a list."""
    return [str(name) for name in value] if isinstance(value, list | tuple) else [str(value)]


def runs_line(records: Sequence[Mapping[str, Any]]) -> str:
    """One line on a sweep's runs for ``ecopt report``: versions, host, launcher and seed, and where runs differ.

    Args:
        records: The sweep's provenance records (:func:`run_record`), one per run that finished a trial, oldest
            first; ``[]`` for a sweep written before they were kept, or none of whose runs finished a trial. A sweep
            saved before they were kept and resumed since starts with ``{"unrecorded": True, "trials": [0, n]}``,
            its trials until then (with their ``launcher`` where the Hydra sweeper read it from ``multirun.yaml``).
            A version missing from a record (or ``versions`` other than a mapping) is shown as ``?``, another field
            of another type (a hand edit) as written.

    Returns:
        ``Runs: N (lightning_ecopt V; ax V, botorch V, torch V; host H, launcher L; seed S)``, values that changed
        between runs as ``old -> new``, then a sentence naming what differs: the versions that changed, the machine
        (CPU, its vector units, GPUs: a hostname alone, a new container's, is shown but no other machine) and the
        launcher (energy figures of other machines or launchers are not comparable).

    >>> run = {"lightning_ecopt": "0.1.0", "versions": {"ax-platform": "1.3.1", "botorch": "0.18.1",
    ...        "torch": "2.13.0"}, "hostname": "a", "launcher": None, "seed": 0, "sobol_seed": 0, "trials": [0, 4]}
    >>> runs_line([run])
    'Runs: 1 (lightning_ecopt 0.1.0; ax 1.3.1, botorch 0.18.1, torch 2.13.0; host a; seed 0).'
    >>> print(runs_line([run, {**run, "hostname": "b", "trials": [5, 9]}]))  # a new container: no other machine
    Runs: 2 (lightning_ecopt 0.1.0; ax 1.3.1, botorch 0.18.1, torch 2.13.0; host a -> b; seed 0).
    >>> print(runs_line([run, {**run, "gpus": ["NVIDIA H100"], "python": "3.12.1"}]))  # doctest: +ELLIPSIS
    Runs: 2 (...). The runs differ in versions (python ? -> 3.12.1) and machine (? -> ? + NVIDIA H100): energy ...
    """
    earlier = [r for r in records if isinstance(r, Mapping) and r.get("unrecorded")]
    runs = [r for r in records if isinstance(r, Mapping) and not r.get("unrecorded")]
    before = ""
    first_launcher = _launcher_name(earlier[0].get("launcher")) if earlier else None  # the unrecorded trials'
    if earlier and isinstance(earlier[0].get("trials"), list) and len(earlier[0]["trials"]) == 2:
        under = f" (under {first_launcher})" if first_launcher is not None else ""
        before = f"Trials #{earlier[0]['trials'][0]}-#{earlier[0]['trials'][1]} ran before runs were recorded{under}."
    if not runs:
        if before:
            return f"Runs: none recorded since the sweep's first. {before}"
        return (
            "Runs: none recorded (a results file written before lightning_ecopt recorded its runs, or no run of "
            "this sweep has finished a trial yet)."
        )

    def field(get: Any) -> list[Any]:
        return [get(r) for r in runs]

    def version(name: str) -> list[Any]:
        return field(lambda r: (r.get("versions") if isinstance(r.get("versions"), Mapping) else {}).get(name, "?"))

    packages = ", ".join(f"{_SHORT_NAMES.get(n, n)} {_shown(version(n))}" for n in ("ax-platform", "botorch", "torch"))
    parts = [f"lightning_ecopt {_shown(field(lambda r: r.get('lightning_ecopt', '?')))}", packages]
    hosts = field(lambda r: r.get("hostname", "?"))
    launchers = field(lambda r: _launcher_name(r.get("launcher")))
    if first_launcher is not None:  # the unrecorded trials' launcher comes first, and differs like a run's
        launchers = [first_launcher, *launchers]
    where = f"host {_shown(hosts)}"
    if any(name is not None for name in launchers):
        where += f", launcher {_shown([name or 'evaluate() from Python' for name in launchers])}"
    parts.append(where)
    seeds = field(lambda r: r.get("seed"))
    sobol = [s for s in field(lambda r: r.get("sobol_seed")) if s is not None]
    seed = f"seed {_shown(['none' if s is None else s for s in seeds])}"
    if sobol and list(dict.fromkeys(str(s) for s in sobol)) != list(dict.fromkeys(str(s) for s in seeds)):
        seed += f" (Sobol seed {_shown(sobol)})"
    parts.append(seed)
    line = f"Runs: {len(runs)} ({'; '.join(parts)})."
    if before:
        line += f" {before}"
    # Each version that changed, named (the line above shows three of them); the machine by what computes (a new
    # container's hostname alone is no other machine); the launcher.
    changed = [
        f"{_SHORT_NAMES.get(name, name)} {_shown(values)}"
        for name, values in (
            ("lightning_ecopt", field(lambda r: r.get("lightning_ecopt", "?"))),
            ("python", field(lambda r: r.get("python", "?"))),
            *((name, version(name)) for name in PACKAGES),
        )
        if len({str(v) for v in values}) > 1
    ]
    differ = [f"versions ({', '.join(changed)})"] if changed else []
    if len({repr((r.get("cpu"), r.get("cpu_simd"), r.get("gpus"))) for r in runs}) > 1:
        machines = [
            f"{r.get('cpu', '?')}" + (f" + {', '.join(_gpus(r.get('gpus')))}" if r.get("gpus") else "") for r in runs
        ]
        differ.append(f"machine ({_shown(machines)})")
    if len({repr(v) for v in launchers}) > 1:
        differ.append("launcher")
    if differ:
        line += f" The runs differ in {' and '.join(differ)}"
        if any(d.startswith(("machine", "launcher")) for d in differ):
            line += (
                ": energy figures measured on other machines or under other launchers are not comparable (joblib's "
                "workers read 1.5-2x fewer joules than the basic launcher for one configuration)"
            )
        line += "."
    return line
