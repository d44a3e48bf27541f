"""Candidate generators. Each is fitted on a users × items matrix of training interactions and
scores any batch of user rows over the full catalog (dense users × items, float32).

- popularity: how many profiles interacted with the item (a baseline and a cold-start list);
- trending: the same, with each interaction decayed by its age at the cut (half-life in config);
- ItemKNN: cosine co-occurrence with shrinkage, top neighbours per item;
- EASE (Steck 2019): closed-form item–item ridge regression with a zero diagonal;
- implicit ALS (Hu, Koren, Volinsky 2008): confidence-weighted matrix factorization solved by
  alternating exact least squares.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


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
    name = "ease"

    def __init__(self, weights: np.ndarray):
        self.weights = weights  # items × items, zero diagonal

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, l2: float) -> EaseGenerator:
        binary = (matrix > 0).astype(np.float64)
        gram = (binary.T @ binary).toarray()
        gram[np.diag_indices_from(gram)] += l2
        precision = np.linalg.inv(gram)
        weights = precision / (-np.diag(precision))
        np.fill_diagonal(weights, 0.0)
        return cls(weights.astype(np.float32))

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((rows > 0).astype(np.float32) @ self.weights, dtype=np.float32)


class AlsGenerator:
    name = "als"

    def __init__(self, item_factors: np.ndarray, regularization: float, alpha: float):
        self.item_factors = item_factors
        self.regularization = regularization
        self.alpha = alpha

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, factors: int, regularization: float, alpha: float,
            iterations: int, seed: int) -> AlsGenerator:
        rng = np.random.default_rng(seed)
        confidence = matrix.tocsr().astype(np.float64)
        confidence.data = alpha * confidence.data  # c - 1 for observed entries
        by_item = confidence.T.tocsr()
        users = rng.normal(0, 0.01, (matrix.shape[0], factors))
        items = rng.normal(0, 0.01, (matrix.shape[1], factors))
        for _ in range(iterations):
            users = _least_squares(confidence, items, regularization)
            items = _least_squares(by_item, users, regularization)
        return cls(items.astype(np.float32), regularization, alpha)

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        confidence = rows.tocsr().astype(np.float64)
        confidence.data = self.alpha * confidence.data
        users = _least_squares(confidence, self.item_factors.astype(np.float64), self.regularization)
        return (users @ self.item_factors.T.astype(np.float64)).astype(np.float32)


def _least_squares(confidence: sp.csr_matrix, fixed: np.ndarray, regularization: float) -> np.ndarray:
    """Solve each row's factors: (FᵀF + Fᵤᵀ(Cᵤ − I)Fᵤ + λI) x = Fᵤᵀ Cᵤ pᵤ, with pᵤ = 1 on observed entries."""
    n_factors = fixed.shape[1]
    gram = fixed.T @ fixed + regularization * np.eye(n_factors)
    solved = np.zeros((confidence.shape[0], n_factors))
    for row in range(confidence.shape[0]):
        start, end = confidence.indptr[row], confidence.indptr[row + 1]
        if start == end:
            continue
        cols, extra = confidence.indices[start:end], confidence.data[start:end]
        f = fixed[cols]
        a = gram + (f.T * extra) @ f
        b = f.T @ (1.0 + extra)
        solved[row] = np.linalg.solve(a, b)
    return solved
