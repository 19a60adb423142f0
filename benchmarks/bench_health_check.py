"""What the per-epoch health check costs: fit time with and without batch-cost sampling.

The training step measures the cost of about 32 mini-batches per epoch so that
divergence is noticed whatever ``monitor`` says. This script fits the same
network with that sampling (the default) and with one sampled batch per epoch
(the least the check needs), alternating the two in one process, and prints
the median ratio. Uses scikit-learn's digits, and MNIST's 50,000 training
images too when ``SKNN_MNIST`` names the folder with its four IDX files.

    python benchmarks/bench_health_check.py
"""

import statistics
import time
import warnings

from sklearn.datasets import load_digits

import sknn._network as network_module
from sknn import MLPClassifierBook
from sknn.datasets import default_mnist_path, load_mnist

REPEATS = 5


def timed_fit(X, y, samples_per_epoch, epochs):
    network_module.COST_SAMPLES_PER_EPOCH = samples_per_epoch
    clf = MLPClassifierBook(epochs=epochs, monitor=(), random_state=0)
    started = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return time.process_time() - started


def compare(name, X, y, epochs):
    default = network_module.COST_SAMPLES_PER_EPOCH
    ratios = []
    for _ in range(REPEATS):
        with_sampling = timed_fit(X, y, default, epochs)
        minimal = timed_fit(X, y, 1, epochs)
        ratios.append(with_sampling / minimal)
    network_module.COST_SAMPLES_PER_EPOCH = default
    print(
        f"{name}: fit with {default} sampled batch costs per epoch / with 1: "
        f"median {statistics.median(ratios):.3f} over {REPEATS} alternating pairs "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


def main():
    X, y = load_digits(return_X_y=True)
    compare("digits, 1,797 rows, batch 10, 10 epochs", X / 16, y, 10)
    if default_mnist_path() is not None:
        (X, y), _, _ = load_mnist()
        compare("MNIST, 50,000 rows, batch 10, 1 epoch", X, y, 1)


if __name__ == "__main__":
    main()
