"""Item side information for the re-ranker: genres, age, kind, over the recommendable content ids."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.features import read_table, require_columns


def load_titles(con) -> pd.DataFrame:
    """Recommendable titles (movies and series; episodes count toward their series)."""
    titles = read_table(con, "titles")
    require_columns(titles, ["title_id", "kind", "genres"], "titles")
    return titles


@dataclass
class Catalog:
    items: pd.Index  # content ids, the columns of every matrix
    genre_names: list[str]
    genres: np.ndarray  # items × genres, rows normalized to sum 1 (0 when unknown)
    release_date: np.ndarray  # datetime64[D] (NaT when unknown)
    is_series: np.ndarray  # float 0/1

    def __len__(self) -> int:
        return len(self.items)


def build_catalog(titles: pd.DataFrame, interaction_items) -> Catalog:
    recommendable = titles[titles["kind"].isin(["movie", "series"])] if "kind" in titles else titles
    ids = pd.Index(pd.unique(pd.concat([recommendable["title_id"].astype(str),
                                        pd.Series(list(interaction_items), dtype=str)])))
    meta = (recommendable.assign(title_id=recommendable["title_id"].astype(str))
            .drop_duplicates("title_id").set_index("title_id").reindex(ids))
    genre_lists = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in meta["genres"]]
    names = sorted({g for gl in genre_lists for g in gl})
    position = {g: i for i, g in enumerate(names)}
    genres = np.zeros((len(ids), len(names)), dtype=np.float32)
    for row, gl in enumerate(genre_lists):
        for g in gl:
            genres[row, position[g]] = 1.0 / len(gl)
    release = (pd.to_datetime(meta["release_date"], errors="coerce").to_numpy().astype("datetime64[D]")
               if "release_date" in meta else np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]"))
    is_series = (meta["kind"] == "series").to_numpy(dtype=np.float32) if "kind" in meta else np.zeros(len(ids))
    return Catalog(ids, names, genres, release, is_series)
