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
{#- One row per play (CONTRACT §3). Incremental: each run replaces the plays of the rebuild windows. -#}

with plays as (

    select * from {{ ref('int_plays_assembled') }}

),

titles as (

    select title_id, content_id from {{ ref('titles') }}

),

final as (

    select
        plays.play_id,
        plays.device_id,
        plays.profile_id,
        plays.account_id,
        plays.session_id,
        plays.title_id,
        coalesce(titles.content_id, plays.title_id) as content_id,
        plays.started_at,
        plays.ended_at,
        plays.play_date,
        plays.watch_seconds,
        plays.max_position_s,
        plays.duration_s,
        plays.is_completed,
        plays.end_reason,
        plays.country,
        plays.device_type,
        titles.title_id is not null as is_title_in_catalog
    from plays
    left join titles
        on plays.title_id = titles.title_id

)

select * from final
