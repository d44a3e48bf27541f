"""The lake builds its Arrow tables from buffers: the same table pyarrow's own conversion gives, without
pyarrow importing pandas on a request path (a cold Lambda's first request pays for every import)."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from streamloop.core.lake import RAW_SCHEMA, REJECTED_SCHEMA, raw_table

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)  # lake texts are valid UTF-8
instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(texts, st.integers(0, 2**31 - 1), instants, texts, texts,
                               st.one_of(st.none(), texts)), min_size=1, max_size=30))
def test_buffer_built_tables_equal_pyarrows_conversion(rows):
    columns = {"batch_id": [r[0] for r in rows], "record_index": [r[1] for r in rows],
               "received_at": [r[2] for r in rows], "source": [r[3] for r in rows], "raw": [r[4] for r in rows],
               "reason": [r[5] for r in rows]}  # a None reason takes pyarrow's path, same result
    assert raw_table(columns, REJECTED_SCHEMA).equals(pa.table(columns, schema=REJECTED_SCHEMA))
    del columns["reason"]
    assert raw_table(columns, RAW_SCHEMA).equals(pa.table(columns, schema=RAW_SCHEMA))


def test_landing_a_batch_does_not_import_pandas(tmp_path):
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from streamloop.core.lake import Lake\n"
        f"Lake({str(tmp_path)!r}).write_batch({{'events': [(0, '{{}}', None)], 'rejected': [(1, 'x', 'bad')]}},\n"
        "    source='api', received_at=datetime.now(UTC), batch_id='b1')\n"
        "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
    assert len(list(tmp_path.rglob("*.parquet"))) == 2
