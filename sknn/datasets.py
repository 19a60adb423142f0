"""Load the MNIST handwritten digits from IDX files on disk.

Nothing is downloaded: the four files of the original distribution must already be
in a folder, passed as ``path=`` or named by the ``SKNN_MNIST`` environment variable.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import NoReturn

import numpy as np
import numpy.typing as npt

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST_ENV_VAR = "SKNN_MNIST"
SPLITS = ("book", "original")
VALIDATION_SIZE = 10_000
N_CLASSES = 10

_UNSIGNED_BYTE_CODE = 0x08
_PIXEL_MAX = 255


def default_mnist_path() -> Path | None:
    """Return the MNIST folder named by ``SKNN_MNIST``, or None if it is unset.

    Returns
    -------
    pathlib.Path or None
        The folder from the environment variable; an empty value counts as unset.
    """
    folder = os.environ.get(MNIST_ENV_VAR)
    return Path(folder) if folder else None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file, gzipped (``.gz`` suffix) or plain.

    IDX is the format MNIST is distributed in: a big-endian header holding a magic
    number (two zero bytes, a data type code, the number of dimensions) and one
    uint32 per dimension, followed by the raw data. Only unsigned bytes (type code
    0x08), which is what MNIST uses, are supported.

    The header is read and checked first, and the data is then read straight
    into an array of the size the header declares, so a corrupt or hostile file
    costs at most that array: a header that declares more data than the file
    can hold (more than the file's size, or for a gzip file more than deflate's
    largest compression ratio allows) is refused before anything is
    decompressed.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    numpy.ndarray
        A writable uint8 array with the shape given by the header.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a folder (:func:`load_mnist` takes the folder).
    ValueError
        If the file is not a valid IDX file of unsigned bytes, or its data is
        shorter or longer than the header says. The message names the file.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder; read_idx reads one IDX file, such as "
            f"{path / MNIST_FILES[0]}.gz. load_mnist(path) takes the folder."
        )
    try:
        with _open_idx(path) as file:
            return _read_idx_stream(path, file)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: not a valid gzip file ({error})") from error


_DEFLATE_MAX_RATIO = 1032
"""Deflate never expands data more than about 1032-fold (RFC 1951's longest match)."""

_READ_CHUNK_BYTES = 1 << 20


def _open_idx(path: Path):
    return gzip.open(path) if path.suffix == ".gz" else open(path, "rb")


def _read_exactly(file, size: int) -> bytes:
    data = file.read(size)
    return data if data is not None else b""


def _read_idx_stream(path: Path, file) -> np.ndarray:
    head = _read_exactly(file, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(head)} bytes)")
    zero_bytes, type_code, n_dims = head[0:2], head[2], head[3]
    if zero_bytes != b"\x00\x00":
        magic = int.from_bytes(head, "big")
        raise ValueError(
            f"{path}: bad magic number 0x{magic:08X}: an IDX file starts with two "
            "zero bytes"
        )
    if type_code != _UNSIGNED_BYTE_CODE:
        raise ValueError(
            f"{path}: unsupported data type code 0x{type_code:02X}: only 0x08 "
            "(unsigned byte) is supported"
        )
    if n_dims == 0:
        raise ValueError(f"{path}: the header declares 0 dimensions")
    header_size = 4 + 4 * n_dims
    dims = _read_exactly(file, 4 * n_dims)
    if len(dims) < 4 * n_dims:
        raise ValueError(
            f"{path}: truncated header: {n_dims} dimensions need {header_size} bytes, "
            f"found {4 + len(dims)}"
        )
    shape = tuple(int(size) for size in np.frombuffer(dims, ">u4"))
    expected = math.prod(shape)
    file_size = path.stat().st_size
    most_possible = (
        file_size * _DEFLATE_MAX_RATIO if path.suffix == ".gz" else file_size
    ) - header_size
    if expected > most_possible:
        raise ValueError(
            f"{path}: truncated: header says {expected} bytes of data (shape "
            f"{shape}), more than a file of {file_size} bytes can hold"
        )
    data = np.empty(expected, np.uint8)
    view, found = memoryview(data), 0
    while found < expected:
        read = file.readinto(view[found : found + _READ_CHUNK_BYTES])
        if not read:
            break
        found += read
    if found < expected:
        raise ValueError(
            f"{path}: truncated: header says {expected} bytes of data, found {found}"
        )
    extra = len(_read_exactly(file, _READ_CHUNK_BYTES))
    if extra:
        raise ValueError(
            f"{path}: trailing data: header says {expected} bytes of data, "
            f"found at least {expected + extra}"
        )
    return data.reshape(shape)


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    dtype: npt.DTypeLike = np.float32,
    split: str = "book",
):
    """Load MNIST from the four IDX files in a folder.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped
        (``.gz``) or plain; the plain file is used when both exist. Defaults to the
        ``SKNN_MNIST`` environment variable.
    normalize : bool, default=True
        Scale pixels to [0, 1] as floats of ``dtype``, the input range the network
        is trained on. If False, keep the raw uint8 values 0..255.
    flatten : bool, default=True
        Give each image as a row of 784 pixels, the input layout of a fully
        connected network. If False, keep the 28x28 shape from the file.
    one_hot_label : bool, default=False
        Give each label as a one-hot row of 10 values of ``dtype``, matching the
        output layer. If False, labels are int64 digits 0..9.
    dtype : numpy dtype, default=numpy.float32
        Floating type of normalized images and one-hot labels.
    split : {"book", "original"}, default="book"
        ``"book"`` is the split of Michael Nielsen's "Neural Networks and Deep
        Learning" (chapter 1): the last 10,000 training images are held out for
        validation, which leaves 50,000 for training, so hyper-parameters can be
        chosen without looking at the 10,000 test images. ``"original"`` keeps all
        60,000 training images, as the MNIST distribution does.

    Returns
    -------
    tuple
        ``((X_train, y_train), (X_val, y_val), (X_test, y_test))`` for the book
        split, ``((X_train, y_train), (X_test, y_test))`` for the original one.

    Raises
    ------
    FileNotFoundError
        If no folder is given, or the folder or one of the files is missing. The
        message says where to put the files.
    ValueError
        If ``split`` is unknown, a file is corrupt, image and label counts differ,
        or the book split has no more than 10,000 training images to split.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {SPLITS}")
    if normalize and np.dtype(dtype).kind != "f":
        raise ValueError(f"normalize=True needs a floating dtype, got {dtype!r}")
    train_images, train_labels, test_images, test_labels = _find_files(path)

    def load(images_path: Path, labels_path: Path):
        images, labels = _read_pair(images_path, labels_path)
        images = _prepare_images(images, normalize, flatten, dtype)
        labels = _prepare_labels(labels, one_hot_label, dtype)
        return images, labels

    train = load(train_images, train_labels)
    test = load(test_images, test_labels)
    if split == "original":
        return train, test
    return (*_hold_out_validation(*train), test)


def _find_files(path: str | os.PathLike[str] | None) -> list[Path]:
    if path is not None:
        folder, origin = Path(path), "given as path"
    else:
        folder, origin = default_mnist_path(), f"from {MNIST_ENV_VAR}"
    if folder is None:
        _raise_not_found(f"no folder given: path is None and {MNIST_ENV_VAR} is unset")
    if not folder.is_dir():
        _raise_not_found(f"folder {str(folder)!r} ({origin}) does not exist")
    found, missing = [], []
    for name in MNIST_FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        existing = [file for file in candidates if file.is_file()]
        if existing:
            found.append(existing[0])
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        _raise_not_found(
            f"folder {str(folder)!r} ({origin}) lacks {', '.join(missing)}"
        )
    return found


def _raise_not_found(what: str) -> NoReturn:
    names = "\n".join(f"  {name}.gz" for name in MNIST_FILES)
    raise FileNotFoundError(
        f"MNIST not found: {what}.\n"
        f"Put these four IDX files (gzipped or not) in one folder:\n{names}\n"
        f"then pass load_mnist(path='/that/folder') or set "
        f"{MNIST_ENV_VAR}=/that/folder."
    )


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected 3 dimensions (images, rows, columns), "
            f"found shape {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected 1 dimension, found shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels"
        )
    if labels.size and labels.max() >= N_CLASSES:
        raise ValueError(
            f"{labels_path}: labels must be digits 0..9, found {labels.max()}"
        )
    return images, labels


def _prepare_images(
    images: np.ndarray, normalize: bool, flatten: bool, dtype: npt.DTypeLike
) -> np.ndarray:
    if flatten:
        images = images.reshape(len(images), -1)
    if normalize:
        images = images.astype(dtype)
        images /= _PIXEL_MAX
    return images


def _prepare_labels(
    labels: np.ndarray, one_hot: bool, dtype: npt.DTypeLike
) -> np.ndarray:
    if one_hot:
        return np.eye(N_CLASSES, dtype=dtype)[labels]
    return labels.astype(np.int64)


def _hold_out_validation(images: np.ndarray, labels: np.ndarray):
    n_train = len(images) - VALIDATION_SIZE
    if n_train <= 0:
        raise ValueError(
            f"the 'book' split holds out the last {VALIDATION_SIZE} training images "
            f"for validation, so it needs more than {VALIDATION_SIZE} of them; "
            f"found {len(images)}. Use split='original' instead."
        )
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])
