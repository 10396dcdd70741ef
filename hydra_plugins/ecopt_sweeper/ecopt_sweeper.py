"""The ``ecopt`` Hydra sweeper, :class:`EcoptSweeper`: checks a sweep, then launches the trials of its Ax loop.

``sweep`` checks the whole configuration (search space, objectives, settings, every swept config-group option, that
one trial's overrides compose, with each option of a swept config group too, and, on a resume, that the saved sweep
ran with the same app config) before any trial runs, then hands the loop
(:class:`lightning_ecopt.sweeper.loop.ParetoSweep`) a function that launches each batch of trials through the
configured launcher and turns each job's return into its trial's outcome (from what the jobs recorded, where the
launcher loses a batch); ``multirun.yaml`` is written as Hydra's basic sweeper writes it, once the loop has accepted
the sweep (before its first job). The optimisation loop, and with it Ax, BoTorch and torch, is imported only then.

Beside it, underscored so that Hydra's plugin scan skips them: ``_job`` runs in each job's process and records its
outcome; ``_compose`` reads what composing a trial's config gives, and words the refusals; ``_launchers`` says what
the sweep can tell of the launcher.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import enum
import logging
import math
import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.ecopt_sweeper import _cancel
from hydra_plugins.ecopt_sweeper._compose import (
    _appended_existing_key,
    _close_key,
    _composed_value,
    _example_params,
    _group_and_root,
    _group_not_in_defaults,
    _key_not_in_struct,
    _leaf_keys,
    _only_some_options,
    _other_params,
    _same_composed,
    _unknown_key,
    _with_option,
)
from hydra_plugins.ecopt_sweeper._job import (
    _ABSENT,
    _STARTED,
    OUTCOMES_DIR,
    _PicklableFailures,
    _UnpicklableTaskError,
    changed_dir_warning,
    job_record,
    ran_when_the_sweep_died,
    read_record,
)
from hydra_plugins.ecopt_sweeper._launchers import (
    _idle_workers,
    _joblib_workers,
    _jobs_at_once,
    _launcher_change,
    _launcher_facts,
    _runs_jobs_side_by_side,
    _without_job_ids,
    _written_launcher,
)
from lightning_ecopt.exceptions import (
    EcoptConfigError,
    LauncherError,
    SweepFailureError,
    SweepTerminated,
    TrialFailure,
    stop_status,
)
from lightning_ecopt.sweeper import spelling

if TYPE_CHECKING:
    from hydra.plugins.launcher import Launcher
    from hydra.types import HydraContext, TaskFunction

    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.results import SweepResult
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import SearchSpace

__all__ = ["EcoptSweeper"]

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    r"""A config node (DictConfig/ListConfig) as plain Python containers, as Hydra resolved it; other values unchanged.

    Not resolved again: Hydra's ``instantiate`` resolved the sweeper's config before detaching each node from it, so
    what still reads ``${...}`` was written escaped (``y: \${x}`` in YAML, ``'hydra.sweeper.params.y=\${x}'`` on the
    command line), meant for each trial to resolve as ``y=${x}`` given on the command line is. Resolved here it read
    the detached node alone: ``${x}`` became a sibling parameter's grammar (``y`` swept as a copy of ``x``'s
    interval, independently) and a key outside it failed with OmegaConf's InterpolationKeyError.
    """
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=False)
    return value


def _params_not_a_mapping(params: Any) -> str:
    """The message for ``hydra.sweeper.params`` given as a list (YAML lines starting ``- ``) or a single value.

    >>> _params_not_a_mapping([{"x": "interval(0, 1)"}, {"y": "choice(a, b)"}]).split("; ")[1]
    "write each entry without its '- ': {x: interval(0, 1), y: choice(a, b)}."
    """
    entries = params if isinstance(params, list) else []
    pairs = [next(iter(e.items())) for e in entries if isinstance(e, Mapping) and len(e) == 1]
    if pairs and len(pairs) == len(entries):
        example = ", ".join(f"{key}: {value}" for key, value in pairs)
        fix = f"write each entry without its '- ': {{{example}}}"
    else:
        fix = "e.g. {model.lr: 'tag(log, interval(1e-4, 1e-1))', model.width: 'int(interval(8, 256))'}"
    return (
        f"hydra.sweeper.params={params!r}: expected a mapping {{key: grammar}}, not a {type(params).__name__}; {fix}."
    )


class _CompactConfigError(EcoptConfigError, CompactHydraException):
    """An :class:`EcoptConfigError` that Hydra prints as its message alone."""


class _CompactSweepFailure(SweepFailureError, CompactHydraException):
    """A :class:`SweepFailureError` that Hydra prints as its message alone."""


def _reads_the_time(written: str, config: Mapping[Any, Any]) -> bool:
    """Whether a value as written (``multirun/${now:%H-%M-%S}``) reads the time, through the keys it interpolates.

    Args:
        written: The value, unresolved.
        config: The whole config as a plain container, unresolved (``OmegaConf.to_container(cfg, resolve=False)``).

    >>> config = {"run_id": "${now:%H-%M-%S}", "name": "digits", "out": {"dir": "runs/${run_id}"}}
    >>> _reads_the_time("multirun/${out.dir}", config), _reads_the_time("multirun/${name}", config)
    (True, False)
    """
    return bool(_time_formats(written, config))


def _time_formats(written: str, config: Mapping[Any, Any], depth: int = 0) -> list[str]:
    """The ``${now:...}`` formats a value as written reads, through the keys it interpolates (a cycle stops at 8).

    >>> _time_formats("runs/${now:%Y-%m-%d}/${run}", {"run": "${now:%H-%M}"})
    ['%Y-%m-%d', '%H-%M']
    """
    formats = re.findall(r"\$\{now:([^}]*)\}", written)
    if depth >= 8 or "${" not in written:
        return formats
    for key in re.findall(r"\$\{([A-Za-z_][\w.]*)\}", written):
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, str):
            formats += _time_formats(node, config, depth + 1)
    return formats


_DATE_DIRECTIVES = frozenset("aAbBCdDeFgGhjmuUVwWxyY%")
"""strftime's directives that change at most once a day (``%x`` is the locale's date)."""


def _dates_only(formats: Sequence[str]) -> bool:
    """Whether every ``${now:...}`` format names the day at finest, so a rerun the same day lands in the same dir.

    >>> _dates_only(["%Y-%m-%d"]), _dates_only(["%Y-%m-%d", "%H-%M-%S"]), _dates_only(["%Y-%m-%d_%-H"])
    (True, False, False)
    """
    directives = [d for f in formats for d in re.findall(r"%[-_0^#]?(.)", f)]
    return bool(directives) and all(d in _DATE_DIRECTIVES for d in directives)


def _numbers_read(point: Any) -> Any:
    """``hydra.sweeper.reference_point`` with each value given as text that reads as a number, as that number.

    The setting is not typed as a mapping of floats (a list would fail in OmegaConf's merge, naming no key), so
    OmegaConf no longer converts text: an interpolation such as ``${oc.env:REF}`` gives ``"0.5"``, as YAML's ``'0.5'``
    does. Anything else is left for :class:`~lightning_ecopt.sweeper.settings.SweepSettings` to refuse with its
    message.

    >>> _numbers_read({"test/acc": "0.5", "energy/test_j": 100, "f": "low"})
    {'test/acc': 0.5, 'energy/test_j': 100, 'f': 'low'}
    >>> _numbers_read([0.5, 1])
    [0.5, 1]
    """
    if not isinstance(point, Mapping):
        return point

    def read(value: Any) -> Any:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return value

    return {key: read(value) for key, value in point.items()}


_NO_ECOPT_KEY = {
    "parameter_constraints": "the sweep may propose configurations they exclude: raise TrialFailure for "
    "those in the task, and they are recorded as failed",
    "status_quo": "enqueue_trials: [{...}] runs a configuration first, and ecopt report --baseline first "
    "compares with it",
    "early_stop": "n_trials bounds the sweep",
}
"""The Ax sweeper's settings that have no ecopt key, each with what does the job instead."""


class EcoptSweeper(Sweeper):
    """Multi-objective Bayesian optimisation of a Hydra app with Ax (Sobol, then qNEHVI).

    The arguments are the fields of :class:`hydra_plugins.ecopt_sweeper.config.EcoptSweeperConf` (see it for
    their meaning); they are stored here and checked in :meth:`sweep`, before the first trial.

    Example::

        python train.py -m hydra/sweeper=ecopt hydra.sweeper.n_trials=12 'model.lr=tag(log, interval(1e-4, 0.1))'
    """

    def __init__(
        self,
        objectives: Mapping[str, str] | None = None,
        direction: Any = None,
        params: Mapping[str, Any] | None = None,
        n_trials: int = 20,
        n_initial_trials: int | None = None,
        acquisition: str = "qNEHVI",
        seed: int | None = None,
        max_batch_size: int | None = None,
        max_failure_rate: float = 0.5,
        reference_point: Mapping[str, float] | None = None,
        outcome_constraints: Sequence[str] | str | None = (),
        storage: str | None = None,
        allow_mixed_energy_sources: bool = False,
        trial_timeout_s: float | None = None,
        inference_params: Sequence[str] | None = None,
        tensorboard: bool = True,
        enqueue_trials: Sequence[Mapping[str, Any]] = (),
        retry_failed: bool = False,
        sampler: Any = None,
        study_name: str | None = None,
        n_jobs: int | None = None,
        search_space: Mapping[str, Any] | None = None,
        custom_search_space: str | None = None,
        ax_config: Any = None,
        **unknown: Any,
    ) -> None:
        super().__init__()
        # An option this sweeper does not have: Hydra's own message for `hydra.sweeper.n_trial=3` suggests
        # `+hydra.sweeper.n_trial=3`, which would reach here; refused in configure(), naming the closest option.
        self._unknown_options = dict(unknown)
        self.objectives = _plain(objectives)
        self.direction = _plain(direction)
        self.params = _plain(params)
        self.n_trials = n_trials
        self.n_initial_trials = n_initial_trials
        self.acquisition = acquisition
        self.seed = seed
        self.max_batch_size = max_batch_size
        self.max_failure_rate = max_failure_rate
        self.reference_point = _plain(reference_point)
        self.outcome_constraints = _plain(outcome_constraints)
        self.storage = storage
        self.allow_mixed_energy_sources = allow_mixed_energy_sources
        self.trial_timeout_s = trial_timeout_s
        self.inference_params = _plain(inference_params)
        self.tensorboard = tensorboard
        self.enqueue_trials = _plain(enqueue_trials)
        self.retry_failed = retry_failed
        self.sampler = _plain(sampler)
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.search_space = _plain(search_space)
        self.custom_search_space = custom_search_space
        self.ax_config = _plain(ax_config)

        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.job_idx = 0
        self._job_offset = 0  # job number - trial index (> 0 only where numbered job dirs outlived their experiment)
        self._pareto: ParetoSweep | None = None
        self._given: SweepSettings | None = None  # the settings this command gave the loop (it may keep saved ones)
        self._resume_how: str | None = None  # how to resume where "rerun the same command" would not: a dated dir
        self.space: SearchSpace | None = None
        self.settings: SweepSettings | None = None
        self._multirun_saved = False
        self._outcomes: Path | None = None  # where each job records its outcome (not under the basic launcher)
        self._in_process: dict[int, Any] | None = None  # each job's outcome, kept under the basic launcher
        self._said_chdir = False  # whether a job's record of a changed working directory was said (once a sweep)
        self._said_no_cache = False  # whether a trial that trained without CheckpointCache was said (once a run)
        self._launched = False  # whether this process launched a batch (under the sweep's lock)
        # The folders this run's checks created (the sweep dir and the storage's, and their missing parents): a
        # refusal before the first launch removes those it left empty.
        self._created_dirs: list[Path] = []
        # Whether this machine sees its jobs' records, learnt from the launches that returned (None: none yet).
        self._records_visible: bool | None = None
        self._composed: dict[tuple[str, ...], DictConfig] = {}  # the last batch validate_batch_is_legal composed
        self._sweep_path: tuple[str, Path] | None = None  # hydra.sweep.dir as written, and as an absolute path
        # The submitit job folders before the running launch (None: not submitit, or jobs get no folder of their own).
        self._job_folders_before: set[str] | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        """Keep Hydra's context and build the configured launcher.

        Args:
            hydra_context: Hydra's context (config loader, callbacks).
            task_function: The app's task function.
            config: The app's full config, ``hydra`` node included.
        """
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.job_idx = 0
        self._multirun_saved = False
        self._sweep_path = None
        self._sweep_dir()  # made absolute now, in the directory the command started in (see _sweep_dir)
        if self.trial_timeout_s is not None:  # a bad value is refused in sweep(), before any trial
            from lightning_ecopt.sweeper.timeout import TimedTask

            task_function = TimedTask(task_function, self.trial_timeout_s)
        # Always, whatever the launcher: an exception that a process-based one could not carry back would fail the
        # whole batch (joblib: BrokenProcessPool), and the basic launcher records the same reason as the others.
        # Each job also records its outcome in the sweep dir, so that a batch the launcher loses (a worker killed, a
        # job past its SLURM time limit) keeps what its other jobs returned. Not under the basic launcher: it runs
        # every job in this process, and never loses one without the sweep; there the outcomes are kept in memory,
        # so that a Ctrl-C mid-batch keeps what the batch's earlier jobs returned.
        task = _PicklableFailures(task_function)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task, config=config
        )
        basic = type(self.launcher).__name__ == "BasicLauncher"
        self._outcomes = None if basic else self._sweep_dir() / OUTCOMES_DIR
        task.outcomes = None if self._outcomes is None else str(self._outcomes)
        task.in_process = self._in_process = {} if basic else None

    # -- configuration ----------------------------------------------------------------------------------------------

    def _sweep_dir(self) -> Path:
        """``hydra.sweep.dir`` as an absolute path, taken against the working directory of its first reading.

        That is the directory the command started in (:meth:`setup` reads it first): a task that changes the working
        directory (``os.chdir`` under ``hydra.job.chdir=false``, where Hydra does not change it back) would otherwise
        move every later save of the sweep into that trial's folder.
        """
        if self.config is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        written = str(self.config.hydra.sweep.dir)
        if self._sweep_path is None or self._sweep_path[0] != written:
            self._sweep_path = (written, Path(written).absolute())
        return self._sweep_path[1]

    def _refuse_ax_config(self) -> None:
        """Refuse the Ax sweeper's ``ax_config``, saying which ecopt key takes each of its settings."""
        if self.ax_config is None:
            return
        from lightning_ecopt.sweeper.space import ax_params_to_grammar

        config = self.ax_config if isinstance(self.ax_config, Mapping) else {}
        moves: list[str] = []
        if config.get("max_trials") is not None:
            moves.append(f"n_trials: {config['max_trials']}")
        if isinstance(config.get("params"), Mapping):
            grammar = ax_params_to_grammar(config["params"])
            moves.append(f"params: {{{', '.join(f'{key}: {text!r}' for key, text in grammar.items())}}}")
        experiment = config.get("experiment")
        experiment = experiment if isinstance(experiment, Mapping) else {}
        constrained = bool(experiment.get("outcome_constraints"))
        if experiment.get("minimize") is not None:
            direction = "minimize" if experiment["minimize"] else "maximize"
            if constrained:  # constrained metrics come in a dict, which `direction` (values in order) does not read
                name = experiment.get("objective_name") or "objective"
                moves.append(
                    f"objectives: {{{name}: {direction}}} (a task that returns a dict of {name!r} and the "
                    f"constrained metrics)"
                )
            else:
                moves.append(f"direction: {direction} (a task that returns one number, as under the Ax sweeper)")
        if constrained:
            moves.append(f"outcome_constraints: {list(experiment['outcome_constraints'])}")
        client = config.get("client")
        if isinstance(client, Mapping) and client.get("random_seed") is not None:
            moves.append(f"seed: {client['random_seed']}")
        where = f"move its settings to ecopt's keys ({'; '.join(moves)}) and remove it" if moves else "remove it"
        # What has no ecopt key: said, so a migrated sweep does not lose it without a word.
        instead = _NO_ECOPT_KEY
        dropped = [key for key in ("parameter_constraints", "status_quo") if experiment.get(key)]
        dropped += [key for key in ("early_stop",) if config.get(key)]
        lost = "".join(f" ecopt has no {key}: {instead[key]}." for key in dropped)
        raise EcoptConfigError(
            f"hydra.sweeper.ax_config is the Ax sweeper's config, which the ecopt sweeper does not read: {where}; "
            f"see hydra_plugins/ecopt_sweeper/config.py for ecopt's keys.{lost}"
        )

    def _params(self) -> dict[str, Any]:
        if self.custom_search_space:
            raise EcoptConfigError(
                f"hydra.sweeper.custom_search_space={self.custom_search_space!r}: the ecopt sweeper cannot call an "
                f"Optuna search-space function; express the space in hydra.sweeper.params (Hydra's sweep grammar) "
                f"and set custom_search_space to null."
            )
        if self.params is not None and not isinstance(self.params, Mapping):
            raise EcoptConfigError(_params_not_a_mapping(self.params))
        params = dict(self.params or {})
        if self.search_space:
            if params:
                log.warning(
                    "hydra.sweeper.params and hydra.sweeper.search_space are both set: using params, as the Optuna "
                    "sweeper does; remove search_space."
                )
            else:
                from lightning_ecopt.sweeper.space import optuna_search_space_to_params

                params = optuna_search_space_to_params(self.search_space)
                log.warning("hydra.sweeper.search_space (Optuna's deprecated form) translated into params: %s", params)
        return {key: self._glob_as_choice(str(key), value) for key, value in params.items()}

    def _arguments(self, arguments: Sequence[str]) -> list[str]:
        """The command line's overrides, each glob over a config group's options as the choice it selects."""
        expanded = []
        for argument in arguments:
            key, equals, value = argument.partition("=")
            expanded.append(f"{key}={self._glob_as_choice(key, value)}" if equals else argument)
        return expanded

    def _glob_as_choice(self, key: str, value: Any) -> Any:
        """``value``; or where ``key=value`` is a glob over a config group's options, the choice of those it selects.

        Hydra's basic sweeper expands ``model=glob(*)`` (``glob(*,exclude=sgd)``, ``glob([a*,b*])``) against the
        group's options; Ax needs the values. Sorted, so that a rerun meets the same space while the options stay.

        Raises:
            EcoptConfigError: ``key`` is no config group, or the glob selects fewer than two of its options.
        """
        if not isinstance(value, str) or "glob(" not in value:
            return value
        from hydra.core.override_parser.types import Glob, ValueType
        from hydra.errors import HydraException

        from lightning_ecopt.sweeper.space import _parse_override, render_override_value

        try:
            override = _parse_override(f"{key}={value}")
        except HydraException:  # the search space's parser says what is wrong with it
            return value
        glob = override.value()
        if override.value_type is not ValueType.GLOB_CHOICE_SWEEP or not isinstance(glob, Glob):
            return value
        group = override.key_or_group
        options = self._group_options(group)
        if not options:
            raise EcoptConfigError(
                f"{key}={value}: glob(...) selects among the options of a config group, and {group!r} is none (the "
                f"app has no {group}/ config folder); list the values instead: {key}=choice(a,b)."
            )
        chosen = sorted(glob.filter(options))
        if not chosen:
            raise EcoptConfigError(
                f"{key}={value} selects none of the options of the config group {group!r} ({', '.join(options)}); "
                f"widen the glob, or list the options: {key}=choice({','.join(options)})."
            )
        if len(chosen) == 1:  # not the choice's own message, which would quote the choice, not the glob
            raise EcoptConfigError(
                f"{key}={value} selects one option of the config group {group!r} ({', '.join(options)}), "
                f"{chosen[0]!r}, and sweeps nothing; fix it ({key}={render_override_value(chosen[0])}), or widen the "
                f"glob."
            )
        choice = f"choice({','.join(render_override_value(option) for option in chosen)})"
        log.info("ecopt sweeper: %s=%s sweeps the options %s of the config group %r.", key, value, chosen, group)
        return choice

    def _seed(self) -> int | None:
        if self.seed is not None:
            return self.seed
        sampler_seed = self.sampler.get("seed") if isinstance(self.sampler, Mapping) else None
        return sampler_seed if isinstance(sampler_seed, int) and not isinstance(sampler_seed, bool) else None

    def _batch_size(self) -> int:
        if self.n_jobs is not None and self.max_batch_size is not None and self.n_jobs != self.max_batch_size:
            raise EcoptConfigError(
                f"hydra.sweeper.max_batch_size={self.max_batch_size} and the Optuna key n_jobs={self.n_jobs} "
                f"disagree; n_jobs means max_batch_size here: set only max_batch_size."
            )
        if self.max_batch_size is not None:
            return self.max_batch_size
        if self.n_jobs is None:
            return 1
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs < 1:
            # Named as the user wrote it: SweepSettings would say max_batch_size, a key they never set.
            raise EcoptConfigError(
                f"hydra.sweeper.n_jobs={self.n_jobs!r} (the Optuna key, read as max_batch_size here): expected an "
                f"integer >= 1, the trials launched together per batch; set max_batch_size instead, e.g. 1."
            )
        return self.n_jobs

    def _storage(self) -> Path:
        default = self._sweep_dir() / "ax_experiment.json"
        if self.storage is None:
            return default
        if "://" in str(self.storage):
            log.warning(
                "hydra.sweeper.storage=%r is an Optuna database URL; the ecopt sweeper saves its Ax experiment as "
                "JSON instead, to %s. Set storage to a .json path (or null) to silence this warning.",
                self.storage,
                default,
            )
            return default
        if "\x00" in str(self.storage):  # Path.resolve() below would fail with a bare ValueError
            raise EcoptConfigError(
                f"hydra.sweeper.storage={self.storage!r}: not a usable file path (it holds the NUL character "
                f"'\\x00'); give a file in the sweep dir, e.g. '${{hydra.sweep.dir}}/ax_experiment.json' (the default)."
            )
        written = str(self.storage)
        # As the sweep dir: the task may change the working directory; "~/..." is the home's, not a folder "~".
        storage = Path(written).expanduser().absolute()
        if storage.resolve() == self._sweep_dir().resolve():
            # Not yet a directory on a fresh sweep, so SweepSettings cannot tell; the loop then finds the sweep dir
            # it created there and would say to delete it.
            raise EcoptConfigError(
                f"hydra.sweeper.storage={self.storage!r} is hydra.sweep.dir itself; storage is the file the Ax "
                f"experiment is saved to: give a file in it, e.g. '${{hydra.sweep.dir}}/ax_experiment.json' (the "
                f"default)."
            )
        if written.endswith(
            ("/", os.sep)
        ):  # Path() drops the slash: the experiment went to a file of the folder's name
            raise EcoptConfigError(
                f"hydra.sweeper.storage={self.storage!r} names a folder (it ends with {written[-1]!r}); storage is the "
                f"file the Ax experiment is saved to: give a file in that folder, e.g. "
                f"{written.rstrip('/' + os.sep) + '/ax_experiment.json'!r}."
            )
        if not _is_inside(storage, self._sweep_dir()):
            raise EcoptConfigError(
                f"hydra.sweeper.storage={self.storage!r} resolves to {storage.resolve()}, outside hydra.sweep.dir "
                f"({self._sweep_dir().resolve()}): the sweep writes optimization_results.yaml and tensorboard/ beside "
                f"that file and would resume whatever sweep it holds. Keep it inside the sweep dir, e.g. "
                f"'${{hydra.sweep.dir}}/ax_experiment.json' (the default), or move hydra.sweep.dir instead."
            )
        return storage

    def _warn_optuna_keys(self) -> None:
        if self.sampler:
            log.warning(
                "hydra.sweeper.sampler (an Optuna sampler) is ignored: the ecopt sweeper proposes trials with Ax "
                "(Sobol, then %s)%s.",
                self.acquisition,
                "; its seed is used" if self.seed is None and self._seed() is not None else "",
            )
        if self.study_name:
            log.warning("hydra.sweeper.study_name=%r (Optuna) is ignored by the ecopt sweeper.", self.study_name)

    def _check_inference_params(self, space: SearchSpace) -> None:
        from lightning_ecopt.checkpoints import check_inference_params

        def has_key(key: str) -> bool:
            return self.config is not None and OmegaConf.select(self.config, key, default=_ABSENT) is not _ABSENT

        def is_section(key: str) -> bool:
            return self.config is not None and OmegaConf.is_config(OmegaConf.select(self.config, key, default=None))

        whole = OmegaConf.to_container(self.config, resolve=False) if self.config is not None else {}
        app = {k: v for k, v in whole.items() if k != "hydra"} if isinstance(whole, dict) else {}
        keys = check_inference_params(
            self.inference_params, space.names, list(space.fixed), has_key, is_section, _leaf_keys(app)
        )
        if keys:
            log.info(
                "ecopt sweeper: inference-only parameters %s: trials that differ only in these can share one trained "
                "checkpoint (lightning_ecopt.checkpoints.CheckpointCache).",
                list(keys),
            )

    def _group_options(self, group: str) -> list[str]:
        """The options of the config group ``group`` in the app's search path; ``[]`` if it is no config group."""
        if self.hydra_context is None or self.config is None:
            return []
        try:
            # Hydra's own overrides may extend the search path. Unresolved, as Hydra reads them: one may hold an
            # interpolation only a job can resolve (hydra.sweep.subdir=trial_${hydra.job.num}).
            node = OmegaConf.select(self.config, "hydra.overrides.hydra", default=None)
            overrides = [str(o) for o in OmegaConf.to_container(node) or []] if OmegaConf.is_list(node) else []
            options = self.hydra_context.config_loader.get_group_options(
                group,
                config_name=OmegaConf.select(self.config, "hydra.job.config_name", default=None),
                overrides=overrides,
            )
        except Exception as exc:  # not expected: a missing group gives [], not an error
            log.warning(
                "ecopt sweeper: cannot list the options of the config group %r (%s: %s); its swept values are checked "
                "as each trial's config is composed.",
                group,
                type(exc).__name__,
                exc,
            )
            return []
        return list(options)

    def _runtime_choices(self) -> Mapping[str, Any]:
        """The option Hydra chose for each config group of the app (``hydra.runtime.choices``); empty if unknown."""
        choices = OmegaConf.select(self.config, "hydra.runtime.choices", default=None) if self.config else None
        return choices if choices is not None else {}

    def _is_config_group(self, key: str) -> bool:
        """Whether ``key`` is a config group: one the app's defaults chose an option of, or one with options."""
        return key in self._runtime_choices() or bool(self._group_options(key))

    def _check_group_options(self, space: SearchSpace) -> None:
        """Refuse a swept config-group option that its group does not have, before any trial runs.

        Each option is composed up front only after this check; without it, a misspelt option would fail the sweep
        at that composition with Hydra's message.

        Raises:
            EcoptConfigError: A choice of a config group names an option the group does not have.
        """
        from lightning_ecopt.sweeper.space import ChoiceParameter, render_override_value

        for parameter in space.parameters:
            if not isinstance(parameter, ChoiceParameter):
                continue
            group, _ = _group_and_root(parameter.name)  # ``group@package`` selects from ``group`` (names carry no +)
            options = self._group_options(group)
            if not options:  # a key of the app's config, not a config group
                continue
            texts = [value if isinstance(value, str) else render_override_value(value) for value in parameter.values]
            missing = []
            for text in texts:
                subgroup, _, option = text.rpartition("/")  # ``group=sub/option`` selects from ``group/sub``
                if option not in (self._group_options(f"{group}/{subgroup}") if subgroup else options):
                    missing.append(text)
            if missing:
                verb = "is not an option" if len(missing) == 1 else "are not options"
                raise EcoptConfigError(
                    f"{parameter.name}={','.join(texts)}: {', '.join(map(repr, missing))} {verb} of the config group "
                    f"{group!r}; choose from {', '.join(map(repr, options))}, or add {group}/{missing[0]}.yaml to "
                    f"the app's configs."
                )
            unquoted = [value for value in parameter.values if not isinstance(value, str)]
            if unquoted:  # Hydra takes a group's option as a name only: 'depth=18' fails in every trial it reaches
                key = f"{parameter.prefix}{parameter.name}"
                raise EcoptConfigError(
                    f"{key}={','.join(texts)}: {group!r} is a config group, whose options are names, and Hydra reads "
                    f"{unquoted[0]!r} as {type(unquoted[0]).__name__}; quote the options: "
                    f"{key}={','.join(repr(text) for text in texts)}."
                )

    def _config_value(self, key: str) -> Any:
        """The app's own value of ``key``: the option chosen for a config group, or a scalar; ``_ABSENT`` if none."""
        if self.config is None:
            return _ABSENT
        choices = self._runtime_choices()
        if key in choices and choices[key] is not None:
            return choices[key]
        value = OmegaConf.select(self.config, key, default=_ABSENT)
        if isinstance(value, enum.Enum):  # a typed field's member: the sweep and its overrides name it
            return value.name
        return _ABSENT if OmegaConf.is_config(value) else value

    def _typed_bool_reads(self, key: str, text: str) -> bool | None:
        """How the app's config node at ``key`` takes ``text``.

        ``True`` where a typed bool reads it as a bool (``yes``, ``off``), ``None`` where a typed bool refuses it (its
        trials fail to compose), ``False`` where the node keeps the text (an untyped one).
        """
        if self.config is None:
            return False
        probe = copy.deepcopy(self.config)
        try:
            OmegaConf.update(probe, key, text, merge=False)
        except Exception:  # a typed node that refuses the text: Hydra reports it at each trial's composition
            return None
        return isinstance(OmegaConf.select(probe, key, default=None), bool)

    def _warn_texts_over_bools(self, space: SearchSpace) -> None:
        """Warn once per choice that offers text where the app's config has a bool (``choice(true,flase)``).

        Hydra passes ``flase`` on as the text, which Python reads as true (a non-empty string): the trial runs as
        ``true`` while the frontier and the report show ``flase``, and ``false`` is never explored. A text can be
        meant (Lightning's ``deterministic`` takes ``warn``), so this warns, it does not refuse.
        """
        from lightning_ecopt.sweeper.space import ChoiceParameter

        for parameter in space.parameters:
            if not isinstance(parameter, ChoiceParameter):
                continue
            value = self._config_value(parameter.name)
            texts = [v for v in parameter.values if isinstance(v, str)]
            if not isinstance(value, bool) or not texts:
                continue
            reads = {t: self._typed_bool_reads(parameter.name, t) for t in texts}
            refused = [t for t, read in reads.items() if read is None]
            if refused:
                log.warning(
                    "ecopt sweeper: %s is a typed bool that does not take %s: the trials given %s will fail to "
                    "compose (true, false, yes, no, on, off, 1 and 0 are what it reads).",
                    parameter.name,
                    ", ".join(map(repr, refused)),
                    "it" if len(refused) == 1 else "them",
                )
            texts = [t for t, read in reads.items() if read is False]  # a typed bool converts or refuses the rest
            if not texts:
                continue
            hints = []
            for text in texts:
                word = text.strip().lower()
                close = difflib.get_close_matches(word, ["true", "false"], n=1, cutoff=0.6)
                if word in ("true", "false"):
                    hints.append(f"{text!r} is quoted: write {word} without quotes")
                elif close:
                    hints.append(f"{text!r}: did you mean {close[0]}?")
            meant = "; ".join(hints)
            log.warning(
                "ecopt sweeper: %s=choice(%s) offers the text %s where the app's config has %s: %s, a bool: its "
                "trials would get that text, which Python reads as true (a non-empty string)%s.",
                parameter.name,
                ",".join(repr(v) if isinstance(v, str) else str(v).lower() for v in parameter.values),
                ", ".join(map(repr, texts)),
                parameter.name,
                str(value).lower(),
                f" ({meant})" if meant else "",
            )

    def _warn_floats_over_ints(self, space: SearchSpace) -> None:
        """Warn once per float interval swept over a key whose value in the app's config is an int.

        Its trials would get values such as 35.19 where the app expects an integer (a layer width, say) and fail deep
        in the task; a float over an int default (``lr: 1``) can be meant, so this warns, it does not refuse.
        """
        from lightning_ecopt.sweeper.space import RangeParameter

        for parameter in space.parameters:
            if not isinstance(parameter, RangeParameter) or parameter.parameter_type != "float":
                continue
            value = self._config_value(parameter.name)
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            low, high = math.ceil(parameter.low), math.floor(parameter.high)
            if high - low < 1:
                # Fewer than two integers in the range (weight_decay: 0 swept over interval(1e-6, 1e-2)): no int sweep
                # is possible, so floats are meant, and an int(...) suggestion would be refused as empty.
                continue
            interval = f"interval({parameter.low!r}, {parameter.high!r})"
            suggested = f"int(interval({low}, {high}))"
            middle = (parameter.low + parameter.high) / 2
            if parameter.log_scale:
                interval, suggested = f"tag(log, {interval})", f"tag(log, {suggested})"
                middle = math.sqrt(parameter.low * parameter.high)
            if float(middle).is_integer():  # "values such as 36" would hide the point: show a fraction
                middle += 0.37  # inside the range: it spans two integers at least
            log.warning(
                "ecopt sweeper: %s=%s sweeps floats, but the app's config has %s: %d, an int: its trials would get "
                "values such as %.6g there. If the key must stay an integer, sweep it as '%s'.",
                parameter.name,
                interval,
                parameter.name,
                value,
                middle,
                suggested,
            )

    def _enqueue_trials(self, space: SearchSpace) -> Any:
        """``enqueue_trials`` with each configuration completed from the app's config (``[{}]``: its defaults first).

        Anything that is not a list of mappings is passed on as it is, for SweepSettings to refuse with its message.
        """
        from lightning_ecopt.sweeper.space import SearchSpace

        trials = self.enqueue_trials
        if trials is None:
            return ()
        if not isinstance(trials, list):
            return trials
        completed: list[Any] = []
        for i, trial in enumerate(trials):
            if not isinstance(trial, dict):
                completed.append(trial)
                continue
            trial = dict(trial)
            for key in trial:
                bare = str(key).lstrip("+~")
                if key not in space.names and bare in space.names and bare not in trial:
                    # Before the defaults are filled in, which would say that no value was given for it.
                    raise EcoptConfigError(
                        f"hydra.sweeper.enqueue_trials[{i}] names {key!r}: a parameter is named by the key it sets, "
                        f"without the override's prefix; write '{bare}: {trial[key]!r}'."
                    )
            for parameter in space.parameters:
                name = parameter.name
                if name in trial:
                    continue
                value = self._config_value(name)
                if value is _ABSENT:
                    raise EcoptConfigError(
                        f"hydra.sweeper.enqueue_trials[{i}] gives no value for {name!r}, and the app's config has "
                        f"none to take: add '{name}: <value>' to it."
                    )
                try:  # checked here, so that the message says where the value came from
                    SearchSpace((parameter,)).check_params({name: value})
                except ValueError as error:
                    raise EcoptConfigError(
                        f"hydra.sweeper.enqueue_trials[{i}] gives no value for {name!r}, so it takes the app's "
                        f"config's {name}: {value!r}, which the search space refuses ({error}); add '{name}: <value>' "
                        f"to it."
                    ) from None
                trial[name] = value
            completed.append(trial)
        return completed

    def _unresolved_config(self) -> Mapping[Any, Any]:
        """The whole config as a plain mapping, unresolved, for :func:`_reads_the_time` to follow interpolations.

        Empty where OmegaConf cannot copy it unresolved: a value is then judged by what it says itself.
        """
        try:
            whole = OmegaConf.to_container(self.config, resolve=False)
        except Exception:
            return {}
        return whole if isinstance(whole, Mapping) else {}

    def _dated_sweep_dir(self, sweep_dir: Path) -> tuple[str, str] | None:
        """Why rerunning this command would not resume, and how to, where ``hydra.sweep.dir`` holds the time."""
        assert self.config is not None
        try:
            raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        except Exception:  # a config without a plain hydra.sweep node (a test double): nothing to say
            return None
        written = str(raw.get("dir", "")) if isinstance(raw, dict) else ""
        if "${" not in written:
            return None
        formats = _time_formats(written, self._unresolved_config())
        if not formats:
            return None
        when = (
            "the date, so rerunning this command another day"
            if _dates_only(formats)
            else "the time, so rerunning this command"
        )
        return (
            f"hydra.sweep.dir={written} holds {when} starts a new sweep in a new dir",
            f"{_rerun_in(sweep_dir)} (or set a fixed hydra.sweep.dir in the app's config)",
        )

    def _refuse_unknown_options(self) -> None:
        """Refuse a ``hydra.sweeper`` option this sweeper does not have, naming the closest one it does."""
        if not self._unknown_options:
            return
        import dataclasses
        import difflib

        from hydra_plugins.ecopt_sweeper.config import EcoptSweeperConf

        known = [f.name for f in dataclasses.fields(EcoptSweeperConf) if not f.name.startswith("_")]
        name = sorted(self._unknown_options)[0]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean hydra.sweeper.{close[0]}?" if close else f"the options are {', '.join(known)}."
        if name in _NO_ECOPT_KEY:  # not "did you mean outcome_constraints?": those bound metrics, not parameters
            raise EcoptConfigError(
                f"hydra.sweeper.{name}={self._unknown_options[name]!r}: the ecopt sweeper has no option {name!r} "
                f"(docs/sweeper.md lists its options); instead, {_NO_ECOPT_KEY[name]}."
            )
        raise EcoptConfigError(
            f"hydra.sweeper.{name}={self._unknown_options[name]!r}: the ecopt sweeper has no option {name!r}; {hint} "
            "(docs/sweeper.md lists them)."
        )

    def _refuse_no_objectives(self) -> None:
        """Refuse a sweep given no objectives nor direction, saying how to give them in YAML and on the command line.

        The ``+`` form works either way: where the app's config sets objectives, Hydra's struct mode adds a metric to
        them only with ``+`` ("Key '...' is not in struct" without it); where it does not (null, the default), both
        forms work.
        """
        no_direction = self.direction is None or (isinstance(self.direction, list | tuple) and not self.direction)
        if self.objectives or not no_direction:
            return
        raise EcoptConfigError(
            "no objectives: name the metrics the task returns and their directions in hydra.sweeper.objectives: in the "
            "app's config, 'objectives: {metric: maximize|minimize}' under hydra.sweeper, e.g. {test/acc: maximize, "
            "energy/test_samples_per_j: maximize}; on the command line, with a + and quoted, "
            "'+hydra.sweeper.objectives={test/acc: maximize, energy/test_samples_per_j: maximize}'. Or the Optuna form "
            "'direction: [minimize, maximize]', for a task that returns a tuple."
        )

    def configure(self, arguments: Sequence[str]) -> tuple[SearchSpace, SweepSettings]:
        """Parse and check the search space and the settings, without running anything.

        Args:
            arguments: The command-line overrides Hydra passes to :meth:`sweep`.

        Returns:
            The search space and the sweep settings.

        Raises:
            EcoptConfigError: Anything in the sweeper config or on the command line is invalid.
        """
        from lightning_ecopt.sweeper.spelling import hydra_spelling

        with hydra_spelling():  # messages name hydra.sweeper.<key>, not SweepSettings(<key>=...)
            return self._configure(arguments)

    def _configure(self, arguments: Sequence[str]) -> tuple[SearchSpace, SweepSettings]:
        from lightning_ecopt.sweeper.objectives import parse_objectives
        from lightning_ecopt.sweeper.settings import SweepSettings, default_n_initial_trials
        from lightning_ecopt.sweeper.space import check_constraint_metrics, check_enqueued, parse_search_space

        self._refuse_unknown_options()
        self._refuse_ax_config()
        self._refuse_no_objectives()
        space = parse_search_space(
            self._params(),
            self._arguments(arguments),
            where="hydra.sweeper.params",
            is_config_group=self._is_config_group,
        )
        if not space.parameters:
            given = (
                f"hydra.sweeper.params and the command line fix every key ({list(space.fixed_overrides)!r})"
                if space.fixed_overrides
                else "hydra.sweeper.params is empty and the command line sweeps no key"
            )
            raise EcoptConfigError(
                f"nothing to sweep: {given}; sweep at least one, on the command line (e.g. "
                f"'model.lr=tag(log, interval(1e-4,0.1))') or in hydra.sweeper.params."
            )
        objectives = parse_objectives(self.objectives, self.direction)
        n_initial = self.n_initial_trials
        if n_initial is None and isinstance(self.n_trials, int) and self.n_trials >= 1:
            n_initial = default_n_initial_trials(self.n_trials, len(space.parameters))
        batch_size = self._batch_size()
        try:
            settings = SweepSettings(
                objectives=objectives,
                n_trials=self.n_trials,
                n_initial_trials=n_initial,
                acquisition=self.acquisition,  # type: ignore[arg-type]  # validated by SweepSettings
                seed=self._seed(),
                max_batch_size=batch_size,
                max_failure_rate=self.max_failure_rate,
                # A mapping ({} and null: inferred), or anything else for SweepSettings to refuse with its message
                # (a list of values, as BoTorch's ref_point).
                reference_point=_numbers_read(self.reference_point),
                # Strings, one or a list, parsed by SweepSettings (as anything else, refused with its message).
                outcome_constraints=() if self.outcome_constraints is None else self.outcome_constraints,
                storage=self._storage(),
                allow_mixed_energy_sources=self.allow_mixed_energy_sources,
                trial_timeout_s=self.trial_timeout_s,
                # A bad batch size is SweepSettings' to refuse, with its message: compare only an int here.
                parallel_trials=isinstance(batch_size, int) and _jobs_at_once(self.launcher, batch_size) > 1,
                enqueue_trials=self._enqueue_trials(space),
                retry_failed=self.retry_failed,
            )
        except EcoptConfigError as error:
            if self.n_jobs is None or self.max_batch_size is not None or "max_batch_size=" not in str(error):
                raise
            # The value came from the Optuna key: name it, or its fix (set max_batch_size=1) meets a second refusal.
            raise EcoptConfigError(
                f"{error} (here max_batch_size={batch_size} is hydra.sweeper.n_jobs={self.n_jobs}, the Optuna key: "
                f"set n_jobs instead)"
            ) from None
        # The sweep warns of a repeated configuration itself, once.
        check_enqueued(space, settings.enqueue_trials, "hydra.sweeper.enqueue_trials", warn_repeats=False)
        check_constraint_metrics(space, settings.outcome_constraints, "hydra.sweeper.outcome_constraints")
        self._check_inference_params(space)
        self._warn_floats_over_ints(space)
        self._warn_texts_over_bools(space)
        self._warn_optuna_keys()
        idle = _idle_workers(self.launcher, settings.max_batch_size)
        if idle is not None:
            log.warning("ecopt sweeper: %s", idle)
        if settings.parallel_trials:
            log.warning(
                "ecopt sweeper: %d trials at a time run side by side on this machine (%s): measured energy would be "
                "shared, since RAPL counters are package-wide and trials on one GPU count each other's work. Such "
                "trials are tagged shared_counters in optimization_results.yaml. CPU-time estimates count each "
                "process's own time, but a worker runs torch on fewer threads than a lone process (joblib gives each "
                "its share of the cores), so they compare within this sweep, not with one run under another launcher "
                "or n_jobs. For clean measured figures: max_batch_size=1, one GPU per job, or a SLURM launcher.",
                _jobs_at_once(self.launcher, settings.max_batch_size),
                type(self.launcher).__name__,
            )
        return space, settings

    # -- running ----------------------------------------------------------------------------------------------------

    def sweep(self, arguments: list[str]) -> Any:
        """Check everything, write ``multirun.yaml``, then run the optimisation loop.

        Args:
            arguments: The command-line overrides (the task's, not Hydra's own).

        Returns:
            The loop's :class:`~lightning_ecopt.sweeper.results.SweepResult`.

        Raises:
            EcoptConfigError: The configuration is invalid (raised before any trial runs).
            SweepFailureError: More trials failed than ``max_failure_rate`` allows (the results are saved).

        Both are raised as Hydra's compact exceptions too, so the command prints their message, not a traceback
        through Hydra's internals (``HYDRA_FULL_ERROR=1`` shows it).
        """
        from lightning_ecopt.sweeper.spelling import hydra_spelling

        returned = False
        try:
            with hydra_spelling():  # the messages of checks and of failed trials name Hydra's keys
                result = self._sweep(arguments)
            returned = True
            return result
        except EcoptConfigError as err:
            raise _CompactConfigError(str(err)) from err
        except SweepFailureError as err:
            raise _CompactSweepFailure(str(err)) from err
        finally:
            # A refusal after the storage check made the sweep dir (a job dir outside it, a sweep dir that reads a
            # swept value) left it empty: Hydra's default, multirun/<date>/<time>, a new one at every refused
            # command. Only folders this run created, and only while empty: never anything a user had.
            if not returned and not self._launched:
                _remove_empty_dirs(self._created_dirs)
            # Records read are deleted as they are read; this takes any left over (a job that finished after its
            # batch was reported lost, a sweep stopped mid-batch), whose job numbers no later launch reuses. Only
            # by the process that launched: a second one, refused because the sweep is running (its lock), would
            # delete the running sweep's unread records, and a batch it then lost would run its finished jobs again.
            if self._outcomes is not None and self._launched:
                shutil.rmtree(self._outcomes, ignore_errors=True)

    def _sweep(self, arguments: list[str]) -> Any:
        if self.config is None or self.launcher is None or self.hydra_context is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        self._created_dirs = _missing_dirs(self._sweep_dir())
        space, settings = self.configure(arguments)
        if settings.storage is not None:  # its folder is made by the storage check below, inside the sweep dir or not
            self._created_dirs += _missing_dirs(Path(settings.storage).absolute().parent)
        # Every swept option of a config group, then one trial's config composed: a typo in an option or a key fails
        # now, before any trial runs.
        self._check_group_options(space)
        try:
            task_config = self._task_config(space.to_overrides(_example_params(space)))
        except Exception as exc:
            unknown = (
                self._key_outside_option(exc, space)
                or _unknown_key(exc, self.config)
                or _appended_existing_key(exc, space, arguments, dict(self.params or {}))
                or _group_not_in_defaults(exc, space, arguments, dict(self.params or {}))
            )
            if unknown is None:
                raise
            raise EcoptConfigError(unknown) from exc
        self._check_swept_values_arrive(space, task_config)
        self._check_keys_in_every_swept_option(space)
        self.space, self.settings = space, settings

        from lightning_ecopt.sweeper.loop import (
            check_storage,
            saved_finished_count,
            saved_sobol_count,
            sweep_fingerprint,
        )
        from lightning_ecopt.sweeper.settings import smallest_model_budget
        from lightning_ecopt.sweeper.storage import saved_provenance

        sweep_dir = self._sweep_dir()
        unrecorded_launcher = None  # what ran the trials of a sweep saved before runs were recorded, where known
        # Before anything is written or logged: a storage file that cannot be written, is not an experiment, holds
        # another sweep (another app config too) or more finished trials than n_trials is refused here. The loop
        # checks again when it opens the experiment, so multirun.yaml is written only once it asks for its first
        # batch (evaluate), or when it returns: a refused rerun leaves the earlier sweep's multirun.yaml as it was.
        if settings.storage is not None:
            check_storage(settings.storage, sweep_fingerprint(space, settings, task_config), settings.n_trials)
            if saved_finished_count(settings.storage) > 0:  # not after a launcher that started nothing
                runs = saved_provenance(settings.storage)  # every earlier run's launcher, where they were recorded
                changed = _launcher_change(sweep_dir / "multirun.yaml", self.config, runs, settings.storage)
                if changed is not None:
                    log.warning("ecopt sweeper: %s", changed)
                if not runs:  # saved before runs were recorded: this run overwrites the file that names its launcher
                    unrecorded_launcher = _written_launcher(sweep_dir / "multirun.yaml")
        sweep_dir.mkdir(parents=True, exist_ok=True)
        # A resumed sweep continues the job numbering, whatever hydra.sweep.subdir names the job dirs: no earlier
        # trial's job dir is overwritten.
        self.job_idx = _next_job_index(sweep_dir, settings.storage)
        self._job_offset = self.job_idx - _stored_trial_count(settings.storage)
        if self._job_offset > 0:
            log.warning(
                "ecopt sweeper: %s holds job dirs of %d jobs its experiment (%s) does not know (an earlier sweep's, "
                "its experiment deleted): none is overwritten, so this sweep's trial N runs in job dir N+%d, not N/.",
                sweep_dir,
                self._job_offset,
                settings.storage,
                self._job_offset,
            )
        if _stored_trial_count(settings.storage) == 0:  # a new sweep: no trial of it has run yet
            stale = _earlier_checkpoints(sweep_dir, self.inference_params)
            if stale is not None:
                log.warning("ecopt sweeper: %s", stale)
        example = space.to_overrides(_example_params(space))
        self._check_job_dirs([example], self.job_idx)
        # A hydra.sweep.dir that reads a swept value may match the sweep's at the first point (a choice's first option
        # is often the app's default): one other point too, where it composes (where not, its trials say so).
        other = space.to_overrides(_other_params(space))
        self._check_shared_job_dir(example, other, settings.max_batch_size)
        if other != example:
            try:
                self.validate_batch_is_legal([other])
            except Exception:  # that point's own composition error is its trials' to report
                self._composed = {}
            else:
                self._check_job_dirs([other], self.job_idx)
        # A resumed sweep keeps the Sobol count it saved (the default depends on n_trials): say the one it will use.
        n_sobol = saved_sobol_count(settings.storage) or settings.resolved_n_initial_trials(len(space.parameters))
        size = space.n_configurations
        if size is not None and size <= n_sobol:
            # The Sobol trials exhaust the space (where it holds fewer than n_trials, the loop's next line says the
            # sweep ends there): no model proposes, whatever n_trials.
            plan = "all Sobol"
        elif n_sobol < settings.n_trials:
            # Sobol until n_sobol trials completed (Ax counts no failed one: the model needs their values).
            plan = f"Sobol until {n_sobol} completed, then {settings.proposer}"
        else:
            # The default Sobol count grows with the budget (configure resolved it; self.n_initial_trials is the
            # user's): the budget that leaves the model a trial, not "above this one".
            given = saved_sobol_count(settings.storage) or self.n_initial_trials
            plan = (
                f"all Sobol: {settings.proposer} proposes once the Sobol trials completed, so raise n_trials to "
                f"{smallest_model_budget(len(space.parameters), given)} or more"
            )
        fixed = f", fixed {list(space.fixed_overrides)}" if space.fixed_overrides else ""
        log.info(
            "ecopt sweeper: %s (%s), objectives %s, parameters %s%s, storage %s",
            spelling.trials(settings.n_trials),
            plan,
            {o.name: o.direction for o in settings.objectives},
            list(space.names),
            fixed,
            settings.storage,
        )

        from lightning_ecopt.sweeper.loop import ParetoSweep

        if not isinstance(self.tensorboard, bool):
            raise EcoptConfigError(f"hydra.sweeper.tensorboard={self.tensorboard!r}: expected true or false.")
        # None: the loop's default hooks (the TensorBoard frontier views); []: none.
        sweep = ParetoSweep(
            space,
            settings,
            self.evaluate,
            on_batch_end=None if self.tensorboard else [],
            task_config=task_config,
            launcher=_launcher_facts(self.config),  # recorded in the run's provenance
        )
        sweep.unrecorded_launcher = unrecorded_launcher  # kept in the record of its earlier trials (a first resume)
        # On resume: a job of the dead process's last batch that never started its task did not end that process.
        sweep.ran_when_the_process_died = self._ran_when_the_process_died
        self._pareto, self._given = sweep, settings
        dated = self._dated_sweep_dir(sweep_dir)
        if dated is not None:
            log.warning("ecopt sweeper: %s; %s", *dated)
        from lightning_ecopt.sweeper.loop import SWEEP_LOCK_NAME, sweep_lock
        from lightning_ecopt.sweeper.spelling import resume_with

        try:
            # The loop's stop messages say how to resume: "rerun the same command" would start a new sweep here.
            with contextlib.ExitStack() as stack:
                if dated is not None:
                    self._resume_how = _rerun_in(sweep_dir)
                    stack.enter_context(resume_with(self._resume_how))
                # The sweep dir's lock too: its job dirs, multirun.yaml and job records are the dir's, wherever in it
                # the storage file is (the loop locks that file's folder; the same lock where it is the sweep dir).
                with sweep_lock(sweep_dir / SWEEP_LOCK_NAME):
                    result = sweep.run()
            self._save_multirun()  # a run that launched nothing (every trial reused, or a finished sweep reported)
            self._say_where_to_look(result)
            return result
        except KeyboardInterrupt as exc:
            # The loop has saved and logged how to resume; a command-line tool stopped by Ctrl-C exits with 130
            # (128 + SIGINT), by SIGTERM with 143, by SIGHUP with 129, not with a page of traceback through Hydra
            # and Ax.
            raise SystemExit(stop_status(exc)) from None
        except SystemExit as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):  # Lightning's sys.exit(1) for a Ctrl-C in fit/test
                raise SystemExit(stop_status(exc)) from None
            raise

    def _say_where_to_look(self, result: SweepResult) -> None:
        """The sweep's last line: where its results are, and the commands that show its frontier.

        The sweep ended on its summary ("done: 20 trials ..., Pareto set 2, hypervolume ...") and nothing said where
        the frontier, the energy ledger and the proxy audit could be read.
        """
        from lightning_ecopt._shell import shell_path
        from lightning_ecopt.tensorboard import TENSORBOARD_DIRNAME

        if result.results_path is None:
            return
        _say_contended(result)
        _say_short_windows(result)
        folder = result.results_path.parent
        board = folder / TENSORBOARD_DIRNAME
        views = f"ecopt report {shell_path(folder)}"
        if self.tensorboard and board.is_dir():
            views += f"; the frontier views: tensorboard --logdir {shell_path(board)}"
        log.info(
            "ecopt sweeper: results in %s; the frontier, energy ledger and proxy audit: %s", result.results_path, views
        )

    def _group_holding(self, key: str) -> str | None:
        """The innermost config group (``optim``, ``model/encoder``) whose option holds ``key``; ``None`` if none."""
        parts = key.split(".")
        for n in range(len(parts) - 1, 0, -1):
            group = "/".join(parts[:n])
            if self._group_options(group):
                return group
        return None

    def _compose_error(self, overrides: Sequence[str]) -> Exception | None:
        """The error composing one trial's config with ``overrides`` raises, or ``None`` when it composes."""
        try:
            self._task_config(overrides)
        except Exception as exc:  # Hydra's and OmegaConf's errors alike: the caller reads them
            return exc
        return None

    def _options_with_key(self, key: str, group: str, options: Iterable[str], overrides: Sequence[str]) -> list[str]:
        """Those of ``options`` of ``group`` whose trial config, ``overrides`` with that option, composes with ``key``.

        An option that fails to compose for another reason (a key of its own, a broken defaults list) is left out.
        """
        having = []
        for option in options:
            error = self._compose_error(_with_option(overrides, group, option))
            if error is None or (_key_not_in_struct(error) not in (None, key)):
                having.append(option)  # it got past the key; another of its keys fails, said on its own
        return having

    def _key_outside_option(self, error: Exception, space: SearchSpace) -> str | None:
        """Why the first trial does not compose, where it sets a key that the selected option of a group lacks.

        Hydra says ``Could not override 'optim.beta'`` and suggests ``+optim.beta``; the fix is another option, or
        the key in this one's file. ``None`` where the key lies in no config group (:func:`_unknown_key` says then).
        """
        from lightning_ecopt.sweeper.space import ChoiceParameter, render_override_value

        key = _key_not_in_struct(error)
        if key is None:
            return None
        example = _example_params(space)
        overrides = space.to_overrides(example)
        for swept in space.parameters:  # a group placed at a package (optim@model.opt): its keys lie under that
            placed, package = _group_and_root(swept.name)
            if "@" in swept.name and isinstance(swept, ChoiceParameter) and key.startswith(f"{package}."):
                options = [render_override_value(v) for v in swept.values]
                having = self._options_with_key(key, swept.name, options, overrides)
                lacking = [o for o in options if o not in having]
                if having and lacking:
                    return _only_some_options(key, placed, swept.prefix + swept.name, having, lacking, package)
        group = self._group_holding(key)
        if group is None:
            return None
        leaf = key[len(group) + 1 :]
        for swept in space.parameters:
            if swept.name != group or not isinstance(swept, ChoiceParameter):
                continue
            # The first trial takes the first option: say which of the swept ones have the key.
            options = [render_override_value(v) for v in swept.values]
            having = self._options_with_key(key, group, options, overrides)
            if having:
                lacking = [o for o in options if o not in having]
                return _only_some_options(key, group, swept.prefix + group, having, lacking)
        selected = next((o for o in overrides if o.partition("=")[0].lstrip("+~") == group), None)
        option = selected.partition("=")[2] if selected else self._runtime_choices().get(group)
        how = f"selected by {selected}" if selected else "the app's default"
        others = [o for o in self._group_options(group) if o != option]
        having = self._options_with_key(key, group, others, overrides)
        if having:
            return (
                f"the sweep sets {key!r}, which is not in option {option!r} of the config group {group!r} ({how}); "
                f"the options that have it: {', '.join(having)}. Select one of those, or add {leaf} to "
                f"{group}/{option}.yaml."
            )
        close = _close_key(key, self.config) if self.config is not None else None
        meant = f" (did you mean {close!r}?)" if close else ""
        return (
            f"the sweep sets {key!r}, which is not in option {option!r} of the config group {group!r} ({how}), nor in "
            f"any other of its options{meant}: fix its name in hydra.sweeper.params or on the command line, or add "
            f"{leaf} to {group}/{option}.yaml."
        )

    def _check_keys_in_every_swept_option(self, space: SearchSpace) -> None:
        """Refuse a key that only some options of a swept config group have, before any trial runs.

        The first trial's config composes with the first option only; each other option of a swept group is composed
        once here (the other parameters at their first values): a key it lacks would fail each of its trials with
        Hydra's "use +key", until ``max_failure_rate`` stopped the sweep. An option that fails to compose for another
        reason (a broken defaults list) is left to fail its own trials, as documented.

        Raises:
            EcoptConfigError: A key the sweep sets is missing from some options of a swept group.
        """
        from lightning_ecopt.sweeper.space import ChoiceParameter, render_override_value

        example = _example_params(space)
        for parameter in space.parameters:
            group, root = _group_and_root(parameter.name)
            if not isinstance(parameter, ChoiceParameter) or not self._group_options(group):
                continue
            having = [render_override_value(parameter.values[0])]  # the first trial's, composed already
            lacking: dict[str, list[str]] = {}
            for value in parameter.values[1:]:
                error = self._compose_error(space.to_overrides({**example, parameter.name: value}))
                key = None if error is None else _key_not_in_struct(error)
                if error is None:
                    having.append(render_override_value(value))
                elif key is not None:
                    lacking.setdefault(key, []).append(render_override_value(value))
            for key, options in lacking.items():
                raise EcoptConfigError(
                    _only_some_options(key, group, parameter.prefix + parameter.name, having, options, root)
                )

    def _check_swept_values_arrive(self, space: SearchSpace, task_config: Mapping[str, Any]) -> None:
        """Refuse a sweep whose composed example trial lacks a swept key's value: another override replaced it.

        A safety net behind :func:`~lightning_ecopt.sweeper.space.parse_search_space`'s refusal of nested keys: the
        trials would run on the other value while the results record Ax's.

        Args:
            space: The search space.
            task_config: The example trial's composed config (:meth:`_task_config` of :func:`_example_params`).

        Raises:
            EcoptConfigError: A swept key of the app's config has another value in the composed config than the one
                the sweep gave it; the message names the overrides that set it or the node holding it.
        """
        from lightning_ecopt.sweeper.space import render_override_value

        example = _example_params(space)
        overrides = space.to_overrides(example)
        for parameter in space.parameters:
            name = parameter.name
            if "@" in name or name.split(".")[0] == "hydra" or self._group_options(name):
                continue  # a config group's option, or a key outside the task's config
            node = _composed_value(task_config, name)
            if _same_composed(node, example[name]) or self._moves_with(space, example, parameter, node):
                continue
            given = render_override_value(example[name])
            others = [
                o
                for o in overrides
                if (key := o.partition("=")[0].lstrip("+~")) != name and (name.startswith(f"{key}.") or key == name)
            ]
            got = "no value" if node is _ABSENT else f"{node!r}"
            if not others:
                # No override sets the key's node, and whether another value of it arrives could not be told: more
                # likely a conversion this check does not know than a replaced value. Said, not refused.
                log.warning(
                    "ecopt sweeper: the sweep sets %s=%s in its first trial, and the composed config reads %s there; "
                    "if that is not the same value, the trials run on another value than the results record.",
                    name,
                    given,
                    got,
                )
                continue
            culprit = f"the override{'s' if len(others) > 1 else ''} {', '.join(map(repr, others))}"
            raise EcoptConfigError(
                f"the sweep sets {name}={given} in its first trial, but the composed config has {got} there: "
                f"{culprit} replaced it, so every trial would run on that while the results record the swept values. "
                f"Change {'it' if len(others) == 1 else 'them'} so as not to set {name}, or stop sweeping {name}."
            )

    def _moves_with(self, space: SearchSpace, example: Mapping[str, Any], parameter: Any, composed: Any) -> bool:
        """Whether the composed config's value at ``parameter`` changes when the sweep gives it another value.

        A typed field converts what it is given (an Enum member from its name, ``yes`` to ``True``, ``'1e-3'`` to
        0.001): a value that moves with the override arrives, whatever its form. One more composition, only for a
        value that does not read as the one given. ``False`` where it stays, or the other value does not compose.
        """
        from lightning_ecopt.sweeper.space import RangeParameter

        if composed is _ABSENT:
            return False
        others = [parameter.high] if isinstance(parameter, RangeParameter) else list(parameter.values[1:])
        for other in others[:3]:  # the first that composes (a misspelt choice does not); a few compositions at most
            if other == example[parameter.name]:
                continue
            try:
                moved = _composed_value(
                    self._task_config(space.to_overrides({**example, parameter.name: other})), parameter.name
                )
            except Exception:  # that value's own composition error is its trials' to report
                continue
            return moved is not _ABSENT and moved != composed
        return False

    def _task_config(self, overrides: Sequence[str]) -> dict[str, Any]:
        """Compose one trial's config (a key or option that does not compose fails now) and return its task part.

        The config a resumed sweep must match: the app's config for this fixed point of the space, without the
        ``hydra`` node, interpolations as written (``${now:...}`` differs in every run, resolved).

        Args:
            overrides: One trial's overrides (the first point of the space, fixed overrides included).

        Returns:
            The composed config as plain containers, without ``hydra``.
        """
        if self.hydra_context is None or self.config is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        # As Sweeper.validate_batch_is_legal composes it, keeping the result.
        config = self.hydra_context.config_loader.load_sweep_config(
            master_config=self.config, sweep_overrides=list(overrides)
        )
        container = OmegaConf.to_container(config, resolve=False)
        if not isinstance(container, dict):
            return {}
        return {str(key): value for key, value in container.items() if key != "hydra"}

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Compose each job's config, as Hydra's sweepers do before a launch, and keep them for :meth:`_check_job_dirs`.

        Raises:
            Exception: Hydra's own error for a config that does not compose.
        """
        if self.hydra_context is None or self.config is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        loader = self.hydra_context.config_loader
        # Composing costs tens of milliseconds a trial; the job-dir check would do it once more.
        self._composed = {
            tuple(overrides): loader.load_sweep_config(master_config=self.config, sweep_overrides=list(overrides))
            for overrides in batch
        }

    def _check_job_dirs(self, batch: Sequence[Sequence[str]], first_idx: int) -> None:
        """Refuse trials whose job dir (``hydra.sweep.dir``/``hydra.sweep.subdir``) would lie outside the sweep dir.

        Args:
            batch: The trials' override lists, in launch order.
            first_idx: The job number of the first trial.

        Raises:
            EcoptConfigError: A job's ``hydra.sweep.subdir`` escapes the sweep dir (e.g. ``../x`` or an absolute path),
                or its own ``hydra.sweep.dir`` is not the sweep's (it reads a swept value: ``multirun/${model.name}``).
        """
        from omegaconf import open_dict

        if self.hydra_context is None or self.config is None:
            return
        sweep_dir = self._sweep_dir()
        for idx, overrides in enumerate(batch, start=first_idx):
            config = self._composed.pop(tuple(overrides), None)
            if config is None:
                config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(config):
                # JobConf declares id a str: OmegaConf 2.4 deprecates converting an int on assignment (FutureWarning)
                config.hydra.job.id = str(idx)
                config.hydra.job.num = idx
            self._check_trial_sweep_dir(config, overrides)
            try:
                subdir = str(OmegaConf.select(config, "hydra.sweep.subdir"))
            except Exception:  # an interpolation only the launcher can resolve: Hydra checks it then
                continue
            if not _is_inside(sweep_dir / subdir, sweep_dir):
                raise EcoptConfigError(
                    f"hydra.sweep.subdir={subdir!r} (job {idx}, overrides {list(overrides)}) puts the job dir at "
                    f"{(sweep_dir / subdir).resolve()}, outside hydra.sweep.dir ({sweep_dir.resolve()}); a sweep "
                    f"keeps every job inside its sweep dir: use a relative subdir without '..', e.g. "
                    f"'${{hydra.job.num}}' (the default)."
                )

    def _check_shared_job_dir(self, overrides: Sequence[str], other: Sequence[str], batch_size: int) -> None:
        """Refuse, or warn of, a ``hydra.sweep.subdir`` that puts every job in one dir (it reads no job number).

        Resolved for two trials (two points, where the space has two) under two job numbers: the same dir for both
        means every trial runs in it (``hydra.sweep.subdir=same``; ``${hydra.job.override_dirname}`` differs with
        the point). Each overwrites the last one's ``.hydra/`` files, logs and outputs; jobs that
        run at once (a batch of several under any launcher but the basic one, or joblib's ``n_jobs=1``) write there
        together and corrupt each other's files: refused. One after another: warned.

        Args:
            overrides: One trial's overrides.
            other: Another trial's (``overrides`` again where the space holds one point).
            batch_size: ``hydra.sweeper.max_batch_size``.

        Raises:
            EcoptConfigError: The jobs of one batch would share their job dir.
        """
        from omegaconf import open_dict

        if self.hydra_context is None or self.config is None:
            return
        resolved: list[str] = []
        for idx, trial in ((self.job_idx, overrides), (self.job_idx + 1, other)):
            try:
                config = self.hydra_context.config_loader.load_sweep_config(self.config, list(trial))
            except Exception:  # that point's own composition error is its trials' to report
                return
            with open_dict(config):
                config.hydra.job.id = str(idx)
                config.hydra.job.num = idx
            try:
                resolved.append(str(OmegaConf.select(config, "hydra.sweep.subdir")))
            except Exception:  # an interpolation only the launcher can resolve: Hydra checks it then
                return
        if resolved[0] != resolved[1]:
            return
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        written = str(raw.get("subdir", resolved[0])) if isinstance(raw, dict) else resolved[0]
        basic = type(self.launcher).__name__ == "BasicLauncher"
        workers = _joblib_workers(self.launcher)
        at_once = batch_size > 1 and not basic and not (workers is not None and workers[1] == 1)
        fix = (
            f"put the job number in it: hydra.sweep.subdir='${{hydra.job.num}}' (the default), or e.g. "
            f"hydra.sweep.subdir='{written}_${{hydra.job.num}}'"
        )
        if at_once:
            raise EcoptConfigError(
                f"hydra.sweep.subdir={written!r} puts every job in one job dir ({self._sweep_dir() / resolved[0]}), "
                f"and the {batch_size} jobs of a batch (hydra.sweeper.max_batch_size={batch_size}) run at once under "
                f"{type(self.launcher).__name__}: they would write its .hydra/ files and their outputs together and "
                f"corrupt each other's; {fix}."
            )
        log.warning(
            "ecopt sweeper: hydra.sweep.subdir=%r puts every job in one job dir (%s): each trial overwrites the last "
            "one's .hydra/ files (config.yaml, overrides.yaml), logs and outputs; %s.",
            written,
            self._sweep_dir() / resolved[0],
            fix,
        )

    def _check_trial_sweep_dir(self, config: DictConfig, overrides: Sequence[str]) -> None:
        """Refuse a trial whose composed ``hydra.sweep.dir`` is not the sweep's: its job dir would lie elsewhere.

        The launcher puts each job dir in the trial's own ``hydra.sweep.dir``; the sweep keeps its experiment,
        results and ``multirun.yaml`` in the app's. The two differ where the dir reads a swept value
        (``multirun/${model.name}``, ``${hydra.job.override_dirname}``); ``${now:...}`` is read once per run.

        Raises:
            EcoptConfigError: The trial's ``hydra.sweep.dir`` resolves to another folder than the sweep's.
        """
        assert self.config is not None
        try:
            theirs = str(OmegaConf.select(config, "hydra.sweep.dir"))
        except Exception:  # an interpolation only the launcher can resolve: Hydra checks it then
            return
        ours = str(self.config.hydra.sweep.dir)
        if Path(theirs) == Path(ours):
            return
        raw = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        written = str(raw.get("dir", ours)) if isinstance(raw, dict) else ours
        try:
            their_raw = OmegaConf.to_container(config.hydra.sweep, resolve=False)
        except Exception:  # a trial config without a plain hydra.sweep node: judged by what it resolves to
            their_raw = None
        their_written = str(their_raw.get("dir", written)) if isinstance(their_raw, dict) else written
        if their_written != written:  # not a value the dir reads: an option of a swept group sets the dir itself
            raise EcoptConfigError(
                f"the trial with overrides {list(overrides)} sets hydra.sweep.dir={their_written!r} (the sweep's is "
                f"{written!r}): a swept config group's option sets its own hydra.sweep.dir, so that trial would run "
                f"in {theirs}, away from the sweep's experiment and results in {ours}. Set hydra.sweep.dir once, in "
                f"the app's config or on the command line, not in the options of a swept group."
            )
        fixed, per_trial = _split_sweep_dir(written, ours, theirs, self._unresolved_config())
        # Quoted for the shell: unquoted, bash expands ${now:%Y} (or ${name}) to nothing, and runs the sweep elsewhere.
        move = (
            shlex.quote(f"hydra.sweep.subdir=${{hydra.job.num}}_{per_trial}")
            if per_trial
            else "'hydra.sweep.subdir=...'"
        )
        if fixed:
            move = f"{shlex.quote(f'hydra.sweep.dir={fixed}')} {move}"
        raise EcoptConfigError(
            f"hydra.sweep.dir={written!r} reads a swept value: the trial with overrides {list(overrides)} would run in "
            f"{theirs}, while the sweep keeps its experiment and results in {ours}, so its trials would scatter over "
            f"several folders and a rerun would not find them. Keep hydra.sweep.dir fixed and move the per-trial part "
            f"into hydra.sweep.subdir: {move}."
        )

    def _save_multirun(self) -> None:
        """Write ``multirun.yaml`` (the app's config, as Hydra's basic sweeper writes it), once per sweep.

        A resumed sweep keeps the seed and the Sobol count it started with, whatever this command gave: its
        ``hydra.sweeper`` values here are those it runs with (the command's overrides stay as typed, in
        ``hydra.overrides``), so that a sweep rerun from this file proposes what this one did.
        """
        if self._multirun_saved or self.config is None:
            return
        config = self.config
        if self._pareto is not None and self._given is not None:
            ran, given = self._pareto.settings, self._given
            kept = {
                key: getattr(ran, key)
                for key in ("seed", "n_initial_trials")
                if getattr(ran, key) != getattr(given, key)  # the loop kept the saved sweep's
            }
            if kept:
                config = copy.deepcopy(config)
                OmegaConf.set_readonly(config, False)
                for key, value in kept.items():
                    OmegaConf.update(config, f"hydra.sweeper.{key}", value, force_add=True)
        # Made again where it is gone: another command started into the same sweep dir (Hydra's dated one, in the
        # same second) and refused before its first launch removes the folders it found missing while they are empty,
        # and with the storage outside the sweep dir this file is the first this sweep writes there.
        self._sweep_dir().mkdir(parents=True, exist_ok=True)
        OmegaConf.save(config, self._sweep_dir() / "multirun.yaml")
        self._multirun_saved = True

    def _refusal(self, overrides: Sequence[str], job_idx: int) -> TrialFailure | None:
        """Why a trial cannot be launched (its config does not compose, its job dir escapes), or ``None``.

        Before the sweep starts, one trial's config is composed, and each other option of a swept config group once:
        an option that exists but does not compose (a broken defaults list), or a combination of options of two
        groups, shows only when Ax proposes it. That fails its trial, not the sweep (and not every rerun).
        """
        try:
            self.validate_batch_is_legal([overrides])
        except Exception as exc:
            message = str(exc).strip().split("\n\n")[0][:500]  # Hydra's message, without its search path
            return TrialFailure(
                f"the trial's config does not compose, so it was not launched: {type(exc).__name__}: {message}"
            )
        try:
            self._check_job_dirs([overrides], job_idx)
        except EcoptConfigError as exc:
            return TrialFailure(f"not launched: {exc}")
        return None

    def evaluate(self, batch: list[dict[str, Any]]) -> list[Any]:
        """Launch one batch of trials and collect what each returned.

        A trial whose config does not compose is not launched; it fails with the reason, and the others run.

        Args:
            batch: One ``{parameter: value}`` dict per trial, as Ax proposes them.

        Returns:
            One item per trial, in order: the task's return value, or the exception instance of a failed job.
        """
        if self.launcher is None or self.space is None:
            raise RuntimeError("EcoptSweeper.evaluate() called before sweep() configured the search space.")
        self._save_multirun()  # the loop has accepted the sweep (its lock held): it asks for its first batch
        self._launched = True
        numbers = self._job_numbers(len(batch))
        self.job_idx = max(self.job_idx, numbers[-1] + 1) if numbers else self.job_idx
        outcomes: list[Any] = [None] * len(batch)
        runs: list[tuple[int, list[int], list[tuple[str, ...]]]] = []  # (first job number, positions, overrides)
        for position, (params, number) in enumerate(zip(batch, numbers, strict=True)):
            overrides = tuple(self.space.to_overrides(params))
            refusal = self._refusal(overrides, number)
            if refusal is not None:
                outcomes[position] = refusal
            elif runs and runs[-1][0] + len(runs[-1][1]) == number:
                runs[-1][1].append(position)
                runs[-1][2].append(overrides)
            else:
                runs.append((number, [position], [overrides]))
        launched = 0
        try:
            for first, positions, launch in runs:  # one launch per run of consecutive job numbers
                launched += 1
                for position, outcome in zip(positions, self._launch(launch, first, alone=False), strict=True):
                    outcomes[position] = outcome
        except (LauncherError, KeyboardInterrupt, SystemExit):
            # A stop in a later launch of this batch: what the earlier ones returned (and the refused trials' reasons)
            # is known, and kept rather than run again on resume; the launches after it never started.
            indices = self._pareto.evaluating if self._pareto is not None else ()
            if self._pareto is not None and len(indices) == len(batch):
                for position, outcome in enumerate(outcomes):
                    if outcome is not None:
                        self._pareto.finished_before_stop.setdefault(indices[position], outcome)
                for _, positions, _ in runs[launched:]:
                    self._pareto.not_started_before_stop.update(indices[position] for position in positions)
            raise
        self._say_no_cache_in_use(outcomes, numbers)
        return outcomes

    def _say_no_cache_in_use(self, outcomes: Sequence[Any], numbers: Sequence[int]) -> None:
        """Warn once where ``inference_params`` is set but a completed trial reports no use of ``CheckpointCache``.

        A task that trains through ``CheckpointCache.fit_or_load`` returns ``CachedTraining.metrics()``, which hold
        ``checkpoint/reused`` and ``energy/train_reused_j`` whether the trial trained or loaded. A dict without either
        comes from a task that trains every trial itself (a lightning-hydra-template ``train()`` as it stands): the
        setting then saves nothing, and the ledger counts no reuse.

        Args:
            outcomes: What each trial of the batch returned (or its exception).
            numbers: The batch's job numbers, in order.
        """
        if self._said_no_cache or not self.inference_params:
            return
        for outcome, number in zip(outcomes, numbers, strict=False):
            if not isinstance(outcome, Mapping) or any(
                key in outcome for key in ("checkpoint/reused", "energy/train_reused_j")
            ):
                continue
            self._said_no_cache = True
            log.warning(
                "ecopt sweeper: hydra.sweeper.inference_params=%s is set, but trial %d returned neither "
                "checkpoint/reused nor energy/train_reused_j: its task trains without "
                "lightning_ecopt.checkpoints.CheckpointCache (or leaves out what CachedTraining.metrics() gives), so "
                "every trial trains again and no training is reused. Train through "
                "`trained = CheckpointCache.from_hydra().fit_or_load(cfg, model, fit)` and return "
                "`{**trial_metrics(trainer), **trained.metrics()}` (docs/examples.md, Inference-only parameters), or "
                "drop inference_params.",
                f"[{','.join(map(str, self.inference_params))}]",  # as written on the command line
                number - self._job_offset,
            )
            return

    def _job_numbers(self, n: int) -> list[int]:
        """The job numbers of a batch of ``n`` trials: each trial's index (job dir ``N/`` is trial ``N``).

        Trials that are not launched (reused, refused) leave their numbers unused. Without the loop's trial indices
        (``evaluate`` called directly), the numbers run on from ``job_idx``.
        """
        indices = self._pareto.evaluating if self._pareto is not None else ()
        if len(indices) != n:
            return list(range(self.job_idx, self.job_idx + n))
        return [index + self._job_offset for index in indices]

    def _launch(self, batch: list[tuple[str, ...]], first: int, *, alone: bool = True) -> list[Any]:
        """Launch the jobs of ``batch`` (override lists), numbered on from ``first``; one outcome per job.

        Raises:
            LauncherError: The launcher raised before any job of a batch the loop asked for (``alone=False``)
                started (no record of one): no cluster to submit to, a partition ``sbatch`` refuses. Failing the
                batch's trials for it would spend the budget on configurations that never ran.
            EcoptConfigError: The sweep dir was deleted or moved while the sweep ran (nothing is launched into it).
        """
        if not batch:
            return []
        if self.launcher is None:
            raise RuntimeError("EcoptSweeper.evaluate() called before setup() built the launcher.")
        from lightning_ecopt.sweeper import stops
        from lightning_ecopt.sweeper.storage import check_sweep_locks

        check_sweep_locks()  # a sweep dir deleted or moved mid-sweep: the launcher would recreate it for its job dirs
        numbers = range(first, first + len(batch))
        self._forget_outcomes(numbers)  # a record is this launch's, never an earlier one's
        # The jobs a stop would cancel that have not started their task are those whose folder this launch makes.
        executor, submitit_folder = self._submitit()
        self._job_folders_before = _cancel.job_folders(submitit_folder) if executor else None
        try:
            try:
                returns = self.launcher.launch(batch, initial_job_idx=first)
            except Exception as exc:
                # A stop signal that landed in the launcher's own code (Hydra's logging set-up of a job) and was
                # replaced there (logging.shutdown's "cannot release un-acquired lock"): the stop, not a lost job.
                stops.raise_if_lost(exc)
                raise
            stops.raise_if_lost()  # dropped in a job's last steps: what the jobs returned is kept, the sweep stops
        except (KeyboardInterrupt, SystemExit) as stop:
            # Ctrl-C or SIGTERM mid-batch: what the jobs that had completed recorded goes to the loop, which saves
            # them as finished rather than abandoning them with the rest (run again on resume). Not a failure: the
            # stop itself may have caused it (a SIGTERM reaching a worker's Lightning loop ends it with SystemExit).
            # Under the basic launcher, which runs the jobs one after another in this process, a failure came before
            # the stop, and a job with no record never started (saved as not started: 0 J).
            in_process = self._in_process is not None
            if self._pareto is not None:
                for number in numbers:
                    outcome = self._recorded_outcome(number)
                    if outcome is not _ABSENT and (in_process or not isinstance(outcome, BaseException)):
                        self._pareto.finished_before_stop[number - self._job_offset] = outcome
                    elif in_process and not self._job_started(number):
                        self._pareto.not_started_before_stop.add(number - self._job_offset)
            self._cancel_jobs(
                numbers, ctrl_c=isinstance(stop, KeyboardInterrupt) and not isinstance(stop, SweepTerminated)
            )
            raise
        except Exception as exc:
            # A process-based launcher loses the whole batch when a worker dies (joblib: TerminatedWorkerError), its
            # own timeout fires, or a job is killed (submitit: SLURM's time limit). A job that finished first
            # recorded its outcome (_PicklableFailures): it keeps it. Which of the others did it is unknown: on this
            # machine each runs again alone, so only a job that loses its launch by itself fails (with the reason).
            # On a cluster each would queue again, one after another, and the culprit spend its limit twice: there
            # they fail, with the reason. The sweep goes on.
            outcomes = [self._recorded_outcome(number) for number in numbers]
            started = self._outcomes is None or any(self._job_started(number) for number in numbers)
            # After launches that worked but left no record seen here, an absent record proves nothing.
            started = started or self._records_visible is False
            self._say_changed_dir(numbers)
            self._forget_outcomes(numbers)
            lost = [k for k, outcome in enumerate(outcomes) if outcome is _ABSENT]
            error = f"{type(exc).__name__}: {str(exc).strip()[:500]}"
            said = _without_job_ids(error)  # in the trials' reasons; the log keeps the launcher's own words
            if not started and not alone:
                # The launch may run in another thread, which a context (spelling.resume_with) does not reach.
                resume = f"{self._resume_how or 'rerun the same command'} to resume"
                jobs = f"job {first}" if len(batch) == 1 else f"any of the {len(batch)} jobs ({first}..{numbers[-1]})"
                raise LauncherError(
                    f"ecopt sweeper: the launcher ({type(self.launcher).__name__}) did not start {jobs} ({error}). "
                    f"Nothing ran, so no trial is failed for it: fix the launcher (hydra/launcher and its "
                    f"hydra.launcher.* settings; a SLURM launcher runs only where sbatch/srun are, with a partition "
                    f"the cluster accepts), then {resume}."
                ) from exc
            # A trial's reason names no job number (the report lists the trial beside it, and groups failures by
            # reason: one launcher fault across batches is one line); the log names them.
            jobs = f"job {first}" if len(batch) == 1 else f"jobs {first}..{first + len(batch) - 1}"
            if len(batch) == 1:
                reason = f"the launcher lost the job, run alone (its worker died or hung): {said}"
            else:
                finished = len(batch) - len(lost)
                kept = f"; {finished} of them had finished and keep their outcomes" if 0 < finished < len(batch) else ""
                reason = f"the launcher lost the whole batch of {len(batch)} jobs{kept}: {said}"
            if said != error:
                log.warning("ecopt sweeper: %s: the launcher said: %s", jobs, error)
            if not lost:
                log.warning(
                    "ecopt sweeper: %s: %s; every job had finished and recorded its outcome: kept.", jobs, reason
                )
            elif len(batch) > 1 and _runs_jobs_side_by_side(self.launcher):
                log.warning(
                    "ecopt sweeper: %s: %s; running %s again alone, so that only a job that fails by itself fails.",
                    jobs,
                    reason,
                    "each of them" if len(lost) == len(batch) else f"jobs {[first + k for k in lost]}",
                )
                for k in lost:
                    # A job still running when the batch was lost (submitit_local runs each in its own process) may
                    # have finished since: its record spares it a second run.
                    late = self._recorded_outcome(first + k)
                    if late is not _ABSENT:
                        outcomes[k] = late
                        continue
                    outcomes[k] = self._launch([batch[k]], first + k, alone=True)[0]
                    if self._pareto is not None:  # measured with no other trial beside it: no shared counters
                        self._pareto.ran_alone.add(first + k - self._job_offset)
            else:
                log.warning("ecopt sweeper: %s: %s", jobs, reason)
                for k in lost:
                    outcomes[k] = TrialFailure(reason if len(batch) == 1 else f"{reason} (this one had not finished)")
            return outcomes
        # Whether this machine sees the jobs' records (a launcher whose jobs run on hosts without the sweep dir
        # writes none here): only then does a lost batch without a record say that no job started.
        self._records_visible = bool(self._records_visible) or any(self._job_started(number) for number in numbers)
        self._say_changed_dir(numbers)
        self._forget_outcomes(numbers)
        if len(returns) != len(batch):
            raise RuntimeError(
                f"the launcher returned {spelling.counted(len(returns), 'result')} for a batch of "
                f"{spelling.counted(len(batch), 'job')}; each job must "
                f"return exactly one JobReturn."
            )
        return [_outcome(ret) for ret in returns]

    def _say_changed_dir(self, numbers: Iterable[int]) -> None:
        """Warn, once a sweep, that a task changed the working directory, as the first job's record that says so does.

        Each job of a process-based launcher runs in its own copy of the task's wrapper, unpickled in a worker: it
        records the change (:func:`~hydra_plugins.ecopt_sweeper._job.changed_dir_warning`) rather than warning in
        every job.
        """
        if self._said_chdir:
            return
        for number in numbers:
            message = changed_dir_warning(self._outcomes, number)
            if message is not None:
                self._said_chdir = True
                log.warning("ecopt sweeper: %s", message)
                return

    def _forget_outcomes(self, numbers: Iterable[int]) -> None:
        """Delete the outcome records of jobs ``numbers`` (a launch's, read or not needed)."""
        if self._in_process is not None:
            for number in numbers:
                self._in_process.pop(number, None)
        folder = self._outcomes
        if folder is not None and folder.is_dir():
            for number in numbers:
                (folder / f"{number}.json").unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # left in the sweep dir only while a job's outcome is unread
                folder.rmdir()

    def _job_started(self, number: int) -> bool:
        """Whether job ``number`` started the task (it records ``started`` first, then its outcome)."""
        if self._in_process is not None:
            return number in self._in_process
        return self._outcomes is not None and (self._outcomes / f"{number}.json").exists()

    def _ran_when_the_process_died(self, index: int) -> bool | None:
        """Whether trial ``index`` was running its task when an earlier process of this sweep died (its job's record).

        ``None`` under the basic launcher (its records were the dead process's memory).
        """
        if self._in_process is not None:
            return None
        return ran_when_the_sweep_died(self._outcomes, index + self._job_offset)

    def _submitit(self) -> tuple[str | None, str]:
        """The launcher's submitit executor (``"local"``, ``"slurm"``; ``None``: not submitit) and its job folder."""
        executor = getattr(self.launcher, "_EXECUTOR", None)
        submitit = type(self.launcher).__module__.startswith("hydra_plugins.hydra_submitit")
        if self.config is None or not submitit or executor not in ("local", "slurm"):
            return None, ""
        try:
            folder = str(OmegaConf.select(self.config, "hydra.launcher.submitit_folder", default="") or "")
        except Exception:  # an interpolation that does not resolve here
            folder = ""
        return str(executor), folder

    def _cancel_jobs(self, numbers: Sequence[int], *, ctrl_c: bool) -> None:
        """Cancel, at a stop mid-batch under submitit, the batch's jobs that had not finished; say what was and was not.

        submitit's jobs do not depend on the process that submitted them: left alone, the sweep's SLURM jobs (or
        ``submitit_local``'s processes) would run on to their end, unread, beside the resume, which runs their trials
        again (measured beside them, on a shared machine). Each job's record names it (:mod:`._cancel`): SLURM's get
        ``scancel``, ``submitit_local``'s controllers SIGINT (as ``LocalJob.cancel``). A cancelled trial is saved as
        any unfinished one is: the resume runs it again. Those it cannot cancel are named, with how to cancel them.

        Args:
            numbers: The job numbers of the launch the stop cut short.
            ctrl_c: The stop was a SIGINT (a Ctrl-C in the terminal reaches ``submitit_local``'s jobs too).
        """
        executor, folder = self._submitit()
        before, self._job_folders_before = self._job_folders_before, None
        if executor is None or not numbers:
            return
        unfinished = [number for number in numbers if self._recorded_outcome(number) is _ABSENT]
        if not unfinished:
            return
        records: dict[int, dict[str, Any]] = {}
        for number in numbers:
            facts = _cancel.recorded_facts(job_record(self._outcomes, number))
            if facts is not None and facts["executor"] == executor:
                records[number] = facts
        after = _cancel.job_folders(folder) if before is not None else None
        new = None if before is None or after is None else sorted(after - before)
        try:
            done = _cancel.cancel(executor, unfinished, numbers[0], records, new, folder, ctrl_c=ctrl_c)
        except Exception as exc:  # the stop saves and exits whatever happens here
            done = _cancel.Cancelled(not_cancelled=unfinished, why_not=[f"{type(exc).__name__}: {exc}"])
        said: list[str] = []
        if done.cancelled:
            trials = "its trial" if len(done.cancelled) == 1 else "their trials"
            said.append(
                f"the stop cancelled the submitit {_jobs(done.cancelled)} of this batch that had not finished "
                f"({'; '.join(done.how)}); the resume runs {trials} again"
            )
        if done.ended:
            said.append(f"{_jobs(done.ended)} had ended (a Ctrl-C in the terminal reaches submitit_local's jobs too)")
        if not done.not_cancelled:
            log.info("ecopt sweeper: %s.", "; ".join(said))
            return
        local = (
            f"; submitit_local: each is a process whose id names its folder in {Path(folder).parent}" if folder else ""
        )
        said.append(
            f"the stop could not cancel the submitit {_jobs(done.not_cancelled)} of this batch that had not finished "
            f"({'; '.join(done.why_not)}): unless the stop reached them too (a Ctrl-C in the terminal reaches "
            f"submitit_local's), they run on, unread, and the resume runs their trials again beside them. Cancel "
            f"them before rerunning (SLURM: squeue --me, then scancel{local})"
        )
        log.warning("ecopt sweeper: %s.", "; ".join(said))

    def _recorded_outcome(self, number: int) -> Any:
        """What job ``number`` recorded (its return value, or its exception), or ``_ABSENT`` (none, or unreadable)."""
        if self._in_process is not None:
            outcome = self._in_process.get(number, _ABSENT)
            if outcome is _STARTED:
                return _ABSENT
            return outcome.as_named() if isinstance(outcome, _UnpicklableTaskError) else outcome
        return read_record(self._outcomes, number)


def _split_sweep_dir(written: str, ours: str, theirs: str, config: Mapping[Any, Any] | None = None) -> tuple[str, str]:
    """``hydra.sweep.dir`` as ``written`` split into its fixed part and its per-trial part (``""``: unknown).

    The per-trial part is the written components from the first that resolves differently in a trial (``theirs``)
    than in the sweep (``ours``) to the end, joined by ``_``: a subdir is one folder. Among them, one that reads the
    time and resolves alike in both (``${now:...}`` is read once per run) stays in the fixed part: in the subdir it
    would be read per job, and the fixed dir, no longer dated, would resume one sweep on every run.

    Args:
        written: ``hydra.sweep.dir`` as written (unresolved).
        ours: It resolved in the sweep's config.
        theirs: It resolved in a trial's config.
        config: The whole config unresolved, through whose keys a component may read the time (``${run_id}``).

    >>> _split_sweep_dir("${hydra.runtime.cwd}/out/${now:%H}/${model.name}", "/a/out/10/mlp", "/a/out/10/cnn")
    ('${hydra.runtime.cwd}/out/${now:%H}', '${model.name}')
    >>> _split_sweep_dir("out/${model.name}/${now:%H}/last", "out/mlp/10/last", "out/cnn/10/last")
    ('out/${now:%H}', '${model.name}_last')
    >>> _split_sweep_dir("${hydra.job.override_dirname}", "", "x=1")
    ('', '${hydra.job.override_dirname}')
    >>> _split_sweep_dir("${base}/${model.name}", "out/mlp", "out/b/cnn")  # a value holding a "/": unknown
    ('', '')
    """
    mine, other, parts = ours.split("/"), theirs.split("/"), written.split("/")
    if len(mine) != len(other):
        return "", ""
    first = next((i for i, (a, b) in enumerate(zip(mine, other, strict=True)) if a != b), len(mine))
    k = len(mine) - first
    if not 0 < k <= len(parts):
        return "", ""
    trailing = parts[-k:]
    if not all("${" in part or part == value for part, value in zip(trailing, mine[-k:], strict=True)):
        return "", ""
    fixed: list[str] = parts[:-k]
    per_trial: list[str] = []
    for part, a, b in zip(trailing, mine[-k:], other[-k:], strict=True):
        run_wide = a == b and _reads_the_time(part, config or {})  # the time, read once for the run
        (fixed if run_wide else per_trial).append(part)
    return "/".join(fixed), "_".join(per_trial)


def _jobs(numbers: Sequence[int]) -> str:
    """``job 1`` or ``jobs 1, 2``.

    >>> _jobs([1]), _jobs([1, 2])
    ('job 1', 'jobs 1, 2')
    """
    return f"{'job' if len(numbers) == 1 else 'jobs'} {', '.join(str(number) for number in numbers)}"


def _say_contended(result: SweepResult) -> None:
    """Before the sweep's last line: how many completed trials were measured under CPU contention, if any.

    Each trial's EnergyCallback warns as it runs, and a long sweep scrolls those warnings away: a 30-trial sweep on a
    shared host ended on its summary with 18 of its 25 trials contended, and only ``ecopt report`` said so.
    """
    from lightning_ecopt.energy.contention import CONTENTION_WARN_SHARE
    from lightning_ecopt.ledger import _evaluated, _loop_flags

    shares = [share for share in _loop_flags(result, "cpu_contention").values() if share > CONTENTION_WARN_SHARE]
    if shares:
        one = len(shares) == 1
        log.warning(
            "ecopt sweeper: %d of %s %s measured while other processes kept more than %.0f%% of the CPUs busy (up to "
            "%.0f%%; energy/<stage>_cpu_contention): %s energy figures grew with that load, so they compare only with "
            "figures taken under the same one; ecopt report names %s.",
            len(shares),
            spelling.counted(len(_evaluated(result)), "completed trial"),
            "was" if one else "were",
            100 * CONTENTION_WARN_SHARE,
            100 * max(shares),
            "its" if one else "their",
            "it" if one else "them",
        )


def _say_short_windows(result: SweepResult) -> None:
    """Before the sweep's last line: how many completed trials measured a short energy window, if any.

    Each trial's EnergyCallback warns as it runs, and a long sweep scrolls those warnings away, as it does the
    contention's (:func:`_say_contended`): a 12-trial digits sweep ended on its summary with 3 of its 9 completed
    trials flagged, the frontier's one trial among them, and only ``ecopt report`` said so.
    """
    from lightning_ecopt.ledger import _evaluated
    from lightning_ecopt.views import short_windows

    short = short_windows(result)
    if short:
        on_front = sorted(short & set(result.pareto_indices))
        log.warning(
            "ecopt sweeper: %d of %s measured a short energy window (energy/<stage>_short_window = 1; on the "
            "frontier: %s): %s energy figures may be off by a counter step or hold the first batches' one-off costs; "
            "ecopt report marks %s ~.",
            len(short),
            spelling.counted(len(_evaluated(result)), "completed trial"),
            ", ".join(f"#{i}" for i in on_front) or "none",
            "its" if len(short) == 1 else "their",
            "it" if len(short) == 1 else "them",
        )


def _rerun_in(sweep_dir: Path) -> str:
    """How to resume the sweep in ``sweep_dir``, as an argument that reaches Hydra whole.

    The override is quoted for Hydra where its grammar needs it (it reads a space, but ``(``, ``,``, ``=`` or ``'``
    need its quotes), then for the shell (where a space would split it).

    >>> _rerun_in(Path("/w/my runs/10-00-00")), _rerun_in(Path("/w/10-00-00"))
    ("rerun it with 'hydra.sweep.dir=/w/my runs/10-00-00'", 'rerun it with hydra.sweep.dir=/w/10-00-00')
    >>> print(_rerun_in(Path("/w/copy (2)/10-00-00")))
    rerun it with "hydra.sweep.dir='/w/copy (2)/10-00-00'"
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    path = str(sweep_dir.absolute())
    override = f"hydra.sweep.dir={path}"
    try:
        plain = OverridesParser.create().parse_override(override).value() == path
    except Exception:  # Hydra's lexer refuses it unquoted
        plain = False
    if not plain:
        override = "hydra.sweep.dir='" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if "'" in override and not any(c in override for c in '"$`\\!'):  # as one would type it
        return f'rerun it with "{override}"'
    return f"rerun it with {shlex.quote(override)}"


def _is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved against the working directory, ``..`` and links followed) lies inside ``folder``."""
    return path.resolve().is_relative_to(folder.resolve())


def _outcome(ret: JobReturn) -> Any:
    """A job's return value, or its exception when it failed; never re-raises."""
    if ret.status == JobStatus.COMPLETED:
        return ret.return_value
    error = ret._return_value
    if isinstance(error, _UnpicklableTaskError):
        log.info(
            "ecopt sweeper: job %s raised %s, which does not survive pickling (as a process-based launcher carries it "
            "back), so it is recorded by name and message. Its traceback:\n%s",
            list(ret.overrides or []),
            error.type_name,
            error.traceback_text.rstrip(),
        )
        return error.as_named()
    if isinstance(error, BaseException):
        return error
    return RuntimeError(f"job {ret.overrides!r} ended with status {ret.status.name} and returned {error!r}")


def _earlier_checkpoints(sweep_dir: Path, inference_params: Any) -> str | None:
    """Why a new sweep in ``sweep_dir`` would reuse weights it did not train, or ``None``.

    ``CheckpointCache.from_hydra`` keys its folder by the sweep dir alone: checkpoints an earlier sweep cached there
    (its experiment and results moved away, as the start-fresh advice said) are loaded by this sweep's trials of the
    same training configuration, which then report 0 J of training and "savings" they never made.
    """
    from lightning_ecopt.checkpoints import CACHE_DIRNAME

    if not inference_params:  # no cache: every trial trains
        return None
    folder = sweep_dir / CACHE_DIRNAME
    try:
        n_files = sum(1 for path in folder.glob("*.pt") if path.is_file())
    except OSError:
        return None
    if n_files == 0:
        return None
    return (
        f"{folder} holds {n_files} cached checkpoint{'s' if n_files != 1 else ''} from before this new sweep (an "
        f"earlier sweep's in this hydra.sweep.dir): a trial whose training configuration matches one loads its weights "
        f"as if this sweep had trained them, and reports 0 J of training (its cost as energy/train_reused_j). Delete "
        f"or move {folder} to retrain, or keep it only if those weights come from the same training code."
    )


def _missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet: what ``folder.mkdir(parents=True)`` would create."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            break
        missing.append(path)
    return missing


def _remove_empty_dirs(folders: Iterable[Path]) -> None:
    """Remove each of ``folders`` that is an empty directory, the deepest first; one that holds anything stays.

    ``rmdir`` removes nothing but an empty directory, at once: a folder another process filled since is kept.
    """
    for folder in sorted(set(folders), key=lambda path: len(path.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _next_job_index(sweep_dir: Path, storage: Path | None) -> int:
    """The first job number of this run of the sweep: past every job number an earlier run used.

    Every launched job is a trial of the saved experiment (so are reused trials and those not launched, which leaves
    numbers unused), so the number of trials in ``storage`` lies past them, whatever ``hydra.sweep.subdir`` names the
    job dirs. Numbered dirs (Hydra's default subdir) count too, for a sweep dir whose experiment file was deleted.
    """
    numbered = [int(p.name) + 1 for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max([_stored_trial_count(storage), *numbered])


def _stored_trial_count(storage: Path | None) -> int:
    """How many trials the Ax experiment saved in ``storage`` holds (read as plain JSON); 0 without one."""
    from lightning_ecopt.sweeper.storage import saved_trial_count

    return saved_trial_count(storage)
