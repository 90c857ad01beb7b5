"""A fake agent with the real agent's interface and a tiny in-memory catalogue, for fast UI tests."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator

from agent.records import Feedback, Recommendation, Reply, ReplyChunk, Step
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
            if self.user_id:  # like the real agent: only named users are stored
                self.app.saved.setdefault(self.user_id, []).append(event)
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


class FakeAgent:
    """Stands in for :class:`agent.app.RecommenderAgent` (``catalogue``, ``start_session``, ``forget_user``).

    ``saved`` is its in-memory feedback store: the events of named users, replayed by ``start_session``.
    Set ``store_error`` to make ``forget_user`` fail like an unreachable store.
    """

    def __init__(self) -> None:
        self.catalogue = Catalogue(MOVIES)
        self.sessions: list[FakeSession] = []
        self.saved: dict[str, list[Feedback]] = {}
        self.store_error: Exception | None = None

    def start_session(self, user_id: str | None = None) -> FakeSession:
        sess = FakeSession(self, uuid.uuid4().hex, user_id)
        st = sess.state
        for event in self.saved.get(user_id or "", []):  # the latest like/dislike wins; seen stays
            for lst in (st.liked, st.disliked) if event.signal != "seen" else ():
                if event.movie_id in lst:
                    lst.remove(event.movie_id)
            target = {"liked": st.liked, "disliked": st.disliked, "seen": st.seen}[event.signal]
            if event.movie_id not in target:
                target.append(event.movie_id)
        self.sessions.append(sess)
        return sess

    def forget_user(self, user_id: str) -> bool:
        """Delete everything stored about ``user_id``; True if there was anything."""
        if self.store_error is not None:
            raise self.store_error
        return self.saved.pop(user_id, None) is not None
