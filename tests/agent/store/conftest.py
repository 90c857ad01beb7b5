"""``db_url`` fixture: every store test runs on SQLite and on a throwaway PostgreSQL cluster.

The cluster is started once per test session in a temp dir, listening only on 127.0.0.1 on a free port,
and stopped afterwards. As root it runs as the ``postgres`` user (else ``nobody``) through ``runuser``,
since PostgreSQL refuses to run as root. ``REELCHAT_TEST_PG_URL`` (a server URL without a database, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432``, whose user may create databases) uses an existing
server instead. Without binaries the postgres cases are skipped, with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "postgres"
INITDB_FLAGS = ("--no-locale", "-E", "UTF8", "--no-sync", "--no-instructions")


def _pg_bindir() -> Path | None:
    env = os.environ.get("REELCHAT_TEST_PG_BIN")
    candidates = [env] if env else []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and all((Path(c) / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runner(tmp: Path) -> list[str]:
    """Command prefix that runs PostgreSQL tools as an unprivileged user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL refuses to run as root and runuser is missing")
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        for path in (tmp, *tmp.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return [runuser, "-u", name, "--"]
    pytest.skip("PostgreSQL refuses to run as root and there is no postgres/nobody user")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{what} failed ({proc.returncode}): {' | '.join(tail)}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Base URL (no database) of a PostgreSQL server that lets ``postgres`` create databases."""
    external = os.environ.get("REELCHAT_TEST_PG_URL")
    if external:
        yield external.rstrip("/")
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl, postgres) not found; apt-get install postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="reelchat-pg-"))
    data, log = tmp / "data", tmp / "server.log"
    prefix = _runner(tmp)
    started = False
    try:
        _run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", *INITDB_FLAGS],
            "initdb",
        )
        port = 0
        for _attempt in range(3):
            port = _free_port()
            opts = f"-h 127.0.0.1 -p {port} -k {tmp} -c fsync=off -c max_connections=100"
            start = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts]
            try:
                _run([*start, "-w", "-t", "60", "start"], "pg_ctl start")
                started = True
                break
            except RuntimeError:
                continue
        if not started:
            pytest.fail(
                f"could not start PostgreSQL: {log.read_text()[-2000:] if log.exists() else 'no log'}"
            )
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}"
    finally:
        if started:
            _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], "stop")
        shutil.rmtree(tmp, ignore_errors=True)


def _admin(base: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(f"{base}/postgres")
    with psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: an SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(base, f"CREATE DATABASE {name}")
    try:
        yield f"{base}/{name}"
    finally:
        _admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
