"""Recommender: candidate generators (popularity, trending, ItemKNN, EASE, implicit ALS) and an
XGBoost learning-to-rank re-ranker over their candidates. `filters` is dependency-free so serving
can import it without pandas or numpy."""
