"""Campaign files: the shipped ones are valid, the exported JSON Schema is in sync, the CLI reports."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from messaging.audience import AudienceError, audience_columns, check_audience
from messaging.campaigns import SCHEMA_FILE, json_schema, load_campaigns

CAMPAIGNS = Path(__file__).resolve().parents[1] / "campaigns"


def test_shipped_campaigns_are_valid_and_cover_the_brief():
    result = load_campaigns(CAMPAIGNS, audience_columns())
    assert result.errors == []
    ids = {c.id for c in result.campaigns}
    assert ids == {"winback_high_churn_risk", "trial_ending_soon", "new_episode_binged_series",
                   "finish_what_you_started", "high_ltv_upsell", "reengage_lapsed"}
    kinds = {c.id: c.trigger.kind for c in result.campaigns}
    assert kinds["new_episode_binged_series"] == "catalog" and kinds["finish_what_you_started"] == "event"
    assert [c.priority for c in result.campaigns] == sorted((c.priority for c in result.campaigns), reverse=True)


def test_exported_json_schema_is_in_sync_and_checks_the_files():
    committed = json.loads((CAMPAIGNS / SCHEMA_FILE).read_text())
    assert committed == json.loads(json.dumps(json_schema(), sort_keys=True)), \
        "campaigns/campaign.schema.json is stale: run `python -c 'from messaging.campaigns import write_json_schema; " \
        "from pathlib import Path; write_json_schema(Path(\"campaigns\"))'`"
    for path in CAMPAIGNS.glob("*.yml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), committed)


def test_audience_check_names_the_column_and_accepts_derived_columns():
    columns = audience_columns()
    check_audience("days_since_last_play >= 14 and churn_risk > 0.5", columns)
    with pytest.raises(AudienceError, match="column 'no_such_column' is not in messaging_profiles"):
        check_audience("no_such_column > 1", columns)
    with pytest.raises(AudienceError, match="(?i)syntax"):
        check_audience("churn_risk >", columns)


def test_cli_validate_reports_broken_files_and_list_prints_the_rest(tmp_path, monkeypatch):
    from messaging import service
    from streamloop.cli import main

    for path in CAMPAIGNS.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "broken.yml").write_text((CAMPAIGNS / "reengage_lapsed.yml").read_text()
                                         .replace("reengage_lapsed", "broken").replace("channel: best", "channel: fax"))
    monkeypatch.setattr(service, "CAMPAIGNS_DIR", tmp_path)
    validate = CliRunner().invoke(main, ["campaigns", "validate"])
    assert validate.exit_code == 1
    assert "invalid  broken.yml: channel: Input should be 'email', 'push', 'in_app' or 'best'" in validate.output
    listed = CliRunner().invoke(main, ["campaigns", "list", "--json"])
    assert listed.exit_code == 0
    assert next(row["campaign_id"] for row in json.loads(listed.stdout)) == "winback_high_churn_risk"
