"""sknn.plotting: the chapter 3 figures, checked by what they draw."""

import importlib
import re
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sknn
from sknn import MLPClassifierBook
from sknn.plotting import plot_history

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

ALL_MONITORS = (
    "training_cost",
    "training_accuracy",
    "validation_cost",
    "validation_accuracy",
)
MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'sknn[plot]'"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def fit(digits, **params):
    X, y = digits
    return MLPClassifierBook(random_state=0, **params).fit(X, y)


@pytest.fixture(scope="module")
def watched(digits):
    return fit(digits, monitor=ALL_MONITORS, validation_fraction=0.2, epochs=6)


@pytest.fixture(scope="module")
def stopped_early(digits):
    return fit(
        digits,
        monitor=ALL_MONITORS,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=3,
        epochs=15,
    )


@pytest.fixture(scope="module")
def halved(digits):
    return fit(
        digits,
        monitor=ALL_MONITORS,
        validation_fraction=0.2,
        learning_rate_schedule="halving",
        n_iter_no_change=2,
        epochs=15,
    )


def labels(ax):
    return [line.get_label() for line in ax.lines]


def column(clf, key):
    return [record[key] for record in clf.history_]


def vertical_lines(ax, label):
    lines = [line for line in ax.lines if line.get_label() == label]
    for line in lines:
        x = line.get_xdata()
        assert x[0] == x[1]
    return lines


def test_one_axes_per_metric_with_training_and_validation_curves(watched):
    axes = plot_history(watched)
    assert isinstance(axes, np.ndarray)
    assert axes.shape == (2,)
    cost_ax, accuracy_ax = axes
    assert cost_ax.figure is accuracy_ax.figure
    epochs = column(watched, "epoch")
    for ax, metric, name in (
        (cost_ax, "cost", "Cost"),
        (accuracy_ax, "accuracy", "Accuracy"),
    ):
        assert labels(ax) == ["training", "validation"]
        training, validation = ax.lines
        np.testing.assert_array_equal(training.get_xdata(), epochs)
        np.testing.assert_array_equal(validation.get_xdata(), epochs)
        np.testing.assert_array_equal(
            training.get_ydata(), column(watched, f"training_{metric}")
        )
        np.testing.assert_array_equal(
            validation.get_ydata(), column(watched, f"validation_{metric}")
        )
        assert ax.get_xlabel() == "Epoch"
        assert ax.get_ylabel() == name
        assert ax.get_title() == name
        assert [t.get_text() for t in ax.get_legend().get_texts()] == labels(ax)


def test_accuracy_ticks_read_in_percent(watched):
    ax = plot_history(watched, metrics="accuracy")
    tick = ax.yaxis.get_major_formatter()(0.95, 0)
    assert tick.endswith("%")
    assert float(tick.rstrip("%")) == pytest.approx(95)


def test_a_single_curve_names_its_data_set_in_the_title(digits):
    clf = fit(digits, validation_fraction=0.2, epochs=3)
    cost_ax, accuracy_ax = plot_history(clf)
    assert labels(cost_ax) == ["training"]
    assert cost_ax.get_title() == "Cost on the training data"
    np.testing.assert_array_equal(
        cost_ax.lines[0].get_ydata(), column(clf, "training_cost")
    )
    assert labels(accuracy_ax) == ["validation"]
    assert accuracy_ax.get_title() == "Accuracy on the validation data"
    np.testing.assert_array_equal(
        accuracy_ax.lines[0].get_ydata(), column(clf, "validation_accuracy")
    )


def test_one_metric_returns_one_axes(watched):
    ax = plot_history(watched, metrics=("cost",))
    assert isinstance(ax, plt.Axes)
    assert ax.get_ylabel() == "Cost"
    assert labels(ax) == ["training", "validation"]


def test_no_best_epoch_line_without_early_stopping(watched):
    assert watched.best_epoch_ is None
    for ax in plot_history(watched):
        assert vertical_lines(ax, "best epoch") == []
        assert vertical_lines(ax, "learning rate change") == []


def test_best_epoch_is_a_dashed_vertical_line_on_every_axes(stopped_early):
    assert stopped_early.stop_reason_ == "early_stopping"
    assert stopped_early.best_epoch_ < stopped_early.n_iter_
    for ax in plot_history(stopped_early):
        (line,) = vertical_lines(ax, "best epoch")
        np.testing.assert_array_equal(line.get_xdata(), [stopped_early.best_epoch_] * 2)
        assert line.get_linestyle() == "--"
        assert labels(ax)[:2] == ["training", "validation"]


def test_learning_rate_halvings_are_dotted_lines_at_the_last_epoch_of_each_rate(
    halved,
):
    rates = column(halved, "learning_rate")
    last_epochs_of_a_rate = [
        record["epoch"]
        for record, rate_after in zip(halved.history_, rates[1:])
        if rate_after != record["learning_rate"]
    ]
    assert len(last_epochs_of_a_rate) >= 2
    for ax in plot_history(halved):
        lines = vertical_lines(ax, "learning rate change")
        assert [line.get_xdata()[0] for line in lines] == last_epochs_of_a_rate
        assert all(line.get_linestyle() == ":" for line in lines)
        (best,) = vertical_lines(ax, "best epoch")
        assert best.get_xdata()[0] == halved.best_epoch_
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [
            "training",
            "validation",
            "best epoch",
            "learning rate change",
        ]


def test_draws_on_the_axes_it_is_given(watched):
    fig, given = plt.subplots()
    ax = plot_history(watched, metrics="cost", ax=given)
    assert ax is given
    assert len(fig.axes) == 1
    assert labels(given) == ["training", "validation"]


def test_draws_several_metrics_on_the_axes_it_is_given(watched):
    _, given = plt.subplots(2, 1)
    axes = plot_history(watched, metrics=("accuracy", "cost"), ax=given)
    assert list(axes) == list(given)
    assert [ax.get_ylabel() for ax in given] == ["Accuracy", "Cost"]
    np.testing.assert_array_equal(
        given[1].lines[0].get_ydata(), column(watched, "training_cost")
    )


def test_one_axes_per_metric_is_required(watched):
    _, given = plt.subplots()
    with pytest.raises(ValueError, match="one Axes per metric"):
        plot_history(watched, ax=given)


def test_plots_a_bare_history_list(stopped_early):
    cost_ax, accuracy_ax = plot_history(stopped_early.history_)
    assert labels(cost_ax) == ["training", "validation"]
    np.testing.assert_array_equal(
        accuracy_ax.lines[1].get_ydata(), column(stopped_early, "validation_accuracy")
    )
    assert vertical_lines(cost_ax, "best epoch") == []


def test_unmonitored_metric_names_the_monitor_entries_to_turn_on(digits):
    clf = fit(digits, monitor=("training_cost",), epochs=2)
    with pytest.raises(
        ValueError,
        match=re.escape("monitor=('training_accuracy', 'validation_accuracy')"),
    ):
        plot_history(clf)
    assert labels(plot_history(clf, metrics="cost")) == ["training"]


def test_unknown_metric_is_refused(watched):
    with pytest.raises(ValueError, match="'loss'"):
        plot_history(watched, metrics=("cost", "loss"))


def test_empty_history_is_refused():
    with pytest.raises(ValueError, match="empty"):
        plot_history([])


def test_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        plot_history(MLPClassifierBook())


def test_something_else_is_refused():
    with pytest.raises(TypeError, match="history_"):
        plot_history("history")


def hide_matplotlib(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_missing_matplotlib_says_how_to_install_it(monkeypatch, watched):
    hide_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=re.escape(MISSING_MATPLOTLIB)):
        plot_history(watched)


def test_module_imports_without_matplotlib(monkeypatch):
    monkeypatch.setattr(sknn, "plotting", sys.modules["sknn.plotting"])
    monkeypatch.delitem(sys.modules, "sknn.plotting")
    hide_matplotlib(monkeypatch)
    plotting = importlib.import_module("sknn.plotting")
    with pytest.raises(ImportError, match=re.escape(MISSING_MATPLOTLIB)):
        plotting.plot_history(
            [{"epoch": 1, "learning_rate": 0.5, "training_cost": 1.0}], metrics="cost"
        )
