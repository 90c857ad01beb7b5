"""DDP training under torchrun: 2 CPU processes (gloo) match 1 process; CUDA (NCCL) when there is a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ranking.config import TrainConfig
from ranking.set_training import load_set_model
from retrieval.synth import synthesize

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp-data")
    synthesize(out, users=300, items=200, ratings=15_000, seed=0)
    return out


def _torchrun(data: Path, out: Path, procs: int, *extra: str) -> dict:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
        "-m", "ranking.distributed", "--data", str(data), "--out", str(out),
        "--epochs", "3", "--samples-per-user", "4", "--threads", "1", *extra,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "train.json").read_text())


def test_two_cpu_processes_match_one(synth_dir: Path, tmp_path: Path) -> None:
    one = _torchrun(synth_dir, tmp_path / "one", 1, "--device", "cpu")
    two = _torchrun(synth_dir, tmp_path / "two", 2, "--device", "cpu")
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert two["backend"] == "gloo"
    assert one["val_ndcg@10"] > 0.05  # it learned something
    assert abs(one["val_ndcg@10"] - two["val_ndcg@10"]) <= 0.01, (one["history"], two["history"])
    state = load_file(str(tmp_path / "two" / "set_model.safetensors"))
    model = load_set_model(state, TrainConfig(), "cpu")  # rank 0's checkpoint loads as a set model
    assert model.n_items == 200


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_uses_nccl(synth_dir: Path, tmp_path: Path) -> None:
    run = _torchrun(synth_dir, tmp_path / "gpu", 1, "--device", "cuda")
    assert run["backend"] == "nccl" and run["device"].startswith("cuda")
    assert run["val_ndcg@10"] > 0.05
