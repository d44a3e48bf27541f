"""Campaign files (`campaigns/*.yml`, CONTRACT §7): one pydantic schema, loaded and validated file by file.

A broken file is reported with its file, field and reason and skipped; the other campaigns still load
(`load_campaigns` returns both). The same schema is exported as JSON Schema to `campaigns/campaign.schema.json`
so editors complete and check the files (a test keeps the export in sync).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CHANNELS = ("email", "push", "in_app")
Channel = Literal["email", "push", "in_app"]
SCHEMA_FILE = "campaign.schema.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_Strict):
    """Exactly one of `schedule` (cron, UTC), `event` (a collector event type) or `catalog` (a catalog update)."""

    schedule: str | None = Field(None, description="cron expression (UTC) of the runs that evaluate the audience")
    event: str | None = Field(None, description="event type that starts the message, e.g. play_stop")
    catalog: Literal["new_episode"] | None = Field(None, description="catalog update that starts the message")
    delay_minutes: int = Field(0, ge=0, le=60 * 24 * 30, description="wait this long after the trigger")
    exit_events: list[str] = Field(default_factory=list, description=(
        "event types that cancel a waiting message when the same profile sends one about the same subject"))

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in ("schedule", "event", "catalog") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of schedule, event or catalog")
        if self.schedule:
            from croniter import croniter

            if not croniter.is_valid(self.schedule):
                raise ValueError(f"schedule {self.schedule!r} is not a valid cron expression")
        return self

    @property
    def kind(self) -> str:
        return "schedule" if self.schedule else "event" if self.event else "catalog"


class Content(_Strict):
    subject: str = Field(description="title line (email subject, push title); a Jinja2 template")
    body: str = Field(description="message text; a Jinja2 template (see docs/messaging.md for its variables)")
    recommendations: int = Field(3, ge=0, le=10, description="how many of the profile's recommendations to include")


class FrequencyCap(_Strict):
    max_messages: int = Field(ge=1, description="at most this many messages of this campaign per profile ...")
    days: int = Field(ge=1, le=365, description="... in any rolling window of this many days")


class QuietHours(_Strict):
    """Local-time window in which nothing is sent; a message due inside it is held to its end."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window crosses midnight


class Campaign(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{2,63}$", description="stable id; part of every message id")
    name: str
    priority: int = Field(ge=0, le=100, description="higher wins a capped slot (decided first)")
    trigger: Trigger
    audience: str = Field(description="SQL predicate over the messaging_profiles mart")
    channel: Literal["email", "push", "in_app", "best"]
    channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS), min_length=1,
                                    description="candidates for channel: best, in order of preference")
    content: Content
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHours | None = Field(
        default_factory=lambda: QuietHours(start=time(21, 0), end=time(9, 0)))
    send_time: Literal["immediate", "optimal"] = Field(
        "immediate", description="optimal: the profile's usual viewing hour (else the population's) within a day")
    period: Literal["once", "day", "week", "month"] = Field(
        "week", description="a profile gets at most one message of this campaign per period (UTC calendar)")
    holdout_percent: float = Field(10.0, ge=0, le=50, description="random share of the audience kept as holdout")

    @field_validator("audience")
    @classmethod
    def _one_expression(cls, value: str) -> str:
        if ";" in value or re.search(r"--|/\*", value):
            raise ValueError("audience must be one SQL expression (no ';' or comments)")
        return value

    @property
    def candidate_channels(self) -> tuple[str, ...]:
        return tuple(self.channels) if self.channel == "best" else (self.channel,)


@dataclass(frozen=True)
class CampaignError:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


@dataclass
class CampaignSet:
    campaigns: list[Campaign] = field(default_factory=list)
    errors: list[CampaignError] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # campaign id -> file name

    def get(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


def load_campaign(path: Path) -> Campaign:
    """One campaign file; raises CampaignFileError naming the file, the field and the reason."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CampaignFileError(CampaignError(path.name, "(file)", f"not readable YAML: {exc}".splitlines()[0]))
    if not isinstance(data, dict):
        raise CampaignFileError(CampaignError(path.name, "(file)", "must be a mapping of campaign fields"))
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(campaign)"
        raise CampaignFileError(CampaignError(path.name, where, first["msg"])) from None


class CampaignFileError(ValueError):
    def __init__(self, error: CampaignError):
        super().__init__(str(error))
        self.error = error


def load_campaigns(directory: Path, columns: frozenset[str] | None = None) -> CampaignSet:
    """Every `*.yml` in `directory`, sorted by priority (highest first) then id. Broken files land in
    `errors` and are skipped. With `columns`, audiences are also checked against the mart's columns."""
    from messaging.audience import AudienceError, check_audience

    result = CampaignSet()
    for path in sorted(directory.glob("*.yml")):
        try:
            campaign = load_campaign(path)
            if columns is not None:
                check_audience(campaign.audience, columns)
            _check_templates(path, campaign)
            if campaign.id in result.files:
                raise CampaignFileError(CampaignError(path.name, "id", f"duplicate of {result.files[campaign.id]}"))
        except CampaignFileError as exc:
            result.errors.append(exc.error)
            continue
        except AudienceError as exc:
            result.errors.append(CampaignError(path.name, "audience", str(exc)))
            continue
        result.campaigns.append(campaign)
        result.files[campaign.id] = path.name
    result.campaigns.sort(key=lambda c: (-c.priority, c.id))
    return result


def _check_templates(path: Path, campaign: Campaign) -> None:
    from jinja2 import TemplateSyntaxError

    from messaging.content import check_templates

    try:
        check_templates(campaign)
    except TemplateSyntaxError as exc:
        raise CampaignFileError(CampaignError(path.name, "content", f"template error: {exc.message}")) from None


def json_schema() -> dict:
    schema = Campaign.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "streamloop campaign file"
    return schema


def write_json_schema(directory: Path) -> Path:
    path = directory / SCHEMA_FILE
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    return path
