"""Tune the book's network with chapter 3's recipe, on digits and optionally MNIST.

``BookSearchCV`` runs the stages of "How to choose a neural network's
hyper-parameters?" in order: the learning-rate threshold from the training
cost, the number of epochs from early stopping, the neurons and the
network's width and depth (each with its own learning rate), lambda by
factors of ten, eta again, the output cost, momentum, the halving schedule,
dropout if the network overfits, and the mini-batch size for speed. This
script prints its report and compares the tuned network with the book's
default settings on held-out test data.

sklearn's bundled digits (8x8 images, 1,797 of them) always run, inside a
Pipeline that scales the pixels to [0, 1]; that takes a few seconds. If the
``SKNN_MNIST`` environment variable names a folder with the four MNIST IDX
files, 10,000 MNIST training images are tuned as well, within ``--max-time``
seconds (search and refit), and scored on the 10,000 test images.

Usage::

    python examples/tune_digits.py [--plot report.png] [--n-jobs N] [--max-time S]
"""

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn import MLPClassifierBook
from sknn.datasets import default_mnist_path, load_mnist
from sknn.tuning import BookSearchCV

MNIST_TRAINING_IMAGES = 10_000


def tune(title, search, default, X_train, y_train, X_test, y_test, plot=None):
    """Fit the search and the default model; print the report and both test scores."""
    print(f"=== {title} ===")
    started = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    print(search.report())
    default.fit(X_train, y_train)
    print(
        f"\nTest accuracy: tuned {search.score(X_test, y_test):.4f}, book defaults "
        f"{default.score(X_test, y_test):.4f} ({len(y_test)} test images; "
        f"search took {seconds:.1f} s)\n"
    )
    if plot:
        search.plot_report().savefig(plot)
        print(f"Saved the stage plots to {plot}\n")


def digits(n_jobs, plot):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    # The same initial weights for the tuned and the default network, so the
    # comparison is between settings only.
    network = MLPClassifierBook(random_state=0)
    search = BookSearchCV(
        make_pipeline(MinMaxScaler(), network),
        cv=3,
        # 180 validation images per fold are a noisy signal; the book's next,
        # more lenient rule after no-improvement-in-ten is twenty.
        n_iter_no_change=20,
        n_jobs=n_jobs,
        random_state=0,
    )
    default = make_pipeline(MinMaxScaler(), MLPClassifierBook(random_state=0))
    tune("sklearn digits", search, default, X_train, y_train, X_test, y_test, plot)


def mnist(n_jobs, plot, max_time):
    (X_train, y_train), _, (X_test, y_test) = load_mnist()
    X_train, _, y_train, _ = train_test_split(
        X_train,
        y_train,
        train_size=MNIST_TRAINING_IMAGES,
        random_state=0,
        stratify=y_train,
    )
    search = BookSearchCV(
        MLPClassifierBook(random_state=0),
        subsample=0.3,  # "get quick feedback": the threshold on 2,000 images
        max_epochs=60,
        cv=3,
        max_time=max_time,  # the report says which stages did not fit in it
        n_jobs=n_jobs,
        random_state=0,
        verbose=1,  # a line per stage and candidate, with the time left
    )
    tune(
        f"MNIST, {MNIST_TRAINING_IMAGES:,} training images",
        search,
        MLPClassifierBook(random_state=0),
        X_train,
        y_train,
        X_test,
        y_test,
        plot and plot.replace(".", "_mnist.", 1),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="save the stage plots to this file")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel fits")
    parser.add_argument(
        "--max-time", type=float, default=300, help="seconds for the MNIST search"
    )
    args = parser.parse_args()
    digits(args.n_jobs, args.plot)
    if default_mnist_path() is not None:
        mnist(args.n_jobs, args.plot, args.max_time)
    else:
        print("Set SKNN_MNIST to a folder with the MNIST IDX files to tune MNIST too.")


if __name__ == "__main__":
    main()
