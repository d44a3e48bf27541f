-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'window:impressed_at'},
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_rows('impressed_at') }}",
    )
}}
{#- One row per impression: was the title clicked (a click with the same request_id and title_id in
    the same session at or after the impression) and played (a play of that title in the same session
    started at or after the click)? A home request is served to one device, so the funnel stays
    within the device's session and is rebuilt with the rebuild windows. -#}

with window_events as (

    -- impressions and clicks of this build's rebuild windows (all of them in a full rebuild)
    select
        event_id,
        event_type,
        device_id,
        session_id,
        profile_id,
        title_id,
        request_id,
        row_id,
        rank,
        propensity,
        model_version,
        occurred_at
    from {{ rebuilt_events() }} as rebuilt_events
    where event_type in ('impression', 'click')

),

impressions as (

    select * from window_events
    where event_type = 'impression'

),

clicks as (

    select
        session_id,
        request_id,
        title_id,
        min(occurred_at) as clicked_at
    from window_events
    where event_type = 'click'
    group by session_id, request_id, title_id

),

plays as (

    select play_id, session_id, title_id, started_at from {{ ref('int_plays_assembled') }}

),

clicked as {{ inlined_cte() }} (

    select
        impressions.*,
        clicks.clicked_at
    from impressions
    left join clicks
        on impressions.session_id = clicks.session_id
        and impressions.request_id = clicks.request_id
        and impressions.title_id = clicks.title_id
        and impressions.occurred_at <= clicks.clicked_at

),

played as (

    select
        clicked.event_id,
        {{ first_by('plays.play_id', ['plays.started_at', 'plays.play_id']) }} as play_id
    from clicked
    inner join plays
        on clicked.session_id = plays.session_id
        and clicked.title_id = plays.title_id
        and clicked.clicked_at <= plays.started_at
    group by clicked.event_id

),

final as (

    select
        clicked.event_id as impression_event_id,
        clicked.request_id,
        clicked.row_id,
        clicked.rank,
        clicked.title_id,
        clicked.profile_id,
        clicked.device_id,
        clicked.session_id,
        clicked.occurred_at as impressed_at,
        clicked.propensity,
        clicked.model_version,
        clicked.clicked_at is not null as is_clicked,
        played.play_id is not null as is_played,
        played.play_id
    from clicked
    left join played
        on clicked.event_id = played.event_id

)

select * from final
