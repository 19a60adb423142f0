"""A tiny, learnable stand-in for MNIST's four IDX files, for tests that need a folder."""

import gzip

import numpy as np


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(folder, n_train=10_200, n_test=100, seed=0):
    """Write the four gzipped IDX files; class k lights rows 2k and 2k+1.

    The book's split holds out the last 10,000 training images for validation,
    so ``n_train`` must exceed 10,000; ``n_train - 10_000`` are left to train on.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def images_for(labels):
        images = rng.integers(0, 60, size=(len(labels), 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 2] = 255
        return images

    train_labels = np.arange(n_train) % 10
    test_labels = np.arange(n_test) % 10
    _write_idx(folder / "train-images-idx3-ubyte.gz", images_for(train_labels))
    _write_idx(folder / "train-labels-idx1-ubyte.gz", train_labels)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", images_for(test_labels))
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", test_labels)
    return folder
