"""Write a file so that a reader never sees half of it: a temporary file beside it, then ``os.replace``.

One helper for every file the package writes (notebooks, progress, generated modules, grades): an
interrupted kernel or a stopped command leaves either the old file or the new one, never a mix.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o644) -> bool:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; False if the file already held it.

    Parent folders are created. ``mode`` is the new file's permission bits (mkstemp's default is 0600).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        if path.read_bytes() == raw:
            return False
    except OSError:
        pass
    with atomic_open(path, mode=mode) as f:
        f.write(raw)
    return True


@contextmanager
def atomic_open(path: str | os.PathLike, *, mode: int = 0o644, suffix: str = ".tmp"):
    """A binary file to write ``path`` through: it replaces ``path`` only when the block ends without error.

    On an error (or KeyboardInterrupt) the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())   # the new bytes are on disk before the name points at them
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
