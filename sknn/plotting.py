"""The figures of chapter 3, drawn from ``history_``.

Chapter 3 of *Neural Networks and Deep Learning* ("Overfitting and
regularization") diagnoses training with four curves per epoch: the cost and
the accuracy, each on the training data and on held-out data. Trained long
enough on little data, the network's training cost keeps falling smoothly
while the held-out accuracy stops improving, and the held-out cost even turns
back up: the network is learning peculiarities of its training set, not
digits in general. Those curves are what tell overfitting apart from slow
learning, what "no-improvement-in-n" early stopping watches, and what the
learning-rate schedule reacts to.

:class:`sknn.MLPClassifierBook` records them, one dict per epoch, in
``history_`` (what it records is chosen by its ``monitor`` hyperparameter);
:func:`plot_history` draws them. :func:`plot_diagnostics` draws chapter 5's
per-layer view of training (the monitors of :mod:`sknn.diagnostics`).

matplotlib is an optional dependency (``pip install 'sknn[plot]'``): it is
imported only when something is drawn, so this module imports without it.
"""

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_diagnostics", "plot_history"]

_METRICS = {"cost": "Cost", "accuracy": "Accuracy"}
_DATA_SETS = ("training", "validation")
_MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'sknn[plot]'"


def _matplotlib():
    """Return ``(pyplot, ticker)``, or raise an ImportError that says how to get them."""
    try:
        import matplotlib.pyplot as plt
        import matplotlib.ticker as ticker
    except ImportError as error:
        raise ImportError(_MISSING_MATPLOTLIB) from error
    return plt, ticker


def _history_and_best_epoch(estimator_or_history):
    """Return the list of epoch records and the best epoch (None when unknown)."""
    if hasattr(estimator_or_history, "fit"):
        estimator = estimator_or_history
        check_is_fitted(estimator)
        if not hasattr(estimator, "history_"):
            raise TypeError(
                f"{type(estimator).__name__} has no history_ to plot; plot_history "
                "takes a fitted sknn.MLPClassifierBook or its history_ list."
            )
        return list(estimator.history_), getattr(estimator, "best_epoch_", None)
    if isinstance(estimator_or_history, Sequence) and all(
        isinstance(record, Mapping) for record in estimator_or_history
    ):
        return list(estimator_or_history), None
    raise TypeError(
        "plot_history takes a fitted sknn.MLPClassifierBook or a history_ list "
        f"of per-epoch dicts; got {type(estimator_or_history).__name__}."
    )


def _checked_metrics(metrics):
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not metrics:
        raise ValueError("metrics is empty; use 'cost', 'accuracy' or both.")
    unknown = [m for m in metrics if m not in _METRICS]
    if unknown:
        raise ValueError(
            f"metrics has unknown entries {unknown}; valid ones are {list(_METRICS)}."
        )
    return metrics


def _curves(history, metric):
    """Return ``{data set: values per epoch}`` for the data sets that recorded ``metric``."""
    curves = {
        data_set: np.array(
            [record.get(f"{data_set}_{metric}", np.nan) for record in history],
            dtype=float,
        )
        for data_set in _DATA_SETS
        if any(f"{data_set}_{metric}" in record for record in history)
    }
    if not curves:
        wanted = tuple(f"{data_set}_{metric}" for data_set in _DATA_SETS)
        raise ValueError(
            f"No {metric} was recorded in this history, so there is nothing to "
            f"plot. Fit with monitor={wanted} (or either one); validation entries "
            "also need validation data: validation_fraction, or X_val and y_val "
            "passed to fit."
        )
    return curves


def _learning_rate_changes(history):
    """The epochs after which the learning rate changed (the last epoch at the old rate)."""
    return [
        before["epoch"]
        for before, after in itertools.pairwise(history)
        if after["learning_rate"] != before["learning_rate"]
    ]


def _axes_for(metrics, ax, plt):
    if ax is None:
        _, axes = plt.subplots(
            1,
            len(metrics),
            figsize=(5.5 * len(metrics), 4),
            squeeze=False,
            layout="constrained",
        )
        return axes.ravel()
    if hasattr(ax, "plot"):
        axes = np.array([ax], dtype=object)
    else:
        axes = np.asarray(ax, dtype=object).ravel()
    if len(axes) != len(metrics):
        raise ValueError(
            f"ax must hold one Axes per metric: got {len(axes)} for metrics={metrics}."
        )
    return axes


def plot_history(estimator_or_history, *, metrics=("cost", "accuracy"), ax=None):
    """Plot cost and accuracy per epoch, on the training and validation data.

    These are the figures chapter 3 of *Neural Networks and Deep Learning*
    uses to recognise overfitting: when the training cost keeps falling while
    the validation accuracy has stopped rising (and the validation cost turns
    back up), further epochs only fit the training set's noise. Seeing both
    data sets on the same Axes makes the gap between them, and the epoch where
    it opens, visible at a glance. Each metric gets one Axes, with one curve
    per data set that was monitored.

    Two kinds of vertical lines show what the estimator did about it: a
    dashed line at ``best_epoch_``, the epoch whose weights early stopping or
    the halving schedule restored, and a dotted line wherever the learning
    rate changed (the halving schedule's plateaus), at the last epoch run at
    the old rate.

    Parameters
    ----------
    estimator_or_history : MLPClassifierBook or list of dict
        A fitted estimator, or its ``history_`` (one dict per epoch, as the
        estimator records it). A bare history carries no best epoch, so no
        best-epoch line is drawn for it.
    metrics : {"cost", "accuracy"} or sequence of them, \
default=("cost", "accuracy")
        What to plot, one Axes each. Each needs its entries in the history:
        "cost" needs ``monitor`` to hold "training_cost" or "validation_cost",
        "accuracy" needs "training_accuracy" or "validation_accuracy", and the
        validation entries need validation data.
    ax : matplotlib Axes or sequence of Axes, default=None
        Where to draw, one Axes per metric in the order of ``metrics``. By
        default a new figure is made with the Axes side by side.

    Returns
    -------
    ax : matplotlib Axes or ndarray of Axes
        The Axes drawn on: a single Axes when one metric is plotted, else an
        array of Axes in the order of ``metrics``. In each, ``ax.lines``
        holds the "training" then the "validation" curve (those monitored),
        then the "best epoch" line, then the "learning rate change" lines.
        Accuracies are drawn as fractions with percent tick labels. The
        legend sits where chapter 3's curves leave room: upper right for
        falling costs, lower right for rising accuracies.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If a metric was not monitored, naming the ``monitor`` entries that
        record it, or if ``metrics`` or ``ax`` are not as described above.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook
    >>> from sknn.plotting import plot_history
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifierBook(
    ...     monitor=("training_cost", "validation_cost", "validation_accuracy"),
    ...     validation_fraction=0.2,
    ...     epochs=5,
    ...     random_state=0,
    ... ).fit(X / 16, y)
    >>> cost_ax, accuracy_ax = plot_history(clf)
    >>> [line.get_label() for line in cost_ax.lines]
    ['training', 'validation']
    """
    history, best_epoch = _history_and_best_epoch(estimator_or_history)
    metrics = _checked_metrics(metrics)
    if not history:
        raise ValueError("The history is empty: no epoch was completed.")
    curves = {metric: _curves(history, metric) for metric in metrics}
    plt, ticker = _matplotlib()
    axes = _axes_for(metrics, ax, plt)

    epochs = np.array([record["epoch"] for record in history])
    changes = _learning_rate_changes(history)
    for axis, metric in zip(axes, metrics):
        name = _METRICS[metric]
        for data_set, values in curves[metric].items():
            axis.plot(epochs, values, label=data_set)
        if best_epoch is not None:
            axis.axvline(
                best_epoch, color="0.3", linestyle="--", linewidth=1, label="best epoch"
            )
        for epoch in changes:
            axis.axvline(
                epoch,
                color="0.6",
                linestyle=":",
                linewidth=1,
                label="learning rate change",
            )
        axis.set_xlabel("Epoch")
        axis.set_ylabel(name)
        if len(curves[metric]) == 1:
            (data_set,) = curves[metric]
            axis.set_title(f"{name} on the {data_set} data")
        else:
            axis.set_title(name)
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        if metric == "accuracy":
            axis.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1))
        handles, labels = axis.get_legend_handles_labels()
        one_per_label = dict(zip(labels, handles))
        axis.legend(
            one_per_label.values(),
            one_per_label.keys(),
            loc="lower right" if metric == "accuracy" else "upper right",
        )
    return axes[0] if len(axes) == 1 else axes


_DIAGNOSTIC_PANELS = (
    ("gradient_norms", "Gradient norm ||dC/db||", ("gradient_norm_",), True),
    (
        "unit_saturation",
        "Saturated or dead units",
        ("saturated_fraction_", "dead_fraction_"),
        False,
    ),
    ("weight_norms", "Weight norm ||W||", ("weight_norm_",), True),
)


def _layer_curves(history, prefixes):
    """``{label: values per epoch}`` for each layer's entries with one of ``prefixes``."""
    keys = sorted(
        {
            key
            for record in history
            for key in record
            if any(key.startswith(prefix) for prefix in prefixes)
        },
        key=lambda key: int(key.rsplit("_", 1)[1]),
    )
    return {
        f"layer {key.rsplit('_', 1)[1]}"
        + (" (dead)" if key.startswith("dead") else ""): np.array(
            [float(record.get(key, np.nan)) for record in history]
        )
        for key in keys
    }


def plot_diagnostics(estimator_or_history, *, ax=None):
    """Plot the per-layer diagnostics of chapter 5, one Axes per monitor recorded.

    With "gradient_norms" monitored, the first Axes shows each layer's
    ||dC/db^l|| per epoch on a log scale: in a deep sigmoid network the
    curves of the early layers lie far below those of the later ones, the
    vanishing gradient of chapter 5. "unit_saturation" shows the fraction of
    saturated sigmoid or tanh activations (or of dead ReLUs) per hidden layer,
    which is where the gradient is lost; "weight_norms" shows each layer's
    ||W^l||, whose growth comes before saturation. See
    :mod:`sknn.diagnostics` for the exact definitions.

    Parameters
    ----------
    estimator_or_history : MLPClassifierBook, MLPRegressorBook or list of dict
        A fitted estimator whose ``monitor`` held at least one of
        "gradient_norms", "unit_saturation" and "weight_norms", or its
        ``history_``.
    ax : matplotlib Axes or sequence of Axes, default=None
        Where to draw, one Axes per recorded monitor in the order above. By
        default a new figure is made with the Axes side by side.

    Returns
    -------
    ax : matplotlib Axes or ndarray of Axes
        One Axes per recorded monitor; each holds one line per layer, labelled
        "layer <l>" (with " (dead)" for dead-ReLU fractions).

    Raises
    ------
    ValueError
        If no diagnostic was recorded, or ``ax`` does not match.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook
    >>> from sknn.plotting import plot_diagnostics
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifierBook(
    ...     hidden_layer_sizes=(20, 20),
    ...     monitor=("gradient_norms", "unit_saturation"),
    ...     epochs=3,
    ...     random_state=0,
    ... ).fit(X / 16, y)
    >>> gradient_ax, saturation_ax = plot_diagnostics(clf)
    >>> [line.get_label() for line in gradient_ax.lines]
    ['layer 1', 'layer 2', 'layer 3']
    """
    history, _ = _history_and_best_epoch(estimator_or_history)
    panels = [
        (title, curves, log_scale)
        for _, title, prefixes, log_scale in _DIAGNOSTIC_PANELS
        if (curves := _layer_curves(history, prefixes))
    ]
    if not panels:
        raise ValueError(
            "The history holds no diagnostics: fit with monitor including "
            "'gradient_norms', 'unit_saturation' or 'weight_norms'."
        )
    plt, ticker = _matplotlib()
    axes = _axes_for([title for title, _, _ in panels], ax, plt)
    epochs = np.array([record["epoch"] for record in history])
    for axis, (title, curves, log_scale) in zip(axes, panels):
        for label, values in curves.items():
            axis.plot(epochs, values, label=label)
        if log_scale:
            axis.set_yscale("log")
        else:
            axis.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1))
        axis.set_title(title)
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.legend()
    return axes[0] if len(axes) == 1 else axes
