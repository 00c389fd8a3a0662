"""The MNIST loader: cache, download from mirrors, digests, re-download, offline subset. Never the network.

A local HTTP server on 127.0.0.1 plays the mirrors, serving IDX files made from a slice of the shared
MNIST data under several behaviours (good, 404, corrupted, cut short, silent). The loader's digest table
is swapped for the digests of those files, as a mirror's files would have the published ones.
"""
import gzip
import hashlib
import http.server
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from backprop_lab.datasets import DownloadError, MNISTUnavailable, download_mnist, idx, load_mnist, mnist
from backprop_lab.datasets.download import download

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "mnist.npz"
NO_SHARED = (f"no full MNIST file at {SHARED} (these tests compare with the official data); to make it once, "
             "online: python scripts/mnist_npz_from_download.py")
needs_shared = pytest.mark.skipif(not SHARED.is_file(), reason=NO_SHARED)
N_TRAIN, N_TEST = 120, 40


def md5(data):
    return hashlib.md5(data).hexdigest()


# ------------------------------------------------------------------------------------- served files
@pytest.fixture(scope="module")
def slice_data():
    if not SHARED.is_file():
        pytest.skip(NO_SHARED)
    with np.load(SHARED) as d:
        return {"train": (d["xtr"][:N_TRAIN].reshape(-1, 28, 28), d["ytr"][:N_TRAIN]),
                "test": (d["xte"][:N_TEST].reshape(-1, 28, 28), d["yte"][:N_TEST])}


@pytest.fixture(scope="module")
def served(slice_data):
    """filename -> (gz bytes, Resource with this file's digests)."""
    files = {}
    for split, official in mnist.RESOURCES.items():
        for res, array in zip(official, slice_data[split]):
            content = idx.idx_bytes(array)
            gz = gzip.compress(content, compresslevel=1, mtime=0)
            files[res.filename] = (gz, mnist.Resource(res.filename, md5(gz), md5(content), res.ndim))
    return files


def corrupt(data: bytes) -> bytes:
    """Same length, a few bytes flipped in the middle: a valid-looking download with the wrong digest."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 8]) + data[middle + 8:]


class Mirror(http.server.BaseHTTPRequestHandler):
    """GET /<behaviour>/<filename>: good, missing (404), corrupt, short (closes early), slow (silent)."""

    files = {}
    log = []

    def do_GET(self):
        behaviour, _, name = self.path.strip("/").partition("/")
        Mirror.log.append(f"{behaviour}/{name}")
        if name not in self.files or behaviour == "missing":
            self.send_error(404)
            return
        body = self.files[name][0]
        if behaviour == "slow":
            time.sleep(1.0)
        if behaviour == "corrupt":
            body = corrupt(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "short":
            body = body[: len(body) // 3]
        self.wfile.write(body)
        self.wfile.flush()
        if behaviour == "short":
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(served):
    Mirror.files = served
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mirrors(server, served, monkeypatch, tmp_path):
    """Point the loader at the local server with this slice's digests; returns a function making mirror lists."""
    monkeypatch.delenv("BACKPROP_LAB_OFFLINE", raising=False)
    monkeypatch.setenv("BACKPROP_LAB_DATA", str(tmp_path / "data-home"))
    table = {split: tuple(served[r.filename][1] for r in res) for split, res in mnist.RESOURCES.items()}
    monkeypatch.setattr(mnist, "RESOURCES", table)
    Mirror.log.clear()

    def use(*behaviours):
        monkeypatch.setattr(mnist, "MIRRORS", tuple(f"{server}/{b}/" for b in behaviours))
    return use


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Any URL other than the local server fails the test."""
    real = urllib.request.urlopen

    def local_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        assert url.startswith("http://127.0.0.1:"), f"a test tried to reach the network: {url}"
        return real(request, *args, **kwargs)
    monkeypatch.setattr(urllib.request, "urlopen", local_only)


def cached_files(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


# ------------------------------------------------------------------------------------------ download
def test_download_verifies_caches_and_returns_the_data(mirrors, slice_data, tmp_path, capsys):
    mirrors("good")
    out = load_mnist("train", cache_dir=tmp_path / "c", timeout=5)
    assert out.source == "full" and mnist.last_source == "full"
    x, y = out
    assert x.dtype == np.float32 and x.shape == (N_TRAIN, 784) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() == 1.0
    np.testing.assert_array_equal(np.rint(x * 255).astype(np.uint8), slice_data["train"][0].reshape(N_TRAIN, 784))
    np.testing.assert_array_equal(y, slice_data["train"][1])
    assert cached_files(tmp_path / "c") == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    captured = capsys.readouterr()
    assert captured.out.strip() == f"MNIST train: {N_TRAIN} images from the full set ({tmp_path / 'c'})."
    assert "B/s" in captured.err or "B [" in captured.err  # tqdm's byte counter and speed
    assert Mirror.log == ["good/train-images-idx3-ubyte.gz", "good/train-labels-idx1-ubyte.gz"]


def test_default_cache_folder_comes_from_the_environment(mirrors, tmp_path):
    mirrors("good")
    x, _ = load_mnist("test", flatten=False, verbose=False, timeout=5)
    assert x.shape == (N_TEST, 28, 28)
    assert cached_files(tmp_path / "data-home" / "mnist") == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("bad", [["missing"], ["corrupt"], ["short"], ["slow"], ["missing", "corrupt", "short"]])
def test_a_failing_mirror_is_skipped_for_the_next(mirrors, tmp_path, bad, capsys):
    mirrors(*bad, "good")
    out = load_mnist("test", cache_dir=tmp_path, timeout=0.3)
    assert out.source == "full"
    first = "t10k-images-idx3-ubyte.gz"
    assert Mirror.log[: len(bad) + 1] == [f"{b}/{first}" for b in bad] + [f"good/{first}"]
    printed = capsys.readouterr().out
    assert f"after {len(bad)} other mirror(s) failed" in printed
    reason = {"missing": "HTTP 404", "corrupt": "does not match the published", "short": "still to come",
              "slow": "timed out"}[bad[-1]]
    assert reason in printed
    assert cached_files(tmp_path) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # no .part left


def test_download_function_reports_every_attempt(mirrors, server, served, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    urls = [f"{server}/missing/", f"{server}/corrupt/"]
    with pytest.raises(DownloadError) as info:
        download(name, served[name][1].md5, tmp_path, urls, timeout=5, verbose=False)
    assert [url for url, _ in info.value.attempts] == [u + name for u in urls]
    assert "HTTP 404" in str(info.value) and "does not match" in str(info.value)
    assert cached_files(tmp_path) == []
    path = download(name, served[name][1].md5, tmp_path, urls + [f"{server}/good/"], timeout=5, verbose=False)
    assert path.read_bytes() == served[name][0]


def test_download_mnist_fetches_all_four_files_once(mirrors, tmp_path):
    mirrors("good")
    assert download_mnist(tmp_path, timeout=5, verbose=False) == tmp_path
    assert len(cached_files(tmp_path)) == 4 and len(Mirror.log) == 4
    download_mnist(tmp_path, timeout=5, verbose=False)
    assert len(Mirror.log) == 4  # intact files are kept


# ------------------------------------------------------------------------------------------- cache
def test_a_cached_set_needs_no_network(mirrors, served, tmp_path):
    mirrors("good")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(served[name][0])
    out = load_mnist("test", cache_dir=tmp_path, verbose=False)
    assert out.source == "full" and len(out.y) == N_TEST
    assert Mirror.log == []


def test_an_uncompressed_cached_file_is_accepted(mirrors, served, tmp_path):
    mirrors("missing")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name.removesuffix(".gz")).write_bytes(gzip.decompress(served[name][0]))
    assert load_mnist("test", cache_dir=tmp_path, verbose=False).source == "full"
    assert Mirror.log == []


@pytest.mark.parametrize("damage, reason", [
    (lambda gz: gz[: len(gz) // 2], "gzip stream is broken"),                              # partial download
    (lambda gz: gzip.compress(corrupt(gzip.decompress(gz))), "corrupted or partial"),      # wrong content
    (lambda gz: b"<html>503 Service Unavailable</html>", "not an IDX file"),              # an error page
])
def test_a_corrupted_cached_file_is_downloaded_again(mirrors, served, tmp_path, capsys, damage, reason):
    mirrors("good")
    images, labels = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
    (tmp_path / images).write_bytes(damage(served[images][0]))
    (tmp_path / labels).write_bytes(served[labels][0])
    out = load_mnist("test", cache_dir=tmp_path, timeout=5)
    assert out.source == "full"
    printed = capsys.readouterr().out
    assert reason in printed and "downloading it again" in printed and str(tmp_path / images) in printed
    assert Mirror.log == [f"good/{images}"]  # the intact label file was kept
    assert (tmp_path / images).read_bytes() == served[images][0]


# ------------------------------------------------------------------------------------ offline subset
def test_when_every_mirror_fails_the_subset_is_used_with_a_notice(mirrors, tmp_path, capsys):
    mirrors("missing", "corrupt")
    out = load_mnist("train", cache_dir=tmp_path, timeout=5)
    assert out.source == "subset" and mnist.last_source == "subset"
    assert out.x.shape == (10_000, 784) and out.x.dtype == np.float32
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1, printed  # one line, not one per failed mirror (issue 18)
    assert printed[0].startswith("MNIST train: 10,000 images from the bundled subset, not the full 60,000 "
                                 "(could not download train-images-idx3-ubyte.gz from any of 2 mirrors; last: MD5 ")
    assert "does not match the published" in printed[0]
    assert out.notice == printed[0] == mnist.last_notice


def test_source_full_raises_instead_of_falling_back(mirrors, tmp_path):
    mirrors("missing", "corrupt")
    with pytest.raises(MNISTUnavailable) as info:
        load_mnist("test", source="full", cache_dir=tmp_path, timeout=5, verbose=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz could not be downloaded" in message
    assert str(tmp_path) in message and "BACKPROP_LAB_DATA" in message and "source='auto'" in message
    assert isinstance(info.value.__cause__, DownloadError) and len(info.value.__cause__.attempts) == 2


def test_offline_variable_gives_the_subset_without_any_request(mirrors, served, tmp_path, monkeypatch, capsys):
    mirrors("good")
    monkeypatch.setenv("BACKPROP_LAB_OFFLINE", "1")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):  # even with a full cache
        (tmp_path / name).write_bytes(served[name][0])
    out = load_mnist("test", cache_dir=tmp_path)
    assert out.source == "subset" and len(out.y) == 2_000
    assert "(BACKPROP_LAB_OFFLINE is set)" in capsys.readouterr().out
    assert load_mnist("test", source="full", cache_dir=tmp_path, verbose=False).source == "full"  # cache only
    with pytest.raises(MNISTUnavailable, match="not in .* and BACKPROP_LAB_OFFLINE is set"):
        load_mnist("train", source="full", cache_dir=tmp_path, verbose=False)
    assert Mirror.log == []


def test_download_false_reads_the_cache_only(mirrors, tmp_path, capsys):
    mirrors("good")
    out = load_mnist("test", cache_dir=tmp_path, download=False)
    assert out.source == "subset"
    assert "is not in" in out.notice and "download=False" in out.notice
    assert Mirror.log == []


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "validation"}, "split must be 'train' or 'test'"),
    ({"source": "internet"}, "source must be one of 'auto', 'full', 'subset'"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_mnist(**kwargs)


# ---------------------------------------------------------------------------------- bundled subset
def test_bundled_subset_is_balanced_real_mnist(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_OFFLINE", "1")
    package_file = Path(mnist.__file__).parent / "data" / "mnist_subset.npz"
    assert package_file.stat().st_size < 4 * 2**20
    for split, n in (("train", 10_000), ("test", 2_000)):
        x, y = load_mnist(split, verbose=False)
        assert x.shape == (n, 784) and x.dtype == np.float32 and y.dtype == np.int64
        assert 0.0 == x.min() and x.max() == 1.0
        assert np.bincount(y).tolist() == [n // 10] * 10
        images = load_mnist(split, flatten=False, verbose=False).x
        assert images.shape == (n, 28, 28)
    with np.load(package_file) as sub:
        assert np.all(np.diff(sub["train_index"]) > 0) and np.all(np.diff(sub["test_index"]) > 0)


@needs_shared
def test_bundled_subset_matches_the_official_images():
    with np.load(Path(mnist.__file__).parent / "data" / "mnist_subset.npz") as sub, np.load(SHARED) as full:
        for split, xs, ys in (("train", "xtr", "ytr"), ("test", "xte", "yte")):
            index = sub[f"{split}_index"]
            np.testing.assert_array_equal(sub[f"x_{split}"], full[xs][index])
            np.testing.assert_array_equal(sub[f"y_{split}"], full[ys][index])


# ---------------------------------------------------------------------------- the official digests
@needs_shared
def test_published_content_digests_match_the_official_data():
    with np.load(SHARED) as d:
        arrays = {"train": (d["xtr"].reshape(-1, 28, 28), d["ytr"]), "test": (d["xte"].reshape(-1, 28, 28), d["yte"])}
    for split, resources in mnist.RESOURCES.items():
        for res, array in zip(resources, arrays[split]):
            assert md5(idx.idx_bytes(array)) == res.idx_md5, res.filename


@needs_shared
def test_full_set_from_a_cache_filled_by_the_script(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_OFFLINE", "1")
    script = ROOT / "scripts" / "mnist_idx_from_npz.py"
    subprocess.run([sys.executable, str(script), "--data", str(SHARED), "--out", str(tmp_path), "--level", "1",
                    "--split", "test"], check=True, capture_output=True, cwd=ROOT)  # train: the same code, 6x the data
    assert cached_files(tmp_path) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    x, y = load_mnist("test", source="full", cache_dir=tmp_path, verbose=False)
    assert x.shape == (10_000, 784) and y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    with np.load(SHARED) as d:
        np.testing.assert_array_equal(np.rint(x * 255).astype(np.uint8), d["xte"])


@needs_shared
def test_npz_script_inverts_the_idx_script(tmp_path, monkeypatch):
    """scripts/mnist_npz_from_download.py writes what scripts/mnist_idx_from_npz.py reads (here from a filled cache)."""
    monkeypatch.setenv("BACKPROP_LAB_OFFLINE", "1")   # the cache only: no network in tests
    subprocess.run([sys.executable, str(ROOT / "scripts" / "mnist_idx_from_npz.py"), "--data", str(SHARED),
                    "--out", str(tmp_path / "cache"), "--level", "1"], check=True, capture_output=True, cwd=ROOT)
    out = tmp_path / "again.npz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "mnist_npz_from_download.py"), "--out", str(out),
                    "--cache-dir", str(tmp_path / "cache")], check=True, capture_output=True, cwd=ROOT)
    with np.load(SHARED) as want, np.load(out) as got:
        assert sorted(got.files) == sorted(want.files)
        for key in want.files:
            assert got[key].dtype == np.uint8
            np.testing.assert_array_equal(got[key], want[key])


# -------------------------------------------------------------------------------- cache location
def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPROP_LAB_DATA", str(tmp_path / "mine"))
    assert mnist.default_cache_dir() == tmp_path / "mine" / "mnist"
    monkeypatch.delenv("BACKPROP_LAB_DATA")
    if sys.platform in ("win32", "darwin"):
        assert mnist.data_home().name in ("Cache", "backprop_lab")
        return
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_cache_dir() == tmp_path / "xdg" / "backprop_lab" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec says to ignore it
    assert mnist.data_home() == Path.home() / ".cache" / "backprop_lab"
