-- depends_on: {{ ref('int_device_rebuild_windows') }}
-- One row per title per viewer per UTC day per country: plays of a movie or series (an episode
-- counts toward its series) by one viewer. The viewer is the profile, or the device for plays no
-- profile could be resolved for. Kept at viewer grain so windows can count unique viewers, which
-- are not additive over days. Plays count on the day they ended.
-- Incremental by day, configured with the other daily aggregates in dbt_project.yml.

{#- the first recomputed day (a SQL date), or none: a full build computes every day -#}
{%- set from_date = recomputed_from_date() if is_incremental() else none %}

with

plays as (

    select
        content_id,
        coalesce(profile_id, 'device:' || device_id) as viewer_id,
        cast(ended_at as date) as activity_date,
        coalesce(country, 'ZZ') as country,
        watch_seconds,
        is_completed
    from {{ ref('plays') }}
    where content_id is not null
    {%- if from_date %}
        and cast(ended_at as date) >= {{ from_date }}
    {%- endif %}

),

final as (

    select
        content_id as title_id,
        viewer_id,
        activity_date,
        country,
        cast(count(*) as bigint) as plays,
        cast(sum(case when is_completed then 1 else 0 end) as bigint) as completed_plays,
        cast(sum(watch_seconds) as bigint) as watch_seconds
    from plays
    group by content_id, viewer_id, activity_date, country

)

select * from final
