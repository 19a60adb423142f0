"""Benchmark MLPClassifierBook against scikit-learn and PyTorch on real MNIST.

Usage, from the root of the checkout::

    python benchmarks/bench_mnist.py [--mnist PATH] [--quick] [--output FILE]

One run measures, on the same arrays (the book's split of MNIST: 50,000
training, 10,000 validation and 10,000 test images, float32 in [0, 1]):

* the GEMM rate of numpy's BLAS, and from it a FLOP floor for an epoch;
* seconds per epoch of the book's network [784, 30, 10] (sigmoid hidden
  layer, cross-entropy cost, plain SGD, eta = 0.5, no regularization) at
  batch sizes 10 and 100, for sknn, scikit-learn's ``MLPClassifier`` and
  PyTorch (when it is installed), and the test accuracy each one reaches;
* what dropout, momentum and monitoring add to an sknn epoch, and
  [784, 100, 10] at batch size 1000;
* the memory ``fit`` and ``predict_proba`` use beyond their input;
* how an sknn epoch scales with the number of images and hidden neurons.

It prints Markdown tables and, with ``--output``, writes them as a results
page that also checks the project's speed, accuracy and memory targets. The
script computes every number it reports and exits with 0 whether or not the
targets are met: it is a report, not a test. ``--quick`` runs 2 epochs and
only the configurations that the targets need, in about a minute.

Every measurement runs in a freshly spawned Python process that loads the same
arrays from ``.npy`` files written once by this process, so the libraries
never share thread pools (numpy's and scipy's OpenBLAS, PyTorch's OpenMP and
MKL), heaps or warm caches, and each memory reading belongs to one call.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import importlib.util
import itertools
import multiprocessing
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknn import MLPClassifierBook
from sknn.datasets import MNIST_ENV_VAR, load_mnist

N_FEATURES = 784
N_CLASSES = 10
LEARNING_RATE = 0.5
SEED = 0
GEMM_SIZE = 2048
GEMM_REPEATS = 7
PREDICT_ROWS = 1_000_000
ARRAY_NAMES = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
TORCH_INSTALLED = importlib.util.find_spec("torch") is not None
LIBRARY_NAMES = {
    "sknn": "sknn MLPClassifierBook",
    "sklearn": "scikit-learn MLPClassifier",
    "torch": "PyTorch",
}
MB = 1e6


# --- helpers --------------------------------------------------------------------


def time_calls(function, repeats):
    """Time ``repeats`` calls of ``function()``.

    Parameters
    ----------
    function : callable
        Called without arguments.
    repeats : int

    Returns
    -------
    list of float
        Wall-clock seconds of each call, in order.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def typical(times):
    """The median time, leaving out the first (warm-up) call when there are more.

    Parameters
    ----------
    times : list of float
        Seconds per call, in call order.

    Returns
    -------
    float
    """
    return statistics.median(times[1:] if len(times) > 1 else times)


def forward_flops(layers):
    """Floating-point operations of one sample's forward pass.

    Parameters
    ----------
    layers : sequence of int
        Neurons per layer, input first.

    Returns
    -------
    int
        2 n_in n_out per layer: a multiply and an add per weight.
    """
    return 2 * sum(n_in * n_out for n_in, n_out in itertools.pairwise(layers))


def flop_floor(layers, n_samples, gflops):
    """Seconds an epoch would take if it only ran its matrix products at GEMM speed.

    A training step needs each layer's forward product and the product for
    its weight gradient. The product that passes the error back to the input
    is never needed and the hidden-to-output products are small, so an epoch
    is about twice the forward FLOPs.

    Parameters
    ----------
    layers : sequence of int
        Neurons per layer, input first.
    n_samples : int
        Training samples in an epoch.
    gflops : float
        The GEMM rate, in GFLOP/s.

    Returns
    -------
    float
    """
    return 2 * n_samples * forward_flops(layers) / (gflops * 1e9)


def usable_cores():
    """The number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def isolated(function, /, **kwargs):
    """Run ``function(**kwargs)`` in a freshly spawned Python process.

    Parameters
    ----------
    function : callable
        A module-level function of this script; its arguments and result must
        pickle.
    **kwargs
        Its arguments.

    Returns
    -------
    object
        What ``function`` returned.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, **kwargs).result()


def _proc_status_bytes(key):
    """A memory line of /proc/self/status, such as "VmRSS" or "VmHWM", in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no {key} in /proc/self/status")


def start_peak_rss():
    """Start watching the peak resident set size (RSS).

    On Linux the kernel's peak mark (VmHWM) is first reset to the current RSS
    through /proc/self/clear_refs, so the growth is the peak reached after
    this call over what was resident before it. Elsewhere it is the growth
    of ``ru_maxrss``, which counts only what rises above the process's
    earlier peak (imports, loading) and so may read low.

    Returns
    -------
    callable
        Returns the growth so far, in bytes.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _proc_status_bytes("VmRSS")
        return lambda: max(0, _proc_status_bytes("VmHWM") - before)
    except OSError:
        unit = 1 if sys.platform == "darwin" else 1024
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return lambda: (
            unit * (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        )


def cpu_seconds():
    """CPU time used so far by the whole machine and by this process tree.

    Returns
    -------
    tuple
        (busy, steal, own): the machine's busy and hypervisor-stolen seconds
        from /proc/stat (None without it), and the CPU seconds of this process
        and its finished children.
    """
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None, None, own
    user, nice, system, _, _, irq, softirq, steal = (
        int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:9]
    )
    hertz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hertz, steal / hertz, own


# --- data -----------------------------------------------------------------------


def resolve_mnist_path(given):
    """Where MNIST is: ``--mnist``, else ``$SKNN_MNIST``, else ``../shared/data/mnist``.

    Parameters
    ----------
    given : str or None
        The ``--mnist`` argument.

    Returns
    -------
    pathlib.Path or None
        None lets :func:`sknn.datasets.load_mnist` explain what is missing.
    """
    if given:
        return Path(given)
    if os.environ.get(MNIST_ENV_VAR):
        return Path(os.environ[MNIST_ENV_VAR])
    beside_checkout = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    return beside_checkout if beside_checkout.is_dir() else None


def save_arrays(mnist_path, folder):
    """Load MNIST with the book's split and save each array as ``folder/NAME.npy``.

    Parameters
    ----------
    mnist_path : path-like or None
        The folder of the four MNIST IDX files.
    folder : path-like
        Where to write the arrays.
    """
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist(
        mnist_path, split="book"
    )
    arrays = (X_train, y_train, X_val, y_val, X_test, y_test)
    for name, array in zip(ARRAY_NAMES, arrays):
        np.save(Path(folder) / f"{name}.npy", array)


def load_arrays(folder, *names):
    """Load arrays that :func:`save_arrays` wrote.

    ``np.load`` reads straight into the new array, so loading leaves no
    temporary copy behind.

    Parameters
    ----------
    folder : path-like
    *names : str
        Among ``ARRAY_NAMES``.

    Returns
    -------
    list of ndarray
    """
    return [np.load(Path(folder) / f"{name}.npy") for name in names]


# --- measurements, each run in its own process -----------------------------------


@dataclass
class Timing:
    """Seconds per epoch of one training configuration, and the accuracy it reached."""

    library: str
    layers: tuple
    batch_size: int
    dtype: str
    n_samples: int
    times: list
    variant: str = ""
    loop_times: list | None = None
    accuracy: float | None = None

    @property
    def seconds(self):
        """The typical seconds per epoch (see :func:`typical`)."""
        return typical(self.times)

    @property
    def loop_seconds(self):
        """sknn's per-epoch time from ``history_``: the training loop alone."""
        return None if self.loop_times is None else typical(self.loop_times)


def gemm_rates(size=GEMM_SIZE, repeats=GEMM_REPEATS):
    """Measure the speed of numpy's matrix product in float32 and float64.

    Parameters
    ----------
    size : int
        The side of the square matrices.
    repeats : int
        Timed products per dtype, after one warm-up product.

    Returns
    -------
    dict
        GFLOP/s (2 size^3 / median seconds) by dtype name.
    """
    rng = np.random.default_rng(SEED)
    rates = {}
    for dtype in ("float32", "float64"):
        a = rng.random((size, size), dtype=dtype)
        b = rng.random((size, size), dtype=dtype)
        product = functools.partial(np.matmul, a, b, out=np.empty_like(a))
        product()
        seconds = statistics.median(time_calls(product, repeats))
        rates[dtype] = 2 * size**3 / seconds / 1e9
    return rates


def torch_facts():
    """PyTorch's version and thread pools, set up as for its measurements.

    Returns
    -------
    dict
    """
    import torch

    torch.set_num_threads(usable_cores())
    backends = [
        name
        for name, available in (
            ("MKL", torch.backends.mkl.is_available()),
            ("OpenMP", torch.backends.openmp.is_available()),
        )
        if available
    ]
    return {
        "threads": torch.get_num_threads(),
        "backends": backends,
        "pools": [
            pool
            for pool in threadpoolctl.threadpool_info()
            if "torch" in Path(pool["filepath"]).parts
        ],
    }


def sknn_epochs(
    folder,
    *,
    hidden,
    batch_size,
    dtype,
    epochs,
    evaluate,
    n_samples=None,
    dropout=0.0,
    momentum=0.0,
    monitored=False,
):
    """Train MLPClassifierBook epoch by epoch and time each epoch.

    Each epoch is one ``fit`` call with ``warm_start=True`` and ``epochs=1``,
    so it includes what ``fit`` does around the training loop (checking the
    input, making one-hot targets); ``Timing.loop_times`` is the loop alone,
    from ``history_``.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    hidden : int
        Neurons in the hidden layer.
    batch_size : int
    dtype : {"float32", "float64"}
        float64 trains on a float64 copy of the images.
    epochs : int
    evaluate : bool
        Measure the test accuracy after the last epoch.
    n_samples : int or None
        Train on the first ``n_samples`` training images; None for all.
    dropout, momentum : float
        As MLPClassifierBook takes them.
    monitored : bool
        Record the training cost and the validation accuracy after each
        epoch, with the validation images passed to ``fit``.

    Returns
    -------
    Timing
    """
    X, y, X_val, y_val, X_test, y_test = load_arrays(folder, *ARRAY_NAMES)
    X, y = X[:n_samples].astype(dtype, copy=False), y[:n_samples]
    model = MLPClassifierBook(
        hidden_layer_sizes=(hidden,),
        cost="cross_entropy",
        regularizer="none",
        lmbda=0.0,
        learning_rate=LEARNING_RATE,
        batch_size=batch_size,
        epochs=1,
        dropout=dropout,
        momentum=momentum,
        monitor=("training_cost", "validation_accuracy") if monitored else (),
        warm_start=True,
        random_state=SEED,
    )
    validation = {"X_val": X_val.astype(dtype), "y_val": y_val} if monitored else {}
    times = time_calls(lambda: model.fit(X, y, **validation), epochs)
    variant = [f"dropout={dropout}"] if dropout else []
    variant += [f"momentum={momentum}"] if momentum else []
    variant += ['monitor=("training_cost", "validation_accuracy")'] if monitored else []
    return Timing(
        library="sknn",
        layers=(N_FEATURES, hidden, N_CLASSES),
        batch_size=batch_size,
        dtype=dtype,
        n_samples=len(X),
        times=times,
        variant=", ".join(variant),
        loop_times=[record["time"] for record in model.history_],
        accuracy=model.score(X_test.astype(dtype), y_test) if evaluate else None,
    )


def sklearn_model(hidden, batch_size):
    """scikit-learn's MLPClassifier set up as the book's network and plain SGD.

    The random state is a ``RandomState`` instance, not an int: MLPClassifier
    re-seeds from ``random_state`` on every ``partial_fit`` call, so with an
    int every epoch would visit the samples in the same order.
    """
    return MLPClassifier(
        hidden_layer_sizes=(hidden,),
        activation="logistic",
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        learning_rate="constant",
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=batch_size,
        max_iter=1,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=10**9,
        early_stopping=False,
        random_state=np.random.RandomState(SEED),
    )


def one_hot(y):
    """One-hot indicator targets, which give MLPClassifier logistic outputs."""
    return np.eye(N_CLASSES, dtype=np.int8)[y]


def sklearn_epochs(
    folder, *, hidden, batch_size, dtype, epochs, evaluate, integer_labels=False
):
    """Train scikit-learn's MLPClassifier epoch by epoch and time each epoch.

    An epoch is one ``partial_fit`` call. ``fit`` with ``warm_start=True`` and
    ``max_iter=1`` runs the same loop, but on every call also builds a new
    optimizer, checks for convergence and warns (ConvergenceWarning), so
    ``partial_fit`` is the purer epoch; the two take the same time. Either
    way MLPClassifier computes the loss of every mini-batch in its backward
    pass.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    hidden : int
        Neurons in the hidden layer.
    batch_size : int
    dtype : {"float32", "float64"}
    epochs : int
    evaluate : bool
        Measure the test accuracy after the last epoch.
    integer_labels : bool
        Fit the digits as labels, for which MLPClassifier uses a softmax output
        layer and the multiclass log loss. By default it fits one-hot
        indicator targets, which give it logistic outputs and the binary log
        loss summed over the outputs: the book's cross-entropy (eq. 63).

    Returns
    -------
    Timing
    """
    X, y, X_test, y_test = load_arrays(folder, "X_train", "y_train", "X_test", "y_test")
    X, X_test = X.astype(dtype, copy=False), X_test.astype(dtype, copy=False)
    targets = y if integer_labels else one_hot(y)
    model = sklearn_model(hidden, batch_size)
    classes = np.arange(N_CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        times = time_calls(
            lambda: model.partial_fit(X, targets, classes=classes), epochs
        )
    accuracy = None
    if evaluate:
        accuracy = float(np.mean(model.predict_proba(X_test).argmax(axis=1) == y_test))
    return Timing(
        library="sklearn",
        layers=(N_FEATURES, hidden, N_CLASSES),
        batch_size=batch_size,
        dtype=dtype,
        n_samples=len(X),
        times=times,
        variant="integer labels (softmax output)" if integer_labels else "",
        accuracy=accuracy,
    )


def torch_epochs(folder, *, hidden, batch_size, dtype, epochs, evaluate):
    """Train the same network in PyTorch epoch by epoch and time each epoch.

    ``nn.Sequential(Linear, Sigmoid, Linear)``, the cross-entropy of sigmoid
    outputs on one-hot targets summed over the outputs and averaged over the
    mini-batch (eq. 63, with ``binary_cross_entropy_with_logits``),
    ``torch.optim.SGD`` without momentum, and mini-batches cut from a new
    ``randperm`` each epoch. PyTorch runs one thread per core.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    hidden : int
        Neurons in the hidden layer.
    batch_size : int
    dtype : {"float32"}
    epochs : int
    evaluate : bool
        Measure the test accuracy after the last epoch.

    Returns
    -------
    Timing
    """
    import torch
    from torch import nn
    from torch.nn.functional import binary_cross_entropy_with_logits

    torch.set_num_threads(usable_cores())
    torch.manual_seed(SEED)
    X, y, X_test, y_test = load_arrays(folder, "X_train", "y_train", "X_test", "y_test")
    inputs = torch.from_numpy(X.astype(dtype, copy=False))
    targets = torch.from_numpy(one_hot(y).astype(dtype))
    model = nn.Sequential(
        nn.Linear(N_FEATURES, hidden), nn.Sigmoid(), nn.Linear(hidden, N_CLASSES)
    ).to(inputs.dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    n_samples = len(inputs)

    def epoch():
        order = torch.randperm(n_samples)
        for start in range(0, n_samples, batch_size):
            rows = order[start : start + batch_size]
            optimizer.zero_grad()
            logits = model(inputs[rows])
            cost = binary_cross_entropy_with_logits(
                logits, targets[rows], reduction="sum"
            )
            (cost / len(rows)).backward()
            optimizer.step()

    times = time_calls(epoch, epochs)
    accuracy = None
    if evaluate:
        with torch.no_grad():
            outputs = model(torch.from_numpy(X_test.astype(dtype, copy=False)))
        accuracy = float(np.mean(outputs.argmax(dim=1).numpy() == y_test))
    return Timing(
        library="torch",
        layers=(N_FEATURES, hidden, N_CLASSES),
        batch_size=batch_size,
        dtype=dtype,
        n_samples=n_samples,
        times=times,
        accuracy=accuracy,
    )


RUNNERS = {"sknn": sknn_epochs, "sklearn": sklearn_epochs, "torch": torch_epochs}


@dataclass
class Memory:
    """The memory one call used beyond the arrays that existed before it."""

    library: str
    call: str
    input_bytes: int
    traced_peak: int
    rss_growth: int
    seconds: float
    output_bytes: int = 0

    @property
    def extra(self):
        """The larger of the two readings."""
        return max(self.traced_peak, self.rss_growth)


def measure_memory(library, call_name, function, X):
    """Run ``function(X)`` and measure the memory and time it takes.

    numpy reports its array buffers to tracemalloc, so tracemalloc's peak
    counts every array the call allocates (and its Python objects); the
    growth of the peak RSS (:func:`start_peak_rss`) also counts what numpy
    does not report, such as BLAS buffers and allocator slack.

    Parameters
    ----------
    library : str
    call_name : str
        Names the call in the report.
    function : callable
        Called with ``X``.
    X : ndarray
        The input, whose size the extra memory is compared with.

    Returns
    -------
    Memory
    """
    tracemalloc.start()
    rss_growth = start_peak_rss()
    start = time.perf_counter()
    result = function(X)
    seconds = time.perf_counter() - start
    growth = rss_growth()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    output_bytes = result.nbytes if isinstance(result, np.ndarray) else 0
    return Memory(
        library, call_name, X.nbytes, traced_peak, growth, seconds, output_bytes
    )


def fit_memory(folder, *, library):
    """Measure the extra memory of one training epoch on the 50,000 images, batch 10.

    sknn is fitted as a user would watch it, monitoring the training cost and
    the validation accuracy (each a forward pass over its data set);
    scikit-learn runs one ``partial_fit`` epoch.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    library : {"sknn", "sklearn"}

    Returns
    -------
    Memory
    """
    X, y, X_val, y_val = load_arrays(folder, "X_train", "y_train", "X_val", "y_val")
    if library == "sknn":
        model = MLPClassifierBook(
            regularizer="none",
            learning_rate=LEARNING_RATE,
            batch_size=10,
            epochs=1,
            monitor=("training_cost", "validation_accuracy"),
            random_state=SEED,
        )
        call = functools.partial(model.fit, y=y, X_val=X_val, y_val=y_val)
        name = "`fit`, 1 epoch at batch 10, monitoring cost and validation accuracy"
    else:
        model = sklearn_model(hidden=30, batch_size=10)
        call = functools.partial(
            model.partial_fit, y=one_hot(y), classes=np.arange(N_CLASSES)
        )
        name = "`partial_fit`, 1 epoch at batch 10"
    return measure_memory(library, name, call, X)


def predict_memory(folder, *, library, n_rows=PREDICT_ROWS):
    """Measure the extra memory of ``predict_proba`` on ``n_rows`` rows.

    The model is trained for one epoch at batch size 100 first (its accuracy
    does not matter here). The rows are the test images repeated, written
    into one preallocated array so that building them leaves no temporary.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    library : {"sknn", "sklearn"}
    n_rows : int

    Returns
    -------
    Memory
    """
    X_train, y_train, X_test = load_arrays(folder, "X_train", "y_train", "X_test")
    if library == "sknn":
        model = MLPClassifierBook(
            regularizer="none", batch_size=100, epochs=1, monitor=(), random_state=SEED
        ).fit(X_train, y_train)
    else:
        model = sklearn_model(hidden=30, batch_size=100)
        model.partial_fit(X_train, one_hot(y_train), classes=np.arange(N_CLASSES))
    X = np.empty((n_rows, X_test.shape[1]), X_test.dtype)
    for start in range(0, n_rows, len(X_test)):
        X[start : start + len(X_test)] = X_test[: n_rows - start]
    return measure_memory(
        library, f"`predict_proba` on {n_rows:,} rows", model.predict_proba, X
    )


# --- the run ----------------------------------------------------------------------


@dataclass
class Results:
    """Everything one run measured."""

    gemm_runs: list = field(default_factory=list)
    comparison: list = field(default_factory=list)
    features: list = field(default_factory=list)
    wide: list = field(default_factory=list)
    scaling: list = field(default_factory=list)
    memory: list = field(default_factory=list)

    @property
    def gemm(self):
        """GFLOP/s by dtype: the better of the measurements at the start and the end.

        Other load on the machine can only slow a measurement down, and a low
        rate would make every FLOP floor too lenient.
        """
        return {
            dtype: max(run[dtype] for run in self.gemm_runs)
            for dtype in self.gemm_runs[0]
        }

    def floor(self, timing):
        """The FLOP floor of a timing's configuration, at its dtype's GEMM rate."""
        return flop_floor(timing.layers, timing.n_samples, self.gemm[timing.dtype])

    def find(self, timings, library, batch_size, dtype="float32"):
        """The timing of a configuration without variant, or None if not run."""
        for timing in timings:
            if (timing.library, timing.batch_size, timing.dtype) == (
                library,
                batch_size,
                dtype,
            ) and not timing.variant:
                return timing
        return None


def timed(
    library,
    folder,
    *,
    epochs,
    hidden=30,
    batch_size=10,
    dtype="float32",
    evaluate=False,
    **options,
):
    """Time one training configuration in its own process, and print the result.

    Parameters
    ----------
    library : {"sknn", "sklearn", "torch"}
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    epochs : int
    hidden, batch_size, dtype, evaluate, **options
        Passed to the library's runner.

    Returns
    -------
    Timing
    """
    timing = isolated(
        RUNNERS[library],
        folder=folder,
        hidden=hidden,
        batch_size=batch_size,
        dtype=dtype,
        epochs=epochs,
        evaluate=evaluate,
        **options,
    )
    line = (
        f"  {library:<8}{list(timing.layers)} batch {batch_size} {dtype}, "
        f"{timing.n_samples} images{f' {timing.variant}' if timing.variant else ''}: "
        f"{timing.seconds:.3f} s/epoch "
        f"(epochs: {' '.join(f'{t:.3f}' for t in timing.times)})"
    )
    if timing.accuracy is not None:
        line += f", test accuracy {timing.accuracy:.2%}"
    print(line, flush=True)
    return timing


def measure_gemm(results):
    """Measure the GEMM rates once more, and print them."""
    rates = isolated(gemm_rates)
    results.gemm_runs.append(rates)
    print(
        f"  {GEMM_SIZE}x{GEMM_SIZE} matmul: "
        + ", ".join(f"{dtype} {rate:.1f} GFLOP/s" for dtype, rate in rates.items()),
        flush=True,
    )


def run_benchmarks(folder, *, epochs, timing_epochs, full):
    """Run every measurement, each in its own process.

    Parameters
    ----------
    folder : path-like
        Where :func:`save_arrays` wrote the data.
    epochs : int
        Epochs of the library comparison, after which the accuracy is measured.
    timing_epochs : int
        Epochs of the configurations that are only timed.
    full : bool
        Also measure what no target needs: the features, the scaling, the
        softmax variant of MLPClassifier and scikit-learn's memory.

    Returns
    -------
    Results
    """
    results = Results()
    print("GEMM rate ...", flush=True)
    measure_gemm(results)

    print("Library comparison, [784, 30, 10] ...", flush=True)
    peers = ["sklearn", "torch"] if TORCH_INSTALLED else ["sklearn"]
    for batch_size, dtype, libraries in (
        (10, "float32", ["sknn", *peers]),
        (10, "float64", ["sknn", "sklearn"]),
        (100, "float32", ["sknn", *peers]),
    ):
        for library in libraries:
            results.comparison.append(
                timed(
                    library,
                    folder,
                    epochs=epochs,
                    batch_size=batch_size,
                    dtype=dtype,
                    evaluate=True,
                )
            )
        if full and dtype == "float32":
            results.comparison.append(
                timed(
                    "sklearn",
                    folder,
                    epochs=epochs,
                    batch_size=batch_size,
                    evaluate=True,
                    integer_labels=True,
                )
            )

    if full:
        print("What sknn's features cost ...", flush=True)
        for options in ({"dropout": 0.2, "momentum": 0.5}, {"monitored": True}):
            results.features.append(
                timed("sknn", folder, epochs=timing_epochs, **options)
            )

    print("[784, 100, 10] at batch 1000 ...", flush=True)
    for library in ["sknn", *peers]:
        results.wide.append(
            timed(library, folder, epochs=timing_epochs, hidden=100, batch_size=1000)
        )

    if full:
        print("Scaling of an sknn epoch ...", flush=True)
        for n_samples, hidden in itertools.chain(
            ((n, 30) for n in (10_000, 20_000, 50_000)),
            ((50_000, h) for h in (100, 300)),
        ):
            results.scaling.append(
                timed(
                    "sknn",
                    folder,
                    epochs=timing_epochs,
                    hidden=hidden,
                    n_samples=n_samples,
                )
            )

    print("Memory ...", flush=True)
    for library in ("sknn", "sklearn") if full else ("sknn",):
        for probe in (fit_memory, predict_memory):
            memory = isolated(probe, folder=folder, library=library)
            print(
                f"  {library} {memory.call}: tracemalloc peak "
                f"{memory.traced_peak / MB:.1f} MB, peak-RSS growth "
                f"{memory.rss_growth / MB:.1f} MB, {memory.seconds:.2f} s",
                flush=True,
            )
            results.memory.append(memory)

    print("GEMM rate again ...", flush=True)
    measure_gemm(results)
    return results


# --- the report -------------------------------------------------------------------


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def total_memory():
    """The machine's memory, from /proc/meminfo where there is one."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "unknown"


def package_version(name):
    """An installed distribution's version, or "not installed"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe_pool(pool):
    """One line for a thread pool found by ``threadpoolctl.threadpool_info()``."""
    parts = Path(pool["filepath"]).parts
    owner = next((p.removesuffix(".libs") for p in parts if p.endswith(".libs")), None)
    if owner is None:
        owner = "torch" if "torch" in parts else Path(pool["filepath"]).name
    text = f"{pool['internal_api']} {pool.get('version') or ''}".strip()
    if pool.get("architecture"):
        text += f" ({pool['architecture']} kernels)"
    return f"{text}, {pool['num_threads']} threads, shipped with {owner}"


def machine_facts(mnist_path):
    """What the numbers depend on: the machine, the libraries and their thread pools.

    Parameters
    ----------
    mnist_path : pathlib.Path or None

    Returns
    -------
    list of (str, str)
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    facts = [
        ("Date", now.strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", cpu_model()),
        ("Cores", f"{os.cpu_count()} logical, {usable_cores()} usable by this process"),
        ("Memory", total_memory()),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]
    for name in ("numpy", "scipy", "scikit-learn", "torch", "threadpoolctl", "sknn"):
        facts.append((name, package_version(name)))
    for pool in threadpoolctl.threadpool_info():
        facts.append((f"{pool['user_api'].upper()} pool", describe_pool(pool)))
    if TORCH_INSTALLED:
        torch = isolated(torch_facts)
        facts.append(
            (
                "PyTorch threads",
                f"{torch['threads']} intra-op threads ({', '.join(torch['backends'])})",
            )
        )
        for pool in torch["pools"]:
            facts.append(
                (f"PyTorch {pool['user_api'].upper()} pool", describe_pool(pool))
            )
    facts.append(
        (
            "Data",
            f"MNIST from {mnist_path}, the book's split: 50,000 training, "
            "10,000 validation and 10,000 test images, float32 in [0, 1]",
        )
    )
    return facts


def background_load(before, after, elapsed):
    """Say how much CPU time other processes took during the run.

    On a machine with few cores, another busy process (or a hypervisor
    stealing time) slows multi-threaded BLAS and OpenMP code far beyond its
    share: a descheduled thread stalls the others at the next synchronisation.

    Parameters
    ----------
    before, after : tuple
        :func:`cpu_seconds` at the start and at the end of the run.
    elapsed : float
        Wall-clock seconds of the run.

    Returns
    -------
    str
        One Markdown paragraph.
    """
    if before[0] is None:
        return "Background load: unknown (no /proc/stat)."
    capacity = elapsed * (os.cpu_count() or 1)
    busy, steal, own = (end - start for start, end in zip(before, after))
    others, steal = max(0.0, busy - own) / capacity, steal / capacity
    text = (
        f"Background load during the run: other processes used {others:.0%} of the "
        f"machine's CPU time and the hypervisor stole {steal:.0%}."
    )
    if others + steal > 0.1:
        text += (
            " **The machine was busy, so multi-threaded timings are unreliable: "
            "rerun on a quiet machine.**"
        )
    return text


def markdown_table(headers, rows, align=None):
    """A Markdown table.

    Parameters
    ----------
    headers : list of str
    rows : list of list
        Cells, turned into text with ``str``.
    align : str, optional
        One letter per column, "l" or "r"; all left by default.

    Returns
    -------
    str
    """
    rule = ["---:" if a == "r" else "---" for a in align or "l" * len(headers)]
    lines = [headers, rule, *[[str(cell) for cell in row] for row in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def seconds_text(seconds):
    return f"{seconds:.3f}" if seconds >= 0.01 else f"{seconds:.4f}"


def ratio_text(ratio):
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def megabytes(n_bytes):
    return f"{n_bytes / MB:,.1f} MB"


def library_name(timing):
    name = LIBRARY_NAMES[timing.library]
    return f"{name}, {timing.variant}" if timing.variant else name


def comparison_table(results, epochs):
    """The library comparison on [784, 30, 10], one row per configuration."""
    rows = []
    for timing in results.comparison:
        sknn = results.find(results.comparison, "sknn", timing.batch_size, timing.dtype)
        rows.append(
            [
                timing.batch_size,
                timing.dtype,
                library_name(timing),
                seconds_text(timing.seconds),
                f"{seconds_text(min(timing.times))} to {seconds_text(max(timing.times))}",
                ""
                if timing.loop_seconds is None
                else seconds_text(timing.loop_seconds),
                ratio_text(timing.seconds / results.floor(timing)),
                "" if timing is sknn else ratio_text(timing.seconds / sknn.seconds),
                f"{timing.accuracy:.2%}",
            ]
        )
    headers = [
        "batch",
        "dtype",
        "library",
        "s/epoch (median)",
        "range over all epochs",
        "sknn's training loop alone",
        "x FLOP floor",
        "sknn faster by",
        f"test accuracy after {epochs} epochs",
    ]
    return markdown_table(headers, rows, "rllrrrrrr")


def features_table(results):
    """What dropout with momentum, and monitoring, add to a plain sknn epoch."""
    plain = results.find(results.comparison, "sknn", 10)
    rows = [["plain (as in the comparison)", seconds_text(plain.seconds), "1.00x"]]
    rows += [
        [
            f"`{timing.variant}`",
            seconds_text(timing.seconds),
            ratio_text(timing.seconds / plain.seconds),
        ]
        for timing in results.features
    ]
    headers = ["sknn, batch 10, float32", "s/epoch", "x plain"]
    return markdown_table(headers, rows, "lrr")


def wide_table(results):
    """[784, 100, 10] at batch 1000 against its FLOP floor."""
    sknn = results.find(results.wide, "sknn", 1000)
    rows = [
        [
            library_name(timing),
            seconds_text(timing.seconds),
            seconds_text(results.floor(timing)),
            ratio_text(timing.seconds / results.floor(timing)),
            "" if timing is sknn else ratio_text(timing.seconds / sknn.seconds),
        ]
        for timing in results.wide
    ]
    headers = ["library", "s/epoch", "FLOP floor, s", "x FLOP floor", "sknn faster by"]
    return markdown_table(headers, rows, "lrrrr")


def scaling_table(results):
    """sknn's seconds per epoch against the number of images and hidden neurons."""
    rows = [
        [
            f"{timing.n_samples:,}",
            timing.layers[1],
            seconds_text(timing.seconds),
            f"{timing.seconds / timing.n_samples * 1e6:.2f}",
            seconds_text(results.floor(timing)),
            ratio_text(timing.seconds / results.floor(timing)),
        ]
        for timing in results.scaling
    ]
    headers = [
        "training images",
        "hidden neurons",
        "s/epoch",
        "microseconds per image",
        "FLOP floor, s",
        "x FLOP floor",
    ]
    return markdown_table(headers, rows, "rrrrrr")


def memory_table(results):
    """Extra memory of fit and predict_proba, against their input and output."""
    rows = []
    for memory in results.memory:
        relative = f"{memory.extra / memory.input_bytes:.3f} x X"
        if memory.output_bytes:
            relative += (
                f"; {memory.extra / memory.output_bytes:.2f} x the output "
                f"({megabytes(memory.output_bytes)})"
            )
        rows.append(
            [
                f"{LIBRARY_NAMES[memory.library]} {memory.call}",
                megabytes(memory.input_bytes),
                megabytes(memory.traced_peak),
                megabytes(memory.rss_growth),
                relative,
                f"{memory.seconds:.2f}",
            ]
        )
    headers = [
        "call",
        "input X",
        "extra: tracemalloc peak",
        "extra: peak-RSS growth",
        "extra (larger reading)",
        "seconds",
    ]
    return markdown_table(headers, rows, "lrrrlr")


@dataclass
class Target:
    """One of the project's targets, what this run measured and whether it is met."""

    goal: str
    measured: str
    met: bool | None

    @property
    def verdict(self):
        return {True: "MET", False: "NOT MET", None: "NOT MEASURED"}[self.met]


def check_targets(results, epochs):
    """Check the speed, accuracy and memory targets against this run's numbers.

    Parameters
    ----------
    results : Results
    epochs : int
        Epochs after which the accuracies were measured.

    Returns
    -------
    list of Target
    """
    targets = []
    for peer, batch_size, dtype, goal in (
        ("sklearn", 10, "float32", 7),
        ("sklearn", 10, "float64", 4),
        ("sklearn", 100, "float32", 2.5),
        ("torch", 10, "float32", None),
        ("torch", 100, "float32", None),
    ):
        sknn = results.find(results.comparison, "sknn", batch_size, dtype)
        other = results.find(results.comparison, peer, batch_size, dtype)
        text = f"batch {batch_size}, {dtype}: sknn " + (
            f"faster than {LIBRARY_NAMES[peer]}"
            if goal is None
            else f">= {goal}x faster per epoch than {LIBRARY_NAMES[peer]}"
        )
        if other is None:
            targets.append(Target(text, f"{LIBRARY_NAMES[peer]} not installed", None))
            continue
        ratio = other.seconds / sknn.seconds
        targets.append(
            Target(
                text,
                f"{seconds_text(other.seconds)} s / {seconds_text(sknn.seconds)} s "
                f"= {ratio_text(ratio)}",
                ratio > 1 if goal is None else ratio >= goal,
            )
        )

    for timing, goal in (
        (results.find(results.comparison, "sknn", 10), 8),
        (results.find(results.wide, "sknn", 1000), 2.5),
    ):
        floor = results.floor(timing)
        ratio = timing.seconds / floor
        targets.append(
            Target(
                f"{list(timing.layers)}, batch {timing.batch_size}: sknn within "
                f"{goal}x of the FLOP floor",
                f"{seconds_text(timing.seconds)} s / {seconds_text(floor)} s "
                f"= {ratio_text(ratio)}",
                ratio <= goal,
            )
        )

    for batch_size in (10, 100):
        sknn = results.find(results.comparison, "sknn", batch_size)
        sklearn = results.find(results.comparison, "sklearn", batch_size)
        gap = (sknn.accuracy - sklearn.accuracy) * 100
        targets.append(
            Target(
                f"batch {batch_size}: test accuracy within 0.5 percentage point of "
                f"MLPClassifier's after {epochs} epochs",
                f"sknn {sknn.accuracy:.2%}, MLPClassifier {sklearn.accuracy:.2%}: "
                f"{gap:+.2f} points",
                abs(gap) <= 0.5,
            )
        )

    fit = next(m for m in results.memory if m.library == "sknn" and "fit" in m.call)
    targets.append(
        Target(
            "peak extra memory during sknn's fit <= one copy of X",
            f"{megabytes(fit.extra)} = {fit.extra / fit.input_bytes:.3f} x X "
            f"({megabytes(fit.input_bytes)})",
            fit.extra <= fit.input_bytes,
        )
    )
    return targets


def method_notes(results, *, epochs, timing_epochs):
    """How the numbers were made, as Markdown bullets."""
    gemm = results.gemm
    runs = "; ".join(
        ", ".join(f"{rate:.1f}" for rate in run.values()) for run in results.gemm_runs
    )
    return "\n".join(
        [
            "- Every measurement runs in a freshly spawned Python process that loads "
            "the same arrays (written once as `.npy` files), so no library inherits "
            "another's thread pools, heap or warm caches.",
            "- The network is the book's: a sigmoid hidden layer, sigmoid outputs with "
            "the cross-entropy cost summed over the outputs and averaged over the "
            "mini-batch (eq. 63), plain mini-batch SGD with eta = 0.5, no momentum, no "
            "regularization, the 50,000 training images shuffled every epoch.",
            "- An epoch is one `fit` call of `MLPClassifierBook(epochs=1, "
            "warm_start=True, monitor=())`, so it includes `fit`'s input checks (the "
            "*training loop alone* column is sknn's own `history_` time); one "
            '`partial_fit` call of `MLPClassifier(solver="sgd", '
            'activation="logistic", alpha=0, momentum=0)` on one-hot targets, which '
            "give it logistic outputs and the same cost (the *integer labels* rows "
            "show its default softmax output instead); and one pass over a `randperm` "
            "in PyTorch (`Linear`, `Sigmoid`, `Linear`, "
            '`binary_cross_entropy_with_logits(reduction="sum") / m`, `optim.SGD`, '
            "one thread per core).",
            f"- Runs last {epochs} epochs in the comparison and {timing_epochs} "
            "elsewhere. Seconds per epoch are the median over all epochs but the "
            "first, which includes initialization and warm-up. Accuracy is on the "
            f"10,000 test images after {epochs} epochs, for one seed; the libraries "
            "initialize differently (sknn: N(0, 1/n_in) weights and N(0, 1) biases; "
            "scikit-learn: Glorot uniform; PyTorch: Kaiming uniform).",
            "- FLOP floor: 2 x (forward-pass FLOPs of an epoch) / GEMM rate, with "
            "2 x sum(n_in x n_out) forward FLOPs per image, and the GEMM rate the "
            f"median speed of a {GEMM_SIZE}x{GEMM_SIZE} numpy matmul in the row's "
            f"dtype: {gemm['float32']:.1f} GFLOP/s in float32 and "
            f"{gemm['float64']:.1f} GFLOP/s in float64, the better of a measurement "
            f"at the start and one at the end of the run ({runs}).",
            "- Memory: tracemalloc's peak (numpy reports its buffers to it) and the "
            "growth of the process's peak RSS during the call, beyond what was "
            "resident before it.",
        ]
    )


def render_results(results, *, epochs):
    """The tables and the targets, as Markdown sections."""
    sections = [
        (
            "Training speed: the book's network [784, 30, 10]",
            comparison_table(results, epochs),
        )
    ]
    if results.features:
        sections.append(("What sknn's features cost", features_table(results)))
    sections.append(
        ("A wider network: [784, 100, 10] at batch size 1000", wide_table(results))
    )
    sections.append(("Memory", memory_table(results)))
    if results.scaling:
        sections.append(
            (
                "Scaling of an sknn epoch (batch size 10, float32)",
                scaling_table(results),
            )
        )
    targets = [
        [t.goal, t.measured, f"**{t.verdict}**"] for t in check_targets(results, epochs)
    ]
    sections.append(
        (
            "Targets",
            markdown_table(["target", "measured", "verdict"], targets)
            + "\n\nWhy a target is missed, and what was tried: "
            "[docs/performance.md](../docs/performance.md).",
        )
    )
    return "\n\n".join(f"## {title}\n\n{body}" for title, body in sections)


def render_facts(facts):
    rows = [list(fact) for fact in facts]
    return "## Machine\n\n" + markdown_table(["fact", "value"], rows)


def parse_args():
    parser = argparse.ArgumentParser(
        description="Benchmark sknn's MLPClassifierBook against scikit-learn and "
        "PyTorch on MNIST, and check the project's targets."
    )
    parser.add_argument(
        "--mnist",
        help=f"folder of the four MNIST IDX files (default: ${MNIST_ENV_VAR}, "
        "else ../shared/data/mnist beside the checkout)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 epochs and only the configurations the targets need (about a minute)",
    )
    parser.add_argument(
        "--output", type=Path, help="also write the results page (Markdown) there"
    )
    return parser.parse_args()


def main():
    """Run the benchmark, print the report, and write the page if asked to."""
    args = parse_args()
    command = shlex.join(["python", *sys.argv])
    epochs, timing_epochs = (2, 2) if args.quick else (10, 5)
    mnist_path = resolve_mnist_path(args.mnist)
    started, cpu_before = time.perf_counter(), cpu_seconds()

    with tempfile.TemporaryDirectory(prefix="sknn-bench-") as folder:
        try:
            save_arrays(mnist_path, folder)
        except (FileNotFoundError, ValueError) as error:
            sys.exit(f"bench_mnist.py: cannot load MNIST: {error}")
        facts = machine_facts(mnist_path)
        print(render_facts(facts) + "\n", flush=True)
        results = run_benchmarks(
            folder, epochs=epochs, timing_epochs=timing_epochs, full=not args.quick
        )

    elapsed = time.perf_counter() - started
    load = background_load(cpu_before, cpu_seconds(), elapsed)
    body = render_results(results, epochs=epochs)
    print(f"\n{body}\n\nThe run took {elapsed:.0f} s. {load}")
    if args.output:
        page = [
            "# sknn on MNIST: speed and memory against scikit-learn and PyTorch",
            f"Generated by `{command}`, which took {elapsed:.0f} s. Do not edit by "
            "hand: rerun the command.",
            render_facts(facts),
            load,
            "## How it is measured\n\n"
            + method_notes(results, epochs=epochs, timing_epochs=timing_epochs),
            body,
        ]
        args.output.write_text("\n\n".join(page) + "\n")
        print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
