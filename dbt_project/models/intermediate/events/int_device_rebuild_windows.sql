-- depends_on: {{ ref('int_events_received') }}
{# One row per device whose events this run recomputes, with `rebuild_from`: the device's events
    from then on are re-stitched, re-sessionized and replaced in the marts.

    rebuild_from is the start of the session containing the earliest of
      - the device's earliest new or changed event (late events land anywhere in the past), and
      - for a new login/profile_switch, the device's previous login/profile_switch (the events in
        between may now resolve retroactively to the new login) or its first event if none.
    Sessions end at a gap of session_gap_minutes, so nothing before that session start can change.
    The session start is searched within lookback_days before that moment; a device with no gap in
    that span is rebuilt from its first event (exact, only slower).
    A full rebuild (see needs_full_rebuild) lists every device with rebuild_from = -infinity. #}

{% set full_rebuild = needs_full_rebuild() %}

with deduplicated as (

    select device_id, event_id, event_type, occurred_at
    from {{ ref('int_events_deduplicated') }}

),

{%- if full_rebuild %}

windows as (

    select distinct
        device_id,
        cast('-infinity' as timestamp) as rebuild_from
    from deduplicated

)

{%- else %}

changed_event_ids as (

    select distinct event_id
    from {{ ref('int_events_received') }}
    where is_valid and {{ staged_since_watermark() }}

),

device_changes as (

    select
        deduplicated.device_id,
        min(deduplicated.occurred_at) as earliest_changed_at,
        min(deduplicated.occurred_at) filter (
            where deduplicated.event_type in {{ login_event_types_sql() }}
        ) as earliest_changed_login_at
    from deduplicated
    inner join changed_event_ids
        on deduplicated.event_id = changed_event_ids.event_id
    group by deduplicated.device_id

),

device_history as (

    select
        device_changes.device_id,
        min(deduplicated.occurred_at) as first_event_at,
        max(deduplicated.occurred_at) filter (
            where deduplicated.event_type in {{ login_event_types_sql() }}
              and deduplicated.occurred_at < device_changes.earliest_changed_login_at
        ) as previous_login_at
    from device_changes
    inner join deduplicated
        on device_changes.device_id = deduplicated.device_id
    group by device_changes.device_id

),

anchors as (

    select
        device_changes.device_id,
        device_history.first_event_at,
        least(
            device_changes.earliest_changed_at,
            case
                when device_changes.earliest_changed_login_at is not null
                    then coalesce(device_history.previous_login_at, device_history.first_event_at)
            end
        ) as anchor_at
    from device_changes
    inner join device_history
        on device_changes.device_id = device_history.device_id

),

events_before_anchor as (

    select
        anchors.device_id,
        anchors.first_event_at,
        deduplicated.occurred_at,
        lag(deduplicated.occurred_at) over (
            partition by deduplicated.device_id
            order by deduplicated.occurred_at
        ) as previous_occurred_at
    from anchors
    inner join deduplicated
        on anchors.device_id = deduplicated.device_id
        and deduplicated.occurred_at <= anchors.anchor_at
        and deduplicated.occurred_at >= anchors.anchor_at - interval {{ var('lookback_days') }} day

),

windows as (

    select
        anchors.device_id,
        coalesce(
            max(events_before_anchor.occurred_at) filter (
                where events_before_anchor.occurred_at = events_before_anchor.first_event_at
                   or events_before_anchor.occurred_at - events_before_anchor.previous_occurred_at
                      >= interval {{ var('session_gap_minutes') }} minute
            ),
            anchors.first_event_at
        ) as rebuild_from
    from anchors
    left join events_before_anchor
        on anchors.device_id = events_before_anchor.device_id
    group by anchors.device_id, anchors.first_event_at

)

{%- endif %}

select * from windows
