"""q(Log)NEHVI scores a screened few configurations where Ax would score every one (``loop._SCREEN_ENUMERATED``)."""

import json

import pytest

torch = pytest.importorskip("torch")

from lightning_ecopt.sweeper import discrete, loop  # noqa: E402
from lightning_ecopt.sweeper.loop import ParetoSweep  # noqa: E402
from lightning_ecopt.sweeper.objectives import parse_objectives  # noqa: E402
from lightning_ecopt.sweeper.settings import SweepSettings  # noqa: E402
from lightning_ecopt.sweeper.space import parse_search_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_warnings")

INTS = {"x": "int(interval(0, 29))", "y": "int(interval(0, 29))"}
"""900 configurations of two int intervals: fully discrete for Ax, which scores every one (under 10,000)."""


def bowl(p):
    x, y = p["x"] / 29, p["y"] / 29
    return {"f1": (x - 0.3) ** 2 + 0.5 * y, "f2": (1 - x) ** 2 + (y - 0.6) ** 2}


def make_sweep(params=INTS, **settings):
    settings.setdefault("seed", 0)
    config = SweepSettings(parse_objectives({"f1": "minimize", "f2": "minimize"}, None), **settings)
    return ParetoSweep.from_function(parse_search_space(params, []), config, bowl)


def botorch_kwargs(sweep):
    strategy = sweep._generation_strategy()
    kwargs = [s.generator_kwargs for n in strategy.nodes_by_name.values() for s in n.generator_specs]
    (botorch,) = [k for k in kwargs if "default_model_gen_options" in k]
    return botorch


@pytest.fixture
def scored(monkeypatch):
    """The number of configurations each model proposal scored, and by whom: ``("ours" | "ax", count)``."""
    import ax.generators.torch.botorch_modular.acquisition as ax_acquisition

    calls: list[tuple[str, int]] = []
    ours, axs = discrete.optimize_acqf_discrete, ax_acquisition.optimize_acqf_discrete

    def spy(who, real):
        def optimize(*args, **kwargs):
            choices = kwargs["choices"]
            avoid = kwargs.get("X_avoid")
            avoided = {tuple(r) for r in avoid.tolist()} if avoid is not None else set()
            calls.append((who, sum(tuple(r) not in avoided for r in choices.tolist())))
            return real(*args, **kwargs)

        return optimize

    monkeypatch.setattr(discrete, "optimize_acqf_discrete", spy("ours", ours))
    monkeypatch.setattr(ax_acquisition, "optimize_acqf_discrete", spy("ax", axs))
    return calls


def test_qnehvi_scores_only_the_screened_configurations_where_ax_would_score_every_one(monkeypatch, scored):
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    result = make_sweep(n_trials=8, n_initial_trials=5).run()
    assert scored == [("ours", 40)] * 3  # the three model proposals, 40 of the ~895 untried configurations each
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 8


def test_without_the_screen_ax_scores_every_untried_configuration(monkeypatch, scored):
    """The control of the test above: what the screen saves."""
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", None)
    make_sweep(n_trials=8, n_initial_trials=5).run()
    assert scored == [("ax", 895), ("ax", 894), ("ax", 893)]


def test_the_screen_keeps_the_proposal_that_scoring_every_configuration_makes(monkeypatch):
    """On a smooth problem the best of all 900 configurations is among the screened 40: the same sweep either way.
    (On the paper's CNN space the screen kept qNEHVI's best configuration at every one of 13 checkpoints from 45 to
    195 trials, keeping 64 of about 7,600: docs/bench-optimizer.md.)"""
    runs = []
    for screened in (40, None):
        monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", screened)
        runs.append([t.params for t in make_sweep(n_trials=9, n_initial_trials=5).run().trials])
    assert runs[0] == runs[1]


def test_fewer_untried_configurations_than_the_screen_keeps_are_all_scored_by_ax(monkeypatch, scored):
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    make_sweep(params={"x": "int(interval(0, 5))", "y": "int(interval(0, 4))"}, n_trials=7, n_initial_trials=5).run()
    assert scored == [("ax", 25), ("ax", 24)]


def test_passes_are_bounded_by_the_baseline_squared(monkeypatch):
    """qNEHVI's posterior per candidate is (baseline + 1)^2: Ax's passes of 2,048 reached 11.7 GB at 257 points."""
    passes = []
    real = discrete.optimize_acqf_discrete

    def spy(*args, **kwargs):
        passes.append((kwargs["max_batch_size"], int(kwargs["acq_function"].X_baseline.shape[-2])))
        return real(*args, **kwargs)

    monkeypatch.setattr(discrete, "optimize_acqf_discrete", spy)
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    monkeypatch.setattr(discrete, "_SCORE_ELEMENTS", 200)
    make_sweep(n_trials=7, n_initial_trials=5).run()
    assert len(passes) == 2
    assert all(size == max(1, 200 // (n + 1) ** 2) for size, n in passes)
    assert all(size < 40 for size, _ in passes)


def test_passes_are_bounded_where_ax_scores_the_few_untried_configurations(monkeypatch):
    """Late in a sweep of a small space (fewer untried configurations than the screen keeps) the baseline is at its
    largest: Ax's passes of 2,048 candidates took 2.25 GB at 250 baseline points and 350 untried of 600."""
    import ax.generators.torch.botorch_modular.acquisition as ax_acquisition

    passes = []
    real = ax_acquisition.optimize_acqf_discrete

    def spy(*args, **kwargs):
        passes.append((kwargs["max_batch_size"], int(kwargs["acq_function"].X_baseline.shape[-2])))
        return real(*args, **kwargs)

    monkeypatch.setattr(ax_acquisition, "optimize_acqf_discrete", spy)
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    monkeypatch.setattr(discrete, "_SCORE_ELEMENTS", 200)
    make_sweep(params={"x": "int(interval(0, 5))", "y": "int(interval(0, 4))"}, n_trials=7, n_initial_trials=5).run()
    assert len(passes) == 2  # Ax's way: 25, then 24 untried configurations, fewer than the 40 the screen keeps
    assert all(size == max(1, 200 // (n + 1) ** 2) for size, n in passes)


SCREEN = 128  # loop._SCREEN_ENUMERATED, the default


@pytest.mark.parametrize(
    ("params", "acquisition", "expected"),
    [
        (INTS, "qNEHVI", (discrete.ScreenedAcquisition, SCREEN)),
        (INTS, "qLogNEHVI", (discrete.ScreenedAcquisition, SCREEN)),
        ({"a": "choice(p, q, r)", "x": "int(interval(0, 9))"}, "qNEHVI", (discrete.ScreenedAcquisition, SCREEN)),
        # A space of choices: rounded to untried configurations too.
        ({"a": "choice(p, q, r)", "b": "choice(1, 2, 3)"}, "qNEHVI", (discrete.NearestUntriedAcquisition, SCREEN)),
        (INTS, "EHVI", (None, None)),  # analytic EHVI scores each configuration on its own: cheap
        ({**INTS, "lr": "interval(0.1, 1)"}, "qNEHVI", (None, None)),  # a float: Ax never scores every configuration
    ],
)
def test_the_screen_is_set_where_ax_may_score_every_configuration_with_a_baseline(params, acquisition, expected):
    kwargs = botorch_kwargs(make_sweep(params=params, n_trials=10, acquisition=acquisition))
    options = kwargs.get("acquisition_options") or {}
    assert (kwargs.get("acquisition_class"), options.get("max_scored")) == expected
    assert options.get("prune_irrelevant_parameters") is False  # Ax's own option, kept beside ours


def test_a_sweep_saved_without_the_screen_resumes_scoring_every_configuration(monkeypatch, scored, tmp_path):
    """The saved strategy decides: a sweep begun before the screen existed goes on as it began."""
    storage = tmp_path / "ax.json"
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", None)
    make_sweep(n_trials=6, n_initial_trials=5, storage=storage).run()
    assert scored == [("ax", 895)]
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    assert make_sweep(n_trials=7, n_initial_trials=5, storage=storage).run().n_finished == 7
    assert scored == [("ax", 895), ("ax", 894)]


def test_a_resumed_sweep_keeps_its_screen(monkeypatch, scored, tmp_path):
    storage = tmp_path / "ax.json"
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    make_sweep(n_trials=6, n_initial_trials=5, storage=storage).run()
    assert "ScreenedAcquisition" in storage.read_text()
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", None)
    assert make_sweep(n_trials=7, n_initial_trials=5, storage=storage).run().n_finished == 7
    assert scored == [("ours", 40), ("ours", 40)]


def test_a_screened_sweep_is_reproducible_with_its_seed(monkeypatch):
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", 40)
    torch.manual_seed(1)  # the screen's draws are its own: the global generator's state changes nothing
    first = [t.params for t in make_sweep(n_trials=8, n_initial_trials=5).run().trials]
    torch.manual_seed(2)
    assert [t.params for t in make_sweep(n_trials=8, n_initial_trials=5).run().trials] == first


@pytest.mark.parametrize("max_scored", [0, -1, True, 2.5])
def test_configure_screened_refuses_a_count_that_is_not_a_positive_int(max_scored):
    with pytest.raises(ValueError, match=r"configure_screened\(max_scored=.*\): expected an int of at least 1"):
        discrete.configure_screened({}, max_scored)
