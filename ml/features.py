"""Training frames from the warehouse, feature lists and their hash, and splits by time.

Feature columns are read dynamically: every numeric (or boolean) column of a feature table except
its keys, labels and label flags. The list and a short hash of it travel with every model, so a
scorer can refuse a frame whose columns differ from the ones the model learned.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.config import TimeSplit
from ml.errors import InsufficientData, NoTrainingData, TrainingDataError

KEY_COLUMNS = {"account_id", "profile_id", "title_id", "snapshot_date", "content_id", "series_id"}
LABEL_COLUMNS = {"is_churned_30d", "revenue_next_90d_cents"}
# anything that looks at the future or flags label maturity is never a feature
_NOT_FEATURE = re.compile(r"(_label_complete$|^label_|_next_\d+d|^churned_at$|^canceled_at$)")


def open_warehouse(path: str | Path | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Connect to the DuckDB warehouse (settings.warehouse_file by default)."""
    if path is None:
        from streamloop.core.settings import get_settings

        path = get_settings().warehouse_file
    path = Path(path)
    if read_only and not path.exists():
        raise NoTrainingData(f"no warehouse at {path}; run `streamloop build` first")
    return duckdb.connect(str(path), read_only=read_only)


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute("select 1 from information_schema.tables where table_name = ?", [table]).fetchall()
    return bool(rows)


def read_table(con: duckdb.DuckDBPyConnection, table: str, where: str | None = None) -> pd.DataFrame:
    """The whole table (optionally filtered) as pandas, ordered by its key columns; a missing table is
    NoTrainingData.

    The order matters: a warehouse stores rows in whatever order its last build wrote them, and a
    model trained on the same rows in another order (sampling, calibration folds) scores differently.
    """
    if not table_exists(con, table):
        raise NoTrainingData(f"table {table} is not in the warehouse; run `streamloop build` first")
    columns = [row[0] for row in con.execute(f'describe "{table}"').fetchall()]
    keys = ", ".join(f'"{c}"' for c in columns if c in KEY_COLUMNS)
    sql = f'select * from "{table}"' + (f" where {where}" if where else "") + (f" order by {keys}" if keys else "")
    return con.execute(sql).df()


def require_columns(frame: pd.DataFrame, columns, table: str) -> None:
    """Fail with one line naming every required column the frame lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TrainingDataError(f"{table} lacks required column(s): {', '.join(missing)}")


def feature_columns(frame: pd.DataFrame, extra_exclude=()) -> list[str]:
    """Numeric/boolean columns that are neither keys, labels nor label flags, in table order."""
    excluded = KEY_COLUMNS | LABEL_COLUMNS | set(extra_exclude)
    columns = []
    for name in frame.columns:
        if name in excluded or _NOT_FEATURE.search(name):
            continue
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            columns.append(name)
    return columns


def feature_hash(columns: list[str]) -> str:
    """Short, order-sensitive hash of a feature list (order matters to a trained booster)."""
    return hashlib.sha256("\n".join(columns).encode()).hexdigest()[:16]


def feature_matrix(frame: pd.DataFrame, columns: list[str], table: str = "frame") -> np.ndarray:
    """float32 matrix of `columns` (missing → TrainingDataError; nulls stay NaN for XGBoost)."""
    require_columns(frame, columns, table)
    return frame[columns].astype("float32").to_numpy()


@dataclass(frozen=True)
class DataWindow:
    """Snapshot dates each slice covers (ISO dates), recorded with the model."""

    train_from: str
    train_to: str
    calibration_from: str | None
    calibration_to: str | None
    test_from: str
    test_to: str
    purge_days: int = 0  # gap between consecutive slices (the label horizon)
    note: str = ""  # why a slice is missing, if one is

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass
class TimeSplitFrames:
    train: pd.DataFrame
    calibration: pd.DataFrame  # may be empty
    test: pd.DataFrame
    window: DataWindow


def split_by_time(frame: pd.DataFrame, split: TimeSplit, purge_days: int,
                  date_column: str = "snapshot_date") -> TimeSplitFrames:
    """Train on the oldest snapshots, calibrate on later ones, test on the latest; never random.

    Every slice ends at least `purge_days` (the label horizon) before the next one begins. Dates that
    fall inside a gap are used by no slice. Raises InsufficientData when train → test cannot hold it.
    """
    dates = pd.to_datetime(frame[date_column]).dt.date
    distinct = sorted(set(dates))
    gap = timedelta(days=purge_days)
    if len(distinct) < 2:
        raise InsufficientData(f"need at least 2 distinct {date_column} values for a split by time, "
                               f"found {len(distinct)}")
    if split.test_from is not None:
        test_from = split.test_from
    else:
        test_from = distinct[-max(1, round(len(distinct) * split.test_fraction))]
    before_test = [d for d in distinct if d <= test_from - gap]
    n_cal = round(len(distinct) * split.calibration_fraction)
    cal_dates = before_test[len(before_test) - n_cal:] if n_cal else []
    train_dates = [d for d in before_test if cal_dates and d <= cal_dates[0] - gap]
    note = ""
    if cal_dates and not train_dates:  # both gaps do not fit: no calibration rather than a leaking one
        note = (f"no calibration slice: {len(distinct)} snapshot dates ({distinct[0]} … {distinct[-1]}) "
                f"cannot hold two {purge_days}-day purge gaps")
        cal_dates, train_dates = [], before_test
    if not train_dates:
        raise InsufficientData(
            f"{len(distinct)} matured snapshot dates ({distinct[0]} … {distinct[-1]}) cannot hold a "
            f"{purge_days}-day purge gap (the label horizon) between training and test from {test_from}; "
            f"a longer history is needed")
    train = frame[dates.isin(train_dates).to_numpy()]
    calibration = frame[dates.isin(cal_dates).to_numpy()]
    test = frame[(dates >= test_from).to_numpy()]

    def span(part: pd.DataFrame) -> tuple[str | None, str | None]:
        if part.empty:
            return None, None
        d = pd.to_datetime(part[date_column]).dt.date
        return d.min().isoformat(), d.max().isoformat()

    (tr_a, tr_b), (ca_a, ca_b), (te_a, te_b) = span(train), span(calibration), span(test)
    return TimeSplitFrames(train, calibration, test, DataWindow(tr_a, tr_b, ca_a, ca_b, te_a, te_b, purge_days, note))


def latest_snapshot(frame: pd.DataFrame, date_column: str = "snapshot_date") -> pd.DataFrame:
    """Rows of the most recent snapshot date (what batch scoring scores)."""
    dates = pd.to_datetime(frame[date_column])
    return frame[(dates == dates.max()).to_numpy()]

