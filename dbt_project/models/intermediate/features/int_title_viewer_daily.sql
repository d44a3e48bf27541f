-- depends_on: {{ ref('int_device_rebuild_windows') }}
-- depends_on: {{ ref('int_feature_replaced_plays') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_keys(title_viewer_changed_keys(),
                                         ['title_id', 'viewer_id', 'activity_date', 'country']) }}",
    )
}}
-- One row per title per viewer per UTC day per country: plays of a movie or series (an episode
-- counts toward its series) by one viewer. The viewer is the profile, or the device for plays no
-- profile could be resolved for. Kept at viewer grain so windows can count unique viewers, which
-- are not additive over days. Plays count on the day they ended.
-- Incremental: only the keys of replaced or rebuilt plays are recomputed (macros/features/feature_increments.sql).

{%- set in_full = feature_daily_in_full() %}

with

plays as (

    select
        content_id,
        {{ title_viewer_key_columns() }},
        watch_seconds,
        is_completed
    from {{ ref('plays') }}
    where content_id is not null

),

{%- if not in_full %}

changed_keys as (

    {{ title_viewer_changed_keys() }}

),

{%- endif %}

final as (

    select
        plays.content_id as title_id,
        plays.viewer_id,
        plays.activity_date,
        plays.country,
        cast(count(*) as bigint) as plays,
        cast(sum(case when plays.is_completed then 1 else 0 end) as bigint) as completed_plays,
        cast(sum(plays.watch_seconds) as bigint) as watch_seconds
    from plays
    {%- if not in_full %}
    inner join changed_keys
        on plays.content_id = changed_keys.title_id
        and plays.viewer_id = changed_keys.viewer_id
        and plays.activity_date is not distinct from changed_keys.activity_date
        and plays.country = changed_keys.country
    {%- endif %}
    group by plays.content_id, plays.viewer_id, plays.activity_date, plays.country

)

select * from final
