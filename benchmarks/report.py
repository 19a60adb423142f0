"""The MNIST benchmark's results as Markdown: the tables, the method and the targets.

Nothing here measures: :class:`Results` holds what the runs returned and the
functions turn it into the sections of ``benchmarks/README.md``. The targets are
prose that names the columns to compare; the page states what was measured and
leaves the verdict to the reader and to ``docs/performance.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness import GEMM_SIZE, MB, flop_floor

TARGETS = """\
The project aims for the following; the tables above hold the numbers to compare
them with, and [docs/performance.md](../docs/performance.md) says which ones the
measurements fall short of, why, and what was tried.

- Speed against scikit-learn's `MLPClassifier`, per epoch of [784, 30, 10] (the
  *sknn faster by* column of the first table): at least 7x at batch size 10 in
  float32, 4x at batch size 10 in float64 and 2.5x at batch size 100 in float32.
- Speed against PyTorch on the CPU: faster at batch sizes 10 and 100, in float32.
- Closeness to the FLOP floor (the *x FLOP floor* columns): within 8x for
  [784, 30, 10] at batch size 10, and within 2.5x for [784, 100, 10] at batch
  size 1000.
- Accuracy: within 0.5 percentage point of `MLPClassifier`'s test accuracy after
  the same number of epochs, at batch sizes 10 and 100.
- Memory: at its peak, sknn's `fit` uses no more extra memory than one copy of
  `X` (the *extra (larger reading)* column of the memory table)."""


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

    @staticmethod
    def find(timings, library, batch_size, dtype="float32"):
        """The timing of a configuration without variant, or None if not run."""
        for timing in timings:
            if (timing.library, timing.batch_size, timing.dtype) == (
                library,
                batch_size,
                dtype,
            ) and not timing.variant:
                return timing
        return None


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
    return f"{timing.label}, {timing.variant}" if timing.variant else timing.label


def faster_by(timing, sknn):
    """How many times sknn's plain timing beats ``timing``; empty for sknn itself."""
    if sknn is None or timing is sknn:
        return ""
    return ratio_text(timing.seconds / sknn.seconds)


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
                faster_by(timing, sknn),
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
            faster_by(timing, sknn),
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
    """Extra memory of an epoch and of predict_proba, against their input and output."""
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
                f"{memory.label} {memory.call}",
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


def method_notes(results, *, epochs, timing_epochs, n_images):
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
            f"regularization, the {n_images:,} training images shuffled every epoch.",
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
    sections.append(("Targets", TARGETS))
    return "\n\n".join(f"## {title}\n\n{body}" for title, body in sections)


def render_facts(facts):
    rows = [list(fact) for fact in facts]
    return "## Machine\n\n" + markdown_table(["fact", "value"], rows)


def render_page(*, command, elapsed, facts, load, notes, body):
    """The whole results page."""
    page = [
        "# sknn on MNIST: speed and memory against scikit-learn and PyTorch",
        f"Generated by `{command}`, which took {elapsed:.0f} s. Do not edit by "
        "hand: rerun the command.",
        render_facts(facts),
        load,
        "## How it is measured\n\n" + notes,
        body,
    ]
    return "\n\n".join(page) + "\n"
