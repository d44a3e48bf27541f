-- depends_on: {{ ref('int_events_received') }}
{# One row per device whose events this run recomputes, with `rebuild_from`: the device's events
    from then on are re-stitched, re-sessionized and replaced in the marts.

    rebuild_from is the start of the session containing the earliest of
      - the device's earliest new or changed event (late events land anywhere in the past; an
        event changes when its accepted copy does), and
      - for a new login/profile_switch L, the earliest event before it whose stitching L can change:
        L becomes the next login of the events after the previous login/profile_switch P, and only
        two kinds of them read their next login (CONTRACT §3): events after a logout (resolved
        retroactively) and explicit events without an account (their account may come from it).
        So: the first logout or account-less explicit event from P on; none: L itself; no P: the
        device's first event. Events between P and L resolved forward to P keep P.
    Sessions end at a gap of streamloop_session_gap_minutes, so nothing before that session start can change.
    The session start is searched within streamloop_lookback_days before that moment (the span's first event
    starts a session when it lies a whole gap after the span's start: its predecessor is earlier
    still); a device with no session start in that span is rebuilt from its first event (exact,
    only slower).
    A full rebuild (see needs_full_rebuild) lists every device with rebuild_from = -infinity. #}

{% set full_rebuild = needs_full_rebuild() %}

{#- inlined: read by four steps, each of which filters it to the changed devices (materialized, all
    10.8M rows of the 10M set were copied first: 2.1 → 1.0 CPU-s) -#}
with deduplicated as {{ inlined_cte() }} (

    select device_id, event_id, record_key, event_type, occurred_at, profile_id, account_id
    from {{ ref('int_events_deduplicated') }}

),

{%- if full_rebuild %}

windows as (

    select distinct
        device_id,
        {{ timestamp_minus_infinity() }} as rebuild_from
    from deduplicated

)

{%- else %}

new_records as (

    select record_key
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
    -- changed events: those whose accepted copy was staged by this run. A new copy of a known
    -- event can only win if it is earlier than the accepted one (then it is accepted now); a later
    -- copy (a retried delivery) changes nothing, so it does not reopen the device's past
    from deduplicated
    inner join new_records
        on deduplicated.record_key = new_records.record_key
    group by deduplicated.device_id

),

device_history as (

    select
        device_changes.device_id,
        any_value(device_changes.earliest_changed_at) as earliest_changed_at,
        any_value(device_changes.earliest_changed_login_at) as earliest_changed_login_at,
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

restitchable as (

    -- logouts and account-less explicit events from the previous login on (few): the events a new
    -- login can re-resolve start at the first of them (at the same instant as P: kept, to be safe)
    select
        device_history.device_id,
        min(deduplicated.occurred_at) as first_restitchable_at
    from device_history
    inner join deduplicated
        on device_history.device_id = deduplicated.device_id
        and deduplicated.occurred_at >= device_history.previous_login_at
        and deduplicated.occurred_at < device_history.earliest_changed_login_at
    where deduplicated.event_type = 'logout'
       or (deduplicated.event_type not in {{ identity_event_types_sql() }}
           and deduplicated.profile_id is not null and deduplicated.account_id is null)
    group by device_history.device_id

),

anchors as (

    select
        device_history.device_id,
        device_history.first_event_at,
        least(
            device_history.earliest_changed_at,
            case
                when device_history.earliest_changed_login_at is null then null
                when device_history.previous_login_at is null then device_history.first_event_at
                else coalesce(restitchable.first_restitchable_at, device_history.earliest_changed_login_at)
            end
        ) as anchor_at
    from device_history
    left join restitchable
        on device_history.device_id = restitchable.device_id

),

events_before_anchor as (

    select
        anchors.device_id,
        anchors.first_event_at,
        deduplicated.occurred_at,
        -- the first event of the span follows an event before the span's start (or none)
        coalesce(
            lag(deduplicated.occurred_at) over (
                partition by deduplicated.device_id
                order by deduplicated.occurred_at
            ),
            anchors.anchor_at - interval {{ var('streamloop_lookback_days') }} day
        ) as previous_event_no_later_than
    from anchors
    inner join deduplicated
        on anchors.device_id = deduplicated.device_id
        and deduplicated.occurred_at <= anchors.anchor_at
        and deduplicated.occurred_at >= anchors.anchor_at - interval {{ var('streamloop_lookback_days') }} day

),

windows as (

    select
        anchors.device_id,
        coalesce(
            max(events_before_anchor.occurred_at) filter (
                where events_before_anchor.occurred_at = events_before_anchor.first_event_at
                   or events_before_anchor.occurred_at - events_before_anchor.previous_event_no_later_than
                      >= interval {{ var('streamloop_session_gap_minutes') }} minute
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
