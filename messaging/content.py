"""Message content: Jinja2 templates (sandboxed, strict) filled with the profile's current recommendations.

Recommendations are the online store's published `candidates` for the profile (under the current
publication generation, like serving reads them) after the same filters serving uses
(`streamloop.core.filters`: country, maturity, and "seen means seen": finished movies and series). Fallback, in order (documented in
docs/messaging.md): the filtered `popular` list; then no titles and the template's `fallback` text
(`{% if titles %}` blocks) — the subject and body are never empty.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from messaging.campaigns import Campaign
from streamloop.core.filters import apply_filters, profile_max_maturity, seen_title_ids
from streamloop.core.store import OnlineStore, StoreError
from streamloop.core.store.generations import current, get_versioned, prefix_for

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
GENERIC_SUBJECT = "Something new to watch"
GENERIC_BODY = "There is something new waiting for you. Open the app to see what's on."


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    title_ids: tuple[str, ...]
    source: str  # candidates | popular | none


def recommendations(store: OnlineStore | None, profile: dict, limit: int) -> tuple[list[dict], str]:
    """Up to `limit` titles ({"title_id", "name"}) for the profile and where they came from."""
    if store is None or limit == 0:
        return [], "none"
    profile_id = profile["profile_id"]
    try:
        pointer = current(store)

        def published(namespace: str, keys: list[str]) -> dict:
            return get_versioned(store.get_many, namespace, prefix_for(pointer, namespace), keys)

        state = store.get("state", profile_id) or {}
        profile_value = published("profile", [profile_id]).get(profile_id) or {}
        candidates = (published("candidates", [profile_id]).get(profile_id) or {}).get("items", [])
        popular = (published("lists", ["popular"]).get("popular") or {}).get("items", [])
        wanted = {t[0] for t in candidates[: limit * 10] + popular[: limit * 10]}
        wanted |= {c["series_id"] for c in state.get("completed", []) if c.get("series_id")}
        titles = published("title", sorted(wanted))
    except StoreError:
        return [], "none"  # the store is down: the message goes out with the fallback text
    maturity = profile_max_maturity(state, profile_value, profile)
    country = profile.get("country") or state.get("country")
    seen = seen_title_ids(profile_value.get("finished_title_ids"), state.get("completed"), titles.get)
    for source, ranked in (("candidates", candidates), ("popular", popular)):
        kept = apply_filters(ranked, titles, country=country, max_maturity=maturity, seen=seen, limit=limit)
        if kept:
            return [{"title_id": t[0], "name": titles[t[0]].get("name", t[0])} for t in kept], source
    return [], "none"


def render(campaign: Campaign, profile: dict, store: OnlineStore | None, subject_title: dict | None = None,
           unsubscribe_url: str | None = None) -> Rendered:
    """The campaign's subject and body for one profile. Template variables: `profile` (the mart row),
    `titles` (list of {title_id, name}), `subject_title` (the trigger's title, if any), `unsubscribe_url`."""
    titles, source = recommendations(store, profile, campaign.content.recommendations)
    variables = {"profile": profile, "titles": titles, "subject_title": subject_title or {},
                 "unsubscribe_url": unsubscribe_url or ""}
    subject = _render(campaign.content.subject, variables).strip() or GENERIC_SUBJECT
    body = _render(campaign.content.body, variables).strip() or GENERIC_BODY
    return Rendered(subject, body, tuple(t["title_id"] for t in titles), source)


def check_templates(campaign: Campaign) -> None:
    """Raises TemplateError if a template does not parse (at load, before any run)."""
    _ENV.from_string(campaign.content.subject)
    _ENV.from_string(campaign.content.body)


@lru_cache(maxsize=256)
def _template(text: str):
    return _ENV.from_string(text)  # compiling costs ~100x rendering: once per template per process


def _render(template: str, variables: dict) -> str:
    return _template(template).render(**variables)


__all__ = ["Rendered", "TemplateError", "check_templates", "recommendations", "render"]
