"""Train once per training configuration: a checkpoint cache keyed by the parameters that affect training.

In a sweep over inference-only parameters (evaluation batch size, precision, int8 quantisation, ``torch.compile``)
the trials that share every other parameter would train the same model again. :class:`CheckpointCache` stores the
trained ``state_dict`` once, under a hash of the job's config minus the inference-only keys, and loads it for every
later trial with that key.

- **Key**: :func:`training_key` = SHA-256 of the job's resolved config (Hydra's ``hydra`` node excluded) with the
  inference-only keys removed, as canonical JSON, plus a format version. Anything else that changes (seed, trainer
  settings, data split) is a different key. The code is not part of the key: after changing the model's code, delete
  the cache folder (``<sweep dir>/checkpoints``).
- **Where**: :meth:`CheckpointCache.from_hydra` uses ``<hydra.sweep.dir>/checkpoints`` in a multirun and reads the
  inference-only keys from ``hydra.sweeper.inference_params`` (the ecopt sweeper has validated them before the first
  trial). In a single run it returns ``None``: train as usual.
- **Files**: ``<key>.pt`` holds ``{"format", "key", "state_dict", "metrics", "source", "trained_by"}``: tensors and
  plain data only, written to a temporary file and renamed (atomic), read with ``torch.load(weights_only=True)``:
  no pickled object is ever executed.
- **Concurrency**: jobs with the same key take an exclusive ``fcntl.flock`` on ``<key>.lock`` around
  load-or-train: under the joblib launcher (or several SLURM jobs on a file system with working locks) one job
  trains and the others wait, then load its checkpoint. A job that dies releases its lock (the kernel does) and
  leaves no checkpoint, so the next one trains. Without ``fcntl`` (Windows) both jobs train and the last atomic
  rename wins; both report their own training energy, which is then true.
- **Accounting**: :meth:`CachedTraining.metrics` gives a reusing trial ``energy/train_j = 0`` and
  ``energy/train_time_s = 0`` (it trained nothing) and the avoided cost as the tracking metrics
  ``energy/train_reused_j`` and ``energy/train_reused_time_s`` (without the stored fit's ``energy/train_carried_j``,
  of a run it did not make); the trial that trained reports its own ``energy/train_j`` and
  ``energy/train_reused_j = 0``. ``ecopt report`` sums ``energy/train_reused_j`` as the search energy saved against
  retraining every trial.

Example::

    cache = CheckpointCache.from_hydra()  # None outside a multirun
    model = MyModel(**cfg.model)

    def fit() -> dict[str, float | str]:
        trainer.fit(model, datamodule=dm)
        return trial_metrics(trainer)

    trained = cache.fit_or_load(cfg, model, fit) if cache is not None else None
    train_metrics = trained.metrics() if trained is not None else fit()  # a single run trains, as without a cache
    ...
    return {**trial_metrics(test_trainer), **train_metrics}
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_ecopt.exceptions import EcoptConfigError, EcoptError, TrialFailure
from lightning_ecopt.sweeper.results import create_temporary_file, replace_file

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "CACHE_DIRNAME",
    "CachedTraining",
    "CheckpointCache",
    "CheckpointCacheError",
    "check_inference_params",
    "training_key",
    "training_params",
]

log = logging.getLogger(__name__)

CACHE_DIRNAME = "checkpoints"
"""The cache's folder inside the sweep directory."""

FORMAT_VERSION = 1
"""Version of the checkpoint file layout; part of the key, so a new layout never reads an old file."""

_REUSED_KEYS = {"energy/train_j": "energy/train_reused_j", "energy/train_time_s": "energy/train_reused_time_s"}
# Figures of the stored fit's own run (the part a checkpoint it resumed from carried, the step it resumed at): a trial
# that reuses it ran no fit, and beside its energy/train_j = 0 they would read as 80 J carried into 0 J.
_FIT_RUN_KEYS = ("energy/train_carried_j", "energy/train_carried_time_s", "energy/train_resumed_from_step")


class CheckpointCacheError(EcoptError, RuntimeError):
    """A cached checkpoint cannot be read or does not fit the model; the message names the file and the fix."""


def _plain(config: Any) -> Any:
    """A config (DictConfig, dataclass-free mappings and sequences) as plain, resolved Python containers."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(config):
        return OmegaConf.to_container(config, resolve=True)
    if isinstance(config, Mapping):
        return {str(k): _plain(v) for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [_plain(v) for v in config]
    return config


def training_params(
    config: Mapping[str, Any], inference_keys: Iterable[str] = (), job_dir: str | None = None
) -> dict[str, Any]:
    """The part of a job's config that determines training: everything but ``hydra`` and the inference-only keys.

    Args:
        config: The job's config (a ``DictConfig`` or nested mappings); interpolations are resolved.
        inference_keys: Dotted keys that affect inference only, e.g. ``"data.eval_batch_size"``. A key the config
            does not have is ignored (the sweeper checks the list against the app's config before any trial).
        job_dir: The job's own output dir (``${hydra:runtime.output_dir}``), which differs in every job: in string
            values it is replaced by that interpolation's text, at path boundaries, so that a config holding it (a
            Lightning-Hydra project's ``paths.output_dir``, ``trainer.default_root_dir``) keys like its neighbours'.

    Returns:
        A new nested dict without those keys.

    Example:
        >>> training_params({"model": {"width": 8}, "data": {"eval_batch_size": 64, "seed": 0}},
        ...                 ["data.eval_batch_size"])
        {'model': {'width': 8}, 'data': {'seed': 0}}
    """
    plain = _plain(config)
    if not isinstance(plain, dict):
        raise TypeError(f"training_params(config={config!r}): expected a mapping (the job's config).")
    plain.pop("hydra", None)
    for key in inference_keys:
        parts = str(key).split(".")
        node: Any = plain
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    if job_dir:
        # At path boundaries on both sides: /s/1 in '/s/1/x' or 'dir=/s/1', not in '/s/10' or '/other/s/1'.
        pattern = r"(?<![^\s=:'\"])" + re.escape(job_dir.rstrip("/")) + r"(?=/|$|[\s'\"])"
        return _without_job_dir(plain, re.compile(pattern))
    return plain


def _without_job_dir(value: Any, job_dir: re.Pattern[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without_job_dir(v, job_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_job_dir(v, job_dir) for v in value]
    if isinstance(value, str):
        return job_dir.sub(lambda _: "${hydra:runtime.output_dir}", value)
    return value


def _canonical(value: Any) -> Any:
    """JSON-able canonical form: floats that are integers stay floats, non-finite floats become strings."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def training_key(config: Mapping[str, Any], inference_keys: Iterable[str] = (), job_dir: str | None = None) -> str:
    """The cache key of a job: a hash of its training parameters (see :func:`training_params`).

    Args:
        config: The job's config.
        inference_keys: Dotted keys that affect inference only.
        job_dir: The job's own output dir, keyed as ``${hydra:runtime.output_dir}`` (see :func:`training_params`).

    Returns:
        16 hex digits of the SHA-256 of the canonical JSON of the training parameters and the format version.

    Example:
        >>> a = training_key({"model": {"width": 8}, "data": {"eval_batch_size": 1}}, ["data.eval_batch_size"])
        >>> b = training_key({"model": {"width": 8}, "data": {"eval_batch_size": 512}}, ["data.eval_batch_size"])
        >>> c = training_key({"model": {"width": 9}, "data": {"eval_batch_size": 1}}, ["data.eval_batch_size"])
        >>> a == b, a == c, len(a)
        (True, False, 16)
    """
    payload = {"format": FORMAT_VERSION, "params": _canonical(training_params(config, inference_keys, job_dir))}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_inference_params(
    keys: Any,
    swept: Sequence[str],
    fixed: Sequence[str],
    has_key: Callable[[str], bool],
    is_section: Callable[[str], bool] = lambda key: False,
    config_keys: Sequence[str] = (),
) -> tuple[str, ...]:
    """Validate ``hydra.sweeper.inference_params`` before the first trial.

    Args:
        keys: The configured list (dotted keys).
        swept: The swept parameters' keys.
        fixed: The keys the sweep fixes to a plain value.
        has_key: Whether the app's config has a key (for keys the sweep neither sweeps nor fixes).
        is_section: Whether a key of the app's config holds a section (a mapping or a list), not a value.
        config_keys: The app's config's leaf keys, for the suggestion when a key is found nowhere.

    Returns:
        The keys, as a tuple of strings.

    Raises:
        EcoptConfigError: Not a list of strings, a duplicate, a key that is neither swept, fixed, nor in the app's
            config (the message suggests the closest of the swept, fixed and config keys), or a config section
            (it would leave every key in it out of the training key, those that change training too).

    Example:
        >>> check_inference_params(["data.eval_batch_size"], ["data.eval_batch_size", "model.lr"], [], lambda k: False)
        ('data.eval_batch_size',)
    """
    if keys is None:
        return ()
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not all(isinstance(k, str) and k for k in keys):
        raise EcoptConfigError(
            f"hydra.sweeper.inference_params={keys!r}: expected a list of dotted config keys that affect inference "
            f"only, e.g. [data.eval_batch_size, inference.precision]."
        )
    known = [*swept, *fixed]
    seen: set[str] = set()
    for key in keys:
        name = key.lstrip("+")  # '+key' and '++key' name the key the override sets, as the swept parameters do
        if name in seen:
            raise EcoptConfigError(f"hydra.sweeper.inference_params: {name!r} is listed twice; list it once.")
        seen.add(name)
        if any(part.isdigit() for part in name.split(".")):
            raise EcoptConfigError(
                f"hydra.sweeper.inference_params: {name!r} names an item of a list; the training key leaves out keys "
                f"of mappings only, so it would change nothing (no trial would reuse a checkpoint): move the value "
                f"to a mapping key and list that."
            )
        # A swept config group is a section too (model=choice(small,large)): listing it would key 'small' and 'large'
        # alike, and one would evaluate the other's weights.
        if has_key(name) and is_section(name):
            what = "a config group" if name in known else "a config section"
            raise EcoptConfigError(
                f"hydra.sweeper.inference_params: {name!r} is {what}: listing it leaves every key in it out of the "
                f"training key, those that change training too, and configurations that train differently would "
                f"share one checkpoint; list the leaf keys that change inference only ({name}.<key>)."
            )
        if name in known or has_key(name):
            continue
        # The closest of all (a typo of a config key was matched to a looser swept or fixed one, searched first).
        close = difflib.get_close_matches(name, list(dict.fromkeys([*known, *config_keys])), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise EcoptConfigError(
            f"hydra.sweeper.inference_params: {name!r} is not a swept or fixed parameter ({known!r}), nor a key "
            f"of the app's config.{hint} List only keys that change inference and not training."
        )
    return tuple(k.lstrip("+") for k in keys)


@dataclass(frozen=True)
class CachedTraining:
    """The outcome of :meth:`CheckpointCache.fit_or_load`: the model was trained now, or loaded.

    Args:
        key: The training key.
        path: The checkpoint file.
        reused: ``True`` when the weights were loaded from an earlier trial's checkpoint.
        train_metrics: The figures recorded when the checkpoint was trained (``energy/train_j``, ``val/acc``...).
        source: The energy label of those figures, if known.
        trained_by: Who trained it (the Hydra job's ``<sweep dir>/<num>`` when known).
    """

    key: str
    path: Path
    reused: bool
    train_metrics: dict[str, float] = field(default_factory=dict)
    source: str | None = None
    trained_by: str | None = None

    def metrics(self) -> dict[str, float]:
        """The training figures this trial returns, with honest accounting (see the module docstring).

        Returns:
            The stored training figures; when reused, ``energy/train_j`` and ``energy/train_time_s`` are 0 and the
            stored ones move to ``energy/train_reused_j`` and ``energy/train_reused_time_s`` (the figures of the
            stored fit's run, ``energy/train_carried_j``, ``_carried_time_s`` and ``_resumed_from_step``, are left
            out); ``checkpoint/reused`` is 1 or 0.

        Example:
            >>> CachedTraining("k", Path("k.pt"), True, {"energy/train_j": 40.0, "val/acc": 0.9}).metrics()
            {'energy/train_j': 0.0, 'val/acc': 0.9, 'energy/train_reused_j': 40.0, 'checkpoint/reused': 1.0}
        """
        out = {k: v for k, v in self.train_metrics.items() if not (self.reused and k in _FIT_RUN_KEYS)}
        for key, reused_key in _REUSED_KEYS.items():
            if key in out:
                out[reused_key] = out[key] if self.reused else 0.0
                if self.reused:
                    out[key] = 0.0
        out["checkpoint/reused"] = 1.0 if self.reused else 0.0
        return out


class CheckpointCache:
    """Trained weights (``state_dict``) of a sweep, one per training configuration (see the module docstring).

    Args:
        directory: The cache folder (created when first written).
        inference_keys: Dotted config keys that affect inference only; they are left out of the key.

    Raises:
        TypeError: ``directory`` is not a path, or ``inference_keys`` is not a list of dotted keys (strings).

    Example::

        cache = CheckpointCache("multirun/x/checkpoints", ["data.eval_batch_size"])
        trained = cache.fit_or_load(cfg, model, fit)  # fit() trains `model` in place, returns its figures
    """

    def __init__(self, directory: str | Path, inference_keys: Iterable[str] = ()) -> None:
        if not isinstance(directory, str | Path) or not str(directory):
            raise TypeError(f"CheckpointCache(directory={directory!r}): expected a folder path.")
        if not isinstance(inference_keys, str | Iterable):
            raise TypeError(
                f"CheckpointCache(inference_keys={inference_keys!r}): expected dotted config keys (strings), e.g. "
                "['data.eval_batch_size'], or () for none."
            )
        keys = [inference_keys] if isinstance(inference_keys, str) else list(inference_keys)
        if not all(isinstance(k, str) and k for k in keys):
            raise TypeError(f"CheckpointCache(inference_keys={keys!r}): expected dotted config keys (strings).")
        self.directory = Path(directory)
        # '+key' and '++key' name the key the override sets, as in the sweeper's check and from_hydra
        self.inference_keys: tuple[str, ...] = tuple(k.lstrip("+") for k in keys)

    def __repr__(self) -> str:
        return f"CheckpointCache({str(self.directory)!r}, inference_keys={list(self.inference_keys)!r})"

    @classmethod
    def from_hydra(cls) -> CheckpointCache | None:
        """The cache of the running Hydra multirun: ``<hydra.sweep.dir>/checkpoints``, keys from the sweeper config.

        A relative ``hydra.sweep.dir`` (the default ``multirun/...``) is taken from where the app was started, not
        from the job's directory (``hydra.job.chdir=true`` moves each job into its own: every job had its own cache,
        and nothing was reused).

        Returns:
            The cache, or ``None`` in a single run (nothing to share), outside Hydra, or when
            ``inference_params`` is empty: then every trial's training differs from every other's (a configuration
            repeated exactly is reused by the sweeper itself), and a cache would only fill the disk.
        """
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized():
            return None
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode != RunMode.MULTIRUN:
            return None
        keys = _plain(hydra_cfg.sweeper.get("inference_params")) or []
        if not keys:
            return None
        sweep_dir = Path(str(hydra_cfg.sweep.dir))
        if not sweep_dir.is_absolute():
            sweep_dir = Path(str(hydra_cfg.runtime.cwd)) / sweep_dir
        return cls(sweep_dir / CACHE_DIRNAME, keys)

    def key(self, config: Mapping[str, Any]) -> str:
        """The training key of a job's config (:func:`training_key` with this cache's inference keys).

        In a Hydra job, the job's output dir is keyed as ``${hydra:runtime.output_dir}``: it differs in every job.
        """
        return training_key(config, self.inference_keys, _hydra_job_dir())

    def path(self, key: str) -> Path:
        """The checkpoint file of a key."""
        return self.directory / f"{key}.pt"

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[bool]:
        """Hold the key's lock; yields whether one is held.

        Not on Windows (no ``fcntl``): there both jobs train, the last rename wins, and no job may take another's
        temporary file for a stale one.
        """
        try:
            import fcntl
        except ImportError:
            yield False
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / f"{key}.lock", "a+b")  # noqa: SIM115 - closed below
        except OSError as err:  # a folder that cannot be written: the trial trains, only the reuse is lost
            log.warning(
                "CheckpointCache: cannot use %s (%s); this trial trains without the cache.", self.directory, err
            )
            yield False
            return
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def load(self, key: str) -> dict[str, Any] | None:
        """Read a checkpoint (``weights_only=True``), or ``None`` when there is none.

        Raises:
            CheckpointCacheError: The file is unreadable or not one of ours; the message says to delete it.
        """
        import torch

        path = self.path(key)
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except TrialFailure:  # the trial's time limit fell due while it read: no fault of the file
            raise
        except Exception as err:
            raise CheckpointCacheError(
                f"CheckpointCache: cannot read {str(path)!r} with weights_only=True ({_load_error(err)}); delete the "
                f"file to retrain that configuration."
            ) from err
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION or data.get("key") != key:
            raise CheckpointCacheError(
                f"CheckpointCache: {str(path)!r} is not a format-{FORMAT_VERSION} checkpoint of key {key!r}; delete "
                f"the file to retrain that configuration."
            )
        # A file made by hand (or by another tool) with our key: its parts of the wrong type raised a bare TypeError.
        state, metrics = data.get("state_dict"), data.get("metrics")
        bad = (
            f"'state_dict' is {type(state).__name__}, not a mapping of tensors"
            if not isinstance(state, Mapping)
            else f"'metrics' is {type(metrics).__name__}, not a mapping of numbers"
            if metrics is not None and not _numbers(metrics)
            else None
        )
        if bad is not None:
            raise CheckpointCacheError(
                f"CheckpointCache: {str(path)!r} is not a checkpoint this cache wrote ({bad}); delete the file to "
                f"retrain that configuration."
            )
        return data

    def save(
        self,
        key: str,
        state_dict: Mapping[str, Any],
        metrics: Mapping[str, Any] | None = None,
        trained_by: str | None = None,
    ) -> Path:
        """Write a checkpoint atomically (a temporary file in the same folder, then a rename).

        Args:
            key: The training key.
            state_dict: The trained weights (tensors only).
            metrics: The training figures; numbers are kept, ``energy/source`` is kept as the label.
            trained_by: Who trained it, for the record.

        Returns:
            The checkpoint file.

        Raises:
            CheckpointCacheError: The file cannot be written (a full disk, a folder that is not writable) or read back.
        """
        import torch

        metrics = dict(metrics or {})
        numbers = {
            str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        source = metrics.get("energy/source")
        payload = {
            "format": FORMAT_VERSION,
            "key": key,
            "state_dict": {k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in state_dict.items()},
            "metrics": numbers,
            "source": source if isinstance(source, str) else None,
            "trained_by": trained_by,
        }
        path = self.path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = create_temporary_file(path)  # the mode of a new file (mkstemp's is 0600: unreadable to others)
        except OSError as err:
            raise CheckpointCacheError(f"CheckpointCache: cannot write {str(path)!r} ({err}).") from err
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:  # what load() cannot read is not stored: every later trial of the key would fail on it
                torch.load(tmp, map_location="cpu", weights_only=True)
            except TrialFailure:
                raise
            except Exception as err:
                raise CheckpointCacheError(
                    f"CheckpointCache: the trained state of key {key!r} cannot be read back with weights_only=True "
                    f"({_load_error(err)}), so it is not cached; keep tensors and plain Python values in the "
                    f"module's state_dict (get_extra_state included)."
                ) from err
            replace_file(tmp, path)  # on Windows, waits out another job loading it
        except BaseException as err:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            # A full disk or a quota (torch's writer may report it as a RuntimeError): the trained model is fine, only
            # its copy is not.
            # The trial's time limit (TrialTimeoutError) stops the trial, not only the caching.
            if isinstance(err, Exception) and not isinstance(err, CheckpointCacheError | TrialFailure):
                raise CheckpointCacheError(f"CheckpointCache: cannot write {str(path)!r} ({err}).") from err
            raise
        return path

    def fit_or_load(
        self,
        config: Mapping[str, Any],
        module: nn.Module,
        fit: Callable[[], Mapping[str, Any]],
        trained_by: str | None = None,
    ) -> CachedTraining:
        """Load ``module``'s weights for this training configuration, or train it with ``fit()`` and store them.

        Holds the key's lock throughout, so that concurrent jobs with the same key train it once.

        Args:
            config: The job's config (the key is computed from it).
            module: The model; weights are loaded into it with ``load_state_dict(strict=True)``.
            fit: Trains ``module`` in place and returns its figures (``trial_metrics(trainer)`` after ``fit``).
                An exception propagates and stores nothing.
            trained_by: Recorded with the checkpoint; default the Hydra job's output dir (``<sweep dir>/<num>``),
                else the current working directory.

        Returns:
            What happened, with the figures to report (:meth:`CachedTraining.metrics`).

        Raises:
            CheckpointCacheError: The stored checkpoint is unreadable or does not fit ``module``.
            TypeError: ``config`` is not a mapping, or ``fit()`` returned something other than a mapping of figures
                (nothing is stored then).
        """
        key = self.key(config)
        path = self.path(key)
        with self._lock(key) as locked:
            # A job killed inside save() left its temporary file; under the key's lock no save of it is running.
            for stale in self.directory.glob(f".{path.name}.*.tmp") if locked else ():
                stale.unlink(missing_ok=True)
            data = self.load(key)
            if data is not None:
                try:
                    module.load_state_dict(data["state_dict"], strict=True)
                except (RuntimeError, KeyError) as err:
                    why = " ".join(str(err).split())
                    raise CheckpointCacheError(
                        f"CheckpointCache: {str(path)!r} does not fit {type(module).__name__} ({why}); the model's "
                        f"code changed since it was trained: delete {str(self.directory)!r} to retrain."
                    ) from err
                return CachedTraining(
                    key, path, True, dict(data.get("metrics") or {}), data.get("source"), data.get("trained_by")
                )
            metrics = fit()
            if not isinstance(metrics, Mapping):  # stored, its reuses would report no training figures at all
                raise TypeError(
                    f"CheckpointCache.fit_or_load: fit() returned {metrics!r:.80}, not the training figures; return "
                    "them from fit, e.g. `trainer.fit(model); return trial_metrics(trainer)`. Nothing was cached."
                )
            by = trained_by if trained_by is not None else _job_dir()
            try:
                self.save(key, module.state_dict(), metrics, trained_by=by)
            except CheckpointCacheError as err:  # the trial trained and goes on; only the reuse is lost
                log.warning("%s Each trial of this training configuration trains it again.", err)
            numbers = {
                str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
            }
            source = metrics.get("energy/source")
            return CachedTraining(key, path, False, numbers, source if isinstance(source, str) else None, by)


def _numbers(metrics: Any) -> bool:
    """Whether ``metrics`` is a mapping of names to numbers (no bools), as :meth:`CheckpointCache.save` writes it."""
    return isinstance(metrics, Mapping) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) for k, v in metrics.items()
    )


def _load_error(err: BaseException) -> str:
    """Why ``torch.load`` refused a file, in one line: its reason, not its advice to load unsafely (escapes removed)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(err).splitlines()]
    reason = next((line for line in lines if line.startswith("WeightsUnpickler error")), None)
    return f"{type(err).__name__}: {reason or (lines[0] if lines else '')}"


def _hydra_job_dir() -> str | None:
    """The running Hydra job's output dir, or ``None`` outside a Hydra job."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            return str(HydraConfig.get().runtime.output_dir)
    except Exception:
        pass
    return None


def _job_dir() -> str:
    """The running Hydra job's output dir (Hydra 1.3 does not change into it), else the working directory."""
    return _hydra_job_dir() or os.getcwd()
