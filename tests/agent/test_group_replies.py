"""Group-mode replies read as solo ones do: questions answered, markup refused, each viewer addressed in
the right person, counts with the right plural, moods shaping the picks. Hand-made catalogue, real engine
(``fake_engine_over``: exact search, the popularity+content ranker) and template explanations."""

from __future__ import annotations

import re

import pytest

from agent.conversation.markup import MARKUP_REPLY, strip_markup
from agent.conversation.session import Session
from agent.explain.explainer import Evidence, TemplateExplainer, wrong_person
from agent.explain.templates import THEY, opening, reason
from agent.records import counted
from agent.understanding.directions import darkness, mood_first
from retrieval.catalogue import Catalogue
from retrieval.types import Movie, ScoredList
from tests.agent.conftest import fake_engine_over

COUPLE = "Movie night with my wife, she loves Notting Hill and I love The Matrix"
SECOND_PERSON = re.compile(r"\byou(?:r|rs|'re|'ve)?\b", re.IGNORECASE)


def _state(s: Session) -> tuple[object, ...]:
    st = s.state
    members = {n: (m.liked, m.disliked, m.genres_liked) for n, m in st.members.items()}
    return (st.liked, st.disliked, st.seen, st.text, st.last_picks, st.shown, members)


def test_group_question_is_answered_and_keeps_picks_and_likes(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "g1")
    first = s.send(COUPLE)
    picks = [r.movie_id for r in first.recommendations]
    assert len(picks) == 5 and s.state.last_served  # whom each pick was for is remembered
    before = _state(s)
    reply = s.send("why did you pick the second one?")
    assert reply.act == "question" and reply.recommendations == ()
    assert _state(s) == before  # no like, no new picks: the next question still means the same picks
    second = catalogue.get(picks[1])
    assert reply.text.startswith(f"I picked {second.label} for {s.state.last_served[1]} because")
    scary = s.send("is the first one scary?")
    assert scary.act == "question" and catalogue.get(picks[0]).label in scary.text
    assert _state(s) == before


def test_group_why_names_whose_like_it_was(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "g2")
    s.send(COUPLE)
    served = s.state.last_served
    i = served.index("your wife")  # a pick chosen for the wife answers from her likes, in her name
    ordinal = ["first", "second", "third", "fourth", "fifth"][i]
    text = s.send(f"why did you pick the {ordinal} one?").text
    assert "for your wife because" in text and "Notting Hill (1999), which your wife liked" in text


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("message", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)><b> </b>"])
def test_markup_alone_gets_one_clear_line_and_changes_nothing(
    catalogue: Catalogue, group: bool, message: str
) -> None:
    s = Session(fake_engine_over(catalogue), "m1")
    s.send(COUPLE if group else "I love The Matrix")
    before = _state(s)
    reply = s.send(message)
    assert reply.text == MARKUP_REPLY and "\n" not in reply.text and reply.error == "markup only"
    assert reply.recommendations == () and _state(s) == before


def test_strip_markup_keeps_words_and_non_html_brackets() -> None:
    assert strip_markup("<script>alert('x')</script><b>comedy</b> please <img src=x onerror=alert(1)>") == (
        "comedy please",
        True,
    )
    assert strip_markup("<SCRIPT src=x>never closed") == ("", True)
    assert strip_markup("movies like <Heat>, I <3 romcoms") == ("movies like <Heat>, I <3 romcoms", False)


def test_other_viewers_picks_are_explained_in_the_third_person(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "v1")
    reply = s.send(COUPLE)
    wife = [r.explanation for r in reply.recommendations if r.explanation.startswith("For your wife: ")]
    mine = [r.explanation for r in reply.recommendations if r.explanation.startswith("For you: ")]
    assert wife and mine
    for text in wife:  # "For your wife: … which they liked", never "gives you"
        body = text.removeprefix("For your wife: ").split(" It also suits ")[0]
        assert not SECOND_PERSON.search(body), text
    assert any("which they liked" in t or "they enjoyed" in t or "They liked" in t for t in wife)


def test_every_template_phrasing_speaks_of_them() -> None:
    m = Movie(4, "Amélie", 2001, ("Comedy", "Romance"), ("quirky",), 120, 4.2, directors=("Jeunet",))
    for i in range(8):
        for text in (
            opening(m, ("quirky",), i, voice=THEY),
            opening(m, ("quirky",), i, personal=True, voice=THEY),
            reason(m, "Notting Hill", 12, (), i, THEY),
            reason(m, "Notting Hill", None, ("Comedy",), i, THEY),
            reason(m, "Notting Hill", None, (), i, THEY),
            reason(m, None, None, (), i, THEY),
        ):
            assert not SECOND_PERSON.search(text), text
    assert reason(m, "Notting Hill", None, ("Comedy",), 0, THEY) == (
        "They liked Notting Hill, and this has the same comedy streak."
    )


def test_llm_text_to_you_about_another_viewer_falls_back() -> None:
    m = Movie(4, "Amélie", 2001, ("Comedy", "Romance"))
    sam, me = Evidence(m, member="Sam"), Evidence(m, member="you")
    assert wrong_person(sam, "You will love Amélie.") and not wrong_person(sam, "Amélie is warm.")
    assert not wrong_person(me, "You will love Amélie.")
    assert TemplateExplainer().explain_one(sam).startswith("For Sam: ")


def test_counted_and_one_user_answers(catalogue: Catalogue) -> None:
    assert [counted(n, "MovieLens user") for n in (1, 2, 1204)] == [
        "1 MovieLens user",
        "2 MovieLens users",
        "1,204 MovieLens users",
    ]
    assert counted(1, "person", "people") == "1 person" and counted(3, "person", "people") == "3 people"
    s = Session(fake_engine_over(catalogue), "c1")
    picks = [r.movie_id for r in s.send("I loved The Matrix").recommendations]
    i = picks.index(5)  # Inception: one user of the fake ratings loved both (known answer)
    text = s.send(f"why did you pick #{i + 1}?").text
    assert "1 MovieLens user rated both" in text and "1 MovieLens users" not in text


def test_cozy_puts_light_movies_first(catalogue: Catalogue) -> None:
    ids = (10, 8, 7, 11, 14, 13)  # Heat, Scream, Paddington, Unforgiven, Notting Hill, Arrival
    ranked = ScoredList(ids, tuple(float(-i) for i in range(len(ids))))
    light = mood_first(ranked, catalogue, ("wholesome",))
    assert light.ids == (7, 14, 10, 8, 11, 13)  # light ones first, each part in the ranked order
    assert all(darkness(catalogue.get(m)) < 0 for m in light.ids[:2])
    assert mood_first(ranked, catalogue, ("space",)) == ranked  # a mood without an axis changes nothing


def test_cozy_couple_gets_light_picks(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "z1")
    s.send("Movie night with Sam, Sam loves Heat and I love Scream")
    reply = s.send("something cozy")
    genres = [catalogue.get(r.movie_id).genres for r in reply.recommendations]
    assert len(genres) == 5
    assert all({"Comedy", "Children", "Animation", "Romance"} & set(g) for g in genres), genres


def test_notices_about_a_viewer_agree_with_them(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "n1")
    s.send("Movie night with Sam, Sam loves Heat and I love The Matrix")
    assert "Noted: Sam now dislikes Heat (1995), so it is no longer a like." in s.send("Sam hates Heat").text
    s.send("the kids love Toy Story")
    assert "Noted: the kids now dislike Toy Story (1995)" in s.send("the kids hate Toy Story").text


def test_mood_and_group_words_are_not_search_words_twice(catalogue: Catalogue) -> None:
    s = Session(fake_engine_over(catalogue), "t1")
    s.send("Movie night with Sam, Sam loves Heat and I love The Matrix")
    s.send("something feel-good")
    assert s.state.text == "feel-good"
    s.send("we've seen the first two")
    assert s.state.text == "feel-good" and len(s.state.seen) == 2
