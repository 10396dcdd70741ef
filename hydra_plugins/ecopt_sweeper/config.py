"""Config of the ``ecopt`` sweeper (group ``hydra/sweeper``, name ``ecopt``), registered in Hydra's ConfigStore.

Example (an app's primary config)::

    defaults:
      - override hydra/sweeper: ecopt
    hydra:
      sweeper:
        objectives: {test/acc: maximize, energy/test_samples_per_j: maximize}
        n_trials: 40
        params:
          model.lr: tag(log, interval(1e-4, 1e-1))
          model.batch_size: tag(ordered, choice(32, 64, 128))

An Optuna sweeper config runs unchanged after switching ``hydra/sweeper`` to ``ecopt``: ``direction``, ``n_trials``,
``params``, ``max_failure_rate`` keep their meaning (``range(a, b, step=s)`` includes ``b`` when it is on the step's
grid, as the Optuna sweeper's does: Hydra's basic sweeper excludes it), ``n_jobs`` becomes ``max_batch_size``, the
deprecated ``search_space`` becomes ``params`` (the same values), and ``sampler``, ``study_name`` and an Optuna
storage URL are accepted and ignored with a warning (Ax's Sobol + qNEHVI strategy replaces the sampler).
``storage: null`` (Optuna: in memory) means the default file ``${hydra.sweep.dir}/ax_experiment.json`` here: the
experiment is always saved, so a sweep can resume. The Ax sweeper's ``ax_config`` is refused before any trial, the
message giving ecopt's keys for its settings.

No ``from __future__ import annotations`` here: OmegaConf reads these annotations as types, and Hydra executes
this module before it is in ``sys.modules``.
"""

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

__all__ = ["DEFAULT_STORAGE", "EcoptSweeperConf"]

DEFAULT_STORAGE = "${hydra.sweep.dir}/ax_experiment.json"
"""Where the Ax experiment is saved when ``storage`` is unset or null."""

_OPTUNA_SAMPLERS = ("tpe", "random", "cmaes", "nsgaii", "motpe", "qmc", "grid")


@dataclass
class EcoptSweeperConf:
    """``hydra.sweeper`` for ``hydra/sweeper=ecopt``; every field is checked before the first trial runs."""

    # The sweeper class Hydra instantiates.
    _target_: str = "hydra_plugins.ecopt_sweeper.ecopt_sweeper.EcoptSweeper"
    # Pass nested nodes (params, an Optuna sampler config) as plain config: never instantiate them.
    _recursive_: bool = False
    # No sampler by default; the group exists so that an Optuna config's `override hydra/sweeper/sampler: tpe` works.
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": None}])

    # Objectives: metric name -> "maximize" | "minimize", e.g. {test/acc: maximize, energy/test_j: minimize}.
    # The task returns a dict {metric: float | [mean, sem]} holding at least these metrics. Not typed as a mapping:
    # OmegaConf would refuse a list or a string here with its own merge error; the sweeper names the fix.
    objectives: Any = None
    # The Optuna sweeper's form instead of `objectives`: a direction or a list of them, e.g. [minimize, maximize];
    # the task then returns a tuple in that order, and the objectives are named objective_0, objective_1, ...
    direction: Any = None
    # Search space in Hydra's sweep grammar: interval(a,b), int(interval(a,b)), tag(log, interval(a,b)),
    # choice(...), a,b,c, range(start,stop,step=s) (stop included when on the step's grid, as in the Optuna
    # sweeper), tag(ordered, choice(...)); a plain value fixes the key.
    # Overrides on the command line win over these. null (the default, as the Optuna sweeper's) is an empty space.
    # Not typed as a mapping, for the reason of objectives: a YAML list of entries would fail in OmegaConf's merge.
    params: Any = None
    # Total number of trials, Sobol trials included.
    n_trials: int = 20
    # Sobol trials before qNEHVI; null: n_trials // 5 (the paper: 40 of 200), at least 2 per swept parameter
    # while that leaves the model half the budget.
    n_initial_trials: int | None = None
    # Acquisition function after the Sobol trials: qNEHVI (the ECOpt paper's), qLogNEHVI, or EHVI (analytic: about
    # half qNEHVI's time per suggestion; max_batch_size 1 and constraints on objectives only).
    acquisition: str = "qNEHVI"
    # Seed of the Sobol sequence and the model fitting; null: random. An Optuna `sampler.seed` is used when null.
    seed: int | None = None
    # Trials proposed jointly (one q-batch) and launched together per launcher call; null: n_jobs, else 1.
    max_batch_size: int | None = None
    # Stop with an error listing the failures once more than this fraction of trials failed (0 to 1).
    max_failure_rate: float = 0.5
    # Worst acceptable value per objective (Ax's objective thresholds), e.g. {test/acc: 0.5}; null (the default) or
    # empty: inferred from the observed front once the Sobol trials are in, and recorded in optimization_results.yaml.
    # On the command line: `'+hydra.sweeper.reference_point={test/acc: 0.5}'` (a metric name with `/` is not a dotted
    # key; `+hydra.sweeper.reference_point.acc=0.5` for one without). Not typed as a mapping, for the reason of
    # objectives: a list of values (BoTorch's ref_point) would fail in OmegaConf's merge, naming no key.
    reference_point: Any = None
    # Bounds on any returned metric, e.g. ["energy/train_j <= 5000", "test/acc >= 0.8"]. On the command line quote
    # each bound: 'hydra.sweeper.outcome_constraints=["energy/train_j <= 5000"]' (Hydra's lexer refuses a bare <=).
    # One constraint may be given without its list; null: none. Not typed as a list, for the reason of objectives.
    outcome_constraints: Any = None
    # The Ax experiment's JSON file, saved after every batch; rerunning with an existing file resumes the sweep.
    # null (the Optuna sweeper's "in memory") also means the default file. An Optuna URL (sqlite:///...) is ignored.
    storage: str | None = DEFAULT_STORAGE
    # Accept trials whose energy comes from different sources (measured and estimated, Zeus over other counters:
    # zeus/rapl beside zeus/nvml+rapl, two meters: measured: ipmi/bmc beside Zeus's, or estimates of other models or
    # constants: cpu-time (4 W/thread) beside cpu-time) in one frontier.
    allow_mixed_energy_sources: bool = False
    # Per-trial time limit in seconds (null: none): a trial still running then is interrupted inside its process
    # (SIGALRM) and recorded as failed, "timed out". It cannot stop code stuck outside Python (a hung CUDA kernel):
    # add the launcher's hard limit for that (joblib: hydra.launcher.timeout; submitit: hydra.launcher.timeout_min).
    trial_timeout_s: float | None = None
    # Keys that change inference only (evaluation batch size, precision, quantisation, torch.compile), e.g.
    # [data.eval_batch_size, inference.precision]: each must be swept, fixed, or a key of the app's config. Trials
    # that differ only in these share one trained checkpoint: lightning_ecopt.checkpoints.CheckpointCache.from_hydra()
    # reads this list in the job and caches the weights in ${hydra.sweep.dir}/checkpoints, keyed by the rest of the
    # job's config. The sweeper itself only validates the list; the app decides to use the cache. null: none. Not
    # typed as a list, for the reason of objectives.
    inference_params: Any = None
    # Write the frontier views (HParams of every trial, the frontier image, hypervolume) to
    # <storage dir>/tensorboard after every batch; false to skip them (about 0.25 s per batch).
    tensorboard: bool = True
    # Configurations to evaluate first, in order, e.g. [{model.lr: 0.001, model.width: 32}]: the model as it is
    # today, or a known good guess. A key left out takes the app's own value (its config, or the config group's
    # chosen option), so [{}] evaluates the app's defaults first. They count toward n_trials and toward the initial
    # (Sobol) trials; one already evaluated (on resume) is not run again (a failed one is, with retry_failed).
    # null: none. Not typed as a list with [] as its default: OmegaConf would refuse one configuration given without
    # its list (`{x: 1}`) with its own merge error; the sweeper says to wrap it in a list.
    enqueue_trials: Any = None
    # On a resume, evaluate again (first, as new trials counting toward n_trials) every configuration whose latest
    # trial failed, whatever the reason: after fixing the task, rerun with hydra.sweeper.retry_failed=true. false: a
    # failed configuration is never evaluated again. A choice of the run: it may change between reruns.
    retry_failed: bool = False

    # Optuna sweeper keys, accepted so that an Optuna config runs by switching hydra/sweeper to ecopt:
    # Optuna's sampler config: ignored with a warning (its `seed` is used when `seed` is null).
    sampler: Any = None
    # Optuna's study name: ignored with a warning.
    study_name: str | None = None
    # Optuna's number of parallel workers: becomes max_batch_size.
    n_jobs: int | None = None
    # Optuna's deprecated search space ({key: {type, low, high, log, step, choices}}): translated into params;
    # ignored with a warning when params is set, as the Optuna sweeper does. Empty rather than null so that it can be
    # given on the command line: OmegaConf cannot merge a mapping into a null typed-dict node.
    search_space: dict[str, Any] | None = field(default_factory=dict)
    # Optuna's custom search-space function: not supported; setting it is an error.
    custom_search_space: str | None = None

    # The Ax sweeper's config (hydra-ax-sweeper): not read; setting it is an error whose message gives ecopt's keys for
    # it (max_trials -> n_trials, params -> params in Hydra's grammar, experiment.minimize -> direction).
    ax_config: Any = None


ConfigStore.instance().store(group="hydra/sweeper", name="ecopt", node=EcoptSweeperConf, provider="ecopt_sweeper")

# An Optuna config may select a sampler (`override hydra/sweeper/sampler: tpe`). Without the Optuna plugin that
# group does not exist and Hydra would refuse the config, so register placeholders; with it, leave its own alone.
if importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None:
    for _name in _OPTUNA_SAMPLERS:
        # A plain dict, not a dataclass: any sampler key an Optuna config sets is accepted (and ignored).
        ConfigStore.instance().store(
            group="hydra/sweeper/sampler", name=_name, node={"seed": None}, provider="ecopt_sweeper"
        )
