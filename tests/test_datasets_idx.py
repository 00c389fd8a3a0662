"""The IDX parser and writer, on hand-made bytes: good files round-trip, bad ones are named and explained."""
import gzip
import struct

import numpy as np
import pytest

from backprop_lab.datasets.idx import IDXError, idx_bytes, parse_idx, read_idx, write_idx


def header(code, *shape):
    return struct.pack(">HBB", 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def test_hand_made_label_file():
    data = header(0x08, 5) + bytes([7, 2, 1, 0, 4])
    out = parse_idx(data)
    assert out.dtype == np.uint8 and out.shape == (5,)
    assert out.tolist() == [7, 2, 1, 0, 4]


def test_hand_made_image_file_is_row_major():
    data = header(0x08, 2, 2, 3) + bytes(range(12))
    out = parse_idx(data, ndim=3, dtype=np.uint8)
    assert out.shape == (2, 2, 3)
    assert out[1, 0, 2] == 1 * 6 + 0 * 3 + 2


def test_multibyte_values_are_big_endian():
    data = header(0x0C, 2) + b"\x00\x00\x01\x00" + b"\xff\xff\xff\xfe"
    out = parse_idx(data)
    assert out.tolist() == [256, -2]
    assert out.dtype == np.int32 and out.dtype.isnative
    assert idx_bytes(out) == data


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("shape", [(1,), (4,), (3, 2), (2, 3, 4)])
def test_round_trip(dtype, shape):
    array = (np.arange(np.prod(shape)) - 3).astype(dtype).reshape(shape)
    back = parse_idx(idx_bytes(array))
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_write_and_read_files_gzip_or_not(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte.gz", array)
    write_idx(tmp_path / "a-idx3-ubyte", array)
    assert (tmp_path / "a-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
        np.testing.assert_array_equal(read_idx(tmp_path / name, ndim=3), array)


@pytest.mark.parametrize("data, words", [
    (b"\x00\x00\x08", ["3 bytes", "too short"]),
    (b"\x01\x02\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", ["0x01020801", "not an IDX file"]),
    (gzip.compress(header(0x08, 1) + b"\x05", mtime=0), ["0x1F8B", "gzip"]),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", ["0x00000701", "dtype code 0x07"]),
    (b"\x00\x00\x08\x00", ["0 dimensions"]),
    (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", ["header needs 16 bytes", "truncated"]),
    (header(0x08, 2, 28, 28) + bytes(1000), ["(2, 28, 28)", "1,568", "only 1,000", "truncated"]),
    (header(0x08, 3) + bytes(4), ["(3,)", "4 follow"]),
    (header(0x0C, 2) + bytes(7), ["8 bytes", "only 7"]),
])
def test_bad_bytes_are_rejected_with_a_reason(data, words):
    with pytest.raises(IDXError) as info:
        parse_idx(data, name="some-file-ubyte")
    message = str(info.value)
    assert message.startswith("some-file-ubyte: ")
    for word in words:
        assert word in message


def test_expected_ndim_and_dtype_are_enforced():
    labels = header(0x08, 3) + bytes(3)
    with pytest.raises(IDXError, match=r"1 dimension\(s\), expected 3.*swapped"):
        parse_idx(labels, name="labels", ndim=3)
    floats = header(0x0D, 1) + bytes(4)
    with pytest.raises(IDXError, match="dtype float32, expected uint8"):
        parse_idx(floats, name="floats", dtype=np.uint8)
    assert parse_idx(labels, ndim=1, dtype=np.uint8).shape == (3,)


def test_truncated_gzip_file_names_the_path(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    full = gzip.compress(header(0x08, 10, 28, 28) + bytes(range(256)) * 30 + bytes(10 * 784 - 7680))
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(IDXError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "gzip stream is broken" in str(info.value)


def test_writer_refuses_what_idx_cannot_hold():
    with pytest.raises(TypeError, match="IDX cannot store dtype int64"):
        idx_bytes(np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        idx_bytes(np.uint8(3))
