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

:func:`configure_capped_fit` sets a BoTorch node's surrogate to this class. Naming a model class overrides Ax's own
choice of class: use it only where Ax would choose ``SingleTaskGP`` (no task, fidelity or categorical features: Ax's
default transforms one-hot encode every unordered choice), not with the categorical kernel of
:mod:`lightning_ecopt.sweeper.discrete`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
from ax.generators.torch.botorch_modular.utils import fit_botorch_model
from ax.storage.botorch_modular_registry import register_model
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from gpytorch.mlls import MarginalLogLikelihood

__all__ = ["FIT_MAXITER", "FIT_MAXITER_KEY", "CappedFitSingleTaskGP", "configure_capped_fit"]

FIT_MAXITER = 50
"""L-BFGS-B iterations per fit attempt when the model config does not say (BoTorch's default: scipy's 15,000)."""

FIT_MAXITER_KEY = "fit_maxiter"
"""Key of the iteration cap in the model config's ``mll_options``."""


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
    """Ax's fit of a GPyTorch model (``_fit_botorch_model_gpytorch``) with L-BFGS-B capped (see the module)."""
    options = dict(mll_options or {})
    maxiter = int(options.pop(FIT_MAXITER_KEY, FIT_MAXITER))
    mll = mll_class(likelihood=model.likelihood, model=model, **options)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})


register_model(CappedFitSingleTaskGP)


def configure_capped_fit(generator_kwargs: dict[str, Any], *, maxiter: int = FIT_MAXITER) -> None:
    """Set a BoTorch node's surrogate to :class:`CappedFitSingleTaskGP` with the iteration cap ``maxiter``.

    Every model config of the node's ``surrogate_spec`` (Ax's ``"fast"`` method has one, ``ModelConfig(name="MBM
    defaults")``) keeps its other settings; the class and the cap are plain data and a class that Ax's JSON storage
    knows, so they are saved with the generation strategy.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        maxiter: L-BFGS-B iterations per fit attempt, at least 1.

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
            mll_options={**config.mll_options, FIT_MAXITER_KEY: maxiter},
        )
        for config in spec.model_configs
    ]
    generator_kwargs["surrogate_spec"] = dataclasses.replace(spec, model_configs=configs)
