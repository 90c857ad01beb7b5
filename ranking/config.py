"""Pydantic configurations of the ranking components."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

POSITIVE_THRESHOLD = 4.0
NEGATIVE_THRESHOLD = 2.0


class TrainConfig(BaseModel):
    """How the set model is trained and the ensemble is tuned (all choices on validation users)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    dim: int = 64  # item factor dimension = number of MiniLM principal components used
    hidden: int = 256
    n_models: int = Field(5, ge=1)  # bag of set models with different seeds, scores averaged
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    min_val_positives: int = 6
    max_set_size: int = 10
    single_fraction: float = Field(0.3, ge=0.0, le=1.0)  # extra share of one-movie input sets
    max_dislikes: int = 3
    samples_per_user: int = 8
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    factor_l2: float = 1e-4  # L2 on learned item deltas (pulls rare items to their MiniLM vectors)
    max_epochs: int = 25
    patience: int = 3
    ease_lambdas: tuple[float, ...] = (100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)
    ease_min_count: int = 1  # items need this many training positives to enter EASE
    # catalogues above this many items use sparse RP3beta (ranking.sparse) in place of dense EASE
    dense_item_max: int = Field(20_000, ge=0)
    rp3_betas: tuple[float, ...] = (0.0, 0.2, 0.35, 0.5, 0.7)  # popularity penalties tried
    rp3_alpha: float = Field(1.0, gt=0.0)
    sparse_topk: int = Field(200, ge=1)  # neighbours kept per item
    max_val_users: int | None = Field(None, ge=1)  # cap on validation users (memory at large scale)
    reveal_sizes: tuple[int, ...] = (1, 3, 5)
    blend_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0)
    refit_full: bool = True  # retrain on all users with the chosen epochs / lambda
    num_threads: int | None = None
    mixed_precision: bool = True  # bf16 autocast on CUDA


class RankerConfig(BaseModel):
    """Run-time knobs of :class:`ranking.reranker.Reranker`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mmr_lambda: float = Field(1.0, ge=0.0, le=1.0)  # 1.0 = pure relevance, lower = more diverse
    mmr_top: int = 50  # MMR reorders only the head of the list
    popularity_balance: float = 0.0  # > 0 favours long-tail movies, < 0 favours popular ones
    use_text_sim: bool = True
