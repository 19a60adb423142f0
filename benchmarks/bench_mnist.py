"""Benchmark MLPClassifierBook against scikit-learn and PyTorch on real MNIST.

Usage, from the root of the checkout::

    python benchmarks/bench_mnist.py [--mnist PATH] [--quick] [--output FILE]

One run measures, on the same arrays (the book's split of MNIST: 50,000
training, 10,000 validation and 10,000 test images, float32 in [0, 1]):

* the GEMM rate of numpy's BLAS, and from it a FLOP floor for an epoch;
* seconds per epoch of the book's network [784, 30, 10] (sigmoid hidden
  layer, cross-entropy cost, plain SGD, eta = 0.5, no regularization) at
  batch sizes 10 and 100, for every runner of ``runners.py`` whose library is
  installed (sknn, scikit-learn's ``MLPClassifier``, PyTorch), and the test
  accuracy each one reaches;
* what dropout, momentum and monitoring add to an sknn epoch, and
  [784, 100, 10] at batch size 1000;
* the memory an epoch and ``predict_proba`` use beyond their input;
* how an sknn epoch scales with the number of images and hidden neurons.

It prints Markdown tables and, with ``--output``, writes them as a results
page, which also states the project's targets. It is a report, not a test: it
exits with 0 whatever the numbers. ``--quick`` runs 2 epochs and leaves out the
features, the scaling, the softmax variant of MLPClassifier and scikit-learn's
memory, in about a minute; ``--epochs``, ``--images`` and ``--predict-rows``
shrink a run further, to check that the script works.

The pieces: ``harness.py`` (spawned processes, timings, memory readings,
machine facts), ``runners.py`` (one runner per library behind one interface;
its docstring says how to add one) and ``report.py`` (the Markdown).
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    GEMM_SIZE,
    MB,
    background_load,
    cpu_seconds,
    gemm_rates,
    isolated,
    machine_facts,
    save_arrays,
)
from report import Results, method_notes, render_facts, render_page, render_results
from runners import RUNNERS, memory_of, runner_facts, time_epochs

from sknn.datasets import MNIST_ENV_VAR

PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "threadpoolctl", "sknn")


def timed(key, folder, *, epochs, evaluate=False, **config):
    """Time ``runners.time_epochs(key, ...)`` in its own process; print and return it."""
    timing = isolated(
        time_epochs, key=key, folder=folder, epochs=epochs, evaluate=evaluate, **config
    )
    variant = f" {timing.variant}" if timing.variant else ""
    line = (
        f"  {key:<8}{list(timing.layers)} batch {timing.batch_size} {timing.dtype}, "
        f"{timing.n_samples} images{variant}: {timing.seconds:.3f} s/epoch "
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


def run_benchmarks(folder, *, epochs, timing_epochs, full, images, predict_rows):
    """Run every measurement, each in its own process.

    Parameters
    ----------
    folder : path-like
        Where ``harness.save_arrays`` wrote the data.
    epochs : int
        Epochs of the library comparison, after which the accuracy is measured.
    timing_epochs : int
        Epochs of the configurations that are only timed.
    full : bool
        Also measure the features, the scaling, the softmax variant of
        MLPClassifier and scikit-learn's memory.
    images : int or None
        Train on the first ``images`` training images; None for all.
    predict_rows : int
        Rows of the ``predict_proba`` memory reading.

    Returns
    -------
    report.Results
    """
    results = Results()
    n = {"n_samples": images}
    compared = [
        key for key, runner in RUNNERS.items() if runner.compared and runner.installed()
    ]
    print("GEMM rate ...", flush=True)
    measure_gemm(results)

    print("Library comparison, [784, 30, 10] ...", flush=True)
    for batch_size, dtype in ((10, "float32"), (10, "float64"), (100, "float32")):
        for key in compared:
            if dtype in RUNNERS[key].dtypes:
                results.comparison.append(
                    timed(
                        key,
                        folder,
                        epochs=epochs,
                        batch_size=batch_size,
                        dtype=dtype,
                        evaluate=True,
                        **n,
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
                    **n,
                )
            )

    if full:
        print("What sknn's features cost ...", flush=True)
        for options in ({"dropout": 0.2, "momentum": 0.5}, {"monitored": True}):
            results.features.append(
                timed("sknn", folder, epochs=timing_epochs, **options, **n)
            )

    print("[784, 100, 10] at batch 1000 ...", flush=True)
    for key in compared:
        results.wide.append(
            timed(key, folder, epochs=timing_epochs, hidden=100, batch_size=1000, **n)
        )

    if full:
        print("Scaling of an sknn epoch ...", flush=True)
        largest = images or 50_000
        for n_samples, hidden in itertools.chain(
            ((largest * k // 5, 30) for k in (1, 2, 5)),
            ((largest, h) for h in (100, 300)),
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
    for key in ("sknn", "sklearn") if full else ("sknn",):
        for call in ("epoch", "predict_proba"):
            memory = isolated(
                memory_of,
                key=key,
                folder=folder,
                call=call,
                predict_rows=predict_rows,
                n_samples=images,
            )
            print(
                f"  {key} {memory.call}: tracemalloc peak "
                f"{memory.traced_peak / MB:.1f} MB, peak-RSS growth "
                f"{memory.rss_growth / MB:.1f} MB, {memory.seconds:.2f} s",
                flush=True,
            )
            results.memory.append(memory)

    print("GEMM rate again ...", flush=True)
    measure_gemm(results)
    return results


def parse_args():
    parser = argparse.ArgumentParser(
        description="Benchmark sknn's MLPClassifierBook against scikit-learn and "
        "PyTorch on MNIST."
    )
    parser.add_argument(
        "--mnist",
        help=f"folder of the four MNIST IDX files (default: ${MNIST_ENV_VAR})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 epochs and only the main configurations (about a minute)",
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs of every run (default: 10, 5 when timed)"
    )
    parser.add_argument(
        "--images", type=int, help="train on the first N of the 50,000 images"
    )
    parser.add_argument(
        "--predict-rows",
        type=int,
        default=1_000_000,
        help="rows of the predict_proba memory reading (default: 1,000,000)",
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
    if args.epochs:
        epochs = timing_epochs = args.epochs
    started, cpu_before = time.perf_counter(), cpu_seconds()

    with tempfile.TemporaryDirectory(prefix="sknn-bench-") as folder:
        try:
            save_arrays(args.mnist, folder)
        except (FileNotFoundError, ValueError) as error:
            sys.exit(f"bench_mnist.py: cannot load MNIST: {error}")
        installed = [key for key, runner in RUNNERS.items() if runner.installed()]
        extra_facts = isolated(runner_facts, keys=installed)
        images = f"{args.images:,}" if args.images else "50,000"
        extra_facts.append(
            (
                "Data",
                f"MNIST, the book's split: {images} training, 10,000 validation and "
                "10,000 test images, float32 in [0, 1]",
            )
        )
        facts = machine_facts(PACKAGES, extra_facts)
        print(render_facts(facts) + "\n", flush=True)
        results = run_benchmarks(
            folder,
            epochs=epochs,
            timing_epochs=timing_epochs,
            full=not args.quick,
            images=args.images,
            predict_rows=args.predict_rows,
        )

    elapsed = time.perf_counter() - started
    load = background_load(cpu_before, cpu_seconds(), elapsed)
    body = render_results(results, epochs=epochs)
    print(f"\n{body}\n\nThe run took {elapsed:.0f} s. {load}")
    if args.output:
        notes = method_notes(
            results,
            epochs=epochs,
            timing_epochs=timing_epochs,
            n_images=args.images or 50_000,
        )
        page = render_page(
            command=command,
            elapsed=elapsed,
            facts=facts,
            load=load,
            notes=notes,
            body=body,
        )
        args.output.write_text(page)
        print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
