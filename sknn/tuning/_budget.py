"""A search's budget: the time and fits it may spend, and how fast its fits run."""

from __future__ import annotations

import time

from . import _decisions


class _Budget:
    """What a search has spent, and what it can still afford.

    It learns the speed of fits from every batch run so far (see
    ``_decisions._fit_speed``) and predicts the next batches' wall time from
    their work, in units of epochs x rows x weights (``_Run.work``).

    Parameters
    ----------
    max_time, max_fits : float, int or None
        The search's limits (None: no limit).
    n_workers : int
        Fits run at once.
    gain : callable
        ``gain(n_fits)``: how much faster each fit of a batch of ``n_fits``
        runs on the threads of the workers the batch leaves idle.
    """

    def __init__(self, max_time, max_fits, n_workers, gain):
        self.started = time.perf_counter()
        self.max_time, self.max_fits = max_time, max_fits
        self.n_workers, self.gain = n_workers, gain
        self.n_fits = 0
        self.batches = []
        self.training = [0.0, 0.0]
        self.speed = None

    def elapsed(self):
        return time.perf_counter() - self.started

    def left(self):
        """Seconds of ``max_time`` left (None without one)."""
        return None if self.max_time is None else self.max_time - self.elapsed()

    def predict_seconds(self, units):
        """Predicted wall time of fits of ``units``, run in parallel."""
        return _decisions._predicted_seconds(
            self.speed, units, self.n_workers, self.gain(len(units))
        )

    def affords(self, batches, refit_units):
        """Whether ``batches`` of fits, then the refit, fit the budget; else why not.

        ``batches`` are lists of the work of each fit, run one batch after
        another: a candidate's re-tuned threshold, then its fit, is two
        batches, and a fit that runs alone may use the idle workers (see
        ``gain``), which it could not in one batch with the threshold's.
        """
        n_fits = sum(len(units) for units in batches)
        if self.max_fits is not None and self.n_fits + n_fits > self.max_fits:
            return False, (
                f"{n_fits} more fits would exceed max_fits={self.max_fits} "
                f"({self.n_fits} done)"
            )
        if self.max_time is None or self.speed is None:
            return True, ""
        needed = sum(self.predict_seconds(units) for units in batches)
        needed += self.predict_seconds([refit_units])
        left = self.left()
        if needed > left:
            return False, (
                f"needed about {needed:.0f} s with the refit, {max(left, 0):.0f} s "
                f"of max_time={_decisions._fmt(self.max_time)} left"
            )
        return True, ""

    def record(self, wall, units, training_seconds=None):
        """Learn the speed of fits from a batch just run (see ``_fit_speed``).

        ``training_seconds``, when the fits report it, is the time each
        spent in its training epochs, without the overheads around them.
        """
        self.n_fits += len(units)
        if sum(units) <= 0:
            return
        work = _decisions._batch_work(units, self.n_workers, self.gain(len(units)))
        self.batches.append((work, wall))
        if training_seconds is not None:
            self.training[0] += sum(training_seconds)
            self.training[1] += sum(units)
        rate = self.training[0] / self.training[1] if self.training[1] else None
        self.speed = _decisions._fit_speed(self.batches, rate)
