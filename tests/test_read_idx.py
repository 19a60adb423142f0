"""read_idx on hostile input: folders and gzip bombs are refused without reading them."""

import gzip
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from sknn.datasets import read_idx

ZEROS_MIB = 1024
"""Megabytes of zeros in the bomb: about 1 MiB once compressed."""


def write_gzip_bomb(path, dims, mib=ZEROS_MIB):
    """An IDX header declaring ``dims`` uint8 values, then 1 GiB of zeros, gzipped.

    Each MiB of zeros is compressed once, after a full flush, so the same
    compressed block can be repeated: writing the bomb costs little.
    """
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + struct.pack(
        f">{len(dims)}I", *dims
    )
    chunk = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    size = (len(header) + mib * len(chunk)) % (1 << 32)
    with open(path, "wb") as file:
        file.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        file.write(head)
        file.write(block * mib)
        file.write(deflate.flush(zlib.Z_FINISH))
        file.write(struct.pack("<II", crc, size))
    return path


@pytest.fixture(scope="module")
def bomb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bombs")


def refused_cheaply(path, match):
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(ValueError, match=match):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, time.process_time() - started


def test_a_header_declaring_more_than_the_file_can_hold_is_refused_unread(bomb_dir):
    path = write_gzip_bomb(bomb_dir / "huge-idx3-ubyte.gz", (65536, 65536))
    assert path.stat().st_size < 2 << 20
    peak, _ = refused_cheaply(path, r"header says 4294967296 bytes .*more than")
    assert peak < 16 << 20


def test_a_header_declaring_less_than_the_file_holds_stops_at_the_first_extra_chunk(
    bomb_dir,
):
    path = write_gzip_bomb(bomb_dir / "small-idx1-ubyte.gz", (100,))
    peak, _ = refused_cheaply(path, "trailing data: header says 100 bytes")
    assert peak < 16 << 20


def test_a_folder_is_refused_with_a_pointer_to_load_mnist(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is a folder.*load_mnist"):
        read_idx(tmp_path)


def test_the_bomb_recipe_makes_a_valid_idx_file(bomb_dir):
    path = write_gzip_bomb(bomb_dir / "valid-idx1-ubyte.gz", (3 << 20,), mib=3)
    data = read_idx(path)
    assert data.shape == (3 << 20,) and not data.any()


def test_a_plain_file_is_read_into_the_declared_shape(tmp_path):
    values = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "cube-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBB3I", 0, 0, 8, 3, 2, 3, 4) + values.tobytes())
    got = read_idx(path)
    np.testing.assert_array_equal(got, values)
    got[0, 0, 0] = 1  # writable
    with gzip.open(tmp_path / "cube-idx3-ubyte.gz", "wb") as file:
        file.write(path.read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "cube-idx3-ubyte.gz"), values)
