{#- Shared pieces of the incremental design (docs/architecture.md "Incremental builds that equal a
    full refresh"). -#}


{#- event types that name a profile on the device (logout does not) -#}
{% macro login_event_types_sql() -%}('login', 'profile_switch'){%- endmacro %}
{% macro identity_event_types_sql() -%}('login', 'profile_switch', 'logout'){%- endmacro %}

{#- The one order of a device's events: time, identity events first among simultaneous events (a
    login applies to what happens at the same instant), then event_id so ties are deterministic. -#}
{% macro device_event_order(prefix='') -%}
  {{ prefix }}occurred_at, case when {{ prefix }}event_type in {{ identity_event_types_sql() }} then 0 else 1 end, {{ prefix }}event_id
{%- endmacro %}

{#- Marts rebuilt from the rebuild windows: the relations that must exist for an incremental run -#}
{% macro window_marts() -%}
  {{ return(['events', 'sessions', 'plays', 'impression_funnel']) }}
{%- endmacro %}

{#- True when this run must rebuild every device from its first event: a full refresh (--full-refresh,
    or the model's full_refresh config, always on Spark), no build
    state yet, a window mart missing, or a catalog change (is_title_in_catalog and content_id of
    past events depend on it). -#}
{% macro needs_full_rebuild() %}
  {%- set catalog_ledger = ref('int_catalog_received') -%}
  {% if not execute or should_full_refresh() %}{{ return(true) }}{% endif %}
  {% set watermark = build_watermark() %}
  {% if watermark is none %}{{ return(true) }}{% endif %}
  {% for name in window_marts() %}
    {% if adapter.get_relation(database=target_database(), schema=target.schema, identifier=name) is none %}
      {{ return(true) }}
    {% endif %}
  {% endfor %}
  {% set catalog_changes = run_query("select count(*) from " ~ catalog_ledger ~ " where _staged_at > cast('" ~ watermark ~ "' as timestamp)") %}
  {{ return(catalog_changes.columns[0].values()[0] > 0) }}
{% endmacro %}

{#- pre_hook of the window marts: drop the rows this run recomputes (a device's rows from its
    rebuild_from on); `time_column` is the mart's time of the row's first event -#}
{% macro delete_rebuilt_rows(time_column) %}
  {% if is_incremental() %}
    {{ adapter.dispatch('delete_rebuilt_rows', 'streamloop')(time_column) }}
  {% endif %}
{% endmacro %}

{#- A join, not a correlated `exists`: DuckDB decorrelates `exists (… device_id = … and time >= …)`
    by grouping every (device_id, time) pair of the mart, ~2.5 CPU-s at 10M events even when no
    device is rebuilt; `using` hash-joins the (few) windows instead, ~0.04 CPU-s. -#}
{% macro default__delete_rebuilt_rows(time_column) %}
    delete from {{ this }} as target
    using {{ ref('int_device_rebuild_windows') }} as windows
    where windows.device_id = target.device_id
      and target.{{ time_column }} >= windows.rebuild_from
{% endmacro %}

{#- Spark has no `delete … using` (and rebuilds incremental models in full, so this rarely runs) -#}
{% macro spark__delete_rebuilt_rows(time_column) %}
    delete from {{ this }} as target
    where exists (
        select 1
        from {{ ref('int_device_rebuild_windows') }} as windows
        where windows.device_id = target.device_id
          and target.{{ time_column }} >= windows.rebuild_from
    )
{% endmacro %}

{#- The events mart's rows that this run rebuilt (every row in a full rebuild): what sessions, plays
    and the funnel are recomputed from. Reads only the columns a model selects. -#}
{% macro rebuilt_events() -%}
  (
    select events.*
    from {{ ref('events') }} as events
    inner join {{ ref('int_device_rebuild_windows') }} as windows
        on events.device_id = windows.device_id
        and events.occurred_at >= windows.rebuild_from
  )
{%- endmacro %}

{#- The first UTC day whose daily aggregates (the feature layer's int_*_daily models) this run can
    change, as a SQL date literal: the earliest rebuild window's day. Events count on their own day,
    plays and sessions on the day they end, and a rebuilt (or replaced) play or session starts at or
    after its device's rebuild_from (a window starts at a session start), so no earlier day changes,
    whichever profile a re-stitched event moves from or to. `cast(null as date)` when no device is
    rebuilt: every comparison with it is false, nothing is deleted or recomputed. Read once at compile
    time, so DuckDB can skip row groups by their min/max. -#}
{% macro recomputed_from_date() %}
  {% if not execute %}{{ return("cast(null as date)") }}{% endif %}
  {% set result = run_query("select cast(cast(min(rebuild_from) as date) as varchar) from "
                            ~ ref('int_device_rebuild_windows')) %}
  {% set day = result.columns[0].values()[0] %}
  {{ return("cast(null as date)" if day is none else "cast('" ~ day ~ "' as date)") }}
{% endmacro %}

{#- pre_hook of the daily aggregates: drop the days this run recomputes (recomputed_from_date on) -#}
{% macro delete_recomputed_days(date_column='activity_date') %}
  {% if is_incremental() %}
    delete from {{ this }} where {{ date_column }} >= {{ recomputed_from_date() }}
  {% endif %}
{% endmacro %}

{#- pre_hook of per-device incremental models: drop the rows of the devices this run recomputes -#}
{% macro delete_rebuilt_devices() %}
  {% if is_incremental() %}
    delete from {{ this }}
    where {{ in_rebuilt_devices() }}
  {% endif %}
{% endmacro %}

{#- The condition "the row's device is in this run's rebuild windows": per-device models recompute
    only those devices when incremental -#}
{% macro in_rebuilt_devices() -%}
  device_id in (select device_id from {{ ref('int_device_rebuild_windows') }})
{%- endmacro %}

{#- pre_hook of recommendation_impressions: drop its rows from the first impression date that this run
    can change; the model recomputes every impression after the last date kept. What can change:
      - an impression's funnel row, click or play: only in the rebuild windows (a window starts a session,
        and the funnel and plays stay within a session);
      - a profile's active days (daily_engagement): only from the earliest window's day on (sessions and
        plays count on the day they end, never before they start), so the retention of impressions up
        to 36 days before it (where the 30-day window ends), with a day of margin;
      - a retention flag still null whose window the data now reach (the last active day, as the model
        reads it, is at least 13 / 36 days after the impression).
    Everything when the run rebuilds every device (needs_full_rebuild). -#}
{% macro delete_recomputed_impressions() %}
  {% if is_incremental() %}
    delete from {{ this }}
    {%- if not needs_full_rebuild() %}
    where impressed_date >= (
        with last_activity as (
            select max(activity_date) as last_day from {{ ref('daily_engagement') }}
        )
        select min(from_date)
        from (
            select cast(min(rebuild_from) as date) - 37 as from_date
            from {{ ref('int_device_rebuild_windows') }}
            union all
            select min(impressed_date) as from_date
            from {{ this }}
            where profile_id is not null
              and (
                  (is_retained_7d is null and impressed_date + 13 <= (select last_day from last_activity))
                  or (is_retained_30d is null and impressed_date + 36 <= (select last_day from last_activity))
              )
        ) as bounds
    )
    {%- endif %}
  {% endif %}
{% endmacro %}
