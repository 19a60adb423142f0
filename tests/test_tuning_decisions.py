"""The rules BookSearchCV's stages decide by, on constructed numbers (no fitting)."""

import math

import numpy as np
import pytest
import scipy.sparse

from sknn.tuning._decisions import (
    _best_candidate,
    _checked_factors,
    _checked_values,
    _combine_verdicts,
    _fastest_good_enough,
    _fit_speed,
    _initializer_for,
    _judge_costs,
    _keeps_growing,
    _kept_unless_beaten,
    _margin,
    _mean_curve,
    _median_epoch,
    _merged_results,
    _overfits,
    _predicted_seconds,
    _slower_than_smaller,
    _threshold,
)
from sknn.tuning._workers import LONE_FIT_GAIN, fit_gain, input_work, lone_fit_threads


@pytest.mark.parametrize(
    ("costs", "stop_reason", "verdict"),
    [
        ([5.0, 4.0, 3.0], "epochs", ("fell", None)),
        ([5.0, 5.5, 3.0], "epochs", ("oscillated", 2)),
        ([5.0, 5.0, 4.0], "epochs", ("oscillated", 2)),  # level is not falling
        ([7.0, 6.0, 5.0], "epochs", ("oscillated", 1)),  # not below the start
        ([5.0, 8.5, 3.0], "epochs", ("diverged", 2)),  # above the untrained cost
        ([5.0, math.inf], "diverged", ("diverged", 2)),
        ([5.0, math.nan], "diverged", ("diverged", 2)),
        ([5.0, 4.0], "diverged", ("diverged", 2)),  # the estimator said so
        ([3.26, 3.2599, 3.2598], "epochs", ("stalled", 2)),  # every ReLU died
    ],
)
def test_judge_costs_against_the_untrained_cost(costs, stop_reason, verdict):
    assert _judge_costs(7.0, costs, stop_reason) == verdict


def test_one_verdict_over_folds_is_the_worst_and_earliest():
    fell = ("fell", None)
    assert _combine_verdicts([fell, fell]) == fell
    assert _combine_verdicts([fell, ("oscillated", 3), ("oscillated", 2)]) == (
        "oscillated",
        2,
    )
    assert _combine_verdicts([("oscillated", 1), ("diverged", 3)]) == ("diverged", 3)


def test_threshold_is_the_last_that_fell_before_the_first_failure():
    verdicts = {
        0.01: ("fell", None),
        0.1: ("fell", None),
        1.0: ("oscillated", 2),
        10.0: ("fell", None),  # fell by luck above a failure: not the threshold
    }
    assert _threshold([0.01, 0.1, 1.0, 10.0], verdicts) == (0.1, 1.0)
    assert _threshold([0.01, 0.1], verdicts) == (0.1, None)
    assert _threshold([1.0, 10.0], verdicts) == (None, 1.0)


def test_a_rate_that_ends_above_a_smaller_ones_cost_is_past_the_threshold():
    fell = ("fell", None)
    verdicts = {0.1: fell, 1.0: fell, 5.0: fell, 10.0: ("diverged", 1)}
    final = {0.1: 2.7, 1.0: 0.5, 5.0: 1.6, 10.0: math.nan}
    judged = _slower_than_smaller(verdicts, final)
    assert judged == {**verdicts, 5.0: ("slower", 1.0)}
    assert _threshold(sorted(judged), judged) == (1.0, 5.0)


def test_mean_curve_pads_a_diverged_fold_with_nan():
    curve = _mean_curve([[3.0, 2.0, 1.0], [5.0, math.inf]])
    np.testing.assert_array_equal(curve, [4.0, np.nan, np.nan])


@pytest.mark.parametrize(
    ("epochs", "chosen"), [([10, 20, 30], 20), ([10, 11], 11), ([7], 7)]
)
def test_median_epoch_is_a_whole_number_rounded_up(epochs, chosen):
    assert _median_epoch(epochs) == chosen


def _cv_results(sizes, scores, times):
    return {
        "params": [{"batch_size": size} for size in sizes],
        "mean_test_score": np.array(scores),
        "mean_fit_time": np.array(times),
    }


def test_batch_size_is_the_fastest_within_the_tolerance():
    results = _cv_results([10, 20, 50], [0.950, 0.949, 0.930], [3.0, 1.0, 0.5])
    assert _fastest_good_enough(results, 0.002) == (20, 1, 0.950)
    assert _fastest_good_enough(results, 0.0) == (10, 0, 0.950)
    assert _fastest_good_enough(results, 0.05)[0] == 50


def test_batch_size_gives_up_score_only_for_a_real_speed_up():
    # MNIST's [400] network, seed 2: 50 was 2% faster than 20 and 0.0018 worse.
    results = _cv_results(
        [10, 20, 50, 100], [0.9803, 0.9818, 0.9800, 0.9759], [6.03, 6.10, 5.97, 5.94]
    )
    assert _fastest_good_enough(results, 0.002) == (20, 1, 0.9818)
    results["mean_fit_time"][2] = 0.85 * 6.10
    assert _fastest_good_enough(results, 0.002)[0] == 50


def test_batch_size_among_equal_best_scores_is_the_fastest():
    results = _cv_results([10, 20, 50], [0.97, 0.97, 0.96], [1.0, 0.98, 0.5])
    assert _fastest_good_enough(results, 0.002)[0] == 20


def test_batch_size_skips_failed_fits_and_refuses_when_all_failed():
    results = _cv_results([10, 20], [np.nan, 0.9], [0.1, 1.0])
    assert _fastest_good_enough(results, 0.01)[0] == 20
    with pytest.raises(ValueError, match="Every mini-batch size failed"):
        _fastest_good_enough(_cv_results([10], [np.nan], [1.0]), 0.01)


def test_checked_values_sorts_and_removes_duplicates():
    assert _checked_values("x", [1.0, 0.1, 1], kind="positive") == [0.1, 1.0]
    assert _checked_values("x", (0, 1.0), kind="non-negative") == [0.0, 1.0]
    assert _checked_values("x", np.array([50, 10]), kind="positive integer") == [10, 50]


@pytest.mark.parametrize(
    ("values", "kind", "error", "words"),
    [
        ("0.1", "positive", TypeError, ["x must be a list"]),
        (3.0, "positive", TypeError, ["x must be a list"]),
        ([], "positive", ValueError, ["x is empty"]),
        ([1.0, 0.0], "positive", ValueError, ["positive", "[0.0]"]),
        ([1.0, -1.0], "non-negative", ValueError, ["[-1.0]"]),
        ([1.0, math.nan], "positive", ValueError, ["[nan]"]),
        ([10, True], "positive integer", ValueError, ["[True]"]),
        ([10, 2.5], "positive integer", ValueError, ["[2.5]"]),
    ],
)
def test_checked_values_names_what_is_wrong(values, kind, error, words):
    with pytest.raises(error) as raised:
        _checked_values("x", values, kind=kind)
    for word in words:
        assert word in str(raised.value)


def test_refinement_factors_may_be_empty_but_threshold_ones_exceed_one():
    assert _checked_factors("f", ()) == []
    assert _checked_factors("f", (2.0, 0.5)) == [0.5, 2.0]
    with pytest.raises(ValueError, match="must be > 1"):
        _checked_factors("f", (0.5, 2.0), above_one=True)


# --- the stages that change the network -------------------------------------------


def test_a_change_is_kept_only_if_it_scores_clearly_better():
    assert _best_candidate([0.90, 0.91, 0.95], 0.01) == 2
    assert _best_candidate([0.90, 0.905, 0.899], 0.01) == 0  # within the margin
    assert _best_candidate([np.nan, 0.5], 0.01) == 1  # the current one failed
    assert _best_candidate([0.9, np.nan], 0.0) == 0
    with pytest.raises(ValueError, match="Every candidate failed"):
        _best_candidate([np.nan, np.nan], 0.01)


def test_growth_goes_on_while_the_score_rises_by_any_amount():
    assert _keeps_growing(0.95, 0.96)
    assert _keeps_growing(0.95, 0.9501)
    assert not _keeps_growing(0.95, 0.95)
    assert not _keeps_growing(0.95, 0.94)
    assert not _keeps_growing(0.95, np.nan)


def test_dropout_only_for_a_network_that_overfits():
    assert _overfits(1.0, 0.95, 0.01)
    assert not _overfits(0.955, 0.95, 0.01)


@pytest.mark.parametrize(
    ("activation", "current", "initializer"),
    [
        ("relu", "default", "he"),
        ("tanh", "he", "default"),
        ("sigmoid", "large", "large"),
    ],
)
def test_each_activation_gets_an_initializer_that_suits_it(
    activation, current, initializer
):
    assert _initializer_for(activation, current) == initializer


def test_margin_is_the_accuracy_standard_error_when_that_is_larger():
    assert _margin(0.002, 0.95, 600) == pytest.approx(math.sqrt(0.95 * 0.05 / 600))
    assert _margin(0.002, 0.97, 100_000) == 0.002
    assert _margin(0.002) == 0.002  # a score that is not an accuracy


def test_predicted_time_spreads_fits_over_the_workers():
    assert _predicted_seconds(None, [10, 10], 2) == 0.0
    assert _predicted_seconds((0.0, 0.5), [10, 10], 2) == 5.0
    assert _predicted_seconds((0.0, 0.5), [10, 10], 1) == 10.0
    assert _predicted_seconds((0.0, 0.5), [30, 2, 2], 2) == 15.0  # the longest fit
    assert _predicted_seconds((1.5, 0.5), [10, 10], 2) == 6.5


def test_a_lone_fit_predicted_faster_by_its_threads_gain():
    # one fit of 10 on two workers with a gain of 1.5 lasts 10 / 1.5 units
    assert _predicted_seconds((0.0, 0.5), [10], 2, gain=1.5) == pytest.approx(10 / 3)
    # the gain never makes a batch shorter than its work over the workers
    assert _predicted_seconds((0.0, 0.5), [10, 10], 2, gain=4.0) == 5.0


@pytest.mark.parametrize(
    ("n_fits", "n_workers", "in_threads", "threads"),
    [
        (1, 2, True, 2),  # the epochs stage's one run, the refit
        (2, 2, True, 1),  # each worker busy
        (1, 2, False, 1),  # worker processes keep one thread
        (1, 8, True, 2),  # more than two threads were never measured
        (3, 8, True, 2),
        (1, 1, True, 1),
    ],
)
def test_lone_fits_take_the_idle_workers_threads(
    n_fits, n_workers, in_threads, threads
):
    assert lone_fit_threads(n_fits, n_workers, in_threads) == threads


MNIST_INPUTS = 50_000 * 150  # images x nonzero pixels


@pytest.mark.parametrize(
    ("threads", "hidden", "input_work", "gain"),
    [
        (2, (100,), MNIST_INPUTS, LONE_FIT_GAIN),
        (2, 200, MNIST_INPUTS, LONE_FIT_GAIN),
        (1, (100,), MNIST_INPUTS, 1.0),
        (2, (32,), MNIST_INPUTS, 1.0),  # too narrow to split
        (2, (), MNIST_INPUTS, 1.0),
        (2, None, MNIST_INPUTS, 1.0),
        (2, (100,), 2_000 * 150, 1.0),  # too short an epoch to start threads
    ],
)
def test_the_threads_gain_needs_a_wide_first_layer_and_a_long_epoch(
    threads, hidden, input_work, gain
):
    assert fit_gain(threads, hidden, input_work) == gain


def test_an_epochs_input_work_counts_the_nonzero_inputs():
    X = np.zeros((4, 5))
    X[0, :3] = 1.0
    assert input_work(X) == 3
    assert input_work(scipy.sparse.csr_matrix(X)) == 3


def test_fit_speed_tells_the_overhead_from_the_rate():
    """Small fits are mostly overhead; a line through all batches separates them."""
    overhead, rate = 0.3, 5e-11
    works = [2e9, 1.2e9, 7e10, 1.5e9, 1.6e11]
    batches = [(w, overhead + rate * w) for w in works]
    batches.insert(0, (2e9, 2.5))  # the first batch also started the workers
    assert _fit_speed(batches) == pytest.approx((overhead, rate))
    naive = batches[2][1] / batches[2][0]  # the last small batch's time per unit
    assert naive > 4 * rate


def test_fit_speed_of_alike_batches_uses_the_training_time():
    """Batches of one size cannot separate overhead and rate: the epochs' time can."""
    batches = [(1e9, 2.0), (1e9, 0.35), (1.1e9, 0.36)]
    overhead, rate = _fit_speed(batches, training_rate=5e-11)
    assert rate == 5e-11
    assert overhead == pytest.approx(np.mean([0.35 - 0.05, 0.36 - 0.055]))
    assert _fit_speed(batches) == pytest.approx((0.0, np.mean([0.35e-9, 0.36 / 1.1e9])))
    assert _fit_speed([]) is None
    assert _fit_speed([(1e9, 2.0)]) == (0.0, 2e-9)  # only the first batch so far


def test_the_current_value_is_kept_unless_beaten_by_the_margin():
    def results(scores):
        values = [0.25, 0.5, 1.0]
        return {
            "params": [{"learning_rate": v} for v in values],
            "mean_test_score": np.array(scores),
        }

    assert _kept_unless_beaten(results([0.970, 0.972, 0.960]), 0.25, 0.004) == 0
    assert _kept_unless_beaten(results([0.970, 0.972, 0.960]), 0.5, 0.004) == 1
    assert _kept_unless_beaten(results([0.970, 0.960, 0.975]), 0.5, 0.004) == 2
    assert _kept_unless_beaten(results([0.970, 0.960, 0.975]), 0.5, 0.02) == 1
    assert _kept_unless_beaten(results([0.970, 0.960, 0.975]), 2.0, 0.02) == 2


def test_merged_results_keep_the_order_given_and_rank_every_row():
    fresh = {
        "params": [{"m__lmbda": 10.0}, {"m__lmbda": 1.0}],
        "mean_fit_time": np.array([2.0, 3.0]),
        "std_fit_time": np.array([0.1, 0.2]),
        "mean_score_time": np.array([0.01, 0.02]),
        "std_score_time": np.array([0.0, 0.0]),
    }
    remembered = [
        {"folds": [0.90, 0.92]},  # 0, scored earlier
        {"folds": [0.95, 0.93]},  # 1, fitted now
        {"folds": [np.nan, 0.5]},  # 10, failed on a fold
    ]
    table = _merged_results("m__lmbda", [0.0, 1.0, 10.0], fresh, remembered)
    assert table["params"] == [{"m__lmbda": v} for v in (0.0, 1.0, 10.0)]
    assert list(table["param_m__lmbda"]) == [0.0, 1.0, 10.0]
    assert list(table["scored_earlier"]) == [True, False, False]
    np.testing.assert_array_equal(table["mean_fit_time"], [np.nan, 3.0, 2.0])
    np.testing.assert_array_equal(table["split1_test_score"], [0.92, 0.93, 0.5])
    np.testing.assert_allclose(table["mean_test_score"][:2], [0.91, 0.94])
    np.testing.assert_allclose(table["std_test_score"][:2], [0.01, 0.01])
    assert list(table["rank_test_score"]) == [2, 1, 3]  # NaN ranks last


def test_merged_results_of_values_all_scored_earlier_need_no_search():
    remembered = [{"folds": [0.8]}, {"folds": [0.8]}]
    table = _merged_results("eta", [0.5, 1.0], None, remembered)
    assert list(table["scored_earlier"]) == [True, True]
    assert list(table["rank_test_score"]) == [1, 1]  # ties share the best rank
    assert np.isnan(table["mean_fit_time"]).all()


def test_the_budget_predicts_batches_one_after_another_each_with_its_gain():
    from sknn.tuning._budget import _Budget

    # a lone fit runs twice as fast on the idle worker's thread
    budget = _Budget(13.0, None, n_workers=2, gain=lambda n_fits: 2.0 - (n_fits > 1))
    budget.speed = (0.0, 1.0)  # no overhead, a second per unit of work
    threshold, lone_fit, refit = [1.0] * 8, [12.0], 4.0
    # 8 small fits on 2 workers (4 s), the lone fit (6 s), the refit (2 s)
    assert budget.affords([threshold, lone_fit], refit) == (True, "")
    # as one batch of 9 fits, the lone fit would get no second thread: 12 + 2 s
    ok, why = budget.affords([threshold + lone_fit], refit)
    assert not ok and why.startswith("needed about 14 s with the refit")
    assert budget.affords([threshold, lone_fit, [2.0]], refit)[0] is False
