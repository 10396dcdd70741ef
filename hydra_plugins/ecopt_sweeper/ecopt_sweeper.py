"""The ``ecopt`` Hydra sweeper: a thin shell over :class:`lightning_ecopt.sweeper.loop.ParetoSweep`.

``sweep`` checks the whole configuration (search space, objectives, settings, and that one trial's overrides compose)
before any trial runs, writes ``multirun.yaml`` as Hydra's basic sweeper does, then hands the loop a function that
launches each batch of trials through the configured launcher. The optimisation loop, and with it Ax, BoTorch and
torch, is imported only then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from lightning_ecopt.exceptions import EcoptConfigError, SweepFailureError, TrialFailure

if TYPE_CHECKING:
    from hydra.plugins.launcher import Launcher
    from hydra.types import HydraContext, TaskFunction

    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import SearchSpace

__all__ = ["EcoptSweeper"]

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """A config node (DictConfig/ListConfig) as plain Python containers; other values unchanged."""
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


class _CompactConfigError(EcoptConfigError, CompactHydraException):
    """An :class:`EcoptConfigError` that Hydra prints as its message alone."""


class _CompactSweepFailure(SweepFailureError, CompactHydraException):
    """A :class:`SweepFailureError` that Hydra prints as its message alone."""


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
        outcome_constraints: Sequence[str] = (),
        storage: str | None = None,
        allow_mixed_energy_sources: bool = False,
        trial_timeout_s: float | None = None,
        inference_params: Sequence[str] | None = None,
        tensorboard: bool = True,
        enqueue_trials: Sequence[Mapping[str, Any]] = (),
        sampler: Any = None,
        study_name: str | None = None,
        n_jobs: int | None = None,
        search_space: Mapping[str, Any] | None = None,
        custom_search_space: str | None = None,
    ) -> None:
        super().__init__()
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
        self.outcome_constraints = list(_plain(outcome_constraints) or [])
        self.storage = storage
        self.allow_mixed_energy_sources = allow_mixed_energy_sources
        self.trial_timeout_s = trial_timeout_s
        self.inference_params = _plain(inference_params)
        self.tensorboard = tensorboard
        self.enqueue_trials = _plain(enqueue_trials)
        self.sampler = _plain(sampler)
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.search_space = _plain(search_space)
        self.custom_search_space = custom_search_space

        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.job_idx = 0
        self.space: SearchSpace | None = None
        self.settings: SweepSettings | None = None

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
        if self.trial_timeout_s is not None:  # a bad value is refused in sweep(), before any trial
            from lightning_ecopt.sweeper.timeout import TimedTask

            task_function = TimedTask(task_function, self.trial_timeout_s)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    # -- configuration ----------------------------------------------------------------------------------------------

    def _sweep_dir(self) -> Path:
        if self.config is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        return Path(str(self.config.hydra.sweep.dir))

    def _params(self) -> dict[str, Any]:
        if self.custom_search_space:
            raise EcoptConfigError(
                f"hydra.sweeper.custom_search_space={self.custom_search_space!r}: the ecopt sweeper cannot call an "
                f"Optuna search-space function; express the space in hydra.sweeper.params (Hydra's sweep grammar) "
                f"and set custom_search_space to null."
            )
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
        return params

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
        return self.n_jobs if self.n_jobs is not None else 1

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
        storage = Path(str(self.storage))
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

        keys = check_inference_params(self.inference_params, space.names, list(space.fixed), has_key)
        if keys:
            log.info(
                "ecopt sweeper: inference-only parameters %s: trials that differ only in these can share one trained "
                "checkpoint (lightning_ecopt.checkpoints.CheckpointCache).",
                list(keys),
            )

    def _config_value(self, key: str) -> Any:
        """The app's own value of ``key``: the option chosen for a config group, or a scalar; ``_ABSENT`` if none."""
        if self.config is None:
            return _ABSENT
        choices = OmegaConf.select(self.config, "hydra.runtime.choices", default=None)
        if choices is not None and key in choices and choices[key] is not None:
            return choices[key]
        value = OmegaConf.select(self.config, key, default=_ABSENT)
        return _ABSENT if OmegaConf.is_config(value) else value

    def _enqueue_trials(self, space: SearchSpace) -> Any:
        """``enqueue_trials`` with each configuration completed from the app's config (``[{}]``: its defaults first).

        Anything that is not a list of mappings is passed on as it is, for SweepSettings to refuse with its message.
        """
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
            for name in space.names:
                if name not in trial:
                    value = self._config_value(name)
                    if value is _ABSENT:
                        raise EcoptConfigError(
                            f"hydra.sweeper.enqueue_trials[{i}] gives no value for {name!r}, and the app's config has "
                            f"none to take: add '{name}: <value>' to it."
                        )
                    trial[name] = value
            completed.append(trial)
        return completed

    def configure(self, arguments: Sequence[str]) -> tuple[SearchSpace, SweepSettings]:
        """Parse and check the search space and the settings, without running anything.

        Args:
            arguments: The command-line overrides Hydra passes to :meth:`sweep`.

        Returns:
            The search space and the sweep settings.

        Raises:
            EcoptConfigError: Anything in the sweeper config or on the command line is invalid.
        """
        from lightning_ecopt.sweeper.objectives import parse_objectives
        from lightning_ecopt.sweeper.settings import SweepSettings, default_n_initial_trials
        from lightning_ecopt.sweeper.space import check_enqueued, parse_search_space

        space = parse_search_space(self._params(), list(arguments))
        if not space.parameters:
            raise EcoptConfigError(
                f"nothing to sweep: hydra.sweeper.params and the command line fix every key "
                f"({list(space.fixed_overrides)!r}); sweep at least one, e.g. 'model.lr=tag(log, interval(1e-4,0.1))'."
            )
        objectives = parse_objectives(self.objectives, self.direction)
        n_initial = self.n_initial_trials
        if n_initial is None and isinstance(self.n_trials, int) and self.n_trials >= 1:
            n_initial = default_n_initial_trials(self.n_trials, len(space.parameters))
        batch_size = self._batch_size()
        settings = SweepSettings(
            objectives=objectives,
            n_trials=self.n_trials,
            n_initial_trials=n_initial,
            acquisition=self.acquisition,  # type: ignore[arg-type]  # validated by SweepSettings
            seed=self._seed(),
            max_batch_size=batch_size,
            max_failure_rate=self.max_failure_rate,
            reference_point=dict(self.reference_point) if self.reference_point else None,
            outcome_constraints=tuple(self.outcome_constraints),  # strings: parsed by SweepSettings
            storage=self._storage(),
            allow_mixed_energy_sources=self.allow_mixed_energy_sources,
            trial_timeout_s=self.trial_timeout_s,
            # A bad batch size is SweepSettings' to refuse, with its message: compare only an int here.
            parallel_trials=isinstance(batch_size, int) and batch_size > 1 and _runs_jobs_side_by_side(self.launcher),
            enqueue_trials=self._enqueue_trials(space),
        )
        check_enqueued(space, settings.enqueue_trials, "hydra.sweeper.enqueue_trials")
        self._check_inference_params(space)
        self._warn_optuna_keys()
        if settings.parallel_trials:
            log.warning(
                "ecopt sweeper: %d trials at a time run side by side on this machine (%s): measured energy would be "
                "shared, since RAPL counters are package-wide and trials on one GPU count each other's work. Such "
                "trials are tagged shared_counters in optimization_results.yaml. CPU-time estimates are per process "
                "and unaffected. For clean measured figures: max_batch_size=1, one GPU per job, or a SLURM launcher.",
                settings.max_batch_size,
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
        try:
            return self._sweep(arguments)
        except EcoptConfigError as err:
            raise _CompactConfigError(str(err)) from err
        except SweepFailureError as err:
            raise _CompactSweepFailure(str(err)) from err

    def _sweep(self, arguments: list[str]) -> Any:
        if self.config is None or self.launcher is None or self.hydra_context is None:
            raise RuntimeError("EcoptSweeper.sweep() called before setup(); Hydra calls setup() first.")
        space, settings = self.configure(arguments)
        # Compose one trial's config now, so that a typo in a key fails before any trial runs.
        self.validate_batch_is_legal([space.to_overrides(_example_params(space))])
        self.space, self.settings = space, settings

        from lightning_ecopt.sweeper.loop import check_storage, sweep_fingerprint

        sweep_dir = self._sweep_dir()
        # Before anything is written: a storage file that cannot be written, is not an experiment, or holds another
        # sweep is refused here, so that a refused rerun leaves the earlier sweep's files (multirun.yaml) untouched.
        if settings.storage is not None:
            check_storage(settings.storage, sweep_fingerprint(space, settings))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        # A resumed sweep continues the job numbering: no earlier trial's job dir is overwritten.
        self.job_idx = _next_job_index(sweep_dir)
        self._check_job_dirs([space.to_overrides(_example_params(space))], self.job_idx)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        n_sobol = settings.resolved_n_initial_trials(len(space.parameters))
        plan = (
            f"{n_sobol} Sobol, then {settings.acquisition}"
            if n_sobol < settings.n_trials
            else f"all Sobol: raise n_trials above {n_sobol} for {settings.acquisition} proposals"
        )
        fixed = f", fixed {list(space.fixed_overrides)}" if space.fixed_overrides else ""
        log.info(
            "ecopt sweeper: %d trials (%s), objectives %s, parameters %s%s, storage %s",
            settings.n_trials,
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
        sweep = ParetoSweep(space, settings, self.evaluate, on_batch_end=None if self.tensorboard else [])
        try:
            return sweep.run()
        except KeyboardInterrupt:
            # The loop has saved and logged how to resume; a command-line tool stopped by Ctrl-C exits with 130,
            # not with a page of traceback through Hydra and Ax.
            raise SystemExit(130) from None
        except SystemExit as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):  # Lightning's sys.exit(1) for a Ctrl-C in fit/test
                raise SystemExit(130) from None
            raise

    def _check_job_dirs(self, batch: Sequence[Sequence[str]], first_idx: int) -> None:
        """Refuse trials whose job dir (``hydra.sweep.dir``/``hydra.sweep.subdir``) would lie outside the sweep dir.

        Args:
            batch: The trials' override lists, in launch order.
            first_idx: The job number of the first trial.

        Raises:
            EcoptConfigError: A job's ``hydra.sweep.subdir`` escapes the sweep dir (e.g. ``../x`` or an absolute path).
        """
        from omegaconf import open_dict

        if self.hydra_context is None or self.config is None:
            return
        sweep_dir = self._sweep_dir()
        for idx, overrides in enumerate(batch, start=first_idx):
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(config):
                config.hydra.job.id = idx
                config.hydra.job.num = idx
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

    def evaluate(self, batch: list[dict[str, Any]]) -> list[Any]:
        """Launch one batch of trials and collect what each returned.

        Args:
            batch: One ``{parameter: value}`` dict per trial, as Ax proposes them.

        Returns:
            One item per trial, in order: the task's return value, or the exception instance of a failed job.
        """
        if self.launcher is None or self.space is None:
            raise RuntimeError("EcoptSweeper.evaluate() called before sweep() configured the search space.")
        overrides = [tuple(self.space.to_overrides(params)) for params in batch]
        self.validate_batch_is_legal(overrides)
        self._check_job_dirs(overrides, self.job_idx)
        first = self.job_idx
        self.job_idx += len(batch)
        try:
            returns = self.launcher.launch(overrides, initial_job_idx=first)
        except Exception as exc:
            # A process-based launcher loses the whole batch when a worker dies (joblib: TerminatedWorkerError) or
            # its own timeout fires: every trial of the batch fails with that reason, and the sweep goes on.
            reason = (
                f"the launcher lost the whole batch of {len(batch)} jobs ({first}..{first + len(batch) - 1}): "
                f"{type(exc).__name__}: {str(exc).strip()[:500]}"
            )
            log.warning("ecopt sweeper: %s", reason)
            return [TrialFailure(reason) for _ in batch]
        if len(returns) != len(batch):
            raise RuntimeError(
                f"the launcher returned {len(returns)} results for a batch of {len(batch)} jobs; each job must "
                f"return exactly one JobReturn."
            )
        return [_outcome(ret) for ret in returns]


_ABSENT = object()


def _is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved against the working directory, ``..`` and links followed) lies inside ``folder``."""
    return path.resolve().is_relative_to(folder.resolve())


def _outcome(ret: JobReturn) -> Any:
    """A job's return value, or its exception when it failed; never re-raises."""
    if ret.status == JobStatus.COMPLETED:
        return ret.return_value
    error = ret._return_value
    if isinstance(error, BaseException):
        return error
    return RuntimeError(f"job {ret.overrides!r} ended with status {ret.status.name} and returned {error!r}")


def _example_params(space: SearchSpace) -> dict[str, Any]:
    """One valid point of the space (lower bounds, first choices), to check that a trial's config composes."""
    from lightning_ecopt.sweeper.space import RangeParameter

    return {p.name: (p.low if isinstance(p, RangeParameter) else p.values[0]) for p in space.parameters}


def _next_job_index(sweep_dir: Path) -> int:
    """One past the highest numbered job dir in ``sweep_dir`` (Hydra names them 0, 1, ...); 0 when there is none."""
    used = [int(p.name) for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(used, default=-1) + 1


def _runs_jobs_side_by_side(launcher: Launcher | None) -> bool:
    """Whether the launcher runs a batch's jobs at the same time on this machine (joblib, submitit's local one).

    The basic launcher runs them one after another; cluster launchers (SLURM through submitit, RQ, Ray on AWS) place
    them on their own machines or devices, which we cannot see from here, so they are not flagged.
    """
    if launcher is None:
        return False
    cls = type(launcher)
    return "joblib" in cls.__module__ or (cls.__name__ == "LocalLauncher" and "submitit" in cls.__module__)
