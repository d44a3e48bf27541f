"""Message content: the profile's recommendations after serving's filters, and the documented fallbacks."""
from __future__ import annotations

from support.messaging import campaign

from messaging.content import GENERIC_BODY, render
from streamloop.core.store.sqlite import SQLiteStore

TEMPLATE = {"subject": "{% if titles %}{{ titles[0].name }} is waiting{% endif %}",
            "body": "{% if titles %}{% for t in titles %}{{ t.title_id }} {% endfor %}{% endif %}",
            "recommendations": 2}


def title(name, kind="movie", rating="13+", countries=("*",)):
    return {"name": name, "kind": kind, "maturity_rating": rating, "available_countries": list(countries)}


def seeded(tmp_path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "online.sqlite")
    store.put_many("title", {"t_us_only": title("US only", countries=["US"]), "t_adult": title("Adult", rating="18+"),
                             "t_seen": title("Seen"), "t_ok": title("Fine"), "t_ok2": title("Also fine"),
                             "t_pop": title("Popular", rating="all")})
    store.put("candidates", "p1", {"model_version": "1", "items": [["t_us_only", 0.9], ["t_adult", 0.8],
                                                                   ["t_seen", 0.7], ["t_ok", 0.6], ["t_ok2", 0.5]]})
    store.put("state", "p1", {"completed": [{"title_id": "t_seen", "kind": "movie", "at": 1}]})
    store.put("lists", "popular", {"generated_at": "x", "items": [["t_adult", 1.0], ["t_pop", 0.9]]})
    return store


def test_recommendations_pass_serving_filters(tmp_path):
    store = seeded(tmp_path)
    c = campaign(content=TEMPLATE)
    # a German 13+ profile that completed t_seen: not the US-only title, not the 18+ one, not the seen movie
    rendered = render(c, {"profile_id": "p1", "country": "DE", "maturity_rating": "13+"}, store)
    assert rendered.title_ids == ("t_ok", "t_ok2") and rendered.source == "candidates"
    assert rendered.subject == "Fine is waiting" and rendered.body == "t_ok t_ok2"
    # a US adult gets the first two ranked titles
    assert render(c, {"profile_id": "p1", "country": "US", "maturity_rating": "18+"}, store).title_ids == (
        "t_us_only", "t_adult")


def test_fallbacks_popular_then_generic_text_never_empty(tmp_path):
    store = seeded(tmp_path)
    c = campaign(content=TEMPLATE)
    # no candidates: the filtered popular list (a kids profile without a rating is 7+: not the 18+ title)
    popular = render(c, {"profile_id": "p_new", "country": "DE", "is_kids": True}, store)
    assert popular.title_ids == ("t_pop",) and popular.source == "popular"
    # no store at all: the template's empty branches render nothing, the generic text is sent instead
    empty = render(c, {"profile_id": "p_new", "country": "DE"}, None)
    assert empty.title_ids == () and empty.source == "none"
    assert empty.subject == "Something new to watch" and empty.body == GENERIC_BODY


def test_content_reads_the_current_publication_and_never_offers_a_finished_series(tmp_path):
    # GIVEN a publication that wrote its values under generations (ml/publish.py), and a profile that
    # finished the last episode of series s1 (real-time) and, per the warehouse, movie t_old
    from streamloop.core.store.generations import flip, versioned

    store = SQLiteStore(tmp_path / "online.sqlite")
    store.put_many("title", {versioned("w1", k): v for k, v in {
        "s1": title("Series", kind="series") | {"last_episode_id": "e9"}, "t_old": title("Old"),
        "t_new": title("New")}.items()})
    store.put("profile", versioned("w1", "p1"), {"account_id": "a1", "finished_title_ids": ["t_old"]})
    store.put("candidates", versioned("m1", "p1"), {"model_version": "1",
                                                    "items": [["s1", 0.9], ["t_old", 0.8], ["t_new", 0.7]]})
    store.put("state", "p1", {"completed": [{"title_id": "e9", "kind": "episode", "series_id": "s1", "at": 1}]})
    flip(store, warehouse="w1", model="m1")
    # WHEN a message is rendered for it THEN it offers the published titles, minus what it has seen
    rendered = render(campaign(content=TEMPLATE), {"profile_id": "p1", "country": "US"}, store)
    assert rendered.source == "candidates" and rendered.title_ids == ("t_new",)
    assert rendered.subject == "New is waiting"


def test_a_rendering_is_reused_only_for_the_same_values_the_template_reads():
    # GIVEN templates that read parts of the profile, whole variables, dict methods, a random global
    from jinja2 import UndefinedError

    from messaging import content

    templates = ["{{ profile.country }}: new", "{{ profile['plan'] }} {{ profile.is_kids }}",
                 "{% for k in subject_title %}{{ k }}{% endfor %}", "{{ profile.keys() | list | length }}",
                 "{{ profile.items() | list | length }} {{ profile.country }}", "{{ lipsum(1) | length > 0 }}",
                 "{% for t in titles %}{{ t.name }}{% endfor %}{{ profile.missing }}", "{{ unsubscribe_url }}"]
    profiles = [{"profile_id": f"p{i}", "country": ["US", "DE"][i % 2], "plan": "basic", "is_kids": [True, 1][i % 2],
                 **({"extra": i} if i % 3 == 0 else {})} for i in range(12)]
    titles = [[], [{"title_id": "t1", "name": "One"}]]
    subjects = [{"a": 1, "b": 2}, {"b": 2, "a": 1}]
    # WHEN each is rendered through the cache for every combination THEN it equals a fresh rendering
    for template in templates:
        for i, profile in enumerate(profiles):
            variables = {"profile": profile, "titles": titles[i % 2], "subject_title": subjects[i % 2],
                         "unsubscribe_url": f"u{i}"}
            try:
                expected = content._template(template).render(**variables)
            except UndefinedError:
                try:
                    content._render(template, variables)
                except UndefinedError:
                    continue
                raise AssertionError(f"{template!r} rendered where a fresh rendering fails")
            assert content._render(template, variables) == expected, (template, profile)
    # a template that reads only the country renders once per country
    assert content._reads("{{ profile.country }}: new") == (("profile", ("country",)),)
    assert content._reads("{{ profile.keys() }}") is None and content._reads("{{ lipsum() }}") is None
    content._rendered.clear()
    for profile in profiles:
        content._render("{{ profile.country }}!", {"profile": profile, "titles": [], "subject_title": {},
                                                   "unsubscribe_url": ""})
    assert sorted(content._rendered.values()) == ["DE!", "US!"]
