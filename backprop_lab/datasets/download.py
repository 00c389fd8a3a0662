"""Download one file from a list of mirrors: timeout, progress bar, digest check, atomic move.

The bytes go to a hidden temporary file beside the destination; only when their MD5 matches the published
digest is that file renamed (``os.replace``, atomic on one file system) onto the destination. So the
destination holds either nothing or a complete, verified file, even if the download is interrupted or
two processes download at once.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..atomic import atomic_open

__all__ = ["DownloadError", "download", "md5_of"]

USER_AGENT = "backprop-lab (https://pypi.org/project/backprop-lab/)"
CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file with the expected digest; ``attempts`` lists (url, reason) pairs."""

    def __init__(self, filename, attempts):
        self.filename = filename
        self.attempts = list(attempts)
        tried = "; ".join(f"{url}: {reason}" for url, reason in self.attempts) or "no mirrors given"
        self.message = f"could not download {filename} ({tried})"
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __reduce__(self):
        return type(self), (self.filename, self.attempts)


def md5_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _fetch(url, tmp, timeout, progress):
    """Stream ``url`` into the open file ``tmp``; return the MD5 of what was received."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        with progress(total=total, desc=os.path.basename(url), unit="B", unit_scale=True,
                      unit_divisor=1024, miniters=1, leave=False) as bar:
            while chunk := response.read(CHUNK):
                tmp.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
    return digest.hexdigest()


def download(filename: str, md5: str, dest_dir, mirrors, *, timeout: float = 30.0, verbose: bool = True) -> Path:
    """Download ``filename`` into ``dest_dir`` from the first mirror that delivers bytes with MD5 ``md5``.

    Each mirror is a URL prefix (``mirror + filename`` is fetched). A mirror that fails (no connection,
    HTTP error, timeout after ``timeout`` seconds without data, a short read, or a digest mismatch) is
    skipped for the next one. Returns the path of the verified file; when a mirror had failed before, says
    so in one line (``verbose``). Raises ``DownloadError`` listing every attempt if none succeeds, printing
    nothing: the caller says what it does instead, once (offline, one line is enough, not one per mirror).
    Shows a tqdm progress bar when ``verbose``.
    """
    if verbose:
        from tqdm.auto import tqdm as progress
    else:
        from tqdm import tqdm

        def progress(**kwargs):
            return tqdm(disable=True, **kwargs)

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    mirrors = list(mirrors)
    attempts = []
    for mirror in mirrors:
        url = mirror + filename
        try:
            with atomic_open(dest, suffix=".part") as tmp:   # replaces dest only if the block ends cleanly
                got = _fetch(url, tmp, timeout, progress)
                if got != md5:
                    raise ValueError(f"MD5 {got} does not match the published {md5} (corrupted or altered file)")
            if verbose and attempts:
                failed = "; ".join(f"{u}: {r}" for u, r in attempts)
                print(f"Downloaded {filename} from {mirror} after {len(attempts)} other mirror(s) failed ({failed}).")
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            attempts.append((url, _describe(err)))
    raise DownloadError(filename, attempts)


def _describe(err) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"no connection: {err.reason}"
    if isinstance(err, http.client.IncompleteRead):
        return f"connection closed with {err.expected:,} bytes still to come"
    if isinstance(err, TimeoutError):
        return "timed out"
    return str(err) or type(err).__name__
