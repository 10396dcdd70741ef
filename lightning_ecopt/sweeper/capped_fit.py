"""A capped GP fit: Ax's ``SingleTaskGP``, its hyperparameters fitted with at most ``fit_maxiter`` L-BFGS-B steps.

Ax fits the surrogate of every proposal from scratch with BoTorch's ``fit_gpytorch_mll`` and no optimizer options
(Ax 1.3.1's ``fit_botorch_model``): L-BFGS-B runs until it converges. With unordered choices Ax one-hot encodes each
value (NAS-Bench-201's 6 x 5 operations: 30 inputs, one length scale each), and that fit took two thirds of a
suggestion (2.35 of 4.2 s at 50 trials on 2 cores); capped at 50 iterations per fit attempt it took 0.18 s and the
hypervolume stayed level over 10 seeds (docs/bench-optimizer.md, "Cheaper GP fits on NAS-Bench-201").

:class:`CappedFitSingleTaskGP` is BoTorch's ``SingleTaskGP`` unchanged (same constructor, kernel, priors and
transforms as Ax builds them); only its fit differs: a function registered with Ax's ``fit_botorch_model``
dispatcher for this class calls ``fit_gpytorch_mll`` with ``optimizer_kwargs={"options": {"maxiter": n}}`` (the
batched fit of both objectives passes it to BoTorch's batched L-BFGS-B, the single-output fit to scipy's). ``n`` is
read from the model config's ``mll_options`` (key :data:`FIT_MAXITER_KEY`, removed before the marginal likelihood is
built; Ax's fully Bayesian models read their fit options from there too), so it is plain data saved with the
generation strategy. The class is registered with Ax's JSON registry (``register_model``) when this module is
imported: import it before loading a saved experiment whose strategy names it (the sweeper does).

With ``mll_options[WARM_START_KEY]`` set, each fit starts from the hyperparameters that the fit of the same sweep's
previous proposal ended with (:class:`WarmStarts`, process-local, found by the training inputs: a sweep's data only
grows) instead of the model's initial values, so a capped fit continues where the last one stopped. Each sweep keeps
its own fits (:func:`use_warm_starts` around its proposals), so two sweeps of one process never start from each
other's: a seeded sweep proposes the same trials however many ran before it.

:func:`configure_capped_fit` sets a BoTorch node's surrogate to this class. Naming a model class overrides Ax's own
choice of class: use it only where Ax would choose ``SingleTaskGP`` (no task, fidelity or categorical features: Ax's
default transforms one-hot encode every unordered choice), not with the categorical kernel of
:mod:`lightning_ecopt.sweeper.discrete`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import torch
from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
from ax.generators.torch.botorch_modular.utils import fit_botorch_model
from ax.storage.botorch_modular_registry import register_model
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from gpytorch.mlls import MarginalLogLikelihood
from torch import Tensor

__all__ = [
    "FIT_MAXITER",
    "FIT_MAXITER_KEY",
    "WARM_STARTS",
    "WARM_START_KEY",
    "CappedFitSingleTaskGP",
    "WarmStarts",
    "configure_capped_fit",
    "use_warm_starts",
]

FIT_MAXITER = 50
"""L-BFGS-B iterations per fit attempt when the model config does not say (BoTorch's default: scipy's 15,000)."""

FIT_MAXITER_KEY = "fit_maxiter"
"""Key of the iteration cap in the model config's ``mll_options``."""

WARM_START_KEY = "fit_warm_start"
"""Key of the warm-start switch in the model config's ``mll_options`` (absent: cold fits, as Ax's)."""


class CappedFitSingleTaskGP(SingleTaskGP):
    """BoTorch's ``SingleTaskGP``, fitted by Ax with L-BFGS-B capped at ``fit_maxiter`` iterations per attempt.

    The model itself is ``SingleTaskGP``'s (the constructor is not overridden, so Ax's input constructors see the
    same arguments); the cap comes from the model config's ``mll_options[FIT_MAXITER_KEY]`` (default
    :data:`FIT_MAXITER`) and applies in Ax's ``fit_botorch_model``. Fitted directly with BoTorch's
    ``fit_gpytorch_mll`` it fits like ``SingleTaskGP``.
    """


@fit_botorch_model.register(CappedFitSingleTaskGP)
def _fit_capped(
    model: CappedFitSingleTaskGP,
    mll_class: type[MarginalLogLikelihood],
    mll_options: dict[str, Any] | None = None,
) -> None:
    """Ax's fit of a GPyTorch model (``_fit_botorch_model_gpytorch``), L-BFGS-B capped, warm-started if asked."""
    options = dict(mll_options or {})
    maxiter = int(options.pop(FIT_MAXITER_KEY, FIT_MAXITER))
    warm_start = bool(options.pop(WARM_START_KEY, False))
    mll = mll_class(likelihood=model.likelihood, model=model, **options)
    fits = _ACTIVE_WARM_STARTS.get()
    if warm_start:
        fits.load(model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
    if warm_start:
        fits.remember(model)


def _train_inputs(model: SingleTaskGP) -> Tensor:
    """The model's training inputs as given, before its input transform.

    A fitted model is in eval mode, where BoTorch holds the transformed inputs in ``train_inputs`` (Ax's models
    normalise them to the unit cube); a new model in train mode holds them as given. Compared as they stood, a fit was
    found again only where the transform changes nothing (every input in [0, 1]): never in a space with a log-scaled,
    integer or ordered parameter, whose fits then all started cold.
    """
    original = getattr(model, "_original_train_inputs", None)
    if getattr(model, "_has_transformed_inputs", False) and original is not None:
        return original
    return model.train_inputs[0]


def _extends(x: Tensor, old_x: Tensor) -> bool:
    """Whether ``old_x``'s rows are the first rows of ``x`` (same batch shape and inputs)."""
    rows = old_x.shape[-2]
    return (
        old_x.shape[:-2] == x.shape[:-2]
        and old_x.shape[-1] == x.shape[-1]
        and rows <= x.shape[-2]
        and torch.equal(x[..., :rows, :], old_x)
    )


class WarmStarts:
    """The fitted hyperparameters of recent fits in this process, found again by their training inputs.

    A sweep's data only grows, so the fit of its previous proposal is the one whose training inputs are the first rows
    of this fit's: :meth:`load` starts the model there (its ``named_parameters``: kernel, likelihood and mean; the
    outcome transform's statistics are buffers and stay the new data's). Nothing is saved with the experiment: a
    sweep resumed in a new process starts cold once. One store a sweep (:func:`use_warm_starts`): stores are found by
    inputs only, so a second sweep on the same first configurations (the same seed, or a rerun) sharing one would
    start from the other's later fits, and propose other trials than it does alone.
    """

    def __init__(self, kept: int = 8) -> None:
        """Remember at most ``kept`` fits (one per sweep in progress in this process is enough)."""
        self._kept = kept
        self._fits: list[tuple[Tensor, dict[str, Tensor]]] = []

    def __len__(self) -> int:
        return len(self._fits)

    def clear(self) -> None:
        """Forget every fit."""
        self._fits.clear()

    def load(self, model: SingleTaskGP) -> bool:
        """Set ``model``'s hyperparameters to those of the remembered fit on the longest prefix of its data.

        Returns:
            Whether a fit was found and loaded (its parameters had the same names and shapes).
        """
        x = _train_inputs(model)
        prefixes = [(old_x.shape[-2], params) for old_x, params in self._fits if _extends(x, old_x)]
        if not prefixes:
            return False
        _, params = max(prefixes, key=lambda item: item[0])
        own = dict(model.named_parameters())
        if own.keys() != params.keys() or any(own[name].shape != value.shape for name, value in params.items()):
            return False
        with torch.no_grad():
            for name, value in params.items():
                own[name].copy_(value)
        return True

    def remember(self, model: SingleTaskGP) -> None:
        """Keep ``model``'s fitted hyperparameters, in place of the fits on a prefix of its data."""
        x = _train_inputs(model).detach().clone()
        params = {name: value.detach().clone() for name, value in model.named_parameters()}
        others = [(old_x, old) for old_x, old in self._fits if not _extends(x, old_x)]
        self._fits = [*others[max(0, len(others) - self._kept + 1) :], (x, params)]  # the newest kept - 1 others


WARM_STARTS = WarmStarts()
"""The fits that :class:`CappedFitSingleTaskGP` starts from when its model config asks for warm starts, outside
:func:`use_warm_starts` (a fit that Ax makes outside a sweep's proposals)."""

_ACTIVE_WARM_STARTS: ContextVar[WarmStarts] = ContextVar("ecopt_warm_starts", default=WARM_STARTS)


@contextlib.contextmanager
def use_warm_starts(fits: WarmStarts) -> Iterator[WarmStarts]:
    """Within this block, warm-started fits start from and add to ``fits`` (one sweep's store).

    Args:
        fits: The sweep's own store.

    Yields:
        ``fits``.
    """
    token = _ACTIVE_WARM_STARTS.set(fits)
    try:
        yield fits
    finally:
        _ACTIVE_WARM_STARTS.reset(token)


register_model(CappedFitSingleTaskGP)


def configure_capped_fit(
    generator_kwargs: dict[str, Any], *, maxiter: int = FIT_MAXITER, warm_start: bool = False
) -> None:
    """Set a BoTorch node's surrogate to :class:`CappedFitSingleTaskGP` with the iteration cap ``maxiter``.

    Every model config of the node's ``surrogate_spec`` (Ax's ``"fast"`` method has one, ``ModelConfig(name="MBM
    defaults")``) keeps its other settings; the class and the cap are plain data and a class that Ax's JSON storage
    knows, so they are saved with the generation strategy.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        maxiter: L-BFGS-B iterations per fit attempt, at least 1.
        warm_start: Start each fit from the previous proposal's fitted hyperparameters (:class:`WarmStarts`).

    Raises:
        ValueError: ``maxiter`` is below 1.
    """
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1:
        raise ValueError(f"configure_capped_fit(maxiter={maxiter!r}): maxiter must be an int >= 1.")
    spec = generator_kwargs.get("surrogate_spec") or SurrogateSpec()
    configs = [
        dataclasses.replace(
            config,
            botorch_model_class=CappedFitSingleTaskGP,
            mll_options={
                **config.mll_options,
                FIT_MAXITER_KEY: maxiter,
                **({WARM_START_KEY: True} if warm_start else {}),
            },
        )
        for config in spec.model_configs
    ]
    generator_kwargs["surrogate_spec"] = dataclasses.replace(spec, model_configs=configs)
