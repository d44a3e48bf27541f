"""Landing: group commit writes one file per flush and acknowledges only durable requests; Firehose
acknowledges only what it accepted (moto), resending refused entries."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import httpx
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from support.functions import API_KEY, LiveServer, event, seed

from functions.app import create_app
from functions.services import Services
from streamloop.core.lake import Lake
from streamloop.core.landing import BufferedLanding, FirehoseLanding, LandingError, landing_for
from streamloop.core.settings import REPO_ROOT, Settings
from streamloop.core.store.sqlite import SQLiteStore

RECEIVED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _batch(request: int, n: int = 3, rejected: int = 1) -> dict:
    return {"events": [(i, json.dumps({"event_id": f"r{request}-e{i}"}), None) for i in range(n)],
            "rejected": [(n + i, f"bad-{request}-{i}", "event_type: missing") for i in range(rejected)]}


def test_concurrent_requests_share_one_file_per_kind_and_every_record_lands(tmp_path):
    # GIVEN a buffered landing with a flush interval long enough for 20 requests to meet in one flush
    lake = Lake(tmp_path / "lake")
    landing = BufferedLanding(lake, flush_interval_s=0.5)
    barrier = threading.Barrier(20)

    def request(number: int) -> list[str]:
        barrier.wait()
        return landing.write_batch(_batch(number), source=f"api-{number}", received_at=RECEIVED, batch_id="ignored")

    # WHEN 20 requests land at once
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(request, range(20)))
    landing.close()
    # THEN they were written by one or two flushes (not 20 files), every record present exactly once
    files = lake.files("events")
    assert 1 <= len(files) <= 2 and len(lake.files("rejected")) == len(files)
    table = [row for path in files for row in pq.read_table(path).to_pylist()]
    assert sorted(json.loads(r["raw"])["event_id"] for r in table) == sorted(f"r{q}-e{i}" for q in range(20) for i in range(3))
    # each request's records keep its source and received time; rows carry the file's batch id, renumbered
    assert {r["source"] for r in table} == {f"api-{q}" for q in range(20)}
    assert {r["received_at"] for r in table} == {RECEIVED}
    for path in files:
        rows = pq.read_table(path).to_pylist()
        flush_id = path.rsplit("batch-", 1)[1].removesuffix(".parquet")
        assert {r["batch_id"] for r in rows} == {flush_id}
        # one numbering across the flush's kinds, so batch_id:record_index names one record
        rejected_rows = pq.read_table(path.replace("/events/", "/rejected/")).to_pylist()
        indexes = [r["record_index"] for r in rows + rejected_rows]
        assert sorted(indexes) == list(range(len(indexes)))
    # every request was acknowledged with the file(s) holding it
    assert all(any(f in files for f in result) for result in results)
    rejected = pq.read_table(lake.files("rejected")).to_pylist()
    assert sorted(r["raw"] for r in rejected) == sorted(f"bad-{q}-0" for q in range(20))
    assert {r["reason"] for r in rejected} == {"event_type: missing"}


class _GatedLake(Lake):
    """A real lake whose writes wait for a gate (or fail), to observe what requests see meanwhile."""

    def __init__(self, root, fail: bool = False):
        super().__init__(root)
        self.gate = threading.Event()
        self.fail = fail

    def write_table(self, kind, table, **options):
        self.gate.wait(10)
        if self.fail:
            raise OSError("disk full")
        return super().write_table(kind, table, **options)


def test_a_request_is_not_acknowledged_before_its_flush_is_durable(tmp_path):
    lake = _GatedLake(tmp_path / "lake")
    landing = BufferedLanding(lake, flush_interval_s=0.01)
    done = []
    thread = threading.Thread(target=lambda: done.append(landing.write_batch(_batch(1), "api", RECEIVED, "x")))
    thread.start()
    time.sleep(0.3)  # many flush intervals: the flush is blocked in the write
    assert done == [] and thread.is_alive() and lake.files("events") == []
    lake.gate.set()
    thread.join(5)
    assert done and done[0] and all(path in lake.files("events") + lake.files("rejected") for path in done[0])
    landing.close()


def test_a_failed_flush_fails_every_request_it_held(tmp_path):
    lake = _GatedLake(tmp_path / "lake", fail=True)
    landing = BufferedLanding(lake, flush_interval_s=0.2)
    errors = []

    def request(number):
        try:
            landing.write_batch(_batch(number), "api", RECEIVED, "x")
        except LandingError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    lake.gate.set()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 5 and all("OSError: disk full" in e for e in errors)
    assert lake.files("events") == []
    landing.close()


def test_close_flushes_what_is_queued_and_refuses_more(tmp_path):
    lake = Lake(tmp_path / "lake")
    landing = BufferedLanding(lake, flush_interval_s=30)  # only close (or max_records) can flush
    thread = threading.Thread(target=landing.write_batch, args=(_batch(1), "api", RECEIVED, "x"))
    thread.start()
    time.sleep(0.1)
    landing.close()
    thread.join(5)
    assert len(pq.read_table(lake.files("events")[0])) == 3
    with pytest.raises(LandingError, match="closed"):
        landing.write_batch(_batch(2), "api", RECEIVED, "x")


def test_a_full_buffer_flushes_before_the_interval(tmp_path):
    lake = Lake(tmp_path / "lake")
    landing = BufferedLanding(lake, flush_interval_s=30, max_records=4)
    started = time.monotonic()
    landing.write_batch(_batch(1, n=4, rejected=0), "api", RECEIVED, "x")
    assert time.monotonic() - started < 5
    landing.close()


@mock_aws
def test_firehose_landing_acknowledges_what_firehose_accepted():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    firehose = boto3.client("firehose", region_name="us-east-1")
    for kind in ("events", "rejected"):
        firehose.create_delivery_stream(
            DeliveryStreamName=f"sl-{kind}", DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                                "BucketARN": "arn:aws:s3:::lake", "Prefix": f"lake/{kind}/"})
    entries = []
    firehose.meta.events.register("provide-client-params.firehose.PutRecordBatch",
                                  lambda params, **_: entries.append(len(params["Records"])))
    landing = FirehoseLanding({"events": "sl-events", "rejected": "sl-rejected"}, client=firehose)
    # 1200 events of ~120 bytes, packed into Firehose records of at most 1000 KiB
    batch = {"events": [(i, json.dumps({"event_id": f"e{i}"}), None) for i in range(1200)],
             "rejected": [(1200, "not json", "not JSON")]}
    assert landing.write_batch(batch, "api", RECEIVED, "b1") == ["firehose://sl-events", "firehose://sl-rejected"]
    rows = {}
    for obj in s3.list_objects_v2(Bucket="lake")["Contents"]:
        body = s3.get_object(Bucket="lake", Key=obj["Key"])["Body"].read().decode()
        for line in body.splitlines():
            row = json.loads(line)
            rows[(obj["Key"].split("/")[1], row["record_index"])] = row
    assert len([k for k in rows if k[0] == "events"]) == 1200
    # one PutRecordBatch entry held all 1200 rows (Firehose bills per entry, rounded up to 5 KB)
    assert entries == [1, 1]
    assert rows[("events", 7)] == {"batch_id": "b1", "record_index": 7, "received_at": int(RECEIVED.timestamp() * 1000),
                                   "source": "api", "raw": '{"event_id": "e7"}'}
    assert rows[("rejected", 1200)]["reason"] == "not JSON"


class _FlakyFirehose:
    """Refuses chosen entries on the first call (what moto cannot simulate: partial failures)."""

    def __init__(self, refuse_first: set[int], always: bool = False):
        self.calls: list[list[bytes]] = []
        self.refuse_first, self.always = refuse_first, always

    def put_record_batch(self, DeliveryStreamName, Records):  # boto3's parameter names
        self.calls.append([r["Data"] for r in Records])
        refuse = self.refuse_first if (len(self.calls) == 1 or self.always) else set()
        responses = [{"ErrorCode": "ServiceUnavailableException"} if i in refuse else {"RecordId": str(i)}
                     for i in range(len(Records))]
        return {"FailedPutCount": sum(1 for r in responses if "ErrorCode" in r), "RequestResponses": responses}


def test_only_refused_entries_are_resent_and_a_request_fails_if_they_stay_refused():
    client = _FlakyFirehose({1, 3})
    # entries small enough to hold one row each, so entries 1 and 3 are rows e1 and e3
    landing = FirehoseLanding({"events": "s"}, client=client, backoff_s=0, max_entry_bytes=120)
    landing.write_batch({"events": [(i, f"e{i}", None) for i in range(5)]}, "api", RECEIVED, "b")
    assert [len(call) for call in client.calls] == [5, 2]
    assert [json.loads(d)["raw"] for d in client.calls[1]] == ["e1", "e3"]

    stubborn = FirehoseLanding({"events": "s"}, client=_FlakyFirehose({0}, always=True), attempts=3, backoff_s=0)
    with pytest.raises(LandingError, match="did not accept 1 record"):
        stubborn.write_batch({"events": [(0, "e0", None)]}, "api", RECEIVED, "b")
    with pytest.raises(LandingError, match="exceeds Firehose's record size"):
        FirehoseLanding({"events": "s"}, client=client, max_entry_bytes=50).write_batch(
            {"events": [(0, "x" * 100, None)]}, "api", RECEIVED, "b")
    with pytest.raises(LandingError, match="no Firehose stream configured for lake kind 'ignored'"):
        stubborn.write_batch({"ignored": [(0, "page", "page call")]}, "api", RECEIVED, "b")


def test_settings_choose_the_landing(tmp_path):
    assert isinstance(landing_for(Settings(home=tmp_path)), Lake)
    buffered = landing_for(Settings(home=tmp_path, landing="buffered", landing_flush_interval_ms=50))
    assert isinstance(buffered, BufferedLanding) and buffered.flush_interval_s == 0.05
    buffered.close()
    firehose = landing_for(Settings(home=tmp_path, landing="firehose", firehose_events_stream="prod-events"))
    assert isinstance(firehose, FirehoseLanding) and firehose.streams["events"] == "prod-events"


def test_the_api_under_group_commit_lands_concurrent_requests_in_few_files(tmp_path):
    # GIVEN the real app over HTTP with STREAMLOOP_LANDING=buffered (a 300 ms flush interval)
    settings = Settings(home=tmp_path, api_keys=API_KEY, landing="buffered", landing_flush_interval_ms=300)
    store = SQLiteStore(tmp_path / "online.sqlite")
    seed(store)
    services = Services(settings, store=store, experiments_dir=REPO_ROOT / "experiments")
    barrier = threading.Barrier(12)

    def post(url: str, number: int) -> dict:
        body = {"events": [event("app_open", event_id=f"req{number}-{i}") for i in range(5)]}
        barrier.wait()
        return httpx.post(url + "/v1/events", json=body, headers={"x-api-key": API_KEY}, timeout=30).json()

    # WHEN 12 clients post at once
    with LiveServer(create_app(services=services)) as server, ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda n: post(server.url, n), range(12)))
    # THEN every request was accepted, its events were in the lake when it was answered, in few files
    assert [a["accepted"] for a in answers] == [5] * 12
    files = Lake(settings.lake_root).files("events")
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    assert sorted(json.loads(r["raw"])["event_id"] for r in rows) == sorted(f"req{n}-{i}" for n in range(12) for i in range(5))
    assert len(files) <= 3  # not one file per request
