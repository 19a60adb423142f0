"""Where a search's fits run: threads or processes, and how Ctrl-C reaches them.

BookSearchCV's fits go through joblib. The compiled training loop releases
the GIL, so large fits are best run in threads; those threads cannot be
stopped from outside, so each candidate carries a hook that ends its
training once the search is interrupted. A batch of fewer fits than
workers (the epochs stage's one early-stopped run, a stage with one new
candidate, the refit) lends the idle cores to its fits' compiled loops.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from numbers import Integral

import numpy as np

from .._compiled import compiled_loop_available
from .._threads import min_work, training_threads

THREADS_FROM_WORK = 30_000_000
"""Rows x weights per epoch of the network to tune from which fits run in threads.

Measured on two cores (threads against loky processes, medians of three
alternating searches): sklearn's digits with the book's [64, 30, 10] network,
3 million, took 9.6 s in threads and 6.1 s in processes; 1,000 MNIST images
with [784, 100, 10], 80 million, 2.4 s and 3.0 s; 3,000 images, 5.2 s and
6.1 s; 50,000 images, 4 billion, 1 s and 5 s for the threshold stage alone.
The threshold lies between the first two.
"""


LONE_FIT_GAIN = 1.7
"""How much faster one fit trains on two threads than on one, for the budget.

Measured with :func:`sknn.training_threads` on MNIST's 40,000-image training
fold at batch 20 (fits of 5 against 1 epoch, best of two, alternating
processes three times): 1.94-2.05x with [784, 100, 10] and 1.8-1.95x with
[784, 200, 10]. Counted below that, so that the budget errs long.
"""


def lone_fit_threads(n_fits, n_workers, in_threads):
    """Threads for each fit of a batch of ``n_fits``: the workers it leaves idle.

    Only fits that run in this process (``in_threads``, see
    :func:`worker_hint`) can use them; processes keep one thread each. More
    than two threads per fit were not measured, so none gets more.
    """
    if not in_threads or n_fits >= n_workers:
        return 1
    return min(2, n_workers // max(n_fits, 1))


def fit_gain(threads, hidden_layer_sizes, input_work):
    """How many times faster a fit runs on ``threads`` threads than on one.

    The compiled loop gives each thread at least 32 units of the first
    hidden layer (in float32), so a narrower layer gains nothing, and keeps
    one thread for an epoch of less first-layer work than ``min_work`` (see
    :func:`sknn.training_threads`). ``input_work`` is the nonzero inputs of
    an epoch: rows x features x the fraction of nonzero inputs.
    """
    if isinstance(hidden_layer_sizes, Integral):
        hidden_layer_sizes = (hidden_layer_sizes,)
    first = (tuple(hidden_layer_sizes or ())[:1] or (0,))[0]
    if threads < 2 or first <= 32 or input_work * first < min_work():
        return 1.0
    return LONE_FIT_GAIN


def input_work(X):
    """An epoch's nonzero inputs over the rows of ``X``: what the first layer reads."""
    if hasattr(X, "nnz"):
        return int(X.nnz)
    X = np.asarray(X)
    return int(np.count_nonzero(X)) if X.dtype.kind in "fiub" else X.size


def lend_idle_workers(n_fits, n_workers, in_threads):
    """A context in which each of ``n_fits`` fits may use the idle workers."""
    return training_threads(lone_fit_threads(n_fits, n_workers, in_threads))


class _StopWhenCancelled:
    """A hook that ends a candidate's training once the search is cancelled.

    ``clone`` deep-copies hooks; the copies share the event. A pickled copy
    (sent to a worker process) checks nothing: joblib's process backends
    stop their workers themselves.
    """

    def __init__(self, event=None):
        self.event = event

    def on_epoch_end(self, estimator, record):
        return self.event is not None and self.event.is_set()

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_StopWhenCancelled, ())


def worker_hint(work_per_epoch):
    """``parallel_config`` arguments: threads for large fits, else joblib's default.

    The compiled training loop releases the GIL, so large fits train about
    twice as fast in two threads as in one, without starting worker
    processes or copying X into them: on MNIST the threshold stage took 1 s
    in two threads against 5 s in two loky processes. Small fits are mostly
    Python, which holds the GIL: a whole search on sklearn's digits took
    9.6 s in two threads, 8.5 s in one and 6.1 s in two processes. So
    threads are preferred from :data:`THREADS_FROM_WORK` rows x weights per
    epoch of the network to tune (``work_per_epoch``). A backend the caller
    chose with joblib (loky, Dask) is used as chosen.
    """
    large = work_per_epoch >= THREADS_FROM_WORK
    return {"prefer": "threads"} if large and compiled_loop_available() else {}


@contextlib.contextmanager
def cancel_on_ctrl_c(event):
    """Within this block, Ctrl-C also sets ``event``, which every candidate reads.

    A thread cannot be stopped from outside, and joblib returns on Ctrl-C
    without the fits running in its threads: they would train on beside the
    refit and after ``fit`` returned. The handler sets ``event``, which each
    candidate's :class:`_StopWhenCancelled` reads after every epoch, then
    does what the previous handler did. It is installed only where Python
    allows it (the main thread) and over a handler that is a function.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield
        return

    def interrupted(signum, frame):
        event.set()
        previous(signum, frame)

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
