"""Settings: the one place where every location and backend is chosen.

Everything local lives under STREAMLOOP_HOME; production swaps a location or backend through an
environment variable (e.g. STREAMLOOP_LAKE_URI=s3://bucket/lake), never through a code edit.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMLOOP_", extra="ignore")

    home: Path = Field(Path(".streamloop"), description="root of all local state")
    environment: Literal["local", "aws"] = Field("local", description="which resources Dagster binds")

    lake_uri: str | None = Field(None, description="raw lake root; default HOME/lake, or s3://bucket/prefix")
    warehouse_path: Path | None = Field(None, description="DuckDB file; default HOME/warehouse.duckdb")
    registry_uri: str | None = Field(None, description="model registry root; default HOME/registry, or s3://…")
    online_store: Literal["sqlite", "dynamodb"] = Field("sqlite", description="online feature store backend")
    online_store_path: Path | None = Field(None, description="SQLite file; default HOME/online.sqlite")
    dynamodb_table: str = Field("streamloop-online", description="DynamoDB table for the online store")
    outbox_path: Path | None = Field(None, description="message outbox; default HOME/outbox.sqlite")
    aws_region: str = Field("us-east-1", description="region for boto3 clients")
    # how the collector lands events (streamloop/core/landing.py): one file per request, group commit, or Firehose
    landing: Literal["direct", "buffered", "firehose"] = Field("direct", description="collector landing mode")
    landing_flush_interval_ms: int = Field(200, description="buffered landing: how long requests wait for a flush")
    firehose_events_stream: str = Field("streamloop-events", description="Firehose stream landing events")
    firehose_rejected_stream: str = Field("streamloop-rejected", description="Firehose stream landing rejects")
    firehose_ignored_stream: str = Field("streamloop-ignored", description="Firehose stream landing ignored records")

    # lifecycle messaging (docs/messaging.md)
    messaging_daily_cap: int = Field(2, ge=0, description="messages per profile per calendar day in its time zone")
    messaging_control_percent: float = Field(
        5.0, ge=1.0, le=15.0, description="global control group: share of profiles no campaign ever messages")
    messaging_default_consent: str = Field(
        "in_app", description="channels allowed for a profile with no consent record (comma-separated); "
                              "email and push are opt-in, so by default only in-app messages need no record")
    messaging_contact_secret: str = Field(
        "local-dev-contact-secret", description="HMAC key hashing contact addresses for the lake and marts")
    messaging_unsubscribe_secret: str = Field(
        "local-dev-unsubscribe-secret", description="HMAC key signing one-click unsubscribe tokens")
    messaging_store: Literal["sqlite", "dynamodb"] = Field(
        "sqlite", description="ledger, outbox, contacts and trigger queue backend")
    messaging_dynamodb_table: str = Field("streamloop-messaging", description="DynamoDB table for messaging state")
    messaging_public_url: str = Field("http://localhost:8000", description="base URL of unsubscribe links")
    ses_sender: str = Field("", description="SES From address; empty: email goes to the local outbox")
    ses_rate_per_second: float = Field(14.0, gt=0, description="SES sending rate limit of the account")
    sns_platform_application_arn: str = Field("", description="SNS platform application for push; empty: local outbox")
    sns_feedback_topic_arn: str = Field("", description="SNS topic whose SES feedback notifications are accepted")

    api_keys: str = Field("", description="comma-separated app keys (send events, read pages); raw or sha256:<hex>")
    admin_keys: str = Field("", description="comma-separated admin keys (also /v1/admin/*); raw or sha256:<hex>")
    allow_open: bool = Field(False, description="serve without API keys; must be set explicitly")
    profile_token_secret: str = Field("", description="HS256 secret of profile tokens; set it (or the public key) "
                                                      "to require a signed profile token on page reads")
    profile_token_public_key: str = Field("", description="PEM public key of RS256/ES256 profile tokens")
    profile_token_issuer: str | None = Field(None, description="required `iss` of profile tokens, if set")
    profile_token_audience: str | None = Field(None, description="required `aud` of profile tokens, if set")

    privacy_salt: str = Field("", description="secret salt of the forgotten-people suppression list's hashes; "
                                              "default: a random one kept in HOME/privacy/salt (set it on AWS)")
    backup_retention_days: int = Field(35, description="how long S3 object versions and DynamoDB point-in-time "
                                                       "recovery keep deleted data (stated in deletion audits)")
    edge_ip: Literal["drop", "pseudonymize", "keep"] = Field(
        "drop", description="what the edge does with context.ip and context.user_agent before landing")
    raw_lake_retention_days: int = Field(730, description="raw lake partitions older than this are deleted "
                                                          "by the scheduled retention job (0 keeps them forever)")
    personalization_default: bool = Field(True, description="personalization allowed for a profile with no "
                                                            "consent_updated record for it (docs/privacy.md)")

    dbt_target: Literal["duckdb", "spark"] = Field("duckdb", description="dbt target used by build")
    threads: int = Field(2, description="dbt and DuckDB threads")
    min_training_rows: int = Field(200, description="churn/LTV: fewer matured account snapshots than this → the "
                                                    "model is skipped (with its reason), not failed")
    min_training_profiles: int = Field(20, description="recommender: fewer profiles with plays than this → skipped")

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def lake_root(self) -> str:
        return self.lake_uri or str(self.home_dir / "lake")

    @property
    def warehouse_file(self) -> Path:
        return (self.warehouse_path or self.home_dir / "warehouse.duckdb").expanduser().resolve()

    @property
    def registry_root(self) -> str:
        return self.registry_uri or str(self.home_dir / "registry")

    @property
    def online_store_file(self) -> Path:
        return (self.online_store_path or self.home_dir / "online.sqlite").expanduser().resolve()

    @property
    def outbox_file(self) -> Path:
        return (self.outbox_path or self.home_dir / "outbox.sqlite").expanduser().resolve()

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def admin_key_list(self) -> list[str]:
        return [k.strip() for k in self.admin_keys.split(",") if k.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Cached settings; tests call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
