"""Each network stage's decision on constructed scores, without fitting a network.

The stages fit through the run they are handed; here a stand-in run answers
with scores set by the test, so each decision rule is checked on a case
built for it.
"""

import numpy as np
import pytest

from sknn.tuning import _network_stages as network_stages


class ScriptedRun:
    """A run whose candidates score what ``score(candidate)`` says."""

    prefix = ""

    def __init__(
        self, score, train_score=1.0, budget_fits=None, n_workers=1, **settings
    ):
        self.score = score
        self.workers = n_workers
        self.train_score = train_score
        self.budget_fits = budget_fits
        self.n_fits = 0
        self.splits = [(np.arange(90), np.arange(90, 100))]
        self.settings = {
            "min_improvement": 0.01,
            "width_factor": 2.0,
            "max_width": 1000,
            "max_depth": 2,
            "costs": ["cross_entropy", "log_likelihood"],
            "activations": ["sigmoid", "tanh", "relu"],
            "momentums": [0.5, 0.9],
            "dropouts": [0.2, 0.5],
            "dropout_gap": 0.02,
            "validation_fraction": 0.2,
            **settings,
        }
        self.params = {
            "hidden_layer_sizes": (30,),
            "activation": "sigmoid",
            "initializer": "default",
            "cost": "cross_entropy",
            "momentum": 0.0,
            "dropout": 0.0,
            "learning_rate_schedule": "constant",
            "validation_fraction": None,
            "learning_rate": 0.5,
        }
        self.has_validation_data = False
        self.scored = []

    def current(self, name):
        return self.params[name]

    def margin(self, score):
        return self.settings["min_improvement"]

    def n_workers(self):
        return self.workers

    def refit_units(self, **candidate):
        return 1

    def search_units(self, candidates):
        return [1] * len(candidates)

    def affords(self, batches, refit_units):
        n_fits = sum(len(units) for units in batches)
        if self.budget_fits is not None and self.n_fits + n_fits > self.budget_fits:
            return False, "max_fits"
        return True, ""

    def unscored(self, candidates, *, train_score=False):
        return candidates

    def score_candidates(self, candidates, *, train_score=False):
        self.n_fits += len(candidates)
        self.scored.extend(candidates)
        results = {
            "mean_test_score": np.array([self.score(c) for c in candidates]),
            "searches": [{"params": candidates}],
        }
        if train_score:
            results["mean_train_score"] = np.full(len(candidates), self.train_score)
        return results

    def log(self, message):
        pass


@pytest.fixture(autouse=True)
def eta_of_each_candidate(monkeypatch):
    """Each re-tuned candidate gets eta 0.1 without a threshold search."""
    monkeypatch.setattr(
        network_stages._ChoiceStage,
        "_retuned",
        lambda self, run, candidate, notes: (
            {**candidate, "learning_rate": 0.1} if self.retune else candidate
        ),
    )


def by_width(scores):
    return lambda candidate: scores[candidate["hidden_layer_sizes"]]


def test_width_stops_growing_when_the_score_stops_improving():
    run = ScriptedRun(
        by_width({(30,): 0.90, (60,): 0.93, (120,): 0.93, (240,): 0.99, (60, 60): 0.92})
    )
    result = network_stages._Architecture().run(run)
    # 120 scores no higher than 60, so 240 is never tried; then one more layer.
    assert result.tried == [(30,), (60,), (120,), (60, 60)]
    assert result.chosen == (60,)
    assert result.also == {"learning_rate": 0.1}
    assert result.score == 0.93


def test_width_follows_small_gains_but_chooses_only_by_the_margin():
    # Each doubling gains less than the margin (0.01), two gain more: the
    # growth goes on while the score rises, and 120 is the first shape to
    # beat 30 by the margin; 240 does not beat 120 by it.
    scores = {(30,): 0.90, (60,): 0.906, (120,): 0.912, (240,): 0.915, (480,): 0.914}
    run = ScriptedRun(by_width({**scores, (120, 120): 0.91}))
    result = network_stages._Architecture().run(run)
    assert result.tried == [*scores, (120, 120)]
    assert result.chosen == (120,)
    assert "chose [120]" in result.reason


@pytest.mark.parametrize("n_workers", [1, 2, 4])
def test_width_choices_do_not_depend_on_the_workers(n_workers):
    # 60 scores below 30, so growth stops there, though 120 would have won:
    # with idle workers the stage must not try 120 alongside 60 and take it.
    scores = {(30,): 0.90, (60,): 0.89, (120,): 0.95, (30, 30): 0.88}
    run = ScriptedRun(by_width(scores), n_workers=n_workers)
    result = network_stages._Architecture().run(run)
    assert result.tried == [(30,), (60,), (30, 30)]
    assert result.chosen == (30,)


def test_width_keeps_growing_up_to_max_width_then_tries_depth():
    scores = {(30,): 0.5, (60,): 0.6, (120,): 0.7, (120, 120): 0.8}
    run = ScriptedRun(by_width(scores), max_width=120)
    result = network_stages._Architecture().run(run)
    assert result.tried == [(30,), (60,), (120,), (120, 120)]
    assert result.chosen == (120, 120)


def test_architecture_keeps_the_network_when_nothing_is_better():
    run = ScriptedRun(lambda c: 0.9, max_depth=1)
    result = network_stages._Architecture().run(run)
    assert result.chosen == (30,)
    assert result.also == {}
    assert "kept [30]" in result.reason


def test_architecture_stops_growing_when_the_budget_runs_out():
    run = ScriptedRun(lambda c: sum(c["hidden_layer_sizes"]) / 1000, budget_fits=3)
    result = network_stages._Architecture().run(run)
    assert result.tried == [(30,), (60,), (120,)]
    assert "stopped growing" in result.reason


def test_activation_comes_with_its_initializer_and_eta():
    scores = {"sigmoid": 0.90, "tanh": 0.905, "relu": 0.95}
    run = ScriptedRun(lambda c: scores[c["activation"]])
    result = network_stages._Activation().run(run)
    assert result.chosen == "relu"
    assert result.also == {"initializer": "he", "learning_rate": 0.1}
    assert [c["activation"] for c in run.scored] == ["sigmoid", "tanh", "relu"]


def test_cost_keeps_the_current_one_on_a_near_tie():
    scores = {"cross_entropy": 0.90, "log_likelihood": 0.905}
    result = network_stages._Cost().run(ScriptedRun(lambda c: scores[c["cost"]]))
    assert result.chosen == "cross_entropy"


def test_momentum_values_are_tried_each_with_eta():
    scores = {0.0: 0.90, 0.5: 0.92, 0.9: 0.94}
    result = network_stages._Momentum().run(
        ScriptedRun(lambda c: scores[c["momentum"]])
    )
    assert result.chosen == 0.9
    assert result.also == {"learning_rate": 0.1}


def test_halving_schedule_holds_out_validation_rows_when_none_are_given():
    scores = {"constant": 0.90, "halving": 0.95}
    run = ScriptedRun(lambda c: scores[c["learning_rate_schedule"]])
    result = network_stages._Schedule().run(run)
    assert result.chosen == "halving"
    assert result.also == {"validation_fraction": 0.2}  # not re-tuned: eta0 stays


def test_dropout_is_not_tried_on_a_network_that_does_not_overfit():
    run = ScriptedRun(lambda c: 0.95 if c["dropout"] == 0 else 0.99, train_score=0.96)
    result = network_stages._Dropout().run(run)
    assert result.chosen == 0.0
    assert [c["dropout"] for c in run.scored] == [0.0]
    assert "does not overfit" in result.reason


def test_dropout_is_tried_on_a_network_that_overfits():
    scores = {0.0: 0.95, 0.2: 0.97, 0.5: 0.96}
    run = ScriptedRun(lambda c: scores[c["dropout"]], train_score=1.0)
    result = network_stages._Dropout().run(run)
    assert result.chosen == 0.2
    assert [c["dropout"] for c in run.scored] == [0.0, 0.2, 0.5]
