-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'window:started_at'},
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_rows('started_at') }}",
    )
}}
{#- One row per session: a run of one device's events with gaps under streamloop_session_gap_minutes.
    Incremental: each run replaces the sessions of the rebuild windows. -#}

with window_events as (

    -- the events of this build's rebuild windows (all of them in a full rebuild)
    select event_id, device_id, session_id, profile_id, account_id, country, device_type, occurred_at
    from {{ rebuilt_events() }} as rebuilt_events

),

plays as (

    select * from {{ ref('int_plays_assembled') }}

),

session_plays as (

    select
        session_id,
        count(*) as play_count,
        cast(sum(watch_seconds) as bigint) as watch_seconds
    from plays
    group by session_id

),

session_events as (

    select
        session_id,
        any_value(device_id) as device_id,
        {{ first_by('profile_id', ['occurred_at', 'event_id']) }} filter (where profile_id is not null) as profile_id,
        {{ first_by('account_id', ['occurred_at', 'event_id']) }} filter (where account_id is not null) as account_id,
        {{ first_by('country', ['occurred_at', 'event_id']) }} as country,
        {{ first_by('device_type', ['occurred_at', 'event_id']) }} as device_type,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count
    from window_events
    group by session_id

),

final as (

    select
        session_events.session_id,
        session_events.device_id,
        session_events.profile_id,
        session_events.account_id,
        session_events.started_at,
        session_events.ended_at,
        {{ seconds_between('session_events.started_at', 'session_events.ended_at') }} as duration_seconds,
        session_events.event_count,
        coalesce(session_plays.play_count, 0) as play_count,
        coalesce(session_plays.watch_seconds, 0) as watch_seconds,
        session_events.country,
        session_events.device_type
    from session_events
    left join session_plays
        on session_events.session_id = session_plays.session_id

)

select * from final
