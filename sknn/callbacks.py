"""Per-epoch hooks: the book's early stopping and learning-rate schedule, and progress.

The epoch loop of :class:`sknn.MLPClassifierBook` owns the weights, the
learning rate and the decision to stop. It tells each hook what happened and
the hook answers; the loop alone acts on the answers. A hook is any object
with ``on_epoch_end(estimator, record)`` and optionally

``on_train_begin(estimator)``
    called at the start of every fit: a hook forgets what it saw in an
    earlier fit here (skorch's convention), so a hook object passed in
    ``callbacks`` can be reused;
``on_train_end(estimator)``
    called once training stops; it may return a :class:`Decision` with
    ``restore=(epoch, parameters)`` to put back an earlier epoch's weights.

``on_epoch_end`` receives the estimator (whose public ``coefs_`` and
``intercepts_`` are the weights after the epoch; read them, do not write
them) and the epoch's record (one entry of ``history_``). It returns a
:class:`Decision`, or simply True to stop and None/False to go on. A plain
function ``f(estimator, record)`` given in the ``callbacks`` hyperparameter is
used as ``on_epoch_end``.

Chapter 3 ("How to choose a neural network's hyper-parameters?") steers
training by the validation accuracy: stop when it has not improved for n
epochs ("no-improvement-in-n"), or halve the learning rate each time it
plateaus and stop once eta falls below eta0 / 128.
"""

from typing import NamedTuple

import numpy as np


class Decision(NamedTuple):
    """What a hook asks of the epoch loop.

    Attributes
    ----------
    stop : bool
        Stop training after this epoch.
    learning_rate : float or None
        The learning rate eta for the next epochs; None keeps it.
    restore : tuple (epoch, parameters) or None
        Put back the weights of ``epoch``: ``parameters`` are copies of
        ``coefs_ + intercepts_`` as they were after it.
    """

    stop: bool = False
    learning_rate: float | None = None
    restore: tuple | None = None

    @classmethod
    def of(cls, answer):
        """A hook's answer as a Decision: True stops, None or False goes on."""
        if isinstance(answer, cls):
            return answer
        return cls(stop=bool(answer))


class _PlateauTracker:
    """Counts epochs since the watched measure last improved, and keeps the best weights.

    ``watch`` is a key of the epoch records; a "*_cost" improves by going
    down, anything else (accuracy, R^2) by going up.
    """

    def __init__(self, patience, watch="validation_accuracy"):
        self.patience = patience
        self.watch = watch
        self.sign = -1.0 if watch.endswith("_cost") else 1.0
        self.reset()

    def reset(self):
        self.best_accuracy = -np.inf
        self.best_epoch = None
        self.best_weights = None
        self.epochs_without_improvement = 0

    def update(self, estimator, record):
        """Return True when the plateau has lasted ``patience`` epochs."""
        accuracy = self.sign * record[self.watch]
        if accuracy > self.best_accuracy:
            self.best_accuracy = accuracy
            self.best_epoch = record["epoch"]
            self.best_weights = [
                p.copy() for p in estimator.coefs_ + estimator.intercepts_
            ]
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def best(self):
        """A Decision restoring the best epoch, or None if none was seen."""
        if self.best_weights is None:
            return None
        return Decision(restore=(self.best_epoch, self.best_weights))


class EarlyStopping:
    """Stop when validation accuracy has not improved for ``patience`` epochs.

    At the end of training the weights of the best epoch are put back, so the
    model is the one the validation data preferred, not the last one.
    ``watch`` names the record entry to watch instead of
    "validation_accuracy" (the regressor watches "validation_r2" or
    "validation_cost").
    """

    def __init__(self, patience, watch="validation_accuracy"):
        self.patience = patience
        self.watch = watch
        self._tracker = _PlateauTracker(patience, watch)

    def on_train_begin(self, estimator):
        self._tracker = _PlateauTracker(self.patience, self.watch)

    def on_epoch_end(self, estimator, record):
        return Decision(stop=self._tracker.update(estimator, record))

    def on_train_end(self, estimator):
        return self._tracker.best()


class HalveLearningRateOnPlateau:
    """Halve eta each time validation accuracy plateaus for ``patience`` epochs.

    Training stops once eta falls below ``eta0 * min_ratio`` (the book uses
    1/128); the best epoch's weights are then put back, as with early stopping.
    """

    def __init__(self, patience, min_ratio, watch="validation_accuracy"):
        self.patience = patience
        self.min_ratio = min_ratio
        self.watch = watch
        self.on_train_begin(None)

    def on_train_begin(self, estimator):
        self._tracker = _PlateauTracker(self.patience, self.watch)
        self._initial_rate = None

    def on_epoch_end(self, estimator, record):
        rate = record["learning_rate"]
        if self._initial_rate is None:
            self._initial_rate = rate
        if not self._tracker.update(estimator, record):
            return Decision()
        self._tracker.epochs_without_improvement = 0
        halved = rate / 2
        return Decision(
            stop=halved < self._initial_rate * self.min_ratio, learning_rate=halved
        )

    def on_train_end(self, estimator):
        return self._tracker.best()


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
        return Decision.of(self.function(estimator, record))


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
