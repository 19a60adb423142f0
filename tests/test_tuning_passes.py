"""The passes over BookSearchCV's stages, on scripted stages (no fitting), then one search.

A later pass runs the scored stages again from the choices so far, while
the last pass changed one of them and the budget has room for another fit
and the refit.
"""

import numpy as np
import pytest

from sknn import MLPClassifierBook
from sknn.tuning import BookSearchCV
from sknn.tuning._base import StageResult
from sknn.tuning._passes import run_stages


class ScriptedStage:
    """A stage that chooses, call after call, the values it is given."""

    def __init__(self, name, choices, repeated=True):
        self.name = self.param = name
        self.choices = list(choices)
        self.repeated = repeated

    def planned_units(self, run):
        return [1]

    def run(self, run):
        run.fits_left -= 1
        chosen = self.choices.pop(0)
        return StageResult(self.name, self.name, [chosen], chosen, "scripted")


class ScriptedRun:
    """Just what the passes read of a run: settings, choices and a budget."""

    def __init__(self, max_passes, max_time=None, fits_left=np.inf):
        self.settings = {"max_passes": max_passes, "max_time": max_time}
        self.params = {}
        self.fits_left = fits_left
        self.pass_number, self.passes_ended = 1, ""

    def choose(self, param, result):
        changed = self.params.get(param) != result.chosen
        self.params[param] = result.chosen
        return changed

    def affords(self, batches, refit_units):
        if sum(len(units) for units in batches) > self.fits_left:
            return False, "no fits left"
        return True, ""

    def search_units(self, candidates):
        return [1] * len(candidates)

    def refit_units(self):
        return 1

    def log(self, message):
        pass


class NoProgress:
    def begin_stage(self, name):
        pass

    def end_stage(self, n_candidates):
        pass


def passes_of(results):
    return [(result.name, result.pass_number, result.chosen) for result in results]


def test_later_passes_repeat_the_repeated_stages_until_one_changes_nothing():
    stages = [
        ScriptedStage("threshold", [0.5], repeated=False),
        ScriptedStage("activation", ["sigmoid", "relu", "relu"]),
        ScriptedStage("width", [(100,), (100,), (100,)]),
    ]
    run = ScriptedRun(max_passes=None, max_time=60.0)
    results, interrupted = run_stages(run, stages, NoProgress())
    assert interrupted is None
    assert passes_of(results) == [
        ("threshold", 1, 0.5),
        ("activation", 1, "sigmoid"),
        ("width", 1, (100,)),
        ("activation", 2, "relu"),  # a choice changed: a third pass
        ("width", 2, (100,)),
        ("activation", 3, "relu"),  # the width would see what it saw in pass 2
    ]
    assert run.params == {"threshold": 0.5, "activation": "relu", "width": (100,)}
    assert run.passes_ended == (
        "pass 3 changed no choice; the stages after activation would choose as in "
        "pass 2"
    )


def test_a_change_by_the_last_stage_sends_every_repeated_stage_round_again():
    stages = [
        ScriptedStage("activation", ["sigmoid", "sigmoid"]),
        ScriptedStage("width", [(100,), (100,)]),
        ScriptedStage("batch_size", [20], repeated=False),
    ]
    results, _ = run_stages(
        ScriptedRun(max_passes=None, max_time=60.0), stages, NoProgress()
    )
    assert passes_of(results)[3:] == [
        ("activation", 2, "sigmoid"),
        ("width", 2, (100,)),
    ]


def test_a_pass_whose_scored_stages_change_nothing_is_the_last():
    # the threshold changed, but the scored stages ran with it already
    stages = [
        ScriptedStage("threshold", [0.5], repeated=False),
        ScriptedStage("activation", [None]),
    ]
    results, _ = run_stages(ScriptedRun(max_passes=5), stages, NoProgress())
    assert [result.pass_number for result in results] == [1, 1]


@pytest.mark.parametrize(
    ("max_passes", "max_time", "n_passes"),
    [(2, None, 2), (1, 60.0, 1), (None, None, 1), (None, 60.0, 5)],
)
def test_max_passes_limits_the_passes_none_lets_max_time_decide(
    max_passes, max_time, n_passes
):
    stages = [ScriptedStage("width", [(i,) for i in range(1, 5)])]  # always new
    run = ScriptedRun(max_passes=max_passes, max_time=max_time)
    stages[0].choices.append((4,))  # the fifth pass changes nothing
    results, _ = run_stages(run, stages, NoProgress())
    assert max(result.pass_number for result in results) == n_passes


def test_a_later_pass_stops_where_the_budget_has_no_room_for_a_fit_and_the_refit():
    def stages():
        return [ScriptedStage(name, "abc") for name in ("first", "second")]

    # each stage runs one fit: room for two passes and a half
    run = ScriptedRun(max_passes=None, max_time=60.0, fits_left=5)
    results, _ = run_stages(run, stages(), NoProgress())
    assert [(r.name, r.pass_number) for r in results][-2:] == [
        ("second", 2),
        ("first", 3),
    ]
    assert run.passes_ended == "pass 3 stopped before second (no fits left)"
    run = ScriptedRun(max_passes=None, max_time=60.0, fits_left=2)
    results, _ = run_stages(run, stages(), NoProgress())
    assert [result.pass_number for result in results] == [1, 1]
    assert run.passes_ended == "pass 2 not run (no fits left)"


SMALL_SEARCH = dict(
    stages=("learning_rate_threshold", "epochs", "activation", "lmbda"),
    learning_rates=(0.1, 1.0, 10.0),
    max_epochs=20,
    lmbdas=(0.0, 0.1, 1.0),
    cv=3,
    random_state=0,
)


def test_a_second_pass_starts_from_the_first_ones_choices_and_can_only_gain(
    digits_split,
):
    X_train, _, y_train, _ = digits_split
    base = MLPClassifierBook(random_state=0)
    one = BookSearchCV(base, **SMALL_SEARCH).fit(X_train[:600], y_train[:600])
    two = BookSearchCV(base, **SMALL_SEARCH, max_passes=2).fit(
        X_train[:600], y_train[:600]
    )
    first = [result for result in two.stages_ if result.pass_number == 1]
    second = [result for result in two.stages_ if result.pass_number == 2]
    assert [r.chosen for r in first] == [r.chosen for r in one.stages_]
    assert second and [r.name for r in second] == ["activation", "lmbda"][: len(second)]
    assert second[0].tried[0] == first[2].chosen  # from the choices so far
    assert two.best_score_ >= one.best_score_
    assert two.best_score_ == second[-1].score
    assert "Pass 2: the stages decided on the score again" in two.report()


def test_a_candidate_whose_eta_was_re_tuned_before_is_not_re_tuned_again(
    digits_split, monkeypatch
):
    # Pass 1 chooses tanh; pass 2 tries sigmoid and ReLU against it, and
    # ReLU, with every other setting as in pass 1, keeps the eta it got then.
    from sknn.tuning import _stages

    thresholds = []
    threshold = _stages._LearningRateThreshold.run

    def counted(self, run, candidate=None, start=None):
        thresholds.append((run.pass_number, (candidate or {}).get("activation")))
        return threshold(self, run, candidate, start)

    monkeypatch.setattr(_stages._LearningRateThreshold, "run", counted)
    X_train, _, y_train, _ = digits_split
    search = BookSearchCV(
        MLPClassifierBook(random_state=0), **SMALL_SEARCH, max_passes=3
    ).fit(X_train[:600], y_train[:600])
    activations = [r for r in search.stages_ if r.name == "activation"]
    assert [r.chosen for r in activations] == ["tanh", "tanh"]
    assert activations[1].tried == ["tanh", "sigmoid", "relu"]
    assert thresholds == [(1, None), (1, "tanh"), (1, "relu"), (2, "sigmoid")]
