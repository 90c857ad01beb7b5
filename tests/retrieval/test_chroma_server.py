"""MovieIndex against a real `chroma run` server (HttpClient) gives the same answers as the embedded store."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.catalogue import Catalogue
from retrieval.embeddings import Encoder
from retrieval.index import IndexConfig, MovieIndex
from retrieval.types import Filters
from tests.retrieval.test_index import MOVIES as INDEX_TEST_MOVIES

CHROMA = Path(sys.executable).with_name("chroma")

MOVIES = INDEX_TEST_MOVIES[:8]  # the index tests' synthetic catalogue, without the undated movie


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory) -> Iterator[str]:
    if not CHROMA.exists() and shutil.which("chroma") is None:
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(CHROMA if CHROMA.exists() else "chroma"), "run", "--path",
             str(tmp_path_factory.mktemp("chroma-server")), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


WHERE = {"exact_max_admitted": 0, "postfilter_max_k": 0}  # every filter runs on the server
QUERIES = [
    ("alien monster in outer space", None),
    ("scary films", Filters(genres_excluded=("Horror",))),
    ("family animation", Filters(year_min=1990, year_max=2010)),
    ("something", Filters(genres_required=("Horror",))),
]


@pytest.mark.timeout(300)
def test_server_matches_persistent_client(chroma_url, encoder, tmp_path) -> None:
    catalogue = Catalogue(MOVIES)
    emb = tmp_path / "emb"
    local = MovieIndex.open(IndexConfig(path=tmp_path / "db", cache_dir=emb), catalogue, encoder)
    config = IndexConfig(path=tmp_path / "unused", cache_dir=emb, chroma_url=chroma_url, **WHERE)
    remote = MovieIndex.open(config, catalogue, encoder)
    assert len(remote) == len(catalogue)
    for text, filters in QUERIES:
        want = local.search(text, filters, exclude_ids=[2], n=5)
        got = remote.search(text, filters, exclude_ids=[2], n=5)
        assert got.ids == want.ids, (text, filters)
        assert got.scores == pytest.approx(want.scores, abs=1e-4)
    assert remote.search("alien monster in outer space", n=1).ids == (1,)

    # reopening through the server reuses the collection; a changed catalogue rebuilds it
    assert MovieIndex.open(config, catalogue, encoder)._collection.id == remote._collection.id
    smaller = Catalogue(MOVIES[:5])
    assert len(MovieIndex.open(config, smaller, encoder)) == 5
