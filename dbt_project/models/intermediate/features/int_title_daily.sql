-- depends_on: {{ ref('int_device_rebuild_windows') }}
-- One row per title (movie or series; episodes roll up to their series) per UTC day with any
-- activity: additive measures title features window over. Plays count on the day they ended,
-- other events on their own day.
-- Incremental by day, configured with the other daily aggregates in dbt_project.yml.

{#- the first recomputed day (a SQL date), or none: a full build computes every day -#}
{%- set from_date = recomputed_from_date() if is_incremental() else none %}

with

viewer_days as (

    select * from {{ ref('int_title_viewer_daily') }}
    {%- if from_date %}
    where activity_date >= {{ from_date }}
    {%- endif %}

),

events as (

    select
        content_id,
        occurred_date,
        event_type,
        rating_value
    from {{ ref('events') }}
    where content_id is not null
        {%- if from_date %}
        and occurred_date >= {{ from_date }}
        {%- endif %}
        and event_type in ('add_to_list', 'rating', 'impression', 'click')

),

play_days as (

    select
        title_id,
        activity_date,
        sum(plays) as plays,
        sum(completed_plays) as completed_plays,
        sum(watch_seconds) as watch_seconds
    from viewer_days
    group by title_id, activity_date

),

event_days as (

    select
        content_id as title_id,
        occurred_date as activity_date,
        sum(case when event_type = 'add_to_list' then 1 else 0 end) as list_adds,
        sum(case when event_type = 'rating' and rating_value > 0 then 1 else 0 end) as ratings_up,
        sum(case when event_type = 'rating' and rating_value < 0 then 1 else 0 end) as ratings_down,
        sum(case when event_type = 'impression' then 1 else 0 end) as impressions,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks
    from events
    group by content_id, occurred_date

),

title_days as (

    select title_id, activity_date from play_days
    union
    select title_id, activity_date from event_days

),

final as (

    select
        title_days.title_id,
        title_days.activity_date,
        {{ features_zero_filled('play_days', ['plays', 'completed_plays', 'watch_seconds']) }},
        {{ features_zero_filled('event_days', ['list_adds', 'ratings_up', 'ratings_down', 'impressions', 'clicks']) }}
    from title_days
    {{- features_left_join_on_keys('title_days', ['play_days', 'event_days'], ['title_id', 'activity_date']) }}

)

select * from final
