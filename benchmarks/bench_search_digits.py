"""BookSearchCV against the book's defaults on sklearn's digits, over many splits.

One held-out split of digits has 450 test images, so one image is 0.22
points of accuracy and a single split cannot tell a better model from a
lucky one. This script repeats ``examples/tune_digits.py``'s comparison on
``--splits`` stratified 75/25 splits: on each, ``BookSearchCV`` (all stages,
3-fold CV, no-improvement-in-20) tunes a MinMaxScaler + MLPClassifierBook
pipeline on the training part, and the same pipeline with the book's
defaults (and the same initial weights) is trained on it too; both are
scored on the test part.

The batch-size stage chooses by measured fit times, so when two sizes are
about as fast a rerun can choose differently and move a split by an image
or two; the totals are what to compare.

Usage::

    python benchmarks/bench_search_digits.py [--splits 10] [--n-jobs 2] [--out page.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn import MLPClassifierBook
from sknn.tuning import BookSearchCV


def compare(split, n_jobs):
    """Tune and train the default on one split; return the row of the table."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=split, stratify=y
    )
    search = BookSearchCV(
        make_pipeline(MinMaxScaler(), MLPClassifierBook(random_state=0)),
        cv=3,
        n_iter_no_change=20,
        n_jobs=n_jobs,
        random_state=0,
    )
    started = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    default = make_pipeline(MinMaxScaler(), MLPClassifierBook(random_state=0))
    default.fit(X_train, y_train)
    tuned_right = int((search.predict(X_test) == y_test).sum())
    default_right = int((default.predict(X_test) == y_test).sum())
    return {
        "split": split,
        "n_test": len(y_test),
        "tuned": tuned_right,
        "default": default_right,
        "seconds": seconds,
        "chosen": {
            name.removeprefix("mlpclassifierbook__"): value
            for name, value in search.best_params_.items()
        },
    }


def render(rows, args, started):
    n_test = rows[0]["n_test"]
    differences = [row["tuned"] - row["default"] for row in rows]
    wins = sum(d > 0 for d in differences)
    ties = sum(d == 0 for d in differences)
    losses = sum(d < 0 for d in differences)
    lines = [
        "# BookSearchCV against the book's defaults on sklearn's digits",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `benchmarks/bench_search_digits.py "
        f"--splits {args.splits} --n-jobs {args.n_jobs}` on {os.cpu_count()} CPUs: "
        f"{len(rows)} stratified 75/25 splits of the 1,797 images, {n_test} test "
        "images each. Correct test images out of "
        f"{n_test}:",
        "",
        "| split | tuned | book defaults | difference | search (s) | chosen |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row, difference in zip(rows, differences):
        chosen = ", ".join(
            f"{name}={value}"
            for name, value in row["chosen"].items()
            if name
            in ("activation", "hidden_layer_sizes", "learning_rate", "lmbda", "epochs")
        )
        lines.append(
            f"| {row['split']} | {row['tuned']} | {row['default']} | "
            f"{difference:+d} | {row['seconds']:.1f} | {chosen} |"
        )
    total = sum(differences)
    lines += [
        "",
        f"The tuned pipeline was ahead on {wins} splits, level on {ties} and behind "
        f"on {losses}; {total:+d} images in all, {total / len(rows):+.1f} per split "
        f"({100 * total / len(rows) / n_test:+.2f} points of accuracy).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="Markdown page to write")
    args = parser.parse_args(argv)
    started = datetime.now(timezone.utc)
    rows = []
    for split in range(args.splits):
        rows.append(compare(split, args.n_jobs))
        row = rows[-1]
        print(
            f"split {split}: tuned {row['tuned']}, defaults {row['default']} of "
            f"{row['n_test']} ({row['seconds']:.1f} s)",
            flush=True,
        )
    page = render(rows, args, started)
    print(page)
    if args.out:
        with open(args.out, "w") as file:
            file.write(page)


if __name__ == "__main__":
    sys.exit(main())
