"""The main job: train the book's network on scikit-learn's bundled digits.

``python -m sknn`` (or the ``sknn`` console script) holds out part of the
8x8 digits as a test set, trains :class:`sknn.MLPClassifierBook` with the
book's settings (a 30-neuron sigmoid hidden layer, cross-entropy, L2,
eta = 0.5, mini-batches of 10), prints each epoch as network2.py does, and
ends with the held-out accuracy.
"""

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from . import MLPClassifierBook
from .activations import ACTIVATIONS
from .costs import COSTS
from .initializers import INITIALIZERS
from .regularizers import REGULARIZERS


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknn",
        description=(
            "Train the network of 'Neural Networks and Deep Learning' on "
            "scikit-learn's bundled 8x8 digits (pixels scaled to [0, 1]) and print "
            "per-epoch progress and the held-out test accuracy."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--hidden", type=int, nargs="+", default=[30], help="hidden layer sizes")
    add("--activation", choices=sorted(ACTIVATIONS), default="sigmoid")
    add("--cost", choices=sorted(COSTS), default="cross_entropy")
    add("--regularizer", choices=sorted(REGULARIZERS), default="l2")
    add("--lmbda", type=float, default=0.1, help="regularization lambda")
    add("--eta", type=float, default=0.5, help="learning rate")
    add("--batch-size", type=int, default=10, help="mini-batch size m")
    add("--epochs", type=int, default=30)
    add("--dropout", type=float, default=0.0, help="fraction of hidden units dropped")
    add("--initializer", choices=sorted(INITIALIZERS), default="default")
    add("--momentum", type=float, default=0.0, help="momentum coefficient mu")
    add(
        "--early-stopping",
        type=int,
        metavar="N",
        default=None,
        help="stop after N epochs without validation improvement",
    )
    add("--test-size", type=float, default=0.25, help="fraction held out for testing")
    add("--seed", type=int, default=0, help="random_state")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=args.test_size, random_state=args.seed, stratify=y
    )
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
        n_iter_no_change=args.early_stopping or 10,
        validation_fraction=0.15 if args.early_stopping else None,
        random_state=args.seed,
        verbose=True,
    )
    if clf.early_stopping:
        print(
            f"Training {clf.hidden_layer_sizes} on {len(X_train)} digits; early "
            "stopping watches a 15% validation split of them"
        )
        evaluation = {}
    else:
        print(
            f"Training {clf.hidden_layer_sizes} on {len(X_train)} digits; the "
            f"validation accuracy shown is on the {len(X_test)} held-out test digits"
        )
        evaluation = {"X_val": X_test, "y_val": y_test}
    started = time.perf_counter()
    clf.fit(X_train, y_train, **evaluation)
    seconds = time.perf_counter() - started
    correct = int((clf.predict(X_test) == y_test).sum())
    print(
        f"Test accuracy: {correct} / {len(y_test)} = {correct / len(y_test):.2%} "
        f"after {clf.n_iter_} epochs in {seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
