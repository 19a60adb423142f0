"""The threshold stage's walk over learning rates, on constructed training curves.

A stand-in run answers each fit with a cost curve set by the test: the cost
falls for every learning rate up to a true threshold and oscillates above
it. The full sweep tries every coarse rate at once; a candidate's re-tune
starts from a known threshold and must reach the same verdict with fewer
fits.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sknn.tuning import _stages

COARSE = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)


class CurveRun:
    """A run whose fits' training costs fall exactly when eta <= ``true_threshold``."""

    prefix = ""

    def __init__(self, true_threshold):
        self.true_threshold = true_threshold
        self.etas = []
        self.splits = [(np.arange(80), np.arange(80, 100))]
        self.y = np.arange(100) % 2
        self.subsample_seed = 0
        self.settings = {
            "learning_rates": COARSE,
            "threshold_refine_factors": (2.0, 5.0),
            "threshold_fraction": 0.5,
            "threshold_epochs": 3,
            "subsample": None,
        }

    def current(self, name):
        return 0.0

    def rows(self, indices):
        return None, None, {}

    def candidate(self, **params):
        return SimpleNamespace(**params)

    def work(self, params, n_rows, epochs=None):
        return 1.0

    def map(self, jobs, units=None, measure=None, expected=()):
        return [self._curve(args[0].learning_rate) for _, args, _ in jobs]

    def _curve(self, eta):
        self.etas.append(eta)
        # Below the threshold a larger step goes further: a lower last cost.
        lower = 0.05 * math.log10(eta)
        falls = eta <= self.true_threshold
        costs = [4.0 - lower, 3.0 - lower, 2.0 - lower] if falls else [4, 4.5, 3.5]
        return {"initial_cost": 5.0, "costs": costs, "stop_reason": "completed"}


def threshold(true_threshold, start=None):
    run = CurveRun(true_threshold)
    result = _stages._LearningRateThreshold().run(run, {}, start)
    return result, run.etas


def test_a_re_tune_tries_the_rates_around_the_known_threshold():
    result, etas = threshold(3.0, start=1.0)
    assert etas == [0.1, 1.0, 10.0, 2.0, 5.0]
    assert result.details["threshold"] == 2.0
    assert result.chosen == 1.0
    full, all_etas = threshold(3.0)
    assert full.chosen == result.chosen
    assert len(all_etas) == len(COARSE) + 2


def test_a_re_tune_walks_up_while_the_largest_rate_falls():
    result, etas = threshold(3.0, start=0.002)
    assert etas == [0.001, 0.01, 0.1, 1.0, 10.0, 2.0, 5.0]
    assert result.details["threshold"] == 2.0


def test_a_re_tune_walks_down_while_the_smallest_rate_does_not_fall():
    result, etas = threshold(0.05, start=100.0)
    assert etas == [10.0, 100.0, 1.0, 0.1, 0.01, 0.02, 0.05]
    assert result.details["threshold"] == 0.05
    assert result.chosen == 0.025


def test_a_re_tune_with_no_falling_rate_says_so():
    with pytest.raises(
        _stages._NoLearningRateFell, match=r"0\.001, the smallest tried"
    ):
        threshold(1e-4, start=1.0)


def test_a_re_tune_is_counted_as_three_coarse_rates_and_the_refinements():
    run = CurveRun(1.0)
    stage = _stages._LearningRateThreshold()
    assert len(stage.units(run, {}, start=1.0)) == 3 + 2
    assert len(stage.units(run, {})) == len(COARSE) + 2


@settings(max_examples=60, deadline=None)
@given(
    true_exponent=st.floats(-2.9, 2.9),
    start_exponent=st.floats(-3.5, 2.5),
)
def test_a_re_tune_finds_the_full_sweeps_threshold(true_exponent, start_exponent):
    """Wherever it starts, the walk ends where trying every rate would."""
    full, all_etas = threshold(10**true_exponent)
    walked, etas = threshold(10**true_exponent, start=10**start_exponent)
    assert walked.details["threshold"] == full.details["threshold"]
    assert walked.chosen == full.chosen
    assert len(etas) <= len(all_etas)
