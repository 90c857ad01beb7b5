"""A REAL OpenAI-compatible server (``python -m llama_cpp.server``, the embedded SmolLM2 GGUF, a
function-calling chat format) drives ``openai:`` explanations and the LLM-planned turns of the real agent.

The test checks the plumbing, not the 135M model's judgement: requests reach the server, LLM text is
grounded or replaced, tool-planned picks are valid, and a server killed mid-turn or hung past the time
limit still yields a reply with fallback picks and a notice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.app import RecommenderAgent
from agent.explain import grounding
from agent.records import Reply

pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
pytestmark = pytest.mark.slow

MESSAGE = "Give me 3 movies like The Matrix (1999) but no horror, please."
FALLBACK = "LLM planner fell back to the deterministic plan"


class Server:
    """``python -m llama_cpp.server`` on a free 127.0.0.1 port, its log in a file."""

    def __init__(self, log: Path) -> None:
        from agent.explain.llm import smollm2_gguf_path

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = log
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()),
            "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(self.port),
            "--chat_format", "chatml-function-calling", "--n_ctx", "4096",
            "--n_threads", "1", "--n_threads_batch", "1",  # 1 thread: on shared cores 2 spin at barriers
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the access log reaches the file at once
        self.proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start in 90 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def completions(self) -> int:
        """Chat-completion requests the server has answered (uvicorn's access log)."""
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")

    def cpu_ticks(self) -> int:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server.log")
    yield srv
    srv.stop()


def agent_for(real_agent: Any, srv: Server, **update: Any) -> RecommenderAgent:
    """The real agent's loaded data and models, talking to ``srv``."""
    # the turn's own limit is set far away: the LLM's limits (planner, explanations) are under test
    limits = real_agent.settings.limits.model_copy(update={"turn_timeout_s": 600.0})
    settings = {"llm": f"openai:smollm2@{srv.url}", "llm_timeout_s": 30.0, "limits": limits, **update}
    return RecommenderAgent(real_agent.resources.with_settings(**settings))


def check_picks(agent: RecommenderAgent, reply: Reply) -> None:
    """Picks exist, are catalogue movies, honour "no horror" and never repeat the liked movie."""
    assert reply.error is None and reply.recommendations, reply.text
    for rec in reply.recommendations:
        movie = agent.catalogue.get(rec.movie_id)
        assert "Horror" not in movie.genres and movie.title != "The Matrix"
        assert rec.explanation.strip()


def test_openai_explanations_and_tool_mode_through_a_real_server(real_agent: Any, server: Server) -> None:
    agent = agent_for(real_agent, server, explainer="llm", agent_mode="llm")
    reply = agent.start_session().send(MESSAGE)
    check_picks(agent, reply)
    steps = [s.summary for s in reply.steps]
    planned = [s for s in steps if s.startswith("LLM planner:")]
    fell_back = [s for s in steps if s.startswith(FALLBACK)]
    assert len(planned) + len(fell_back) == 1, steps  # the tool loop ran, and either planned or fell back
    if fell_back:
        assert any("usual way" in n for n in reply.notices)
    liked = tuple(m for m in agent.catalogue if m.label == "The Matrix (1999)")
    no_horror = grounding.Constraints(excluded_genres=("Horror",))
    for rec in reply.recommendations:
        if rec.explanation_source == "llm":  # LLM text reached the reply only after the grounding check
            movie = agent.catalogue.get(rec.movie_id)
            assert grounding.check(rec.explanation, movie, liked, agent.catalogue, no_horror).ok
    # the server answered (the planner's first request at least)
    assert server.completions() >= 1, server.log.read_text()[-2000:]


def test_server_killed_mid_turn_falls_back_with_a_notice(real_agent: Any, server: Server) -> None:
    agent = agent_for(real_agent, server, explainer="llm", agent_mode="llm")
    out: list[Reply] = []
    worker = threading.Thread(target=lambda: out.append(agent.start_session().send(MESSAGE)))
    idle = server.cpu_ticks()
    worker.start()
    deadline = time.monotonic() + 20
    while server.cpu_ticks() < idle + 3 and time.monotonic() < deadline:  # busy with our request
        time.sleep(0.01)
    server.proc.kill()
    worker.join(timeout=60)
    assert out, "no reply after the server died"
    reply = out[0]
    check_picks(agent, reply)
    assert any(s.summary.startswith(FALLBACK) for s in reply.steps), reply.steps
    assert any("usual way" in n for n in reply.notices)
    assert all(r.explanation_source == "template" for r in reply.recommendations)


def test_hung_server_past_the_timeout_falls_back_with_a_notice(real_agent: Any, server: Server) -> None:
    agent = agent_for(real_agent, server, explainer="llm", agent_mode="llm", llm_timeout_s=3.0)
    os.kill(server.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    reply = agent.start_session().send(MESSAGE)
    elapsed = time.monotonic() - t0
    check_picks(agent, reply)
    assert any(s.summary.startswith(FALLBACK) for s in reply.steps), reply.steps
    assert all(r.explanation_source == "template" for r in reply.recommendations)
    # the planner's 3 s, the explanations' 3 s and the rest of the turn: far below the 30 s a turn would
    # wait for the hung server's HTTP timeout (the slack is for a busy CI machine)
    assert elapsed < 3.0 + 3.0 + 45, elapsed


def test_slot_explanations_use_json_schema_through_the_server(real_agent: Any, server: Server) -> None:
    agent = agent_for(real_agent, server, explainer="llm-slots")
    reply = agent.start_session().send("I loved Toy Story (1995). Give me 3 more like it.")
    assert reply.recommendations, reply.text
    sources = [r.explanation_source for r in reply.recommendations]
    assert server.completions() >= 1
    assert "llm" in sources, [r.explanation for r in reply.recommendations]
    assert json.dumps(sources)  # every card has a source
