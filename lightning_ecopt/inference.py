"""Inference-only transforms of a trained LightningModule (dynamic int8, ``torch.compile``) and measured passes.

Precision is the Trainer's business (``Trainer(precision="bf16-mixed")`` autocasts on CPU and GPU); the evaluation
batch size is the data module's. These transforms change how a trained model runs, never what it learnt, so a sweep
can mark them inference-only (``hydra.sweeper.inference_params``) and reuse one checkpoint.

:class:`TimedPasses` bounds what an evaluation costs: it repeats a small test set in whole passes only until the
energy window has lasted long enough to be trusted, so a batch-size sweep does not pay four passes at batch 1 where
one pass already measures for longer than it needs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from lightning_ecopt._checks import check_positive_ints
from lightning_ecopt.exceptions import TrialFailure

if TYPE_CHECKING:
    from torch import nn

_Module = TypeVar("_Module", bound="nn.Module")

__all__ = ["PRECISIONS", "TimedPasses", "callback_min_duration_s", "check_cpp_compiler", "prepare_for_inference"]

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
"""Evaluation precisions the examples accept (Lightning's names); bf16 autocast works on CPU, fp16 needs a GPU."""


@overload
def prepare_for_inference(module: _Module, *, quantize_int8: bool = ..., compile: Literal[False] = ...) -> _Module: ...


@overload
def prepare_for_inference(module: _Module, *, quantize_int8: bool = ..., compile: bool) -> Any: ...


def prepare_for_inference(module: _Module, *, quantize_int8: bool = False, compile: bool = False) -> Any:
    """Apply inference-only transforms to a trained module, in place where possible.

    The module itself comes back. Without ``compile`` it is typed as what was passed in; with ``compile=True`` it is
    typed ``Any``, as it was when this returned ``torch.compile``'s wrapper, so that callers' types keep checking.

    Args:
        module: The trained module (its weights already loaded).
        quantize_int8: Replace its ``nn.Linear`` layers by dynamically quantised int8 ones
            (``torch.ao.quantization.quantize_dynamic``; CPU only, weights int8, activations quantised per batch).
            Convolutions are left as they are. Their inputs are cast to float32, so this combines with bf16
            autocast (the layers before them run in bf16). Evaluate on CPU too: a Trainer on a GPU moves the module
            there after this call (Lightning returns a fitted module to CPU, so it is on CPU here).
        compile: Compile the module's forward pass in place (``nn.Module.compile``, ``torch.compile`` underneath).
            Only the forward: given ``torch.compile``'s wrapper, Lightning compiles ``test_step`` too, and a step
            that updates a torchmetrics metric recompiles at every batch (the metric's update counter is a guarded
            int) up to dynamo's recompile limit, inside the measured window. The first batch pays the compilation
            (a warm-up batch of the ``EnergyCallback``); a last, partial batch of a size not seen yet compiles again
            (``examples/train.py`` runs it eagerly instead: ``torch.compiler.set_stance("eager_on_recompile")``
            once the warm-up batches are over). Dynamo keeps compiled code per code object up to
            ``torch._dynamo.config.recompile_limit`` (8): past that many models compiled in one process, later ones
            run eagerly unless ``torch._dynamo.reset()`` runs between them.

    Returns:
        The module to evaluate: ``module`` itself.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``, or ``quantize_int8`` or ``compile`` is not a bool.
        ValueError: int8 quantisation of a module on a GPU, or of a module with no ``nn.Linear`` layer to quantise
            (it would run in float under an int8 label).
        RuntimeError: ``compile`` where ``torch.compile`` cannot run (no C++ compiler for a CPU module), or
            ``quantize_int8`` with a torch that no longer has ``torch.ao.quantization`` (deprecated for torchao).
    """
    import torch
    from torch import nn

    if not isinstance(module, nn.Module):
        raise TypeError(
            f"prepare_for_inference({type(module).__name__}): expected the trained torch.nn.Module "
            "(a LightningModule), e.g. prepare_for_inference(model)."
        )
    for name, value in (("quantize_int8", quantize_int8), ("compile", compile)):
        if not isinstance(value, bool):
            raise TypeError(f"prepare_for_inference({name}={value!r}): expected true or false.")
    module.eval()
    if quantize_int8:
        if any(p.device.type != "cpu" for p in module.parameters()):
            raise ValueError(
                "prepare_for_inference(quantize_int8=True): dynamic int8 quantisation runs on CPU only; evaluate on "
                "CPU (trainer.accelerator=cpu) or set quantize_int8=false."
            )
        import warnings

        with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", ".*quantize_per_tensor.*deprecated", UserWarning)  # torch 2.13
            try:
                from torch.ao.quantization import quantize_dynamic
            except ImportError as err:  # "will be removed in 2.10" (for torchao's quantize_), says torch; 2.13 has it
                raise RuntimeError(
                    f"prepare_for_inference(quantize_int8=True): this torch ({torch.__version__}) has no "
                    f"torch.ao.quantization.quantize_dynamic ({type(err).__name__}: {err}); PyTorch is moving it to "
                    "torchao. Install a torch that still has it (2.13 does) or set quantize_int8=false."
                ) from err

            quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)
        quantized = [m for m in module.modules() if "quantized" in type(m).__module__ and "Linear" in type(m).__name__]
        if not quantized:
            raise ValueError(
                f"prepare_for_inference(quantize_int8=True): {type(module).__name__} has no nn.Linear layer that "
                "dynamic int8 quantisation can replace, so it would run in float under an int8 label; set "
                "quantize_int8=false."
            )
        for layer in quantized:
            # int8 dynamic Linear takes float32 activations: under bf16 autocast the layers before it give bf16.
            layer.register_forward_pre_hook(_to_float32)
    if compile:
        if not any(p.device.type != "cpu" for p in module.parameters()):
            check_cpp_compiler()
        module.compile()
    return module


def check_cpp_compiler() -> None:
    """Raise a clear error now where ``torch.compile`` would fail at the first batch: no C++ compiler for CPU code.

    For a sweep's task, before it trains a model it would compile on CPU (the check costs a lookup, not a build).

    Raises:
        RuntimeError: No C++ compiler that ``torch.compile`` can use for CPU code; the message says what to do.
    """
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
    except ImportError:  # a private module of this torch: another version may not have it; compile will tell
        return
    try:
        get_cpp_compiler()
    except TrialFailure:  # the trial's time limit, not a missing compiler
        raise
    except Exception as err:
        raise RuntimeError(
            "prepare_for_inference(compile=True): torch.compile cannot build CPU code here "
            f"({type(err).__name__}: {err}); install a C++ compiler (g++ or clang++, or set CXX) or set "
            "compile=false."
        ) from err


def _to_float32(layer: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Forward pre-hook: floating-point tensor inputs as float32."""
    return tuple(a.float() if hasattr(a, "is_floating_point") and a.is_floating_point() else a for a in args)


def callback_min_duration_s(trainer: Any, stage: str, owner: str = "min_s") -> float:
    """The ``min_duration_s`` of the trainer's :class:`~lightning_ecopt.EnergyCallback` measuring ``stage``.

    For a data module whose :class:`TimedPasses` should last as long as the callback asks (``"auto"`` in the
    examples' configs): its ``test_dataloader`` runs after the callback's ``setup``, when ``min_duration_s="auto"``
    is resolved for the meter in use (0.2 s on the CPU estimate, 2 s on NVML). The longest, if several measure it.

    Args:
        trainer: The ``Trainer`` (a data module's ``self.trainer``).
        stage: ``"test"``, ``"predict"`` or ``"validate"``.
        owner: The setting that asked, for the message (e.g. ``"DigitsDataModule: eval_min_s"``).

    Raises:
        ValueError: No trainer, or no ``EnergyCallback`` on it measures ``stage``; or one with ``"auto"`` not yet set
            up by this trainer (Lightning sets up the data module before the callbacks: ask from a
            ``*_dataloader`` method, not from ``setup``).
    """
    from lightning_ecopt.callbacks.energy import EnergyCallback

    callbacks = [
        cb for cb in getattr(trainer, "callbacks", None) or [] if isinstance(cb, EnergyCallback) and stage in cb.stages
    ]
    for cb in callbacks:
        if not cb.min_duration_resolved_for(trainer):
            raise ValueError(
                f"{owner}='auto' asked the EnergyCallback's min_duration_s before the trainer set the callback up "
                "(its 'auto' is resolved for the meter then): ask from test_dataloader() or predict_dataloader(), "
                "which Lightning calls after the callbacks' setup, not from the data module's setup()."
            )
    found = [cb.min_duration_s for cb in callbacks]
    if not found:
        raise ValueError(
            f"{owner}='auto' takes the min_duration_s of the trainer's EnergyCallback, but no EnergyCallback measures "
            f"the {stage} loop{'' if trainer is not None else ' (no trainer)'}: add one with stages=('{stage}',), or "
            "give seconds."
        )
    return max(found)


def warn_fixed_passes(owner: str, prefix: str, *, world_size: int, repeats: int, samples: int, what: str) -> None:
    """Say, on rank 0, that timed passes were asked for but several devices run every repeat.

    Each rank timing its own passes would run different batches, so on several devices the demos run all
    ``<prefix>_repeats`` passes: set high for one device's timed passes (5,000 for the digits), that can cost minutes
    per trial.
    """
    from lightning.pytorch.utilities import rank_zero_warn

    rank_zero_warn(
        f"{owner}: on {world_size} devices the {what} passes are fixed: all {prefix}_repeats={repeats} of them "
        f"({repeats * samples:,} samples in all), since each rank timing its own would run different batches. "
        f"{prefix}_repeats is a cap for one device's timed passes: lower it (data.{prefix}_repeats) to what the "
        "energy window needs."
    )


def timed_min_s(
    trainer: Any, spec: float | str, stage: str, *, owner: str, prefix: str, repeats: int, samples: int, what: str
) -> float:
    """The seconds a demo's :class:`~lightning_ecopt.inference.TimedPasses` should last; 0: fixed passes.

    ``spec`` is the data module's ``<prefix>_min_s``: seconds, or ``"auto"`` for the trainer's ``EnergyCallback``
    (:func:`callback_min_duration_s`). On several devices the passes are fixed, with a
    warning where timed ones were asked for (:func:`warn_fixed_passes`).
    """
    world_size = trainer.world_size if trainer is not None else 1
    if world_size > 1:
        if spec != 0:
            warn_fixed_passes(owner, prefix, world_size=world_size, repeats=repeats, samples=samples, what=what)
        return 0.0
    if spec == "auto":
        return callback_min_duration_s(trainer, stage, f"{owner}: {prefix}_min_s")
    return float(spec)


class TimedPasses:
    """Batches of whole passes over a dataset, repeated until the measured window is long enough to trust, no longer.

    :class:`~lightning_ecopt.EnergyCallback` trusts a loop whose measured window (the batches after its
    ``warmup_batches``) lasts at least ``min_duration_s``; shorter ones are flagged ``short_window``. A tiny model's
    test set may need several passes to last that long at a large batch size, while at batch 1 one pass already lasts
    several times longer. A fixed number of repeats pays for the large batch sizes' needs at every batch size.

    ``TimedPasses`` batches the dataset repeated ``max_passes`` times, exactly as a ``DataLoader`` over
    ``ConcatDataset([dataset] * max_passes)`` does (full batches across the passes, the last one partial), but once
    the measured batches have lasted ``min_s`` it finishes the pass it is in and stops. So it costs at most what
    ``max_passes`` fixed repeats cost, the passes are whole (accuracy over them is the accuracy over the set), and
    samples per joule stays a figure per sample over whole batches.

    The timer counts only time inside the callback's measured window: it starts when the batch after the first
    measured one is requested (Lightning fetches one batch ahead) and is read as each further batch is requested, so
    it errs on the short side, never the long one. It reads wall time, as ``min_duration_s`` does; the number of
    passes therefore depends on the machine's speed and load: the samples measured are in
    ``energy/{stage}_samples``. Batches are built in the calling process (no workers), and each process times its
    own passes: on several devices, use a fixed number of passes (``min_s=0``) so every rank runs the same batches.

    Args:
        dataset: The samples of one pass (``len`` and integer indexing, as a map-style ``Dataset``).
        batch_size: Samples per batch (an int >= 1).
        max_passes: At most this many passes (an int >= 1).
        min_s: Once the measured batches have lasted this many seconds, finish the current pass and stop; ``0``
            always runs ``max_passes`` passes. Give it the ``EnergyCallback``'s ``min_duration_s`` (for its
            ``"auto"``, :func:`callback_min_duration_s` in the data module's ``*_dataloader``).
        warmup_batches: Batches at the start that the energy window excludes (the callback's ``warmup_batches``).
        collate_fn: Builds a batch from a list of samples; default ``torch.utils.data.default_collate``, as a
            ``DataLoader``'s.

    Raises:
        ValueError: An empty dataset, ``batch_size``, ``max_passes`` or ``warmup_batches`` not an int in range, or
            ``min_s`` not a finite number >= 0.
        TypeError: ``dataset`` is not map-style (no ``len`` or no indexing: a ``DataLoader``, an iterable dataset).

    Example::

        passes = TimedPasses(test_set, batch_size=1, max_passes=4, min_s=0.2, warmup_batches=2)
        trainer = Trainer(callbacks=[EnergyCallback(warmup_batches=2, min_duration_s=0.2)])
        trainer.test(model, dataloaders=passes)  # one pass at batch 1; up to 4 where fewer would be too short
    """

    def __init__(
        self,
        dataset: Any,
        *,
        batch_size: int,
        max_passes: int,
        min_s: float = 0.0,
        warmup_batches: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        check_positive_ints("TimedPasses", batch_size=batch_size, max_passes=max_passes)
        if min_s == "auto":  # beside EnergyCallback(min_duration_s="auto"), but there is no trainer here to ask
            raise ValueError(
                "TimedPasses(min_s='auto'): expected seconds; for an EnergyCallback's 'auto', pass "
                "lightning_ecopt.inference.callback_min_duration_s(self.trainer, 'test') in your test_dataloader() "
                "(or 'predict' in predict_dataloader()), where the callback has resolved it."
            )
        if isinstance(min_s, bool) or not isinstance(min_s, int | float) or not 0 <= min_s < math.inf:
            raise ValueError(
                f"TimedPasses(min_s={min_s!r}): expected seconds >= 0, e.g. the EnergyCallback's min_duration_s."
            )
        if isinstance(warmup_batches, bool) or not isinstance(warmup_batches, int) or warmup_batches < 0:
            raise ValueError(
                f"TimedPasses(warmup_batches={warmup_batches!r}): expected an int >= 0, the EnergyCallback's "
                "warmup_batches."
            )
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            # Found now, not at the first batch inside trainer.test(): a DataLoader has a len but no indexing.
            raise TypeError(
                f"TimedPasses(dataset={dataset!r:.80}): expected a map-style dataset (len() and integer indexing, "
                "e.g. a TensorDataset); for a DataLoader pass its .dataset, with its batch_size and collate_fn here."
            )
        if len(dataset) == 0:
            raise ValueError("TimedPasses(dataset=...): the dataset is empty; there is nothing to evaluate.")
        self.dataset = dataset
        self.batch_size = batch_size
        self.max_passes = max_passes
        self.min_s = float(min_s)
        self.warmup_batches = warmup_batches
        self.collate_fn = collate_fn
        self.passes = 0
        """Passes the current (or last) iteration has begun: whole passes once it ends."""
        self._yielded = 0  # batches the current (or last) iteration has yielded
        self._last_size = 0  # samples in the last of them: only the iteration's last batch can be partial

    def __repr__(self) -> str:
        return (
            f"TimedPasses(batch_size={self.batch_size}, max_passes={self.max_passes}, min_s={self.min_s:g}, "
            f"warmup_batches={self.warmup_batches})"
        )

    def samples_in_batch(self, position: int) -> int | None:
        """Samples in the ``position``-th batch (from 0) of the current (or last) iteration; None if not yielded yet.

        Every batch is full but the iteration's last, which ends a pass: a batch with no tensor to count (texts) says
        its size here (:class:`~lightning_ecopt.EnergyCallback` asks), not by its ``batch_size``.

        >>> passes = TimedPasses(["a", "b", "c", "d", "e"], batch_size=2, max_passes=1, collate_fn=list)
        >>> [len(batch) for batch in passes], [passes.samples_in_batch(i) for i in range(4)]
        ([2, 2, 1], [2, 2, 1, None])
        """
        if not 0 <= position < self._yielded:
            return None
        return self._last_size if position == self._yielded - 1 else self.batch_size

    def __iter__(self) -> Iterator[Any]:
        if self.collate_fn is None:
            from torch.utils.data import default_collate

            collate: Callable[[list[Any]], Any] = default_collate
        else:
            collate = self.collate_fn
        n = len(self.dataset)
        end = n * self.max_passes  # samples to yield; lowered to the current pass's end once the window is long enough
        position = batches = self.passes = self._yielded = self._last_size = 0
        timer_start: float | None = None
        while position < end:
            if batches == self.warmup_batches + 1:
                timer_start = time.perf_counter()
            elif timer_start is not None and self.min_s and time.perf_counter() - timer_start >= self.min_s:
                end = min(end, -(-position // n) * n)  # finish this pass, then stop
                timer_start = None
                if position >= end:
                    break
            stop = min(position + self.batch_size, end)
            batch = collate([self.dataset[i % n] for i in range(position, stop)])
            self._yielded, self._last_size = batches + 1, stop - position
            position, batches = stop, batches + 1
            self.passes = -(-position // n)
            yield batch
