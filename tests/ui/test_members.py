"""The members panel: rendering (escaped) and its actions over a fake session."""

from __future__ import annotations

from agent.records import Member
from agent.understanding.state import SessionState
from ui.members import add_viewer, members_html, remove_viewer, session_members, split_titles


class FakeGroupSession:
    def __init__(self) -> None:
        self.state = SessionState()
        self.calls: list[tuple] = []

    def add_member(self, name: str, liked: list, disliked: list) -> str:
        self.calls.append(("add", name, liked, disliked))
        self.state.members[name] = SessionState(liked=[1])
        return f"{name} is in the group."

    def remove_member(self, name: str) -> str:
        self.calls.append(("remove", name))
        self.state.members.pop(name, None)
        return f"Removed {name}."


def test_split_titles() -> None:
    assert split_titles("Alien, Heat") == ["Alien", "Heat"]
    assert split_titles("Crouching Tiger, Hidden Dragon; Heat") == ["Crouching Tiger, Hidden Dragon", "Heat"]
    assert split_titles(None) == []  # type: ignore[arg-type]


def test_members_html_escapes_and_lists_rules() -> None:
    html = members_html(
        [Member("you", liked=(1,)), Member("<b>Sam</b>", genres_excluded=("Horror",), year_min=1998)],
        lambda mid: "<i>Alien</i>",
    )
    assert "&lt;b&gt;Sam&lt;/b&gt;" in html and "<b>Sam</b>" not in html
    assert "&lt;i&gt;Alien&lt;/i&gt;" in html and "no Horror" in html and "from 1998" in html
    assert "Just you" in members_html([], str)


def test_actions_call_the_session() -> None:
    s = FakeGroupSession()
    assert add_viewer(s, " Sam ", "Alien, Heat", "") == "Sam is in the group."
    assert s.calls[-1] == ("add", "Sam", ["Alien", "Heat"], [])
    assert [m.name for m in session_members(s)] == ["you", "Sam"]
    assert add_viewer(s, "", "", "") == "Give the viewer a name."
    assert remove_viewer(s, "Sam") == "Removed Sam." and session_members(s) == ()
    assert "ready" in add_viewer(None, "Sam", "", "")
    assert session_members(None) == ()
