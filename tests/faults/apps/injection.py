"""SIGKILL the sweep process at a chosen point: ``ECOPT_FAULT_KILL=<point>:<n>`` kills it the n-th time there.

And ``ECOPT_FAULT_STOP=<how>:<signal>:<job>`` sends the sweep process ``<signal>`` (``SIGHUP``, ``SIGTERM``) while
Hydra sets up job ``<job>`` (its logging, before the task runs), where the code its handler lands in loses the stop it
raises, as it did in a CI run: ``dropped`` (a weakref callback, whose exception Python prints and drops: Hydra's logging
set-up of each job lets go of the last job's handlers) or ``replaced`` (a ``finally`` that raises its own, as
``logging.shutdown`` does: "cannot release un-acquired lock").

Points:

- ``launch``: inside a trial (the basic launcher runs trials in the sweep process).
- ``ask``: right after Ax generated a batch, before the sweep saved it.
- ``save_experiment``: half-way through writing the Ax experiment's temporary file (before the rename).
- ``write_results``: after ``optimization_results.yaml``'s temporary file is written, before the rename.
- ``batch_end``: after a batch was saved, before the next one is asked for.
- ``launcher``: when the Hydra sweeper hands a batch to its launcher, before any job of it starts (under joblib its
  workers have not run a task yet).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

KILL_ENV = "ECOPT_FAULT_KILL"
STOP_ENV = "ECOPT_FAULT_STOP"
POINTS = ("launch", "ask", "save_experiment", "write_results", "batch_end", "launcher")

_counts: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(KILL_ENV, "")
    if not spec:
        return None
    point, _, n = spec.partition(":")
    if point not in POINTS:
        raise ValueError(f"{KILL_ENV}={spec!r}: unknown point {point!r}; choose from {POINTS}")
    return point, int(n or 1)


def reached(point: str) -> None:
    """Count a visit to ``point``; SIGKILL this process when it is the chosen one."""
    target = _target()
    if target is None or target[0] != point:
        return
    _counts[point] += 1
    if _counts[point] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def _stop_in_job_setup(how: str, name: str, job: int) -> None:
    """Patch Hydra's job set-up so that ``name`` arrives in it, at job ``job``, where the stop it raises is lost."""
    import weakref

    import hydra.core.utils
    from hydra.core.hydra_config import HydraConfig

    configure_log = hydra.core.utils.configure_log
    number = getattr(signal, name)

    def lands_in_a_weakref_callback() -> None:
        class Handler:
            """A logging handler the job's set-up lets go of."""

        held = Handler()
        # Python runs the handler inside the callback (raise_signal checks signals before it returns).
        ref = weakref.ref(held, lambda _: signal.raise_signal(number))
        del held
        assert ref() is None

    def lands_in_a_raising_finally() -> None:
        try:
            signal.raise_signal(number)  # the handler runs here, as it did in logging.shutdown's acquire()
        finally:
            raise RuntimeError("cannot release un-acquired lock")  # logging.shutdown's release()

    def set_up(*args: Any, **kwargs: Any) -> Any:
        if HydraConfig.initialized() and HydraConfig.get().job.get("num") == job:
            lands_in_a_weakref_callback() if how == "dropped" else lands_in_a_raising_finally()
        return configure_log(*args, **kwargs)

    hydra.core.utils.configure_log = set_up


def install() -> None:
    """Patch the sweep's internals so that :func:`reached` is called at every point (only when a kill is asked), and
    Hydra's job set-up where a stop is asked (``ECOPT_FAULT_STOP``)."""
    stop = os.environ.get(STOP_ENV, "")
    if stop:
        how, name, job = stop.split(":")
        if how not in ("dropped", "replaced"):
            raise ValueError(f"{STOP_ENV}={stop!r}: unknown way {how!r}; choose from 'dropped', 'replaced'")
        _stop_in_job_setup(how, name, int(job))
    if _target() is None:
        return
    from ax.api.client import Client
    from hydra.core.plugins import Plugins

    from lightning_ecopt.sweeper import loop, results
    from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot

    get_next_trials = Client.get_next_trials
    write_snapshot = ExperimentSnapshot.write

    def ask(self: Client, *args: Any, **kwargs: Any) -> Any:
        out = get_next_trials(self, *args, **kwargs)
        reached("ask")
        return out

    def save(self: ExperimentSnapshot, client: Client, path: str) -> None:
        write_snapshot(self, client, path)
        target = _target()
        if target is not None and target[0] == "save_experiment" and _counts["save_experiment"] + 1 == target[1]:
            written = Path(path)
            written.write_bytes(written.read_bytes()[: written.stat().st_size // 2])  # a torn write
        reached("save_experiment")

    class _Os:
        """``os`` for the results module, with a kill point between the temporary file's fsync and its rename."""

        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        @staticmethod
        def replace(src: str, dst: str) -> None:
            reached("write_results")
            os.replace(src, dst)

    batch_end = loop.ParetoSweep._batch_end

    def on_batch_end(self: loop.ParetoSweep, result: Any) -> None:
        batch_end(self, result)
        reached("batch_end")

    # The class Hydra instantiates: its plugin scan executes the module anew, so an import here would patch another.
    sweeper = Plugins.instance().class_name_to_class["hydra_plugins.ecopt_sweeper.ecopt_sweeper.EcoptSweeper"]
    launch = sweeper._launch  # type: ignore[attr-defined]

    def to_launcher(self: Any, *args: Any, **kwargs: Any) -> Any:
        reached("launcher")
        return launch(self, *args, **kwargs)

    Client.get_next_trials = ask  # type: ignore[method-assign]
    sweeper._launch = to_launcher  # type: ignore[attr-defined]
    ExperimentSnapshot.write = save  # type: ignore[method-assign]
    results.os = _Os()  # type: ignore[assignment]
    loop.ParetoSweep._batch_end = on_batch_end  # type: ignore[method-assign]
