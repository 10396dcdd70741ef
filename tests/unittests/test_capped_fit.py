import pytest

torch = pytest.importorskip("torch")

from lightning_ecopt.sweeper.capped_fit import (  # noqa: E402
    FIT_MAXITER,
    FIT_MAXITER_KEY,
    CappedFitSingleTaskGP,
    configure_capped_fit,
)

pytestmark = pytest.mark.usefixtures("quiet_warnings")


def fit_maxiter_of(generator_kwargs):
    """The cap a BoTorch node's surrogate fits with, or None where it fits Ax's way (its first model config)."""
    spec = generator_kwargs.get("surrogate_spec")
    if spec is None or not spec.model_configs:
        return None
    config = spec.model_configs[0]
    if config.botorch_model_class is not CappedFitSingleTaskGP:
        return None
    return int(config.mll_options.get(FIT_MAXITER_KEY, FIT_MAXITER))


def _data(n_outputs):
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(24, 8, generator=generator, dtype=torch.double)
    Y = torch.stack([torch.sin(6 * X[:, :4].sum(-1)), X[:, 4:].prod(-1) * 9], dim=-1)[:, :n_outputs]
    return X, Y + 0.05 * torch.randn(Y.shape, generator=generator, dtype=torch.double)


def _fit(model_class, n_outputs, mll_options, rows=None):
    """Fit ``model_class`` as Ax does, on the first ``rows`` of :func:`_data` (all 24 by default)."""
    from ax.generators.torch.botorch_modular.utils import fit_botorch_model
    from gpytorch.mlls import ExactMarginalLogLikelihood

    X, Y = _data(n_outputs)
    model = model_class(X[:rows], Y[:rows])
    fit_botorch_model(model, mll_class=ExactMarginalLogLikelihood, mll_options=mll_options)
    return model


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_the_capped_model_stops_lbfgs_at_its_cap_where_singletaskgp_runs_on(lbfgs_runs, n_outputs):
    """Both fit routes (batched over two objectives, scipy for one) get maxiter and stop there; the same data fitted
    as Ax's ``SingleTaskGP`` runs past it."""
    from botorch.models import SingleTaskGP

    _fit(SingleTaskGP, n_outputs, {})
    assert [run["options"] for run in lbfgs_runs] == [None]
    assert lbfgs_runs[0]["iterations"] > 3  # the cap below binds on this data
    lbfgs_runs.clear()

    model = _fit(CappedFitSingleTaskGP, n_outputs, {FIT_MAXITER_KEY: 3})
    assert [run["options"] for run in lbfgs_runs] == [{"maxiter": 3}]
    assert lbfgs_runs[0]["iterations"] <= 3
    assert not model.training  # fitted: BoTorch leaves a model in train mode when every attempt failed


def test_the_cap_defaults_to_fit_maxiter_and_other_mll_options_reach_the_likelihood(lbfgs_runs):
    from gpytorch.mlls import ExactMarginalLogLikelihood

    built = []

    class RecordingMLL(ExactMarginalLogLikelihood):
        def __init__(self, likelihood, model, **kwargs):
            built.append(kwargs)
            super().__init__(likelihood, model)

    from ax.generators.torch.botorch_modular.utils import fit_botorch_model

    X, Y = _data(2)
    fit_botorch_model(CappedFitSingleTaskGP(X, Y), mll_class=RecordingMLL, mll_options={"marker": 1})
    assert built == [{"marker": 1}]
    assert [run["options"] for run in lbfgs_runs] == [{"maxiter": FIT_MAXITER}]


def test_the_capped_model_is_singletaskgp_with_the_same_constructor():
    """Ax reads the constructor's arguments (``inspect.getfullargspec``) to decide which submodules to pass."""
    import inspect

    from botorch.models import SingleTaskGP

    assert issubclass(CappedFitSingleTaskGP, SingleTaskGP)
    assert inspect.getfullargspec(CappedFitSingleTaskGP).args == inspect.getfullargspec(SingleTaskGP).args


def test_configure_capped_fit_sets_the_class_and_cap_and_keeps_the_rest():
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig

    kwargs = {"surrogate_spec": SurrogateSpec(model_configs=[ModelConfig(name="MBM defaults", mll_options={"a": 1})])}
    assert fit_maxiter_of(kwargs) is None
    configure_capped_fit(kwargs, maxiter=7)
    (config,) = kwargs["surrogate_spec"].model_configs
    assert config.botorch_model_class is CappedFitSingleTaskGP
    assert config.mll_options == {"a": 1, FIT_MAXITER_KEY: 7}
    assert config.name == "MBM defaults"
    assert fit_maxiter_of(kwargs) == 7
    empty: dict = {}
    configure_capped_fit(empty)
    assert fit_maxiter_of(empty) == FIT_MAXITER


@pytest.mark.parametrize("maxiter", [0, -1, 2.5, True, "50"])
def test_configure_capped_fit_refuses_a_bad_cap(maxiter):
    with pytest.raises(ValueError, match=r"configure_capped_fit\(maxiter=.*\): maxiter must be an int >= 1"):
        configure_capped_fit({}, maxiter=maxiter)


def test_the_model_class_round_trips_through_axs_json():
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.storage.json_store.decoder import object_from_json
    from ax.storage.json_store.encoder import object_to_json

    kwargs: dict = {"surrogate_spec": SurrogateSpec()}
    configure_capped_fit(kwargs, maxiter=11)
    decoded = object_from_json(object_to_json(kwargs["surrogate_spec"]))
    assert fit_maxiter_of({"surrogate_spec": decoded}) == 11


@pytest.fixture
def warm_starts():
    """The process's remembered fits, empty before and after the test."""
    from lightning_ecopt.sweeper.capped_fit import WARM_STARTS

    WARM_STARTS.clear()
    yield WARM_STARTS
    WARM_STARTS.clear()


def _parameters(model):
    return {name: value.detach().clone() for name, value in model.named_parameters()}


def test_a_warm_fit_starts_where_the_fit_on_the_first_rows_of_its_data_ended(lbfgs_runs, warm_starts):
    from lightning_ecopt.sweeper.capped_fit import WARM_START_KEY

    warm = {FIT_MAXITER_KEY: 500, WARM_START_KEY: True}
    first = _fit(CappedFitSingleTaskGP, 2, rows=20, mll_options=warm)
    assert len(warm_starts) == 1
    # The next proposal's data: one row more. Its model starts at the first fit's optimum...
    grown = CappedFitSingleTaskGP(*(t[:21] for t in _data(2)))
    assert warm_starts.load(grown)
    assert all(torch.equal(value, _parameters(first)[name]) for name, value in _parameters(grown).items())
    # ...and a refit of the same data, from its own optimum, stops at once where a cold fit runs on.
    lbfgs_runs.clear()
    _fit(CappedFitSingleTaskGP, 2, rows=20, mll_options={FIT_MAXITER_KEY: 500})
    _fit(CappedFitSingleTaskGP, 2, rows=20, mll_options=warm)
    cold, again = (run["iterations"] for run in lbfgs_runs)
    assert cold > 10
    assert again <= 2
    assert len(warm_starts) == 1  # the newer fit of the same data replaced the older one


def test_a_warm_fit_is_found_again_through_the_input_transform_ax_gives_the_model(warm_starts):
    # Ax normalises a model's inputs to the unit cube; a fitted model (eval mode) holds them transformed, a new one as
    # given: compared so, a fit was never found again in a space with a column outside [0, 1] (a log-scaled lr, an
    # int range), and every capped fit there started cold.
    from botorch.models.transforms.input import Normalize

    from lightning_ecopt.sweeper.capped_fit import WARM_START_KEY

    X, Y = _data(2)
    X = X * 3.0 - 4.0  # e.g. log10(lr) over [-4, -1]
    bounds = torch.tensor([[-4.0] * 8, [-1.0] * 8], dtype=torch.double)

    def model(rows):
        return CappedFitSingleTaskGP(X[:rows], Y[:rows], input_transform=Normalize(8, bounds=bounds))

    from ax.generators.torch.botorch_modular.utils import fit_botorch_model
    from gpytorch.mlls import ExactMarginalLogLikelihood

    first = model(20)
    fit_botorch_model(
        first, mll_class=ExactMarginalLogLikelihood, mll_options={FIT_MAXITER_KEY: 500, WARM_START_KEY: True}
    )
    grown = model(21)
    assert warm_starts.load(grown)
    assert all(torch.equal(value, _parameters(first)[name]) for name, value in _parameters(grown).items())


def test_warm_starts_ignore_fits_of_other_data_and_cold_configs_remember_nothing(lbfgs_runs, warm_starts):
    from lightning_ecopt.sweeper.capped_fit import WARM_START_KEY

    _fit(CappedFitSingleTaskGP, 2, rows=20, mll_options={WARM_START_KEY: True})
    other = torch.rand(20, 8, generator=torch.Generator().manual_seed(1), dtype=torch.double)
    stranger = CappedFitSingleTaskGP(other, _data(2)[1][:20])
    before = _parameters(stranger)
    assert not warm_starts.load(stranger)
    assert all(torch.equal(value, before[name]) for name, value in _parameters(stranger).items())
    shorter = CappedFitSingleTaskGP(*(t[:19] for t in _data(2)))  # a prefix of the remembered data, not an extension
    assert not warm_starts.load(shorter)
    _fit(CappedFitSingleTaskGP, 2, rows=21, mll_options={})  # no warm-start key: Ax's way, nothing remembered
    assert len(warm_starts) == 1


@pytest.mark.parametrize("kept", [2, 8])
def test_warm_starts_keep_one_fit_per_sweep_and_at_most_kept(warm_starts, kept):
    from lightning_ecopt.sweeper.capped_fit import WarmStarts

    starts = WarmStarts(kept=kept)
    data_Y = _data(2)[1]
    sweeps = [
        torch.rand(22, 8, generator=torch.Generator().manual_seed(s), dtype=torch.double) for s in range(kept + 1)
    ]
    for n, X in enumerate(sweeps, start=1):
        for rows in (20, 21):
            starts.remember(CappedFitSingleTaskGP(X[:rows], data_Y[:rows]))
        assert len(starts) == min(n, kept)  # one per sweep (its 21-row fit), up to kept (8 held only 4)
    assert not starts.load(CappedFitSingleTaskGP(sweeps[0][:22], data_Y[:22]))  # the oldest, dropped
    assert all(starts.load(CappedFitSingleTaskGP(X[:22], data_Y[:22])) for X in sweeps[1:])


def test_configure_capped_fit_saves_the_warm_start_switch():
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.storage.json_store.decoder import object_from_json
    from ax.storage.json_store.encoder import object_to_json

    from lightning_ecopt.sweeper.capped_fit import WARM_START_KEY

    kwargs: dict = {"surrogate_spec": SurrogateSpec()}
    configure_capped_fit(kwargs, maxiter=20, warm_start=True)
    decoded = object_from_json(object_to_json(kwargs["surrogate_spec"]))
    assert decoded.model_configs[0].mll_options == {FIT_MAXITER_KEY: 20, WARM_START_KEY: True}
    cold: dict = {}
    configure_capped_fit(cold)
    assert WARM_START_KEY not in cold["surrogate_spec"].model_configs[0].mll_options
