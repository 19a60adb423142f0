"""Per-epoch hooks: the book's early stopping and learning-rate schedule, and progress.

The training loop of :class:`sknn.MLPClassifierBook` hands each hook the
estimator and the epoch's record (one entry of ``history_``) after every
epoch. A hook is any object with ``on_epoch_end(estimator, record)``, which
returns True to stop training, and optionally ``on_train_end(estimator)``.
A plain function ``f(estimator, record)`` given in the ``callbacks``
hyperparameter is used as ``on_epoch_end``.

Chapter 3 ("How to choose a neural network's hyper-parameters?") steers
training by the validation accuracy: stop when it has not improved for n
epochs ("no-improvement-in-n"), or halve the learning rate each time it
plateaus and stop once eta falls below eta0 / 128.
"""

import numpy as np


class _PlateauTracker:
    """Counts epochs since the validation accuracy last improved, and keeps the best weights."""

    def __init__(self, patience):
        self.patience = patience
        self.best_accuracy = -np.inf
        self.best_epoch = None
        self.best_weights = None
        self.epochs_without_improvement = 0

    def update(self, estimator, record):
        """Return True when the plateau has lasted ``patience`` epochs."""
        accuracy = record["validation_accuracy"]
        if accuracy > self.best_accuracy:
            self.best_accuracy = accuracy
            self.best_epoch = record["epoch"]
            self.best_weights = [p.copy() for p in estimator._parameters()]
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore_best(self, estimator):
        if self.best_weights is not None:
            for param, best in zip(estimator._parameters(), self.best_weights):
                np.copyto(param, best)
            estimator.best_epoch_ = self.best_epoch


class EarlyStopping:
    """Stop when validation accuracy has not improved for ``patience`` epochs.

    At the end of training the weights of the best epoch are put back, so the
    model is the one the validation data preferred, not the last one.
    """

    def __init__(self, patience):
        self._tracker = _PlateauTracker(patience)

    def on_epoch_end(self, estimator, record):
        return self._tracker.update(estimator, record)

    def on_train_end(self, estimator):
        self._tracker.restore_best(estimator)


class HalveLearningRateOnPlateau:
    """Halve eta each time validation accuracy plateaus for ``patience`` epochs.

    Training stops once eta falls below ``eta0 * min_ratio`` (the book uses
    1/128); the best epoch's weights are then put back, as with early stopping.
    """

    def __init__(self, patience, min_ratio):
        self._tracker = _PlateauTracker(patience)
        self.min_ratio = min_ratio

    def on_epoch_end(self, estimator, record):
        if not self._tracker.update(estimator, record):
            return False
        self._tracker.epochs_without_improvement = 0
        estimator.learning_rate_ /= 2
        return estimator.learning_rate_ < estimator.learning_rate * self.min_ratio

    def on_train_end(self, estimator):
        self._tracker.restore_best(estimator)


class ProgressPrinter:
    """Print one line per epoch in network2.py's words.

    For example ``Epoch 3: cost 0.4100, accuracy 9566 / 10000``; only what is
    monitored appears.
    """

    def on_epoch_end(self, estimator, record):
        parts = [f"Epoch {record['epoch']}:"]
        for prefix, label in (("training", "training"), ("validation", "validation")):
            if f"{prefix}_cost" in record:
                parts.append(f"{label} cost {record[prefix + '_cost']:.4f},")
            if f"{prefix}_correct" in record:
                parts.append(
                    f"{label} accuracy {record[prefix + '_correct']} / "
                    f"{record[prefix + '_size']},"
                )
        parts.append(f"eta {record['learning_rate']:g}, {record['time']:.2f} s")
        print(" ".join(parts), flush=True)
        return False


class _FunctionCallback:
    """Adapts a plain function ``f(estimator, record)`` to the hook interface."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, estimator, record):
        return bool(self.function(estimator, record))


def as_hook(callback):
    """Return ``callback`` as an object with ``on_epoch_end``."""
    if hasattr(callback, "on_epoch_end"):
        return callback
    if callable(callback):
        return _FunctionCallback(callback)
    raise TypeError(
        f"A callback must be a function f(estimator, record) or have an "
        f"on_epoch_end(estimator, record) method; got {callback!r}."
    )
