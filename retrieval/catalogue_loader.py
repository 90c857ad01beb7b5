"""Build the :class:`Catalogue` and the ratings table from ml-latest-small (plus optional ReDial plots)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from retrieval.catalogue import Catalogue
from retrieval.errors import DataError
from retrieval.movielens import FOLDER_NAME, _read_validated, ensure_movielens
from retrieval.types import Movie

REDIAL_FOLDER = "redial-ievalm"
REDIAL_INFO = "id2info.json"
MAX_TAGS = 10
NO_GENRES = "(no genres listed)"

# Leading articles that MovieLens moves to the end ("Matrix, The"); only these are moved back.
_ARTICLE_WORDS = "The A An Les La Le L' Il Lo I Gli El Los Las Das Der Die Den Det De Het En Un Une Una Ein"
ARTICLES = frozenset([*_ARTICLE_WORDS.split(" "), "Eine", "Da"])  # "Da": "Hip Hop Witch, Da"
_YEAR = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)$")
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+), (?P<article>[^\s,]+)$")


def _strip_alternates(text: str) -> str:
    """Drop trailing parenthesised alternate names: "Postman, The (Postino, Il)" -> "Postman, The"."""
    while text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                depth -= 1
                if depth == 0:
                    break
        else:
            return text  # unbalanced: leave as is
        head = text[:i].rstrip()
        # Keep parentheses that are the whole title or not separated by a space ("(500) Days", "Foo(bar)").
        if not head or i == 0 or text[i - 1] != " ":
            return text
        text = head
    return text


def parse_title(raw: str) -> tuple[str, int | None]:
    """Split a MovieLens title into a display title and year.

    >>> parse_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    ('The City of Lost Children', 1995)
    """
    text = " ".join(raw.split())
    year: int | None = None
    match = _YEAR.search(text)
    if match and match.start() > 0:
        year = int(match.group(1))
        text = text[: match.start()]
    text = _strip_alternates(text)
    moved = _TRAILING_ARTICLE.match(text)
    if moved and moved.group("article") in ARTICLES:
        article = moved.group("article")
        text = (
            f"{article}{moved.group('body')}" if article.endswith("'") else f"{article} {moved.group('body')}"
        )
    return text, year


def load_ratings(ml_dir: Path) -> pd.DataFrame:
    """ratings.csv as a DataFrame: userId, movieId, timestamp (int32) and rating (float32)."""
    path = Path(ml_dir) / "ratings.csv"
    if not path.is_file():
        raise DataError(f"ratings.csv is missing from {ml_dir} (run `reelchat data` to download it)")
    try:
        frame = pd.read_csv(
            path,
            dtype={"userId": np.int32, "movieId": np.int32, "rating": np.float32, "timestamp": np.int32},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeDecodeError) as err:
        raise DataError(f"ratings.csv in {ml_dir} is malformed: {' '.join(str(err).split())}") from err
    expected = ["userId", "movieId", "rating", "timestamp"]
    if list(frame.columns) != expected:
        raise DataError(f"ratings.csv in {ml_dir} has columns {list(frame.columns)}, expected {expected}")
    return frame


def _top_tags(tags: pd.DataFrame) -> dict[int, tuple[str, ...]]:
    """Per movie, its distinct tags (lower-cased, whitespace-collapsed), most frequent first, ties A–Z."""
    if tags.empty:
        return {}
    norm = tags["tag"].astype(str).str.lower().str.split().str.join(" ")
    counts = (
        pd.DataFrame({"movieId": tags["movieId"].to_numpy(), "tag": norm.to_numpy()})
        .loc[lambda f: f["tag"] != ""]
        .value_counts()
        .rename("n")
        .reset_index()
        .sort_values(["movieId", "n", "tag"], ascending=[True, False, True], kind="mergesort")
    )
    top = counts.groupby("movieId", sort=False).head(MAX_TAGS)
    return {int(mid): tuple(group) for mid, group in top.groupby("movieId", sort=False)["tag"]}


def _imdb(value: int) -> str:
    return f"tt{int(value):07d}"


def _read_redial(path: Path) -> tuple[dict[str, dict], bytes]:
    """id2info.json entries keyed by normalised imdb id; an entry with a plot wins over one without."""
    data = path.read_bytes()
    try:
        info = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(
            f"{path.name} in {path.parent} is not valid JSON: {' '.join(str(err).split())}"
        ) from err
    if not isinstance(info, dict):
        raise DataError(f"{path.name} in {path.parent} should map ReDial ids to movie records")
    by_imdb: dict[str, dict] = {}
    for entry in info.values():
        if not isinstance(entry, dict):
            continue
        match = re.fullmatch(r"tt(\d+)", str(entry.get("imdb_id") or "").strip())
        if not match:
            continue
        key = _imdb(int(match.group(1)))
        if key not in by_imdb or (entry.get("plot") and not by_imdb[key].get("plot")):
            by_imdb[key] = entry
    return by_imdb, data


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(s.strip() for s in value if isinstance(s, str) and s.strip())


def load_catalogue(ml_dir: Path, redial_dir: Path | None = None) -> Catalogue:
    """One :class:`Movie` per movies.csv row, with tags, rating stats, links and (optionally) ReDial facts.

    ``redial_dir`` is used when it holds id2info.json: plot, directors and stars are joined by IMDb id
    (scraped IMDb text; research use only). The catalogue's fingerprint is the first 16 hex digits of a
    sha256 over the data files read, so derived indexes can tell when they are stale.
    """
    ml_dir = Path(ml_dir)
    tables, raw = _read_validated(ml_dir, None)
    movies, links, ratings = tables["movies.csv"], tables["links.csv"], tables["ratings.csv"]

    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode() + b"\0" + raw[name])

    redial: dict[str, dict] = {}
    if redial_dir is not None and (Path(redial_dir) / REDIAL_INFO).is_file():
        redial, info_bytes = _read_redial(Path(redial_dir) / REDIAL_INFO)
        digest.update(REDIAL_INFO.encode() + b"\0" + info_bytes)

    stats = ratings.groupby("movieId")["rating"].agg(["count", "mean"])
    counts = stats["count"].to_dict()
    means = stats["mean"].to_dict()
    tags = _top_tags(tables["tags.csv"])
    link_rows = links.set_index("movieId")
    imdb_ids = link_rows["imdbId"].to_dict()
    tmdb_ids = link_rows["tmdbId"].to_dict()

    records = []
    for movie_id, raw_title, raw_genres in movies.itertuples(index=False, name=None):
        mid = int(movie_id)
        title, year = parse_title(str(raw_title))
        genres = tuple(g for g in str(raw_genres).split("|") if g and g != NO_GENRES)
        imdb_id = _imdb(imdb_ids[mid])
        tmdb = tmdb_ids.get(mid)
        facts = redial.get(imdb_id, {})
        plot = str(facts.get("plot") or "").strip() or None
        mean = means.get(mid)
        records.append(
            Movie(
                movie_id=mid,
                title=title,
                year=year,
                genres=genres,
                tags=tags.get(mid, ()),
                rating_count=int(counts.get(mid, 0)),
                rating_mean=None if mean is None else float(mean),
                imdb_id=imdb_id,
                tmdb_id=None if tmdb is None or pd.isna(tmdb) else int(tmdb),
                plot=plot,
                directors=_names(facts.get("director")),
                stars=_names(facts.get("star")),
            )
        )
    return Catalogue(records, source_fingerprint=digest.hexdigest()[:16])


def load_dataset(
    data_dir: Path | None, cache_dir: Path, *, progress: bool = True
) -> tuple[Catalogue, pd.DataFrame]:
    """Find (or download) ml-latest-small, join ReDial facts from ``data_dir/redial-ievalm`` if present.

    Returns the catalogue and the ratings table.
    """
    ml_dir = ensure_movielens(data_dir, cache_dir, progress=progress)
    redial_dir = None
    for base in (Path(data_dir) if data_dir is not None else None, ml_dir.parent):
        if base is not None and (base / REDIAL_FOLDER / REDIAL_INFO).is_file():
            redial_dir = base / REDIAL_FOLDER
            break
    return load_catalogue(ml_dir, redial_dir), load_ratings(ml_dir)


__all__ = ["FOLDER_NAME", "load_catalogue", "load_dataset", "load_ratings", "parse_title"]
