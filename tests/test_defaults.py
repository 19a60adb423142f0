"""The defaults train for every documented choice (``learning_rate="auto"``).

Every hidden activation x cost x momentum x dropout, with all else at its
default, learns scikit-learn's digits and passes scikit-learn's
``check_classifiers_train``. The digits fits run 15 epochs instead of the
default 30 to keep the suite fast; at 15 the weakest combination measured
0.935 held-out accuracy, at 30 it measured 0.949.
"""

import itertools
import warnings

import pytest
from sklearn.utils.estimator_checks import check_classifiers_train

from sknn import MLPClassifierBook
from sknn._learning_rate import learning_rate_for

GRID = list(
    itertools.product(
        ["sigmoid", "tanh", "relu"],
        ["quadratic", "cross_entropy", "log_likelihood"],
        [0.0, 0.5, 0.9],
        [0.0, 0.5],
    )
)


@pytest.mark.parametrize(
    "activation, cost, momentum, dropout",
    GRID,
    ids=["-".join(map(str, choice)) for choice in GRID],
)
def test_every_choice_learns_digits_and_passes_check_classifiers_train(
    digits_split, activation, cost, momentum, dropout
):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(activation=activation, cost=cost, momentum=momentum, dropout=dropout)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divergence, no failure to learn
        clf = MLPClassifierBook(**params, epochs=15, random_state=0)
        clf.fit(X_train, y_train)
    assert clf.stop_reason_ == "epochs"
    assert clf.score(X_test, y_test) >= 0.90
    check_classifiers_train(
        "MLPClassifierBook", MLPClassifierBook(**params, random_state=0)
    )


def test_auto_learning_rate_follows_the_documented_rule():
    assert learning_rate_for({}) == 0.5
    assert learning_rate_for({"cost": "quadratic"}) == 1.0
    assert learning_rate_for({"activation": "tanh"}) == pytest.approx(0.1)
    assert learning_rate_for({"activation": "relu", "momentum": 0.9}) == pytest.approx(
        0.01
    )
    assert learning_rate_for({"learning_rate": 0.5, "activation": "relu"}) == 0.5


def test_an_explicit_learning_rate_means_exactly_that(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = MLPClassifierBook(
        activation="relu", momentum=0.9, learning_rate=0.3, epochs=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
    assert clf.history_[0]["learning_rate"] == clf.learning_rate_ == 0.3
    auto = MLPClassifierBook(activation="relu", momentum=0.9, epochs=1).fit(
        X_train, y_train
    )
    assert auto.learning_rate_ == pytest.approx(0.5 * 0.2 * 0.1)
