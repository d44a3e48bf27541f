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

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from messaging.campaigns import Campaign
from streamloop.core.filters import apply_filters, profile_max_maturity, seen_title_ids
from streamloop.core.store import OnlineStore, StoreError
from streamloop.core.store.generations import current, get_versioned, prefix_for

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
VARIABLES = ("profile", "titles", "subject_title", "unsubscribe_url")  # what render() passes to a template
_PURE_GLOBALS = {"range", "dict", "namespace", "cycler", "joiner"}  # not lipsum: it is random
_CACHE_LIMIT = 50_000  # rendered texts kept per process (cleared when full)
_rendered: dict[tuple, str] = {}
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
    """Renders once per distinct value of what the template reads: a template that reads only
    `profile.country` renders once per country, not once per message (a scheduled run renders one
    template for up to millions of profiles)."""
    reads = _reads(template)
    key = _key(template, reads, variables) if reads is not None else None
    if key is None:
        return _template(template).render(**variables)
    text = _rendered.get(key)
    if text is None:
        text = _template(template).render(**variables)
        if len(_rendered) >= _CACHE_LIMIT:
            _rendered.clear()
        _rendered[key] = text
    return text


@lru_cache(maxsize=256)
def _reads(template: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    """Per variable the template reads: the attribute names it reads of it (`profile.country`,
    `profile["plan"]`), or None when it uses the value whole (a loop, a filter, a method). None for the
    template if it reads anything else (a random global), which makes it unsafe to reuse a rendering."""
    ast = _ENV.parse(template)
    if meta.find_undeclared_variables(ast) - set(VARIABLES):
        return None
    loads = [n for n in ast.find_all(nodes.Name) if n.ctx == "load"]
    if any(n.name in _ENV.globals and n.name not in _PURE_GLOBALS for n in loads):
        return None
    attrs: dict[str, set[str]] = {}
    by_attr: dict[str, int] = {}  # loads of a variable that only read a named attribute of it
    for n in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(n.node, nodes.Name) and n.node.name in VARIABLES and (name := _attribute(n)) is not None:
            attrs.setdefault(n.node.name, set()).add(name)
            by_attr[n.node.name] = by_attr.get(n.node.name, 0) + 1
    out = []
    for variable in VARIABLES:
        uses = sum(1 for n in loads if n.name == variable)
        if uses:
            out.append((variable, tuple(sorted(attrs[variable])) if by_attr.get(variable) == uses else None))
    if ("profile", None) in out or any(v == "unsubscribe_url" for v, _ in out):
        return None  # unique per message (the profile id, the token): a cache would only grow
    return tuple(out)


def _attribute(n: nodes.Getattr | nodes.Getitem) -> str | None:
    """`x.name` or `x["name"]` as the name; None for anything else, or a name that is a dict's method."""
    if isinstance(n, nodes.Getattr):
        name = n.attr
    elif isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str):
        name = n.arg.value
    else:
        return None
    return None if hasattr(dict, name) else name


_MISSING = object()


def _key(template: str, reads: tuple, variables: dict) -> tuple | None:
    """The values the template reads, typed (True and 1 render differently); None if one cannot be a key."""
    parts: list = [template]
    for variable, attrs in reads:
        value = variables[variable]
        if attrs is None:
            parts.append(_frozen(value))
        elif isinstance(value, dict):
            parts.append(tuple(_frozen(value.get(a, _MISSING)) for a in attrs))
        else:
            return None
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _frozen(value):
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))  # in order: a loop renders it so
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    if value is _MISSING:
        return ("missing",)
    return (type(value).__name__, value)


__all__ = ["Rendered", "TemplateError", "check_templates", "recommendations", "render"]
