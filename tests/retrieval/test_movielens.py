"""Download, checksum and validation of ml-latest-small (against a local HTTP server, never the internet)."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from retrieval.errors import DataError
from retrieval.movielens import (
    MOVIELENS_SHA256,
    ensure_movielens,
    read_movielens,
    validate_movielens,
)

FILES = ("README.txt", "links.csv", "movies.csv", "ratings.csv", "tags.csv")


@dataclass
class Served:
    """What the test server answers to every GET."""

    body: bytes = b""
    status: int = 200
    claimed_length: int | None = None  # Content-Length to send; larger than body simulates a cut connection
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.hits.append(self.path)
            self.send_response(served.status)
            self.send_header("Content-Type", "application/zip")
            length = served.claimed_length if served.claimed_length is not None else len(served.body)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(served.body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/ml-latest-small.zip", served
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def make_zip(folder: Path) -> tuple[bytes, dict[str, str]]:
    """A zip laid out like GroupLens' (files under ml-latest-small/) and the checksums of its files."""
    buf = io.BytesIO()
    sums = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-latest-small/", b"")
        for name in FILES:
            data = (folder / name).read_bytes()
            zf.writestr(f"ml-latest-small/{name}", data)
            sums[name] = hashlib.sha256(data).hexdigest()
    return buf.getvalue(), sums


def assert_one_line(err: pytest.ExceptionInfo[DataError], *needles: str) -> None:
    message = str(err.value)
    assert "\n" not in message and message.strip() == message and message
    for needle in needles:
        assert needle in message, message


# --- download ---------------------------------------------------------------------------------------------


def test_download_success(tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served]) -> None:
    url, served = server
    served.body, sums = make_zip(tiny_movielens)
    cache = tmp_path / "cache"

    folder = ensure_movielens(None, cache, url=url, progress=False, checksums=sums)

    assert folder == cache / "ml-latest-small"
    assert sorted(p.name for p in cache.iterdir()) == ["ml-latest-small"]  # no temp files left over
    for name in FILES:
        assert (folder / name).read_bytes() == (tiny_movielens / name).read_bytes()
    assert len(served.hits) == 1

    # A second call reuses the cached copy without touching the network.
    served.status = 500
    assert ensure_movielens(None, cache, url=url, progress=False, checksums=sums) == folder
    assert len(served.hits) == 1


def test_download_with_progress_bar(
    tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served], capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    served.body, sums = make_zip(tiny_movielens)
    folder = ensure_movielens(None, tmp_path / "cache", url=url, progress=True, checksums=sums)
    assert (folder / "movies.csv").is_file()


def test_checksum_mismatch_leaves_nothing(
    tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served]
) -> None:
    url, served = server
    served.body, sums = make_zip(tiny_movielens)
    sums["ratings.csv"] = "0" * 64
    cache = tmp_path / "cache"

    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url=url, progress=False, checksums=sums)

    assert_one_line(err, "ratings.csv", "checksum")
    assert list(cache.iterdir()) == []


def test_default_checksums_reject_other_data(
    tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served]
) -> None:
    url, served = server
    served.body, _ = make_zip(tiny_movielens)
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url=url, progress=False)
    assert_one_line(err, "checksum")
    assert list(cache.iterdir()) == []


def test_interrupted_download_leaves_nothing(
    tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served]
) -> None:
    url, served = server
    body, sums = make_zip(tiny_movielens)
    served.body = body[: len(body) // 2]
    served.claimed_length = len(body)
    cache = tmp_path / "cache"

    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url=url, progress=False, checksums=sums)

    assert_one_line(err, "interrupted")
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [(404, b"not found", "HTTP 404"), (200, b"<html>not a zip</html>", "not a valid zip")],
)
def test_bad_responses(
    tmp_path: Path, server: tuple[str, Served], status: int, body: bytes, needle: str
) -> None:
    url, served = server
    served.status, served.body = status, body
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url=url, progress=False)
    assert_one_line(err, needle)
    assert list(cache.iterdir()) == []


def test_archive_missing_a_file(tiny_movielens: Path, tmp_path: Path, server: tuple[str, Served]) -> None:
    url, served = server
    _, sums = make_zip(tiny_movielens)
    (tiny_movielens / "tags.csv").unlink()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(tiny_movielens.iterdir()):
            zf.writestr(f"ml-latest-small/{p.name}", p.read_bytes())
    served.body = buf.getvalue()
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url=url, progress=False, checksums=sums)
    assert_one_line(err, "tags.csv", "missing")
    assert list(cache.iterdir()) == []


def test_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        ensure_movielens(None, tmp_path / "cache", url="http://127.0.0.1:9/x.zip", progress=False, timeout=5)
    assert_one_line(err, "cannot download")


def test_local_data_dir_is_used_without_download(tiny_movielens: Path, tmp_path: Path) -> None:
    unreachable = "http://127.0.0.1:9/never.zip"
    cache = tmp_path / "cache"
    assert ensure_movielens(tmp_path, cache, url=unreachable) == tiny_movielens
    assert ensure_movielens(tiny_movielens, cache, url=unreachable) == tiny_movielens
    assert not cache.exists()


def test_local_data_dir_is_validated(tiny_movielens: Path, tmp_path: Path) -> None:
    (tiny_movielens / "links.csv").unlink()
    with pytest.raises(DataError) as err:
        ensure_movielens(tmp_path, tmp_path / "cache", url="http://127.0.0.1:9/never.zip")
    assert_one_line(err, "links.csv", "missing")


def test_corrupt_cache_is_reported(tiny_movielens: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, sums = make_zip(tiny_movielens)
    cache.mkdir()
    tiny_movielens.rename(cache / "ml-latest-small")
    with (cache / "ml-latest-small" / "movies.csv").open("a", encoding="utf-8") as fh:
        fh.write('999,"Extra (2000)",Drama\n')
    with pytest.raises(DataError) as err:
        ensure_movielens(None, cache, url="http://127.0.0.1:9/never.zip", checksums=sums)
    assert_one_line(err, "movies.csv", "checksum", "delete")


def test_sha256_table_is_complete() -> None:
    assert set(MOVIELENS_SHA256) == set(FILES)
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in MOVIELENS_SHA256.values())


# --- validation -------------------------------------------------------------------------------------------


def test_valid_folder(tiny_movielens: Path) -> None:
    validate_movielens(tiny_movielens)
    tables = read_movielens(tiny_movielens)
    assert len(tables["movies.csv"]) == 20
    assert list(tables["ratings.csv"].columns) == ["userId", "movieId", "rating", "timestamp"]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _latin1(path: Path) -> None:
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1", errors="replace"))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    cut = data.rstrip(b"\n").rfind(b",")  # end mid-row, before the last field
    path.write_bytes(data[:cut])


BAD_CASES = {
    "missing file": ("ratings.csv", lambda d: (d / "ratings.csv").unlink(), "missing"),
    "empty file": ("tags.csv", lambda d: (d / "tags.csv").write_bytes(b""), "empty"),
    "header only": (
        "movies.csv",
        lambda d: (d / "movies.csv").write_text("movieId,title,genres\n"),
        "no rows",
    ),
    "truncated": ("ratings.csv", lambda d: _truncate(d / "ratings.csv"), "truncated"),
    "too many fields": (
        "links.csv",
        lambda d: _replace(d / "links.csv", "1,0114709,862", "1,0114709,862,9"),
        "malformed",
    ),
    "wrong columns": (
        "movies.csv",
        lambda d: _replace(d / "movies.csv", "movieId,title", "id,title"),
        "columns",
    ),
    "non-integer id": (
        "ratings.csv",
        lambda d: _replace(d / "ratings.csv", "\n1,1,", "\nx,1,"),
        "non-integer",
    ),
    "rating out of range": (
        "ratings.csv",
        lambda d: _replace(d / "ratings.csv", ",0.5,", ",7.0,"),
        "0.5–5.0",
    ),
    "unknown movie rated": (
        "ratings.csv",
        lambda d: _replace(d / "ratings.csv", "\n1,1,", "\n1,424242,"),
        "424242",
    ),
    "unknown movie tagged": ("tags.csv", lambda d: _replace(d / "tags.csv", ",2571,", ",424242,"), "424242"),
    "links mismatch": ("links.csv", lambda d: _replace(d / "links.csv", "\n29,", "\n30,"), "movieIds"),
    "duplicate movie": ("movies.csv", lambda d: _replace(d / "movies.csv", "\n29,", "\n1,"), "twice"),
    "not utf-8": ("movies.csv", lambda d: _latin1(d / "movies.csv"), "malformed"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_validation_errors_name_the_file(tiny_movielens: Path, case: str) -> None:
    name, damage, needle = BAD_CASES[case]
    damage(tiny_movielens)
    with pytest.raises(DataError) as err:
        validate_movielens(tiny_movielens)
    assert_one_line(err, name, needle)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        validate_movielens(tmp_path / "nowhere")
    assert_one_line(err, "not found", "nowhere")


def test_checksum_mismatch_in_validation(tiny_movielens: Path) -> None:
    with pytest.raises(DataError) as err:
        validate_movielens(tiny_movielens, checksums=MOVIELENS_SHA256)
    assert_one_line(err, "checksum")


@pytest.mark.slow
def test_real_data_validates(data_dir: Path) -> None:
    # its speed (budget 1 s) is measured by bench/understanding_speed.py
    validate_movielens(data_dir / "ml-latest-small", checksums=MOVIELENS_SHA256)
