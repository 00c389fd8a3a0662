"""The IDX file format that MNIST ships in, read and written with NumPy.

An IDX file is a header and then the raw numbers, big-endian, in C order::

    bytes 0-1   0x00 0x00            (always zero)
    byte  2     dtype code           0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dims d     (1 for labels, 3 for images)
    then d      big-endian uint32    the size of each dimension
    then        prod(sizes) numbers  the data

So the first four bytes of MNIST's image files read 0x00000803 ("uint8, 3 dims") and of its label files
0x00000801. The files are usually gzip-compressed; ``read_idx`` accepts either.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "parse_idx", "decompress_if_gzip", "idx_bytes", "write_idx", "DTYPES"]

# IDX dtype code -> NumPy dtype (big-endian where it matters).
DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}


class IDXError(ValueError):
    """A file that is not a well-formed IDX file; the message names the file, what is wrong and what to do.

    The parts are kept too: ``.name`` (the file), ``.problem``, ``.hint``.
    """

    def __init__(self, name, problem, hint):
        self.name, self.problem, self.hint = name, problem, hint
        super().__init__(f"{name}: {problem}; {hint}")

    def __reduce__(self):
        return type(self), (self.name, self.problem, self.hint)


def _fail(name, problem, hint="delete the file and download it again"):
    raise IDXError(name, problem, hint)


def parse_idx(data: bytes, *, name: str = "<bytes>", ndim: int | None = None, dtype=None) -> np.ndarray:
    """Parse the (uncompressed) bytes of an IDX file into an array of native byte order.

    ``ndim`` and ``dtype``, when given, are what the caller expects (for MNIST images: 3 and uint8); a
    file with another header is rejected rather than silently reshaped. ``name`` appears in every error.
    """
    if len(data) < 4:
        _fail(name, f"only {len(data)} bytes, too short for the 4-byte IDX magic number")
    zero, code, dims = struct.unpack(">HBB", data[:4])
    magic = f"0x{int.from_bytes(data[:4], 'big'):08X}"
    if zero != 0:
        _fail(name, f"magic number {magic} does not start with two zero bytes, so this is not an IDX file "
                    "(a gzip file starts 0x1F8B; was it decompressed twice, or is it an HTML error page?)")
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPES)
        _fail(name, f"magic number {magic} has dtype code 0x{code:02X}, which IDX does not define (known: {known})")
    if dims == 0:
        _fail(name, f"magic number {magic} says the array has 0 dimensions")
    if ndim is not None and dims != ndim:
        _fail(name, f"magic number {magic} says {dims} dimension(s), expected {ndim} "
                    f"(0x{(0x08 << 8) | ndim:08X} for uint8)", hint="check that image and label files are not swapped")
    if dtype is not None and DTYPES[code].newbyteorder("=") != np.dtype(dtype):
        _fail(name, f"magic number {magic} says dtype {DTYPES[code].newbyteorder('=')}, expected {np.dtype(dtype)}",
              hint="check that the file is the one you meant")
    header = 4 + 4 * dims
    if len(data) < header:
        _fail(name, f"the header needs {header} bytes for {dims} dimension sizes, but the file has {len(data)}",
              hint="the file is truncated: delete it and download it again")
    shape = struct.unpack(f">{dims}I", data[4:header])
    itemsize = DTYPES[code].itemsize
    expected = int(np.prod(shape, dtype=np.int64)) * itemsize
    found = len(data) - header
    if found < expected:
        _fail(name, f"the header promises shape {shape} ({expected:,} bytes of data) but only {found:,} follow",
              hint="the file is truncated (an interrupted download?): delete it and download it again")
    if found > expected:
        _fail(name, f"the header promises shape {shape} ({expected:,} bytes of data) but {found:,} follow")
    array = np.frombuffer(data, dtype=DTYPES[code], offset=header).reshape(shape)
    return array.astype(DTYPES[code].newbyteorder("="), copy=False)


def decompress_if_gzip(raw: bytes, name: str = "<bytes>") -> bytes:
    """The bytes themselves, or their gzip decompression if they start with gzip's magic 0x1F8B."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        _fail(name, f"the gzip stream is broken ({err})",
              hint="the file is truncated or corrupted: delete it and download it again")


def read_idx(path, *, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Read an IDX file, gzip-compressed (``*.gz``, detected by content) or not, into an array."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    return parse_idx(decompress_if_gzip(raw, name), name=name, ndim=ndim, dtype=dtype)


def idx_bytes(array) -> bytes:
    """The IDX encoding of ``array`` (the inverse of ``parse_idx``)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"IDX cannot store dtype {array.dtype}: use one of "
                        f"{', '.join(str(d) for d in _CODES)}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX stores arrays of 1 to 255 dimensions, got {array.ndim}")
    code = _CODES[native]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()


def write_idx(path, array, *, compresslevel: int = 9) -> None:
    """Write ``array`` as an IDX file; gzip-compressed (reproducibly, mtime 0) when ``path`` ends in .gz."""
    data = idx_bytes(array)
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=compresslevel, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
