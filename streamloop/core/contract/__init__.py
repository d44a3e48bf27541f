"""The event contract (CONTRACT.md §2): one JSON Schema file, read by every producer and consumer."""
from streamloop.core.contract.schema import (  # noqa: F401
    CATALOG_SCHEMA,
    DEVICE_TYPES,
    EVENT_SCHEMA,
    EVENT_TYPES,
    MATURITY_RATINGS,
    MAX_FUTURE_SKEW_SECONDS,
    alternative_properties,
    required_properties,
)
from streamloop.core.contract.validate import validate_catalog_record, validate_event  # noqa: F401
