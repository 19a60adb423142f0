"""How many threads training uses: numpy's BLAS, and the compiled loop's own.

Two independent limits, each owned here. The numpy loop keeps numpy's BLAS
on one thread unless a batch is large and a core is idle; the compiled loop
splits one fit's first layer over threads only inside :func:`training_threads`.
Both are the process's, not a thread's, because BookSearchCV runs fits in
several threads of one process.
"""

import contextlib
import os
import threading

import numpy as np

_blas_controller = None

LARGE_BATCH_FLOPS = 50_000_000
"""A batch's first-layer product above this many FLOPs may get two BLAS threads."""


def _idle_cores():
    """Whether the last minute's load leaves a core free for a second BLAS thread."""
    try:
        return os.getloadavg()[0] < (os.cpu_count() or 1) - 0.5
    except (AttributeError, OSError):  # no load average (Windows)
        return True


def blas_threads(batch_size, layer_sizes):
    """A context limiting numpy's BLAS to one thread unless it can use more.

    At the book's batch size a second thread gains nothing. On large products
    it can, but only on a free core: when another process holds it, BLAS's
    threads wait on each other, and a [784, 100] epoch at batch 1000 took
    3-4.5x longer on two threads than on one (batch 100, in an earlier
    measurement, fifty times). So large batches keep the BLAS library's own
    thread count only while the load average leaves a core idle.

    The limit is the process's, so fits in several threads (BookSearchCV's
    workers) share one: the first to enter sets it and the last to leave
    restores the library's own count. Limiting in each thread on its own
    would let one thread restore the limit another had saved, and leave the
    process with one BLAS thread for good.
    """
    global _blas_controller
    large = batch_size * layer_sizes[0] * layer_sizes[1] * 2 > LARGE_BATCH_FLOPS
    if large and _idle_cores():
        return contextlib.nullcontext()
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    if not _blas_controller:
        return contextlib.nullcontext()
    return _one_blas_thread(_blas_controller)


_blas_limit = {"lock": threading.Lock(), "holders": 0, "limiter": None}


@contextlib.contextmanager
def _one_blas_thread(controller):
    """One BLAS thread while any thread of this process is inside."""
    with _blas_limit["lock"]:
        if _blas_limit["holders"] == 0:
            _blas_limit["limiter"] = controller.limit(limits=1, user_api="blas")
        _blas_limit["holders"] += 1
    try:
        yield
    finally:
        with _blas_limit["lock"]:
            _blas_limit["holders"] -= 1
            if _blas_limit["holders"] == 0:
                _blas_limit["limiter"].restore_original_limits()
                _blas_limit["limiter"] = None


THREADS_FROM_WORK = 250_000_000
"""Multiply-adds per epoch in the first layer's forward pass from which a fit
splits it over threads.

On this project's 2-core virtual machine a second thread added 10-15 ms to
every epoch of 2,000 images, at batch 10 or 100, while starting and joining
it costs about 50 microseconds: the cores seem to need milliseconds to work
together after the Python between epochs (not verified further). So threads
pay only on long epochs. Measured, two threads against one, on MNIST at
batch 20 (rows x 150 nonzero pixels x hidden units), while thread 0 still
ran BP2 alone: 60-150 million, 0.5-0.9x (2,000 or 5,000 images with 200
units); 150 million, 1.48x (10,000 images, 100 units); 300 million, 1.28x;
600 million, 1.45-1.6x; 1.2 billion, 1.74-1.83x. On 2,000 rows (MNIST, or
100 dense random features) two threads took 1.3 to 7 times as long as one.
"""


_training_threads = {"n": 1, "min_work": THREADS_FROM_WORK, "lock": threading.Lock()}


@contextlib.contextmanager
def training_threads(n_threads, *, min_work=None):
    """Let compiled fits split their first layer over up to ``n_threads`` threads.

    The first layer holds nearly all of a fit's work (784 inputs against a
    hidden layer and 10 outputs on MNIST). Inside this context the compiled
    loop gives each thread a range of its hidden units, for every row of each
    mini-batch, and one thread runs the later layers between two meetings per
    mini-batch. Every unit's arithmetic is the same whatever the split, so the
    weights are bit-identical to a one-thread fit's.

    Threads help only on free cores: they meet twice per mini-batch, and a
    thread whose partner waits for a core stalls the fit. So the default is
    one thread, and this context is for a caller that knows a core is free:
    :class:`~sknn.BookSearchCV` uses it for the fits it runs one at a time
    (with ``n_jobs`` of 2 or more). Several fits running at once in threads of
    one process each use the setting, so run them one at a time inside it.

    Each thread takes at least 4 vectors of the padded hidden width (32 units
    in float32, 16 in float64), so a layer of 30 units trains on one thread
    and one of 100 float32 units on up to three; no fit uses more threads
    than the cores the process may run on; and an epoch whose first layer
    does fewer than ``min_work`` multiply-adds trains on one thread, since
    starting the threads would cost more than they save (MNIST's 50,000
    images with 100 hidden units: 750 million).
    The numpy loop and networks without a hidden layer ignore the setting.

    Parameters
    ----------
    n_threads : int
        At least 1.
    min_work : int or None, default=None
        Multiply-adds per epoch in the first layer (rows x nonzero inputs per
        row x first hidden units) below which a fit keeps one thread; None
        keeps the enclosing context's, and outside any it is 250 million
        (measured on a 2-core virtual machine, where two threads took 1.3 to
        7 times as long as one on 2,000 MNIST images). 0 splits every fit
        that can be split.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook, training_threads
    >>> X, y = load_digits(return_X_y=True)
    >>> with training_threads(2):  # digits: too small an epoch, so one thread
    ...     model = MLPClassifierBook([64], epochs=2, random_state=0).fit(X / 16, y)
    """
    setting = {"n": _checked_count("n_threads", n_threads, 1, "an int")}
    if min_work is not None:
        setting["min_work"] = _checked_count("min_work", min_work, 0, "an int or None")
    with _training_threads["lock"]:
        previous = {name: _training_threads[name] for name in setting}
        _training_threads.update(setting)
    try:
        yield
    finally:
        with _training_threads["lock"]:
            _training_threads.update(previous)


def _checked_count(name, value, minimum, kind):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {kind}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


def min_work():
    """The current ``min_work`` of :func:`training_threads`."""
    return _training_threads["min_work"]


def kernel_threads(kernel_limit, first_layer_work):
    """The threads a compiled fit may use now (see :func:`training_threads`).

    One for an epoch of fewer multiply-adds in its first layer
    (``first_layer_work``) than the context's ``min_work``; else never more
    than the kernel's
    ``kernel_limit`` (1 when it was built without threads) nor the cores this
    process may run on: threads that meet twice per mini-batch on fewer cores
    than threads wait for each other.
    """
    if first_layer_work < _training_threads["min_work"]:
        return 1
    return min(_training_threads["n"], kernel_limit, _usable_cores())
