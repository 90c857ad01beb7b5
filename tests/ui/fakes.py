"""A fake agent with the real agent's interface and a tiny in-memory catalogue, for fast UI tests."""

from __future__ import annotations

import re
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from agent.records import Feedback, Recommendation, Reply, ReplyChunk, Step
from agent.settings import Limits
from agent.store import Accounts, FeedbackStore
from agent.store.accounts import throttle_for
from agent.store.passwords import Hasher
from agent.store.tokens import TokenSigner
from agent.understanding.state import SessionState
from retrieval.catalogue import Catalogue
from retrieval.types import Movie

MOVIES = [
    Movie(1214, "Alien", 1979, ("Horror", "Sci-Fi"), rating_count=146, rating_mean=3.97, imdb_id="tt0078748"),
    Movie(
        1200, "Aliens", 1986, ("Action", "Adventure", "Horror", "Sci-Fi"), rating_count=126, rating_mean=3.95
    ),
    Movie(
        260,
        "Star Wars: Episode IV - A New Hope",
        1977,
        ("Action", "Adventure", "Sci-Fi"),
        rating_count=251,
        rating_mean=4.23,
    ),
    Movie(1240, "The Terminator", 1984, ("Action", "Sci-Fi", "Thriller"), rating_count=131, rating_mean=3.9),
    Movie(541, "Blade Runner", 1982, ("Action", "Sci-Fi", "Thriller"), rating_count=124, rating_mean=4.1),
    Movie(2571, "The Matrix", 1999, ("Action", "Sci-Fi", "Thriller"), rating_count=278, rating_mean=4.19),
    Movie(
        1,
        "Toy Story",
        1995,
        ("Adventure", "Animation", "Children", "Comedy"),
        (),
        215,
        3.92,
        "tt0114709",
        862,
    ),
    Movie(
        9999,
        "<img src=x onerror=alert(1)>",
        2001,
        ("Comedy", "<b>Bold</b>"),
        rating_count=3,
        rating_mean=4.9,  # ranks first in the fake, so escaping is always exercised
    ),
    Movie(
        1097,
        "E.T. the Extra-Terrestrial",
        1982,
        ("Children", "Drama", "Sci-Fi"),
        rating_count=122,
        rating_mean=3.77,
    ),
    Movie(1387, "Jaws", 1975, ("Action", "Horror"), rating_count=91, rating_mean=3.8),
]


class FakeSession:
    """The public surface of :class:`~agent.conversation.session.Session`; picks the best-rated movies."""

    def __init__(self, app: FakeAgent, session_id: str, user_id: str | None = None) -> None:
        self.app = app
        self.session_id = session_id
        self.user_id = user_id
        self.state = SessionState()
        self.history: list[dict[str, str]] = []
        self.feedback_log: list[Feedback] = []
        self._lock = threading.Lock()

    def send(self, message: str) -> Reply:
        reply = None
        for chunk in self.stream(message):
            if chunk.done:
                reply = chunk.reply
        assert reply is not None
        return reply

    def stream(self, message: str) -> Iterator[ReplyChunk]:
        with self._lock:
            yield from self._turn(message)

    def _turn(self, message: str) -> Iterator[ReplyChunk]:
        st, cat = self.state, self.app.catalogue
        low = message.lower()
        for m in cat:
            if re.search(rf"\b{re.escape(m.title.lower())}\b", low) and m.movie_id not in st.liked:
                st.liked.append(m.movie_id)
        for g in cat.genres:
            if f"no {g.lower()}" in low and g not in st.genres_excluded:
                st.genres_excluded.append(g)
        if year := re.search(r"after (\d{4})", low):
            st.year_min = int(year.group(1))
        q = st.query()
        excluded = st.excluded_ids()
        pool = [m for m in cat if m.movie_id not in excluded and q.filters.admits(m)]
        picks = sorted(pool, key=lambda m: -(m.rating_mean or 0))[: st.k]
        lead = f"You said: {message}\nHere are {len(picks)} picks:"
        yield ReplyChunk(lead + "\n")
        recs = []
        for m in picks:
            rec = Recommendation(
                m.movie_id,
                m.title,
                m.year,
                m.genres,
                1.0,
                f"Because you said {message[:40]}",
                rating_mean=m.rating_mean,
                rating_count=m.rating_count,
                imdb_id=m.imdb_id,
                tmdb_id=m.tmdb_id,
            )
            recs.append(rec)
            yield ReplyChunk(f"\n{len(recs)}. **{rec.label}**", recommendation=rec)
        st.shown += [r.movie_id for r in recs]
        st.last_picks = [r.movie_id for r in recs]
        body = lead + "".join(f"\n{i}. **{r.label}**" for i, r in enumerate(recs, 1))
        reply = Reply(body, tuple(recs), q, (Step("understand", "fake"),), ())
        if self.user_id:  # like the real agent: only signed-in users' turns are stored
            self.app.store.add_message(self.session_id, "user", message)
            self.app.store.add_message(self.session_id, "assistant", body)
        yield ReplyChunk("", reply=reply, done=True)

    def feedback(self, movie_id: int, signal: str, source: str = "button") -> str:
        movie = self.app.catalogue.get(movie_id)
        with self._lock:
            for lst in (self.state.liked, self.state.disliked):
                if movie_id in lst:
                    lst.remove(movie_id)
            target = {"liked": self.state.liked, "disliked": self.state.disliked, "seen": self.state.seen}
            if movie_id not in target[signal]:
                target[signal].append(movie_id)
            event = Feedback(movie_id, signal, "button")  # type: ignore[arg-type]
            self.feedback_log.append(event)
            if self.user_id:  # like the real agent: only signed-in users are stored
                self.app.store.add_feedback(self.user_id, self.session_id, movie_id, signal)
        return f"Noted: {signal} {movie.label}."

    def remove_constraint(self, kind: str, value: str | int | None = None) -> None:
        with self._lock:
            st = self.state
            lists = {
                "liked": st.liked,
                "disliked": st.disliked,
                "seen": st.seen,
                "genre_required": st.genres_required,
                "genre_excluded": st.genres_excluded,
            }
            if kind in lists and value in lists[kind]:
                lists[kind].remove(value)
            elif kind == "year_min":
                st.year_min = None
            elif kind == "year_max":
                st.year_max = None
            elif kind == "text":
                st.text = ""

    def reset(self) -> None:
        with self._lock:
            self.state.reset()
            self.history.clear()


@lru_cache(maxsize=1)
def shared_hasher() -> Hasher:
    """One real Argon2id hasher for every fake agent (building one costs a hash)."""
    return Hasher()


class FakeAgent:
    """Stands in for :class:`agent.app.RecommenderAgent`: a tiny catalogue and canned picks, over a real
    :class:`FeedbackStore` (a temporary SQLite file unless ``store`` is given) and real :class:`Accounts`.
    """

    def __init__(
        self, store: FeedbackStore | None = None, limits: Limits | None = None, secret: str | None = None
    ) -> None:
        self.catalogue = Catalogue(MOVIES)
        self.sessions: list[FakeSession] = []
        if store is None:
            store = FeedbackStore.open(f"sqlite:///{Path(tempfile.mkdtemp(prefix='fake-agent-')) / 'db'}")
        self.store = store
        limits = limits or Limits()
        signer = TokenSigner(
            secret or secrets.token_urlsafe(32), limits.token_max_age_s
        )  # replicas share one
        self.accounts = Accounts(store, signer, throttle_for(limits), shared_hasher())

    def start_session(self, user_id: str | None = None) -> FakeSession:
        sess = FakeSession(self, uuid.uuid4().hex, user_id)
        if user_id:
            self.store.start_session(sess.session_id, user_id)
            profile = self.store.profile(user_id)
            sess.state.liked[:], sess.state.disliked[:] = list(profile.liked), list(profile.disliked)
            sess.state.seen[:] = list(profile.seen)
        self.sessions.append(sess)
        return sess

    def resume_session(self, session_id: str, user_id: str | None = None) -> FakeSession:
        """An empty session with a known id (a stored conversation is restored into it)."""
        sess = FakeSession(self, session_id, user_id)
        self.sessions.append(sess)
        return sess

    def forget_user(self, user_id: str) -> bool:
        """Delete everything stored about ``user_id``; True if there was anything."""
        return self.store.forget_user(user_id)
