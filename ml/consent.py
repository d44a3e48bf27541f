"""Personalization consent as every ML path reads it: one rule, one reader (docs/privacy.md "Consent").

A profile's personalization decision is the `profile_consents` mart's `consent_personalization` (the
latest `consent_updated` with `purpose: personalization`); a profile with no decision (no row, or a row
with only messaging decisions) follows `STREAMLOOP_PERSONALIZATION_DEFAULT`. The rule is `allows`.

- Publication (ml.publish) writes each profile's decision (`personalization_decisions`); serving applies
  the default to a null.
- Training sets leave out the profiles it does not allow: the recommender's interactions
  (ml.recommend.interactions.load_interactions) filter with `profile_predicate`, churn/LTV's account
  snapshots (ml.account_models.read_account_snapshots) with `account_predicate` — an account's snapshots
  are left out only when none of its profiles allows personalization (household counts, no tastes:
  docs/privacy.md "Consent and training sets" says why).

Predicates are SQL, so a warehouse's rows are filtered where they are (the 10M-event warehouse never loads
a declined profile's plays into memory). They are not correlated subqueries: `column` is the outer
table's plain column name.
"""
from __future__ import annotations

TABLE = "profile_consents"


def _exists(con, table: str) -> bool:
    return bool(con.execute("select 1 from information_schema.tables where table_name = ?", [table]).fetchall())


def _columns(con, table: str) -> set[str]:
    return {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}


def personalization_default(default: bool | None = None) -> bool:
    """`default` if given, else STREAMLOOP_PERSONALIZATION_DEFAULT."""
    if default is not None:
        return bool(default)
    from streamloop.core.settings import get_settings

    return get_settings().personalization_default


def allows(decision: bool | None, default: bool) -> bool:
    """The rule: a recorded decision wins; no decision follows the default."""
    return default if decision is None else bool(decision)


def _has_decisions(con) -> bool:
    return _exists(con, TABLE) and {"profile_id", "consent_personalization"} <= _columns(con, TABLE)


def personalization_decisions(con) -> dict[str, bool | None]:
    """Each profile's latest personalization decision; None: no decision recorded (the default applies)."""
    if not _has_decisions(con):
        return {}
    rows = con.execute(f"select profile_id, consent_personalization from {TABLE}").fetchall()
    return {str(p): None if d is None else bool(d) for p, d in rows if p is not None}


def profile_predicate(con, column: str = "profile_id", default: bool | None = None) -> str | None:
    """SQL condition on `column` (a profile id) keeping the rows of profiles whose personalization is
    allowed; None when it allows every profile. A row with no profile is left out unless everyone is
    allowed (training drops such rows anyway)."""
    default = personalization_default(default)
    if not _has_decisions(con):
        return None if default else "false"
    if default:
        return (f"{column} not in (select profile_id from {TABLE} "
                f"where consent_personalization = false and profile_id is not null)")
    return f"{column} in (select profile_id from {TABLE} where consent_personalization)"


def account_predicate(con, column: str = "account_id", default: bool | None = None) -> str | None:
    """SQL condition on `column` (an account id) keeping accounts with at least one profile whose
    personalization is allowed, and accounts with no profile in `profiles`; None when it keeps all."""
    allowed = profile_predicate(con, "profile_id", default)
    if allowed is None or not _exists(con, "profiles") or not {"profile_id", "account_id"} <= _columns(con, "profiles"):
        return None
    return (f"{column} not in (select account_id from profiles where account_id is not null "
            f"group by account_id having not bool_or(coalesce({allowed}, false)))")
