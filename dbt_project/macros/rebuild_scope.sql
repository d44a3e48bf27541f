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
    and the funnel are recomputed from. With whole_days, each device's events from the UTC day of its
    rebuild_from on: what the per-device-day partials (int_profile_device_activity,
    int_account_device_activity) are recomputed from. Reads only the columns a model selects. -#}
{% macro rebuilt_events(whole_days=false) -%}
  (
    select events.*
    from {{ ref('events') }} as events
    inner join {{ ref('int_device_rebuild_windows') }} as windows
        on events.device_id = windows.device_id
        {%- if whole_days %}
        and events.occurred_date >= cast(windows.rebuild_from as date)
        {%- else %}
        and events.occurred_at >= windows.rebuild_from
        {%- endif %}
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

{#- pre_hook of the per-device-day partials: drop each rebuilt device's rows from its rebuild_from's day on -#}
{% macro delete_rebuilt_device_days() %}
  {% if is_incremental() %}
    delete from {{ this }} as target
    using {{ ref('int_device_rebuild_windows') }} as windows
    where windows.device_id = target.device_id
      and target.activity_date >= cast(windows.rebuild_from as date)
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

{#- recommendation_impressions, incremental in two parts (a daily build recomputes the days of its windows
    and refreshes the retention flags of a few weeks, not every row of those weeks):
      - an impression's funnel row, click, play and watch time change only in the rebuild windows (a window
        starts a session, and the funnel and plays stay within a session): the pre_hook drops the rows from
        the first recomputed day on (delete_recomputed_days, as the daily aggregates) and the model
        recomputes them;
      - a kept impression's retention flags change when its profile's active days do (daily_engagement:
        only from the first recomputed day on, so impressions up to 36 days before it, where the 30-day
        window ends) or when the data reach a window still unobserved (a flag still null whose window the
        last active day now reaches): the post_hook recomputes those flags in place.
    Everything when the run rebuilds every device (the windows start at -infinity). -#}
{% macro update_kept_impression_retention() %}
  {% if is_incremental() %}
    {%- set from_date = recomputed_from_date() %}
    update {{ this }} as kept
    set
        is_retained_7d = retention.is_retained_7d,
        is_retained_30d = retention.is_retained_30d
    from (
        {{ impression_retention("(
            select distinct profile_id, impressed_date
            from " ~ this ~ "
            where profile_id is not null
              and impressed_date < coalesce(" ~ from_date ~ ", cast('9999-12-31' as date))
              and (
                  impressed_date >= " ~ from_date ~ " - 37
                  or (is_retained_7d is null and impressed_date + 13 <= (
                      select max(activity_date) from " ~ ref('daily_engagement') ~ "))
                  or (is_retained_30d is null and impressed_date + 36 <= (
                      select max(activity_date) from " ~ ref('daily_engagement') ~ "))
              )
        )") }}
    ) as retention
    where kept.profile_id = retention.profile_id
      and kept.impressed_date = retention.impressed_date
      and (kept.is_retained_7d is distinct from retention.is_retained_7d
           or kept.is_retained_30d is distinct from retention.is_retained_30d)
  {% endif %}
{% endmacro %}

{#- Retention of the (profile_id, impressed_date) pairs of `impression_days` (a relation or subquery): was the
    profile active (daily_engagement) 7–13 and 30–36 days after; null until the last active day reaches the
    window's end. recommendation_impressions and its post_hook both read it. -#}
{% macro impression_retention(impression_days) -%}
    select
        impression_days.profile_id,
        impression_days.impressed_date,
        case when max(last_day.last_activity_date) >= impression_days.impressed_date + 13
                then max(case when active_days.activity_date between impression_days.impressed_date + 7
                        and impression_days.impressed_date + 13 then 1 else 0 end) = 1
        end as is_retained_7d,
        case when max(last_day.last_activity_date) >= impression_days.impressed_date + 36
                then max(case when active_days.activity_date between impression_days.impressed_date + 30
                        and impression_days.impressed_date + 36 then 1 else 0 end) = 1
        end as is_retained_30d
    from {{ impression_days }} as impression_days
    cross join (select max(activity_date) as last_activity_date from {{ ref('daily_engagement') }}) as last_day
    left join (select distinct profile_id, activity_date from {{ ref('daily_engagement') }}) as active_days
        on impression_days.profile_id = active_days.profile_id
        and active_days.activity_date between impression_days.impressed_date + 7 and impression_days.impressed_date + 36
    group by impression_days.profile_id, impression_days.impressed_date
{%- endmacro %}
