"""What every measurement of the MNIST benchmark stands on.

- Spawned processes (:func:`isolated`): each measurement runs in a fresh Python
  process, so the libraries never share thread pools (numpy's and scipy's
  OpenBLAS, PyTorch's OpenMP and MKL), heaps or warm caches, and each memory
  reading belongs to one call. The arrays reach it through ``.npy`` files written
  once (:func:`save_arrays`, :func:`load_arrays`).
- Timings (:class:`Timing`, :func:`time_calls`) and memory readings
  (:class:`Memory`, :func:`measure_memory`).
- The yardstick: numpy's GEMM rate (:func:`gemm_rates`) and the FLOP floor of an
  epoch derived from it (:func:`flop_floor`).
- Machine facts: what the numbers depend on (:func:`machine_facts`) and how busy
  the machine was meanwhile (:func:`cpu_seconds`, :func:`background_load`).
"""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import itertools
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import threadpoolctl

from sknn.datasets import load_mnist

SEED = 0
GEMM_SIZE = 2048
GEMM_REPEATS = 7
ARRAY_NAMES = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
MB = 1e6


# --- processes and timings --------------------------------------------------------


def isolated(function, /, **kwargs):
    """Run ``function(**kwargs)`` in a freshly spawned Python process.

    Parameters
    ----------
    function : callable
        A module-level function; its arguments and result must pickle.
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


def usable_cores():
    """The number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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


@dataclass
class Timing:
    """Seconds per epoch of one training configuration, and the accuracy it reached."""

    library: str
    label: str
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
        """The training loop alone, where the library reports it (sknn's ``history_``)."""
        return None if self.loop_times is None else typical(self.loop_times)


# --- data -------------------------------------------------------------------------


def save_arrays(mnist_path, folder):
    """Load MNIST with the book's split and save each array as ``folder/NAME.npy``.

    Parameters
    ----------
    mnist_path : path-like or None
        The folder of the four MNIST IDX files; None for ``$SKNN_MNIST``.
    folder : path-like
        Where to write the arrays.
    """
    arrays = itertools.chain.from_iterable(load_mnist(mnist_path, split="book"))
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


# --- memory -----------------------------------------------------------------------


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


@dataclass
class Memory:
    """The memory one call used beyond the arrays that existed before it."""

    library: str
    label: str
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


def measure_memory(function, X):
    """Run ``function(X)`` and measure the memory and time it takes.

    numpy reports its array buffers to tracemalloc, so tracemalloc's peak
    counts every array the call allocates (and its Python objects); the
    growth of the peak RSS (:func:`start_peak_rss`) also counts what numpy
    does not report, such as BLAS buffers and allocator slack.

    Parameters
    ----------
    function : callable
        Called with ``X``.
    X : ndarray
        The input, whose size the extra memory is compared with.

    Returns
    -------
    dict
        ``input_bytes``, ``traced_peak``, ``rss_growth``, ``seconds`` and
        ``output_bytes``: the fields of :class:`Memory` that it measures.
    """
    tracemalloc.start()
    rss_growth = start_peak_rss()
    start = time.perf_counter()
    result = function(X)
    seconds = time.perf_counter() - start
    growth = rss_growth()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "input_bytes": X.nbytes,
        "traced_peak": traced_peak,
        "rss_growth": growth,
        "seconds": seconds,
        "output_bytes": result.nbytes if isinstance(result, np.ndarray) else 0,
    }


# --- the yardstick ----------------------------------------------------------------


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


# --- machine facts ----------------------------------------------------------------


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


def machine_facts(packages, extra_facts=()):
    """What the numbers depend on: the machine, the libraries and their thread pools.

    Parameters
    ----------
    packages : iterable of str
        Distributions whose versions matter.
    extra_facts : iterable of (str, str)
        Appended as they are, such as what a runner reports about its library.

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
    facts += [(name, package_version(name)) for name in packages]
    for pool in threadpoolctl.threadpool_info():
        facts.append((f"{pool['user_api'].upper()} pool", describe_pool(pool)))
    return facts + list(extra_facts)


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
