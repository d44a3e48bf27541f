-- shown in Dagster as a check of daily_engagement (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'daily_engagement'}}}) }}
-- daily_engagement and the feature tables share int_profile_daily; its totals must equal the
-- `plays` mart's (plays with a profile, by the UTC day they ended): nothing lost or doubled.

with

engagement as (

    select sum(plays) as plays, sum(watch_seconds) as watch_seconds, sum(completed_plays) as completed_plays
    from {{ ref('daily_engagement') }}

),

plays as (

    select
        count(*) as plays,
        coalesce(sum(watch_seconds), 0) as watch_seconds,
        sum(case when is_completed then 1 else 0 end) as completed_plays
    from {{ ref('plays') }}
    where profile_id is not null

)

select engagement.*, plays.plays as mart_plays, plays.watch_seconds as mart_watch_seconds
from engagement
cross join plays
where coalesce(engagement.plays, 0) <> plays.plays
    or coalesce(engagement.watch_seconds, 0) <> plays.watch_seconds
    or coalesce(engagement.completed_plays, 0) <> coalesce(plays.completed_plays, 0)
