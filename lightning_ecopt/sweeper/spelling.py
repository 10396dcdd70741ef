"""How error messages spell a sweep setting: as the Hydra key the user set, or as the Python call they wrote.

The same checks serve both front ends (:class:`~lightning_ecopt.sweeper.settings.SweepSettings`, built from Python or
by the Hydra sweeper's ``configure()``), and a message should quote what its reader can type:
``hydra.sweeper.n_trials=0`` and ``null`` under Hydra, ``SweepSettings(n_trials=0)`` and ``None`` in Python. The
Hydra sweeper wraps its work in :func:`hydra_spelling`; Python is the default. A context, not an argument, so that
no setting carries it: it takes no part in the settings' equality, their ``dataclasses.replace`` or the saved sweep.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "counted",
    "hydra_spelling",
    "in_hydra",
    "python_spelling",
    "rerun_to_resume",
    "resume_with",
    "setting",
    "shown",
    "trials",
]

_HYDRA: ContextVar[bool] = ContextVar("ecopt_hydra_spelling", default=False)
_RESUME: ContextVar[str | None] = ContextVar("ecopt_resume_with", default=None)


@contextmanager
def hydra_spelling() -> Iterator[None]:
    """Spell settings as Hydra keys in the messages raised inside the block (the Hydra sweeper's configure and sweep).

    Example::

        >>> with hydra_spelling():
        ...     setting(f"n_trials={shown(0)}")
        'hydra.sweeper.n_trials=0'
    """
    token = _HYDRA.set(True)
    try:
        yield
    finally:
        _HYDRA.reset(token)


@contextmanager
def python_spelling() -> Iterator[None]:
    """Spell settings as Python calls inside the block, and say no other way to resume, even within the Hydra sweep's.

    Around each trial's task: Hydra's basic launcher runs it in the sweep's own thread, inside :func:`hydra_spelling`
    (and :func:`resume_with`), where a ``ParetoSweep`` the task builds is Python's, not the Hydra sweeper's.

    Example::

        >>> with hydra_spelling(), python_spelling():
        ...     setting(f"n_trials={shown(None)}"), rerun_to_resume()
        ('SweepSettings(n_trials=None)', 'run the sweep again with the same storage to resume')
    """
    hydra, resume = _HYDRA.set(False), _RESUME.set(None)
    try:
        yield
    finally:
        _RESUME.reset(resume)
        _HYDRA.reset(hydra)


def in_hydra() -> bool:
    """Whether messages are spelled for the Hydra sweeper (inside :func:`hydra_spelling`)."""
    return _HYDRA.get()


def shown(value: Any) -> str:
    """A value as the reader writes it: ``null``, ``true``, ``false`` under Hydra, Python's ``repr`` otherwise.

    >>> shown(None), shown(True), shown(1.5), shown("EHVI")
    ('None', 'True', '1.5', "'EHVI'")
    >>> with hydra_spelling():
    ...     shown(None), shown(False), shown("EHVI")
    ('null', 'false', "'EHVI'")
    """
    if in_hydra() and (value is None or isinstance(value, bool)):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)


def setting(*items: str) -> str:
    """Name one or more settings as the reader sets them.

    Args:
        items: ``"name=value"`` (the value already :func:`shown`), or a bare ``"name"`` for a setting whose value the
            message does not quote; none for the settings as a whole.

    Returns:
        ``SweepSettings(n_trials=0)`` in Python, ``hydra.sweeper.n_trials=0`` under Hydra (several joined by ``", "``).

    Example::

        >>> setting("n_initial_trials=9", "n_trials=4")
        'SweepSettings(n_initial_trials=9, n_trials=4)'
        >>> setting("outcome_constraints"), setting()
        ('SweepSettings(outcome_constraints=...)', 'SweepSettings')
        >>> with hydra_spelling():
        ...     setting("n_initial_trials=9", "n_trials=4")
        'hydra.sweeper.n_initial_trials=9, hydra.sweeper.n_trials=4'
        >>> with hydra_spelling():
        ...     setting("outcome_constraints"), setting()
        ('hydra.sweeper.outcome_constraints', 'hydra.sweeper')
    """
    if in_hydra():
        return ", ".join(f"hydra.sweeper.{item}" for item in items) if items else "hydra.sweeper"
    if not items:
        return "SweepSettings"
    return f"SweepSettings({', '.join(item if '=' in item else f'{item}=...' for item in items)})"


@contextmanager
def resume_with(how: str) -> Iterator[None]:
    """Say ``how`` a stopped sweep resumes in the messages raised inside the block, where the same command would not.

    A Hydra sweep dir that holds the time (``multirun/${now:%H-%M-%S}``) makes the same command a new sweep.

    Example::

        >>> with hydra_spelling(), resume_with("rerun it with hydra.sweep.dir=/work/multirun/08-09-20"):
        ...     rerun_to_resume()
        'rerun it with hydra.sweep.dir=/work/multirun/08-09-20 to resume'
    """
    token = _RESUME.set(how)
    try:
        yield
    finally:
        _RESUME.reset(token)


def rerun_to_resume() -> str:
    """How a stopped sweep with storage resumes, in its reader's terms (a clause, without a full stop).

    >>> rerun_to_resume()
    'run the sweep again with the same storage to resume'
    >>> with hydra_spelling():
    ...     rerun_to_resume()
    'rerun the same command to resume'
    """
    how = _RESUME.get()
    if how is not None:
        return f"{how} to resume"
    return "rerun the same command to resume" if in_hydra() else "run the sweep again with the same storage to resume"


def resumes_by_rerun() -> bool:
    """Whether running the same command (or script) again resumes a stopped sweep.

    Not where :func:`resume_with` names another way (a sweep dir dated by Hydra's ``${now:...}``, which a rerun would
    date anew).

    >>> resumes_by_rerun()
    True
    >>> with resume_with("rerun with hydra.sweep.dir=multirun/x"):
    ...     resumes_by_rerun()
    False
    """
    return _RESUME.get() is None


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and what it counts, singular for 1: a noun, or a clause whose verb and pronouns agree with ``n``.

    Args:
        n: The count.
        singular: What follows a count of 1 (``"trial"``, ``"reused trial was"``).
        plural: What follows any other count; default ``singular`` with an ``s``.

    >>> counted(1, "configuration"), counted(0, "configuration"), counted(2, "trial was", "trials were")
    ('1 configuration', '0 configurations', '2 trials were')
    """
    return f"{n} {singular if n == 1 else singular + 's' if plural is None else plural}"


def trials(n: int) -> str:
    """``n`` trials, in words, for a message.

    >>> trials(1), trials(12)
    ('1 trial', '12 trials')
    """
    return counted(n, "trial")
