"""Seconds per epoch of sknn's three training loops against scikit-learn, on MNIST.

    python benchmarks/bench_epoch.py [MNIST folder] [--repeats 5] [--epochs 3]

The folder holds the four IDX files (default: the ``SKNN_MNIST`` environment
variable; see ``sknn.datasets.load_mnist``). For every configuration the loops
run alternately in one process (numpy, compiled with a dense first layer,
compiled over nonzero inputs, the automatic choice at batch 1000,
scikit-learn's ``MLPClassifier``), each run a
``fit`` of a few epochs from a fresh start; the figures are medians over the
runs of CPU seconds per epoch, and the comparisons are ratios of medians, so a
machine shared with other work still gives fair ratios. BLAS runs one thread,
and at batch 1000 (timed in wall seconds) also two for the numpy loop.
Prints a markdown report.
"""

import argparse
import functools
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sknn
from sknn import MLPClassifierBook
from sknn.datasets import load_mnist

ENGINES = ("numpy", "compiled", "compiled_sparse")
LEARNING_RATE = 0.5
GRID = {"learning_rate": [0.1, 0.5, 1.0, 3.0], "lmbda": [0.0, 0.1, 1.0, 5.0]}
GRID["batch_size"] = [10, 30]


def sknn_run(engine, X, y, hidden, batch, epochs, seed=0, **params):
    os.environ["SKNN_ENGINE"] = engine
    model = MLPClassifierBook(
        hidden_layer_sizes=hidden,
        learning_rate=LEARNING_RATE,
        batch_size=batch,
        epochs=epochs,
        lmbda=params.pop("lmbda", 0.0),
        monitor=(),
        random_state=seed,
        **params,
    )
    return model.fit(X, y)


def sklearn_run(X, Y, hidden, batch, epochs, seed=0):
    model = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        activation="logistic",
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        alpha=0.0,
        batch_size=batch,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, Y)  # one-hot targets: logistic outputs, cross-entropy


def alternate(runners, repeats, epochs):
    """Median (CPU, wall) seconds per epoch of each runner, the runners taking turns."""
    times = {name: ([], []) for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            cpu, wall = time.process_time(), time.perf_counter()
            run()
            times[name][0].append((time.process_time() - cpu) / epochs)
            times[name][1].append((time.perf_counter() - wall) / epochs)
    return {
        name: (statistics.median(cpu), statistics.median(wall))
        for name, (cpu, wall) in times.items()
    }


def gemm_rate(dtype):
    """GFLOP/s of two cores, each at one thread's GEMM speed per CPU second.

    Timing one thread in CPU seconds keeps the floor meaningful on a busy
    machine, where a two-thread wall-clock GEMM measures the other users.
    """
    a = np.random.default_rng(0).random((1024, 1024), dtype=dtype)
    out = np.empty_like(a)
    runs = []
    with threadpool_limits(1, user_api="blas"):
        for _ in range(6):
            started = time.process_time()
            np.matmul(a, a, out=out)
            runs.append(time.process_time() - started)
    return 2 * 2 * 1024**3 / min(runs[1:]) / 1e9


def floors(sizes, n, density, rate):
    """Dense and nonzero-inputs-only FLOP floors: 2 x forward FLOPs / GEMM rate."""
    later = sum(a * b for a, b in itertools.pairwise(sizes[1:]))
    dense = 4 * n * (sizes[0] * sizes[1] + later) / (rate * 1e9)
    nonzero = 4 * n * (density * sizes[0] * sizes[1] + later) / (rate * 1e9)
    return dense, nonzero


FRESH = """
import sys, time
started = time.perf_counter()
import sknn, sknn._compiled
imported = time.perf_counter() - started
import numpy as np
X, y = np.load(sys.argv[1]), np.load(sys.argv[2])
from sknn import MLPClassifierBook
clf = MLPClassifierBook(epochs=1, warm_start=True, monitor=(), random_state=0)
times = []
for _ in range(3):
    started = time.process_time()
    clf.fit(X, y)
    times.append(time.process_time() - started)
print(imported, times[0], times[2])
"""


def fresh_process_costs(X, y):
    """Import time and first/third one-epoch ``fit`` (CPU s) in a new process."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, f"{name}.npy") for name in "Xy"]
        np.save(paths[0], X)
        np.save(paths[1], y)
        out = subprocess.run(
            [sys.executable, "-c", FRESH, *paths],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "SKNN_ENGINE": "auto"},
        ).stdout
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sknn"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    extension_us = sum(
        int(line.split("|")[0].split(":")[1])
        for line in timing.splitlines()
        if line.rstrip().endswith("sknn._cepoch")
    )
    return [float(v) for v in out.split()] + [extension_us / 1e6]


GRID_SCRIPT = f"""
import time
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sknn import MLPClassifierBook
X, y = load_digits(return_X_y=True)
started = time.perf_counter()
GridSearchCV(MLPClassifierBook(epochs=10, monitor=(), random_state=0),
             {GRID!r}, n_jobs=2).fit(X / 16, y)
print(time.perf_counter() - started)
"""


def grid_search_seconds(engine):
    env = {**os.environ, "SKNN_ENGINE": engine}
    out = subprocess.run(
        [sys.executable, "-c", GRID_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return float(out)


def loop_alone(X, y, Y, repeats):
    """CPU s/epoch of ``Network.train_epoch`` alone, per loop, against sklearn's fit.

    ``fit`` adds fixed work per call (input checks, the starting cost, the
    after-training checks); this times the loop as a long fit sees it, on the network a fresh ``fit`` starts from.
    """
    from sknn._network import Network
    from sknn.activations import Sigmoid
    from sknn.costs import CrossEntropyCost
    from sknn.optimizers import SGD
    from sknn.regularizers import NoRegularizer

    start = MLPClassifierBook(epochs=1, monitor=(), random_state=0).fit(
        X[:100], y[:100]
    )
    print(row(["batch", "loop", "CPU s/epoch, loop alone", "sklearn / loop"]))
    print(row(["---:", "---", "---:", "---:"]))
    for batch in (10, 100):
        network = Network(
            [w.copy() for w in start.coefs_],
            [b.copy() for b in start.intercepts_],
            Sigmoid,
            CrossEntropyCost,
        )
        rows = network.training_input(X)
        rng = np.random.default_rng(0)

        def epoch(engine, network=network, rows=rows, rng=rng, batch=batch):
            optimizer = SGD(NoRegularizer, 0.0, len(X), 0.0)
            network.train_epoch(rows, Y, optimizer, batch_size=batch,
                                learning_rate=LEARNING_RATE, rng=rng, engine=engine)  # fmt: skip

        runners = {e: functools.partial(epoch, e) for e in ENGINES}
        runners["scikit-learn"] = functools.partial(sklearn_run, X, Y, 30, batch, 2)
        with threadpool_limits(1, user_api="blas"):
            for run in runners.values():
                run()
            cpu = {k: c for k, (c, _) in alternate(runners, repeats, 1).items()}
        cpu["scikit-learn"] /= 2
        for name, seconds in cpu.items():
            print(row([batch, name, f"{seconds:.3f}",
                       f"{cpu['scikit-learn'] / seconds:.1f}x"]))  # fmt: skip


def threaded(threads, run):
    """``run`` with BLAS limited to ``threads`` (an inner limit wins)."""

    def limited():
        with threadpool_limits(threads, user_api="blas"):
            return run()

    return limited


def two_blas_threads(run):
    """``run`` on two BLAS threads even when the load would make sknn take one."""
    import sknn._compiled

    def forced():
        idle_cores = sknn._threads._idle_cores
        sknn._threads._idle_cores = lambda: True
        try:
            with threadpool_limits(2, user_api="blas"):
                return run()
        finally:
            sknn._threads._idle_cores = idle_cores

    return forced


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist", nargs="?", default=os.environ.get("SKNN_MNIST"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--loop-only", action="store_true", help="only the training loop alone"
    )
    args = parser.parse_args()
    (X, y), _, (X_test, y_test) = load_mnist(args.mnist)
    Y = np.eye(10, dtype=np.float32)[y]
    density = np.count_nonzero(X) / X.size
    scaled = StandardScaler().fit_transform(X).astype(np.float32)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    load = os.getloadavg()[0]
    rates = {d: gemm_rate(d) for d in ("float32", "float64")}
    from sknn import _cepoch

    print("# Seconds per epoch of sknn's training loops, MNIST\n")
    print(f"`python benchmarks/bench_epoch.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC,")
    print(f"{os.cpu_count()} cores, kernel `{_cepoch.isa()}`, 1-min load {load:.1f}")
    print(f"at the start; sknn {sknn.__version__}. {len(X):,} images, [784, h, 10],")
    print(f"sigmoid, cross-entropy, eta {LEARNING_RATE}; {density:.1%} of pixels")
    print(f"nonzero. GEMM: {rates['float32']:.0f} / {rates['float64']:.0f} GFLOP/s")
    print(
        f"(float32 / float64, two cores at one thread's rate). Medians of {args.repeats} alternating"
    )
    print(f"runs of {args.epochs}-epoch fits.\n")
    if args.loop_only:
        loop_alone(X, y, Y, args.repeats)
        return
    configs = [
        ("batch 10, float32", X, Y, 30, 10, rates["float32"], density),
        ("batch 10, float64", X64, Y64, 30, 10, rates["float64"], density),
        ("batch 10, float32, StandardScaler (no zeros)", scaled, Y, 30, 10,
         rates["float32"], 1.0),
        ("batch 100, float32", X, Y, 30, 100, rates["float32"], density),
        ("[784, 100, 10], batch 1000, float32 (ratios of wall s)", X, Y,
         100, 1000, rates["float32"], density),
        ("[784, 100, 10], batch 1000, float32, StandardScaler (ratios of wall s)",
         scaled, Y, 100, 1000, rates["float32"], 1.0),
    ]  # fmt: skip
    print(row(["configuration", "loop", "CPU s/epoch", "wall s/epoch",
               "sklearn / loop", "x dense floor", "x nonzero floor"]))  # fmt: skip
    print(row(["---"] + ["---:"] * 6))
    for label, data, targets, hidden, batch, rate, dens in configs:
        clock = 1 if batch >= 1000 else 0  # ratios of wall or CPU seconds
        shape = dict(hidden=hidden, batch=batch, epochs=args.epochs)
        runners = {
            e: functools.partial(sknn_run, e, data, y, **shape)
            for e in ENGINES
            if e != "compiled_sparse" or dens < 1.0
        }
        if batch >= 1000:  # where the automatic choice may take numpy's BLAS
            runners["numpy, 2 BLAS threads"] = two_blas_threads(runners["numpy"])
            runners["automatic"] = functools.partial(sknn_run, "auto", data, y, **shape)
        runners["scikit-learn"] = functools.partial(sklearn_run, data, targets, **shape)
        runners = {name: threaded(1, run) for name, run in runners.items()}
        for run in runners.values():
            run()  # warm-up: caches, the CSR form, page faults
        medians = alternate(runners, args.repeats, args.epochs)
        dense_floor, nonzero_floor = floors([784, hidden, 10], len(X), dens, rate)
        sklearn_s = medians["scikit-learn"][clock]
        for name, both in medians.items():
            seconds = both[clock]
            print(row([label, name, f"{both[0]:.3f}", f"{both[1]:.3f}",
                       f"{sklearn_s / seconds:.1f}x",
                       f"{seconds / dense_floor:.2f}x",
                       f"{seconds / nonzero_floor:.2f}x"]))  # fmt: skip
        print(row([label, "FLOP floor (dense / nonzero)", "", "",
                   "", f"{dense_floor:.4f} s", f"{nonzero_floor:.4f} s"]))  # fmt: skip

    print("\n## What the options cost (batch 10, float32)\n")
    print(row(["loop", "plain", "L2, lambda 5", "x plain",
               "dropout 0.5 + momentum 0.9", "x plain"]))  # fmt: skip
    print(row(["---"] + ["---:"] * 5))
    variants = {
        "plain": {},
        "l2": {"lmbda": 5.0},
        "dropout": {"dropout": 0.5, "momentum": 0.9},
    }
    with threadpool_limits(1, user_api="blas"):
        for engine in ENGINES:
            runners = {
                v: (lambda p=p, e=engine: sknn_run(e, X, y, 30, 10, args.epochs, **p))
                for v, p in variants.items()
            }
            m = {
                k: cpu
                for k, (cpu, _) in alternate(runners, args.repeats, args.epochs).items()
            }
            print(row([engine, f"{m['plain']:.3f}", f"{m['l2']:.3f}",
                       f"{m['l2'] / m['plain']:.2f}x", f"{m['dropout']:.3f}",
                       f"{m['dropout'] / m['plain']:.2f}x"]))  # fmt: skip

    print("\n## Test accuracy after 10 epochs (batch 10, float32, lambda 5)\n")
    print(row(["loop", "seed 0", "seed 1", "seed 2", "mean"]))
    print(row(["---"] + ["---:"] * 4))
    with threadpool_limits(1, user_api="blas"):
        for engine in ("numpy", "compiled_sparse"):
            scores = [
                100
                * sknn_run(engine, X, y, 30, 10, 10, seed=seed, lmbda=5.0).score(
                    X_test, y_test
                )
                for seed in range(3)
            ]
            print(row([engine, *(f"{s:.2f}%" for s in scores),
                       f"{np.mean(scores):.2f}%"]))  # fmt: skip

    print("\n## The training loop alone (float32)\n")
    loop_alone(X, y, Y, args.repeats)

    print("\n## Start-up, size, memory, and a grid search\n")
    imported, first, third, extension = fresh_process_costs(X, y)
    so_size = os.path.getsize(_cepoch.__file__)
    csr_bytes = int(density * X.size) * (4 + 4) + 8 * (len(X) + 1)
    print(f"- Fresh process: `import sknn` {imported:.2f} s, of which loading the")
    print(f"  extension {extension * 1000:.1f} ms (nothing compiles at run time);")
    print(f"  first one-epoch `fit` {first:.3f} CPU s, third {third:.3f}")
    print("  (the first builds the CSR form of X, kept while X lives).")
    print(f"- Installed extension: {so_size / 1024:.0f} KiB.")
    print(f"- Extra memory: the CSR form of X, {csr_bytes / 2**20:.0f} MiB against")
    print(f"  {X.nbytes / 2**20:.0f} MiB for X itself; the kernel's own buffers are")
    print("  the padded weights and one mini-batch's activations.")
    seconds = {"numpy": [], "auto": []}
    for _ in range(2):
        for engine in seconds:
            seconds[engine].append(grid_search_seconds(engine))
    numpy_s, auto_s = (min(seconds[e]) for e in ("numpy", "auto"))
    print("- `GridSearchCV`, 32 candidates x 5 folds, `n_jobs=2`, digits, 10")
    print(f"  epochs, wall s (best of 2, fresh processes): numpy {numpy_s:.1f},")
    print(f"  automatic {auto_s:.1f} ({numpy_s / auto_s:.1f}x).")
    print(f"\nLoad at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
