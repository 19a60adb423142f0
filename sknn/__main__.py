"""The main job: train the book's network and report its test accuracy.

``python -m sknn`` (or the ``sknn`` console script) trains
:class:`sknn.MLPClassifierBook` with the book's settings (a 30-neuron sigmoid
hidden layer, cross-entropy, L2, eta = 0.5, mini-batches of 10) and prints one
line per epoch, as network2.py does, with the accuracy on a *validation* split
that training never sees; the last line is the accuracy on a separate *test*
split, looked at once.

On scikit-learn's bundled 8x8 digits, 25% of the images are the test split and
15% of the rest the validation split. With ``--mnist PATH`` (or the
``SKNN_MNIST`` environment variable) it trains on MNIST with the book's split:
50,000 training, 10,000 validation and 10,000 test images.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from . import (
    DivergenceWarning,
    FailedToLearnWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
    __version__,
)
from .activations import ACTIVATIONS
from .costs import COSTS
from .datasets import MNIST_ENV_VAR, load_mnist
from .initializers import INITIALIZERS
from .persistence import save
from .regularizers import REGULARIZERS

_BAR_WIDTH = 20
# The estimator's stop_reason_ for a run that ended without learning.
_FAILED = {
    "diverged": "the cost stopped being finite; the model keeps the epoch "
    "before it. Try a smaller --eta.",
    "dead_units": "a hidden layer passes no gradient (every unit saturated). "
    "Try a smaller --eta or the default --initializer.",
    "failed_to_learn": "no better than always predicting the most frequent "
    "class. Try a smaller --eta or more --epochs.",
}


def _number(kind, low, high=None, *, low_closed=True, high_closed=False):
    """An argparse type: ``kind`` in the interval, else a one-line usage error."""
    left, right = "[" if low_closed else "(", "]" if high_closed else ")"
    interval = f"{left}{low}, {'inf' if high is None else high}{right}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        too_low = value < low if low_closed else value <= low
        too_high = high is not None and (value > high if high_closed else value >= high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    parse.__name__ = f"{kind.__name__} in {interval}"
    return parse


_positive = _number(float, 0, low_closed=False)


def _learning_rate(text):
    """``auto`` or a positive number, as MLPClassifierBook's learning_rate."""
    return text if text == "auto" else _positive(text)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknn",
        description=(
            "Train the network of 'Neural Networks and Deep Learning' on "
            "scikit-learn's 8x8 digits (or on MNIST with --mnist) and print "
            "the accuracy on a validation split after every epoch and on a "
            "held-out test split at the end."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--version", action="version", version=f"sknn {__version__}")
    add(
        "--hidden",
        type=_number(int, 1),
        nargs="+",
        default=[30],
        help="hidden layer sizes",
    )
    add(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="sigmoid",
        help="hidden neurons",
    )
    add(
        "--cost",
        choices=sorted(COSTS),
        default="cross_entropy",
        help="cost function (and output layer)",
    )
    add(
        "--regularizer",
        choices=sorted(REGULARIZERS),
        default="l2",
        help="weight penalty",
    )
    add(
        "--lmbda",
        type=_number(float, 0),
        default=0.1,
        help="regularization lambda, divided by the training-set size",
    )
    add(
        "--eta",
        type=_learning_rate,
        default="auto",
        help="learning rate, or 'auto': 0.5 for sigmoid neurons with "
        "cross-entropy, adjusted for other costs, neurons and momentum",
    )
    add("--batch-size", type=_number(int, 1), default=10, help="mini-batch size m")
    add("--epochs", type=_number(int, 1), default=30, help="most epochs to train")
    add(
        "--dropout",
        type=_number(float, 0, 1),
        default=0.0,
        help="fraction of hidden neurons dropped while training",
    )
    add(
        "--initializer",
        choices=sorted(INITIALIZERS),
        default="default",
        help="initial weights",
    )
    add(
        "--momentum",
        type=_number(float, 0, 1),
        default=0.0,
        help="momentum coefficient mu",
    )
    add(
        "--early-stopping",
        type=_number(int, 1),
        metavar="N",
        default=None,
        help="stop after N epochs without a better validation accuracy",
    )
    add(
        "--schedule",
        choices=["constant", "halving"],
        default="constant",
        help="'halving' halves eta after 10 epochs without a better validation "
        "accuracy (or --early-stopping N) and stops at eta / 128",
    )
    add(
        "--mnist",
        metavar="PATH",
        default=os.environ.get(MNIST_ENV_VAR) or None,
        help="train on MNIST from the folder holding its four IDX files; "
        f"defaults to ${MNIST_ENV_VAR}, and without either the 8x8 digits are used",
    )
    add(
        "--test-size",
        type=_number(float, 0, 1, low_closed=False),
        default=0.25,
        help="digits only: fraction of the images held out for the final test",
    )
    add(
        "--validation-size",
        type=_number(float, 0, 1, low_closed=False),
        default=0.15,
        help="digits only: fraction of the rest held out for per-epoch validation",
    )
    add(
        "--save",
        metavar="PATH",
        default=None,
        help="write the trained model to PATH as an sknn JSON model file "
        "(sknn.persistence.load reads it back); not written when training failed",
    )
    add("--seed", type=int, default=0, help="random_state")
    return parser


def _load(args, parser):
    """Return training, validation and test data, and a name for them."""
    if args.mnist:
        try:
            (X_train, y_train), validation, test = load_mnist(args.mnist)
        except (FileNotFoundError, ValueError) as error:
            parser.error(f"--mnist {args.mnist}: {error}")
        return (X_train, y_train), validation, test, "MNIST images"
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X / 16.0, y, test_size=args.test_size, random_state=args.seed, stratify=y
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest,
        y_rest,
        test_size=args.validation_size,
        random_state=args.seed,
        stratify=y_rest,
    )
    return (X_train, y_train), (X_val, y_val), (X_test, y_test), "digits"


_INTERRUPTED = 130
"""The exit status of a run stopped by Ctrl-C, as shells report SIGINT."""


class _EpochPrinter:
    """One line per epoch; on a terminal, with a bar of the epochs done."""

    def __init__(self, epochs, stream=None):
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self.bar = self.stream.isatty()
        self.width = len(str(epochs))

    def __call__(self, estimator, record):
        epoch = record["epoch"]
        parts = [f"Epoch {epoch:{self.width}d}/{self.epochs}"]
        if self.bar:
            done = round(_BAR_WIDTH * min(epoch, self.epochs) / self.epochs)
            parts.append(f"[{'#' * done}{'.' * (_BAR_WIDTH - done)}]")
        line = " ".join(parts) + ":"
        if "training_cost" in record:
            line += f" training cost {record['training_cost']:.4f},"
        line += (
            f" validation accuracy {record['validation_correct']} / "
            f"{record['validation_size']} = {record['validation_accuracy']:.2%},"
            f" eta {record['learning_rate']:g}, {record['time']:.2f} s"
        )
        print(line, file=self.stream, flush=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.save and not Path(args.save).resolve().parent.is_dir():
        parser.error(
            f"--save {args.save}: folder {Path(args.save).parent} does not exist"
        )
    (X_train, y_train), (X_val, y_val), (X_test, y_test), name = _load(args, parser)
    patience = args.early_stopping or 10
    clf = MLPClassifierBook(
        hidden_layer_sizes=tuple(args.hidden),
        activation=args.activation,
        cost=args.cost,
        regularizer=args.regularizer,
        lmbda=args.lmbda,
        learning_rate=args.eta,
        batch_size=args.batch_size,
        epochs=args.epochs,
        dropout=args.dropout,
        initializer=args.initializer,
        momentum=args.momentum,
        monitor=("training_cost", "validation_accuracy"),
        early_stopping=args.early_stopping is not None,
        n_iter_no_change=patience,
        learning_rate_schedule=args.schedule,
        callbacks=[_EpochPrinter(args.epochs)],
        random_state=args.seed,
    )
    print(
        f"Training {clf.hidden_layer_sizes} on {len(y_train)} {name} "
        f"(validation: {len(y_val)}, test: {len(y_test)})",
        flush=True,
    )
    started = time.perf_counter()
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DivergenceWarning)
        warnings.simplefilter("always", FailedToLearnWarning)
        try:
            clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
        except KeyboardInterrupt:
            interrupted = True
    seconds = time.perf_counter() - started
    for warning in caught:
        if issubclass(warning.category, TrainingInterruptedWarning):
            continue
        if issubclass(warning.category, (DivergenceWarning, FailedToLearnWarning)):
            print(f"{warning.category.__name__}: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if interrupted and not hasattr(clf, "coefs_"):
        print("Interrupted before the first epoch completed.", file=sys.stderr)
        return _INTERRUPTED
    if interrupted:
        print(
            f"Interrupted: testing the model of epoch {clf.n_iter_}, the last "
            "one completed (not saved).",
            file=sys.stderr,
        )
    if clf.best_epoch_ is not None:
        print(f"Kept the weights of epoch {clf.best_epoch_} ({clf.stop_reason_})")
    correct = int((clf.predict(X_test) == y_test).sum())
    print(
        f"Test accuracy: {correct} / {len(y_test)} = {correct / len(y_test):.2%} "
        f"after {clf.n_iter_} epochs in {seconds:.2f} s"
    )
    if interrupted:
        return _INTERRUPTED
    if clf.stop_reason_ in _FAILED:
        print(f"Training failed: {_FAILED[clf.stop_reason_]}", file=sys.stderr)
        return 1
    majority = max(np.mean(y_test == label) for label in np.unique(y_test))
    if correct / len(y_test) <= majority:
        print(
            "Training failed: the test accuracy is no better than always "
            f"answering the most frequent class ({majority:.2%}).",
            file=sys.stderr,
        )
        return 1
    if args.save:
        # The progress printer is code, which a JSON model file does not hold.
        save(clf.set_params(callbacks=None), args.save)
        print(f"Saved the model to {args.save}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
