-- a recount of whole tables, which only a logic change can break: whole-table builds run it (the nightly
-- schedule, --whole-table-tests, --full-refresh), a daily build leaves it out (orchestration/dbt_runner.py)
-- shown in Dagster as a check of daily_engagement (it reads several models)
{{ config(tags=['whole_table_only'], meta={'dagster': {'ref': {'name': 'daily_engagement'}}}) }}
-- daily_engagement and the feature tables share int_profile_daily; for every profile and UTC day, its
-- plays, watch time and completed plays equal a recount of the `plays` mart (plays with a profile, by
-- the UTC day they ended): nothing lost, doubled or moved to another day or profile.

with

engagement as (

    select profile_id, activity_date, plays, watch_seconds, completed_plays
    from {{ ref('daily_engagement') }}
    where coalesce(plays, 0) > 0

),

recount as (

    select
        profile_id,
        cast(ended_at as date) as activity_date,
        count(*) as plays,
        coalesce(sum(watch_seconds), 0) as watch_seconds,
        sum(case when is_completed then 1 else 0 end) as completed_plays
    from {{ ref('plays') }}
    where profile_id is not null
    group by profile_id, cast(ended_at as date)

)

select
    coalesce(engagement.profile_id, recount.profile_id) as profile_id,
    coalesce(engagement.activity_date, recount.activity_date) as activity_date,
    engagement.plays,
    recount.plays as mart_plays,
    engagement.watch_seconds,
    recount.watch_seconds as mart_watch_seconds,
    engagement.completed_plays,
    recount.completed_plays as mart_completed_plays
from engagement
full outer join recount
    on engagement.profile_id = recount.profile_id
    and engagement.activity_date = recount.activity_date
where engagement.plays is distinct from recount.plays
    or engagement.watch_seconds is distinct from recount.watch_seconds
    or engagement.completed_plays is distinct from recount.completed_plays
