"""Topical requests: do the picks for "heist movies" or "a movie about boxing" have that topic?

    python bench/topical.py [--words-match 0 0.7] [--out FILE.json]

Each topic is asked in a fresh session ("{topic} movies", "a movie about {topic}"), with no liked movie,
through the real agent (``REELCHAT_LLM=none``). A pick *is on topic* when one of the topic's words
appears in the catalogue's facts about it: its tags, title or plot (MovieLens tags and the ReDial movie
facts, where we hold them). This is a proxy with known limits: a heist movie nobody tagged "heist" counts
as off topic, so the absolute figure is a floor; the comparison between variants in the same run is the
point. Variants: the agent with ``REELCHAT_PIPELINE__WORDS_MATCH`` set to each value given (in a turn with
words but no movie, the ReDial prior's most recommended movies join the candidates only when their cosine
to the words reaches that share of the index's best hit; 0: always), and ``index only``
(``reelchat search``: the vector index's top 5 for the same words with its small popularity
prior, the retrieval baseline). Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # after the repo: bench/agent.py is not `agent`

from emit import emit

#: topic (as asked) → words whose presence in a movie's facts puts it on topic
TOPICS: dict[str, tuple[str, ...]] = {
    "heist": ("heist", "robbery", "robber", "thief", "thieves", "con man", "caper"),
    "boxing": ("boxing", "boxer"),
    "time travel": ("time travel", "time-travel", "time machine"),
    "zombie": ("zombie",),
    "vampire": ("vampire", "dracula"),
    "courtroom": ("courtroom", "lawyer", "trial", "court"),
    "dinosaur": ("dinosaur",),
    "pirate": ("pirate",),
    "superhero": ("superhero", "super hero", "marvel", "dc comics", "comic book"),
    "serial killer": ("serial killer",),
    "high school": ("high school",),
    "world war ii": ("world war ii", "wwii", "world war 2", "nazi"),
    "martial arts": ("martial arts", "kung fu", "karate"),
    "robot": ("robot", "android", "cyborg"),
    "road trip": ("road trip", "road movie"),
    "christmas": ("christmas", "santa"),
    "dystopia": ("dystopia", "totalitarian", "post-apocalyptic"),
    "mafia": ("mafia", "mob", "gangster", "organized crime"),
    "shark": ("shark",),
    "space": ("space", "astronaut", "spaceship", "outer space"),
}
PHRASINGS = ("{t} movies", "a movie about {t}")


def on_topic(movie: Any, words: tuple[str, ...]) -> bool:
    """Whether one of ``words`` appears in the movie's tags, title or plot."""
    facts = " ".join([movie.title, *movie.tags, movie.plot or ""]).lower()
    return any(w in facts for w in words)


def run_variant(app: Any, label: str) -> dict[str, Any]:
    """Share of on-topic picks in the top 5 for every topic and phrasing."""
    cat = app.catalogue
    on = total = 0
    per_topic: dict[str, float] = {}
    for topic, words in TOPICS.items():
        hits = n = 0
        for phrasing in PHRASINGS:
            reply = app.start_session().send(phrasing.format(t=topic))
            picks = [cat.get(r.movie_id) for r in reply.recommendations][:5]
            hits += sum(on_topic(m, words) for m in picks)
            n += len(picks)
        per_topic[topic] = round(hits / max(n, 1), 2)
        on, total = on + hits, total + n
    return {"variant": label, "precision_at_5": round(on / max(total, 1), 3), "per_topic": per_topic}


def index_only(app: Any) -> dict[str, Any]:
    """The vector index's top 5 for the same words (no reranking): the retrieval baseline."""
    from retrieval.search import search

    cat, retriever = app.catalogue, app.engine.pipeline.retriever
    on = total = 0
    for topic, words in TOPICS.items():
        for phrasing in PHRASINGS:
            hits = search(retriever, cat, phrasing.format(t=topic), k=5)  # `reelchat search`
            picks = [cat.get(int(m)) for m in hits.ids][:5]
            on += sum(on_topic(m, words) for m in picks)
            total += len(picks)
    return {"variant": "index only", "precision_at_5": round(on / max(total, 1), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words-match", type=float, nargs="+", default=[0.0, 0.7])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    os.environ["REELCHAT_LLM"] = "none"
    from agent.app import RecommenderAgent
    from agent.settings import PipelineConfig, Settings

    base = Settings(llm="none", db_url=None)
    rows = []
    for n in args.words_match:
        cfg = base.pipeline.model_copy(update={"words_match": n})
        settings = base.model_copy(update={"pipeline": PipelineConfig(**cfg.model_dump())})
        app = RecommenderAgent.load(settings, progress=False)
        rows.append(run_variant(app, f"agent, words_match={n:g}"))
    rows.append(index_only(app))
    result: dict[str, Any] = {"topics": len(TOPICS), "phrasings": len(PHRASINGS)}
    for r in rows:
        result[r["variant"]] = r["precision_at_5"]
    for r in rows[:-1]:
        result[f"{r['variant']} per topic"] = r["per_topic"]
    return emit(result, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
