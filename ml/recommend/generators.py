"""Candidate generators. Each is fitted on a users × items matrix of training interactions and
scores any batch of user rows over the full catalog (dense users × items, float32).

- popularity: how many profiles interacted with the item (a baseline and a cold-start list);
- trending: the same, with each interaction decayed by its age at the cut (half-life in config);
- ItemKNN: cosine co-occurrence with shrinkage, top neighbours per item;
- EASE (Steck 2019): closed-form item–item ridge regression with a zero diagonal, fitted on 0/1
  interactions; it also scores weighted histories (completed plays and thumbs-ups count more);
- implicit ALS (Hu, Koren, Volinsky 2008): confidence-weighted matrix factorization solved by
  alternating least squares (conjugate-gradient solves).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


class PopularityGenerator:
    name = "popularity"

    def __init__(self, item_scores: np.ndarray):
        self.item_scores = np.asarray(item_scores, dtype=np.float32)

    @classmethod
    def fit(cls, matrix: sp.csr_matrix) -> PopularityGenerator:
        return cls(np.asarray((matrix > 0).sum(axis=0)).ravel())

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (rows.shape[0], len(self.item_scores))).copy()


class TrendingGenerator(PopularityGenerator):
    name = "trending"

    @classmethod
    def fit_recent(cls, frame: pd.DataFrame, items: pd.Index, cut: pd.Timestamp,
                   half_life_days: float) -> TrendingGenerator:
        positive = frame[(frame["weight"] > 0) & (frame["ts"] < cut)]
        age_days = (cut - positive["ts"]).dt.total_seconds().to_numpy() / 86400.0
        decay = np.power(0.5, age_days / half_life_days)
        pos = items.get_indexer(positive["item_id"])
        keep = pos >= 0
        return cls(np.bincount(pos[keep], weights=decay[keep], minlength=len(items)))


class ItemKnnGenerator:
    name = "itemknn"

    def __init__(self, similarity: sp.csr_matrix):
        self.similarity = similarity  # items × items, row i holds i's top neighbours

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, neighbors: int, shrink: float) -> ItemKnnGenerator:
        binary = (matrix > 0).astype(np.float32)
        co = (binary.T @ binary).toarray()
        counts = np.diag(co).copy()
        norms = np.sqrt(counts)
        sim = co / (np.outer(norms, norms) + shrink + 1e-9)
        np.fill_diagonal(sim, 0.0)
        sim = sim.astype(np.float32)
        k = min(neighbors, sim.shape[1] - 1)
        if k < sim.shape[1] - 1:  # keep each item's k most similar items
            cutoff = np.partition(sim, -k, axis=1)[:, -k][:, None]
            sim[sim < cutoff] = 0.0
        return cls(sp.csr_matrix(sim))

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        # user score of item j = Σ over the user's items i of sim(i, j)
        return np.asarray((rows @ self.similarity).todense(), dtype=np.float32)

    def most_similar(self, k: int) -> list[list[tuple[int, float]]]:
        out = []
        for i in range(self.similarity.shape[0]):
            start, end = self.similarity.indptr[i], self.similarity.indptr[i + 1]
            cols, vals = self.similarity.indices[start:end], self.similarity.data[start:end]
            order = np.argsort(-vals, kind="stable")[:k]
            out.append([(int(cols[j]), float(vals[j])) for j in order if vals[j] > 0])
        return out


class EaseGenerator:
    """EASE on the `max_items` most-interacted items (the inversion is cubic in items: ~2.5 min for
    10k items on 2 cores, ~10 s for 4k); other items score 0 from EASE and can still be candidates
    through the other generators."""

    name = "ease"

    def __init__(self, items: np.ndarray, weights: np.ndarray, n_items: int):
        self.items = items  # catalog positions EASE models
        self.weights = weights  # len(items) × len(items), zero diagonal
        self.n_items = n_items

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, l2: float, max_items: int) -> EaseGenerator:
        binary = (matrix > 0).astype(np.float64).tocsc()
        counts = np.asarray(binary.sum(axis=0)).ravel()
        active = np.flatnonzero(counts > 0)
        items = np.sort(active[np.argsort(-counts[active], kind="stable")[:max_items]])
        sub = binary[:, items]
        gram = (sub.T @ sub).toarray()
        gram[np.diag_indices_from(gram)] += l2
        precision = np.linalg.inv(gram)
        weights = precision / (-np.diag(precision))
        np.fill_diagonal(weights, 0.0)
        return cls(items, weights.astype(np.float32), matrix.shape[1])

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        scores = np.zeros((rows.shape[0], self.n_items), dtype=np.float32)
        if len(self.items):
            sub = rows[:, self.items].astype(np.float32)  # 0/1 rows, or weighted ones (ease_weighted)
            scores[:, self.items] = np.asarray(sub @ self.weights, dtype=np.float32)
        return scores


class AlsGenerator:
    """Implicit ALS; each half-step solves every row's least-squares system with a few steps of
    conjugate gradient (Takács et al. 2011), vectorized over all rows with sparse products, so
    cost grows with the interactions, not with a per-row Python loop.

    The iterations run on one BLAS thread: a threaded matrix product sums in an order that depends
    on the thread count, and twelve alternating solves amplify that last-bit difference into
    different factors, so the same seed would give different models on machines with different
    core counts (the products here are small: one thread costs little)."""

    name = "als"

    def __init__(self, item_factors: np.ndarray, regularization: float, alpha: float):
        self.item_factors = item_factors
        self.regularization = regularization
        self.alpha = alpha

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, factors: int, regularization: float, alpha: float,
            iterations: int, seed: int, cg_steps: int = 3) -> AlsGenerator:
        with threadpool_limits(limits=1, user_api="blas"):
            return cls._fit(matrix, factors, regularization, alpha, iterations, seed, cg_steps)

    @classmethod
    def _fit(cls, matrix, factors, regularization, alpha, iterations, seed, cg_steps) -> AlsGenerator:
        rng = np.random.default_rng(seed)
        confidence = matrix.tocsr().astype(np.float64)
        confidence.data = alpha * confidence.data  # c - 1 for observed entries
        by_item = confidence.T.tocsr()
        users = rng.normal(0, 0.01, (matrix.shape[0], factors))
        items = rng.normal(0, 0.01, (matrix.shape[1], factors))
        for _ in range(iterations):
            users = _conjugate_gradient(confidence, items, regularization, users, cg_steps)
            items = _conjugate_gradient(by_item, users, regularization, items, cg_steps)
        return cls(items.astype(np.float32), regularization, alpha)

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        confidence = rows.tocsr().astype(np.float64)
        confidence.data = self.alpha * confidence.data
        fixed = self.item_factors.astype(np.float64)
        start = np.zeros((rows.shape[0], fixed.shape[1]))
        with threadpool_limits(limits=1, user_api="blas"):
            users = _conjugate_gradient(confidence, fixed, self.regularization, start, steps=fixed.shape[1] // 4)
        return (users @ fixed.T).astype(np.float32)


def _conjugate_gradient(confidence: sp.csr_matrix, fixed: np.ndarray, regularization: float, x: np.ndarray,
                        steps: int) -> np.ndarray:
    """Approximately solve, for every row u at once, (FᵀF + Fᵤᵀ(Cᵤ − I)Fᵤ + λI) xᵤ = Fᵤᵀ Cᵤ pᵤ (pᵤ = 1 on
    observed entries), by `steps` conjugate-gradient iterations warm-started at `x`."""
    gram = fixed.T @ fixed + regularization * np.eye(fixed.shape[1])
    indptr, cols, extra = confidence.indptr, confidence.indices, confidence.data
    rows = np.repeat(np.arange(confidence.shape[0]), np.diff(indptr))
    # per-entry dot products: from one dense product when it is small, else gathered row by row
    dense = confidence.shape[0] * confidence.shape[1] <= 25_000_000
    fixed_at = None if dense else fixed[cols]

    def apply(v: np.ndarray) -> np.ndarray:
        dots = (v @ fixed.T)[rows, cols] if dense else np.einsum("ij,ij->i", v[rows], fixed_at)
        return v @ gram + sp.csr_matrix((extra * dots, cols, indptr), shape=confidence.shape) @ fixed

    b = sp.csr_matrix((1.0 + extra, cols, indptr), shape=confidence.shape) @ fixed
    x = x.copy()
    r = b - apply(x)
    p = r.copy()
    rs_old = np.einsum("ij,ij->i", r, r)
    for _ in range(steps):
        ap = apply(p)
        denom = np.einsum("ij,ij->i", p, ap)
        alpha = np.divide(rs_old, denom, out=np.zeros_like(rs_old), where=denom > 1e-20)
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = np.einsum("ij,ij->i", r, r)
        beta = np.divide(rs_new, rs_old, out=np.zeros_like(rs_new), where=rs_old > 1e-20)
        p = r + beta[:, None] * p
        rs_old = rs_new
    return x
