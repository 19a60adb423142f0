import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from sknn import datasets
from sknn.datasets import MNIST_FILES, default_mnist_path, load_mnist, read_idx

TRAIN_IMAGES = (np.arange(5 * 28 * 28) % 256).astype(np.uint8).reshape(5, 28, 28)
TRAIN_LABELS = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
TEST_IMAGES = (255 - np.arange(3 * 28 * 28) % 256).astype(np.uint8).reshape(3, 28, 28)
TEST_LABELS = np.array([9, 2, 6], dtype=np.uint8)
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def idx_bytes(array, magic=None):
    if magic is None:
        magic = 0x00000800 | array.ndim
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    return header + array.tobytes()


def write_file(path, data, compress):
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def write_mnist(folder, compress, train_labels=TRAIN_LABELS):
    arrays = (TRAIN_IMAGES, train_labels, TEST_IMAGES, TEST_LABELS)
    for name, array in zip(MNIST_FILES, arrays, strict=True):
        write_file(folder / name, idx_bytes(array), compress)
    return folder


@pytest.fixture(params=[True, False], ids=["gzip", "plain"])
def compress(request):
    return request.param


@pytest.fixture
def mnist_dir(tmp_path, compress, monkeypatch):
    monkeypatch.delenv("SKNN_MNIST", raising=False)
    return write_mnist(tmp_path, compress)


def test_idx_header_written_with_struct_pack():
    header = idx_bytes(TRAIN_IMAGES)[:16]
    assert header == struct.pack(">IIII", IMAGES_MAGIC, 5, 28, 28)
    assert idx_bytes(TRAIN_LABELS)[:8] == struct.pack(">II", LABELS_MAGIC, 5)


def test_read_idx_images(tmp_path, compress):
    path = write_file(tmp_path / "images", idx_bytes(TRAIN_IMAGES), compress)
    images = read_idx(path)
    assert images.dtype == np.uint8
    assert images.shape == (5, 28, 28)
    np.testing.assert_array_equal(images, TRAIN_IMAGES)
    images[0, 0, 0] = 7


def test_read_idx_labels(tmp_path, compress):
    path = write_file(tmp_path / "labels", idx_bytes(TRAIN_LABELS), compress)
    np.testing.assert_array_equal(read_idx(str(path)), TRAIN_LABELS)


def test_original_split_flattened(mnist_dir):
    (X_train, y_train), (X_test, y_test) = load_mnist(mnist_dir, split="original")
    assert X_train.shape == (5, 784)
    assert X_test.shape == (3, 784)
    assert y_train.shape == (5,)
    assert y_test.shape == (3,)
    np.testing.assert_allclose(X_train, TRAIN_IMAGES.reshape(5, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y_test, TEST_LABELS)


def test_unflattened_keeps_header_shape(mnist_dir):
    (X_train, _), (X_test, _) = load_mnist(mnist_dir, flatten=False, split="original")
    assert X_train.shape == (5, 28, 28)
    assert X_test.shape == (3, 28, 28)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_scales_to_unit_interval(mnist_dir, dtype):
    (X_train, _), (X_test, _) = load_mnist(mnist_dir, dtype=dtype, split="original")
    for images, raw in [(X_train, TRAIN_IMAGES), (X_test, TEST_IMAGES)]:
        assert images.dtype == dtype
        assert images.min() == 0.0
        assert images.max() == 1.0
        np.testing.assert_allclose(images * 255, raw.reshape(len(raw), -1), atol=1e-4)


def test_normalize_false_keeps_uint8(mnist_dir):
    (X_train, _), (X_test, _) = load_mnist(mnist_dir, normalize=False, split="original")
    assert X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_train, TRAIN_IMAGES.reshape(5, 784))
    np.testing.assert_array_equal(X_test, TEST_IMAGES.reshape(3, 784))


def test_normalize_needs_floating_dtype(mnist_dir):
    with pytest.raises(ValueError, match="floating dtype"):
        load_mnist(mnist_dir, dtype=np.int32)


def test_labels_are_int64_by_default(mnist_dir):
    (_, y_train), _ = load_mnist(mnist_dir, split="original")
    assert y_train.dtype == np.int64
    np.testing.assert_array_equal(y_train, TRAIN_LABELS)


def test_one_hot_labels(mnist_dir):
    (_, y_train), (_, y_test) = load_mnist(
        mnist_dir, one_hot_label=True, dtype=np.float64, split="original"
    )
    assert y_train.shape == (5, 10)
    assert y_train.dtype == np.float64
    np.testing.assert_array_equal(y_train.argmax(axis=1), TRAIN_LABELS)
    np.testing.assert_array_equal(y_train.sum(axis=1), np.ones(5))
    np.testing.assert_array_equal(y_test.argmax(axis=1), TEST_LABELS)


def test_book_split_holds_out_last_training_images(mnist_dir, monkeypatch):
    monkeypatch.setattr(datasets, "VALIDATION_SIZE", 2)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = load_mnist(
        mnist_dir, normalize=False
    )
    assert X_train.shape == (3, 784)
    assert X_val.shape == (2, 784)
    assert X_test.shape == (3, 784)
    np.testing.assert_array_equal(X_train, TRAIN_IMAGES[:3].reshape(3, 784))
    np.testing.assert_array_equal(X_val, TRAIN_IMAGES[3:].reshape(2, 784))
    np.testing.assert_array_equal(y_train, TRAIN_LABELS[:3])
    np.testing.assert_array_equal(y_val, TRAIN_LABELS[3:])
    np.testing.assert_array_equal(y_test, TEST_LABELS)


def test_book_split_needs_more_than_validation_size(mnist_dir):
    with pytest.raises(ValueError, match="more than 10000"):
        load_mnist(mnist_dir)


def test_unknown_split(mnist_dir):
    with pytest.raises(ValueError, match="'book', 'original'"):
        load_mnist(mnist_dir, split="random")


def test_env_var_gives_default_path(mnist_dir, monkeypatch):
    assert default_mnist_path() is None
    monkeypatch.setenv("SKNN_MNIST", str(mnist_dir))
    assert default_mnist_path() == mnist_dir
    (X_train, _), _ = load_mnist(split="original")
    assert X_train.shape == (5, 784)


def test_path_argument_overrides_env_var(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SKNN_MNIST", str(tmp_path / "elsewhere"))
    (X_train, _), _ = load_mnist(mnist_dir, split="original")
    assert X_train.shape == (5, 784)


def test_prefers_plain_file_when_both_exist(mnist_dir, compress):
    plain_images = np.zeros((5, 28, 28), dtype=np.uint8)
    gz_images = np.full((5, 28, 28), 9, dtype=np.uint8)
    name = MNIST_FILES[0]
    write_file(mnist_dir / name, idx_bytes(plain_images), compress=False)
    write_file(mnist_dir / name, idx_bytes(gz_images), compress=True)
    (X_train, _), _ = load_mnist(mnist_dir, normalize=False, split="original")
    assert not X_train.any()


def assert_explains_where_to_put_files(message):
    assert "SKNN_MNIST" in message
    assert "path=" in message
    assert "../shared" not in message
    for name in MNIST_FILES:
        assert name in message


def test_no_path_and_no_env_var(monkeypatch):
    monkeypatch.delenv("SKNN_MNIST", raising=False)
    with pytest.raises(FileNotFoundError) as error:
        load_mnist()
    assert_explains_where_to_put_files(str(error.value))
    assert "unset" in str(error.value)


def test_missing_folder(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("SKNN_MNIST", str(missing))
    with pytest.raises(FileNotFoundError) as error:
        load_mnist()
    assert_explains_where_to_put_files(str(error.value))
    assert str(missing) in str(error.value)


def test_missing_file(mnist_dir, compress):
    suffix = ".gz" if compress else ""
    (mnist_dir / f"t10k-labels-idx1-ubyte{suffix}").unlink()
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(mnist_dir)
    message = str(error.value)
    assert_explains_where_to_put_files(message)
    assert "lacks t10k-labels-idx1-ubyte[.gz]" in message
    assert str(mnist_dir) in message


def test_corrupt_magic(tmp_path, compress):
    path = write_file(tmp_path / "bad", idx_bytes(TRAIN_LABELS, 0x12340801), compress)
    with pytest.raises(ValueError, match="bad magic number 0x12340801") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_wrong_dtype_code(tmp_path, compress):
    path = write_file(tmp_path / "bad", idx_bytes(TRAIN_LABELS, 0x00000D01), compress)
    with pytest.raises(ValueError, match="data type code 0x0D"):
        read_idx(path)


def test_truncated_data(tmp_path, compress):
    data = idx_bytes(TRAIN_IMAGES)[:-100]
    path = write_file(tmp_path / "short", data, compress)
    with pytest.raises(ValueError, match="truncated: header says 3920 bytes") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_header(tmp_path, compress):
    path = write_file(tmp_path / "short", idx_bytes(TRAIN_IMAGES)[:10], compress)
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(path)


def test_trailing_data(tmp_path, compress):
    path = write_file(tmp_path / "long", idx_bytes(TRAIN_LABELS) + b"\0", compress)
    with pytest.raises(ValueError, match="trailing data"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(TRAIN_IMAGES))[:50])
    with pytest.raises(ValueError, match="not a valid gzip file"):
        read_idx(path)


def test_image_label_count_mismatch(tmp_path, compress):
    write_mnist(tmp_path, compress, train_labels=TRAIN_LABELS[:4])
    with pytest.raises(ValueError, match=r"5 images but .* 4 labels"):
        load_mnist(tmp_path, split="original")


def test_label_out_of_range(tmp_path, compress):
    write_mnist(tmp_path, compress, train_labels=np.array([1, 2, 10, 3, 4], np.uint8))
    with pytest.raises(ValueError, match=r"digits 0\.\.9, found 10"):
        load_mnist(tmp_path, split="original")


def find_real_mnist():
    candidates = [
        default_mnist_path(),
        Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist",
    ]
    for folder in candidates:
        if folder is not None and all(
            (folder / name).exists() or (folder / f"{name}.gz").exists()
            for name in MNIST_FILES
        ):
            return folder
    return None


REAL_MNIST = find_real_mnist()
needs_real_mnist = pytest.mark.skipif(
    REAL_MNIST is None,
    reason="real MNIST not found: set SKNN_MNIST to the folder with the four IDX files",
)


@pytest.fixture(scope="module")
def real_mnist():
    return load_mnist(REAL_MNIST)


@needs_real_mnist
def test_real_mnist_book_split(real_mnist):
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = real_mnist
    for images, labels, n in [
        (X_train, y_train, 50_000),
        (X_val, y_val, 10_000),
        (X_test, y_test, 10_000),
    ]:
        assert images.shape == (n, 784)
        assert images.dtype == np.float32
        assert images.min() >= 0.0
        assert images.max() <= 1.0
        assert labels.shape == (n,)
        assert set(np.unique(labels)) == set(range(10))


@needs_real_mnist
def test_real_mnist_train_images_md5():
    plain = REAL_MNIST / MNIST_FILES[0]
    if plain.exists():
        data = plain.read_bytes()
    else:
        data = gzip.decompress(plain.with_name(plain.name + ".gz").read_bytes())
    assert hashlib.md5(data).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"
