"""Getting and checking GroupLens' ml-latest-small: download, checksum, unpack and validate.

The data is licensed for research use only (see the dataset's README.txt); it is fetched at run time and
never shipped with ReelChat.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from retrieval.errors import DataError

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
FOLDER_NAME = "ml-latest-small"

# sha256 of the files of the 2018-09-26 release (see shared/data/ml-latest-small/SOURCE.md).
MOVIELENS_SHA256: Mapping[str, str] = {
    "README.txt": "63d22ac138e80fae37021797ed8e1b9424b5239dc576a137422adf783ae3f404",
    "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
    "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
    "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
    "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
}

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "movies.csv": ("movieId", "title", "genres"),
    "ratings.csv": ("userId", "movieId", "rating", "timestamp"),
    "links.csv": ("movieId", "imdbId", "tmdbId"),
    "tags.csv": ("userId", "movieId", "tag", "timestamp"),
}
# Columns that may be blank: 8 movies have no tmdbId.
_NULLABLE = {("links.csv", "tmdbId")}
_INTEGER = {
    "movies.csv": ("movieId",),
    "ratings.csv": ("userId", "movieId", "timestamp"),
    "links.csv": ("movieId", "imdbId"),
    "tags.csv": ("userId", "movieId", "timestamp"),
}
_CHUNK = 1 << 16


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_movielens(folder: Path, *, checksums: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Read and validate the four CSVs of a ml-latest-small folder, keyed by file name.

    Raises :class:`DataError` (one line, naming the file) for a missing folder or file, a malformed or
    truncated CSV, wrong columns, impossible values, dangling movie ids or, when ``checksums`` is given,
    a checksum mismatch.
    """
    return _read_validated(Path(folder), checksums)[0]


def validate_movielens(folder: Path, *, checksums: Mapping[str, str] | None = None) -> None:
    """Check a ml-latest-small folder; raise :class:`DataError` naming the file and the problem."""
    _read_validated(Path(folder), checksums)


def _read_validated(
    folder: Path, checksums: Mapping[str, str] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, bytes]]:
    """Validated tables plus the raw bytes they were parsed from (for fingerprints)."""
    if not folder.is_dir():
        raise DataError(f"MovieLens folder not found: {folder} (run `reelchat data` to download it)")
    raw: dict[str, bytes] = {}
    for name in COLUMNS:
        path = folder / name
        if not path.is_file():
            raise DataError(f"{name} is missing from {folder} (run `reelchat data` to download it again)")
        raw[name] = path.read_bytes()
    if checksums:
        for name, expected in checksums.items():
            data = raw.get(name)
            if data is None:
                path = folder / name
                if not path.is_file():
                    raise DataError(f"{name} is missing from {folder}")
                data = path.read_bytes()
            if sha256_bytes(data) != expected.lower():
                raise DataError(
                    f"{name} in {folder} fails its sha256 checksum (corrupt or a different release)"
                )
    tables = {name: _parse(folder, name, data) for name, data in raw.items()}
    _check_values(folder, tables)
    return tables, raw


def _parse(folder: Path, name: str, data: bytes) -> pd.DataFrame:
    where = f"{name} in {folder}"
    if not data.strip():
        raise DataError(f"{where} is empty")
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{where} is malformed: {_one_line(err)}") from err
    expected = COLUMNS[name]
    if tuple(frame.columns) != expected:
        raise DataError(f"{where} has columns {list(frame.columns)}, expected {list(expected)}")
    if name != "tags.csv" and frame.empty:
        raise DataError(f"{where} has a header but no rows")
    for column in expected:
        if (name, column) in _NULLABLE:
            continue
        missing = frame[column].isna()
        if missing.any():
            line = int(missing.to_numpy().argmax()) + 2  # 1-based, after the header
            raise DataError(f"{where} is truncated or malformed: no {column} on line {line}")
    for column in _INTEGER[name]:
        if not pd.api.types.is_integer_dtype(frame[column]):
            raise DataError(f"{where}: column {column} holds non-integer values")
    if name == "links.csv":
        tmdb = frame["tmdbId"]
        if not pd.api.types.is_numeric_dtype(tmdb) or (tmdb.dropna() % 1 != 0).any():
            raise DataError(f"{where}: column tmdbId holds non-integer values")
    if name == "ratings.csv":
        rating = frame["rating"]
        if not pd.api.types.is_numeric_dtype(rating):
            raise DataError(f"{where}: column rating holds non-numeric values")
        bad = ~rating.between(0.5, 5.0)
        if bad.any():
            line = int(bad.to_numpy().argmax()) + 2
            raise DataError(f"{where}: rating {rating[bad].iloc[0]} on line {line} is outside 0.5–5.0")
    return frame


def _check_values(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    movies = tables["movies.csv"]
    if movies["movieId"].duplicated().any():
        dup = int(movies.loc[movies["movieId"].duplicated(), "movieId"].iloc[0])
        raise DataError(f"movies.csv in {folder} lists movieId {dup} twice")
    known = movies["movieId"]
    for name in ("ratings.csv", "tags.csv"):
        ids = tables[name]["movieId"]
        unknown = ~ids.isin(known)
        if unknown.any():
            raise DataError(
                f"{name} in {folder} refers to movieId {int(ids[unknown].iloc[0])}, not in movies.csv"
            )
    links = tables["links.csv"]["movieId"]
    if links.duplicated().any() or len(links) != len(known) or not links.isin(known).all():
        raise DataError(f"links.csv in {folder} does not list exactly the movieIds of movies.csv")


def ensure_movielens(
    data_dir: Path | None,
    cache_dir: Path,
    *,
    url: str = GROUPLENS_URL,
    progress: bool = True,
    checksums: Mapping[str, str] = MOVIELENS_SHA256,
    timeout: float = 60.0,
) -> Path:
    """Return a validated ml-latest-small folder, downloading it into ``cache_dir`` when needed.

    Looks in ``data_dir/ml-latest-small`` (or ``data_dir`` itself when it holds movies.csv), then in
    ``cache_dir/ml-latest-small``; otherwise downloads ``url``, verifies every file named in ``checksums``
    and moves the unpacked folder into place atomically. A failed download leaves nothing in ``cache_dir``.
    A local copy in ``data_dir`` is only validated structurally, so other releases of the data still load.
    """
    if data_dir is not None:
        data_dir = Path(data_dir)
        for candidate in (data_dir / FOLDER_NAME, data_dir):
            if (candidate / "movies.csv").is_file():
                validate_movielens(candidate)
                return candidate
    cache_dir = Path(cache_dir)
    target = cache_dir / FOLDER_NAME
    if target.is_dir():
        try:
            validate_movielens(target, checksums=checksums)
        except DataError as err:
            raise DataError(f"{err} — delete {target} and run `reelchat data` again") from err
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    _download_and_unpack(url, cache_dir, target, checksums, progress=progress, timeout=timeout)
    return target


def _download_and_unpack(
    url: str,
    cache_dir: Path,
    target: Path,
    checksums: Mapping[str, str],
    *,
    progress: bool,
    timeout: float,
) -> None:
    fd, part_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{FOLDER_NAME}.", suffix=".zip.part")
    part = Path(part_name)
    staging: Path | None = None
    try:
        with os.fdopen(fd, "wb") as sink:
            _download(url, sink, progress=progress, timeout=timeout)
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{FOLDER_NAME}.", suffix=".tmp"))
        _unpack(part, staging, checksums, url)
        validate_movielens(staging)
        try:
            os.rename(staging, target)
        except OSError as err:
            if (target / "movies.csv").is_file():  # another process finished the same download first
                return
            raise DataError(f"cannot move the unpacked MovieLens data to {target}: {_one_line(err)}") from err
        staging = None
    finally:
        part.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _download(url: str, sink: io.BufferedWriter, *, progress: bool, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=FOLDER_NAME, disable=not progress, leave=False
            ) as bar:
                while chunk := response.read(_CHUNK):
                    sink.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        raise DataError(f"download of {url} failed: HTTP {err.code} {_one_line(err.reason)}") from err
    except urllib.error.URLError as err:
        raise DataError(f"cannot download {url}: {_one_line(err.reason)}") from err
    except http.client.IncompleteRead as err:
        raise DataError(
            f"download of {url} was interrupted after {len(err.partial)} bytes; try again"
        ) from err
    except (http.client.HTTPException, OSError) as err:
        raise DataError(f"download of {url} failed: {_one_line(err) or type(err).__name__}") from err
    if total is not None and received != total:
        raise DataError(f"download of {url} was interrupted ({received} of {total} bytes); try again")


def _unpack(archive: Path, staging: Path, checksums: Mapping[str, str], url: str) -> None:
    """Extract the known files (never arbitrary paths) from the zip, verifying each one's sha256."""
    wanted = set(COLUMNS) | set(checksums)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {
                Path(info.filename).name: info
                for info in zf.infolist()
                if not info.is_dir() and Path(info.filename).name in wanted
            }
            for name in sorted(wanted):
                info = members.get(name)
                if info is None:
                    raise DataError(f"{name} is missing from the archive downloaded from {url}")
                data = zf.read(info)
                expected = checksums.get(name)
                if expected is not None and sha256_bytes(data) != expected.lower():
                    raise DataError(
                        f"{name} from {url} fails its sha256 checksum (corrupt download or another release)"
                    )
                (staging / name).write_bytes(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise DataError(
            f"the file downloaded from {url} is not a valid zip archive: {_one_line(err)}"
        ) from err
