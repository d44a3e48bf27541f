-- One row per profile per UTC day with any activity: the additive daily measures profile features
-- and daily_engagement are windowed sums of.
-- Day attribution keeps the point-in-time rule exact at day level: event counts use the event's
-- own day; a play or session counts on the day it *ended*, so a snapshot at d (which sums days
-- before d) only sees plays and sessions whose every event happened before d.

with

events as (

    select
        profile_id,
        occurred_at,
        occurred_date,
        event_type,
        device_type,
        timezone
    from {{ ref('events') }}
    where profile_id is not null
      and event_type in (
          'play_start', 'search', 'add_to_list', 'remove_from_list', 'rating', 'impression', 'click'
      )

),

plays as (

    select
        profile_id,
        session_id,
        title_id,
        content_id,
        cast(ended_at as date) as activity_date,
        watch_seconds,
        is_completed
    from {{ ref('plays') }}
    where profile_id is not null

),

sessions as (

    select
        profile_id,
        cast(ended_at as date) as activity_date,
        duration_seconds
    from {{ ref('sessions') }}
    where profile_id is not null

),

profiles as (

    select profile_id, account_id from {{ ref('profiles') }}

),

play_starts_local as (

    -- time of day in the viewer's own timezone (the device's, as sent with the event)
    select
        profile_id,
        occurred_date as activity_date,
        device_type,
        {{ features_local_timestamp('occurred_at', "coalesce(timezone, 'UTC')") }} as local_started_at
    from events
    where event_type = 'play_start'

),

event_days as (

    select
        profile_id,
        occurred_date as activity_date,
        sum(case when event_type = 'search' then 1 else 0 end) as searches,
        sum(case when event_type = 'add_to_list' then 1 else 0 end) as list_adds,
        sum(case when event_type = 'remove_from_list' then 1 else 0 end) as list_removes,
        sum(case when event_type = 'rating' then 1 else 0 end) as ratings,
        sum(case when event_type = 'impression' then 1 else 0 end) as impressions,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks
    from events
    where event_type <> 'play_start'
    group by profile_id, occurred_date

),

play_start_days as (

    select
        profile_id,
        activity_date,
        count(*) as play_starts,
        sum(case when extract(hour from local_started_at) between 6 and 11 then 1 else 0 end) as play_starts_morning,
        sum(case when extract(hour from local_started_at) between 12 and 17 then 1 else 0 end) as play_starts_afternoon,
        sum(case when extract(hour from local_started_at) between 18 and 23 then 1 else 0 end) as play_starts_evening,
        sum(case when extract(hour from local_started_at) between 0 and 5 then 1 else 0 end) as play_starts_night,
        sum(case when {{ features_is_weekend('local_started_at') }} then 1 else 0 end) as play_starts_weekend,
        sum(case when device_type = 'tv' then 1 else 0 end) as play_starts_tv,
        sum(case when device_type = 'mobile' then 1 else 0 end) as play_starts_mobile,
        sum(case when device_type = 'web' then 1 else 0 end) as play_starts_web,
        sum(case when device_type = 'tablet' then 1 else 0 end) as play_starts_tablet,
        sum(case when device_type = 'console' then 1 else 0 end) as play_starts_console
    from play_starts_local
    group by profile_id, activity_date

),

play_days as (

    select
        profile_id,
        activity_date,
        count(*) as plays,
        sum(watch_seconds) as watch_seconds,
        sum(case when is_completed then 1 else 0 end) as completed_plays,
        count(distinct content_id) as distinct_titles
    from plays
    group by profile_id, activity_date

),

series_runs_in_sessions as (

    -- distinct episodes of one series a profile played within one session
    select
        profile_id,
        session_id,
        max(activity_date) as activity_date,
        count(distinct case when title_id <> content_id then title_id end) as episodes
    from plays
    group by profile_id, session_id, content_id

),

watch_sessions as (

    -- a binge session: at least 3 episodes of one series; the session counts on its last play's day
    select
        profile_id,
        session_id,
        max(activity_date) as activity_date,
        max(episodes) >= 3 as is_binge
    from series_runs_in_sessions
    group by profile_id, session_id

),

watch_session_days as (

    select
        profile_id,
        activity_date,
        count(*) as watch_sessions,
        sum(case when is_binge then 1 else 0 end) as binge_sessions
    from watch_sessions
    group by profile_id, activity_date

),

session_days as (

    select
        profile_id,
        activity_date,
        count(*) as sessions,
        sum(duration_seconds) as session_seconds
    from sessions
    group by profile_id, activity_date

),

profile_days as (

    select profile_id, activity_date from event_days
    union
    select profile_id, activity_date from play_start_days
    union
    select profile_id, activity_date from play_days
    union
    select profile_id, activity_date from session_days

),

final as (

    select
        -- ids
        profile_days.profile_id,
        profiles.account_id,
        profile_days.activity_date,

        -- sessions
        cast(coalesce(session_days.sessions, 0) as bigint) as sessions,
        cast(coalesce(session_days.session_seconds, 0) as bigint) as session_seconds,
        cast(coalesce(watch_session_days.watch_sessions, 0) as bigint) as watch_sessions,
        cast(coalesce(watch_session_days.binge_sessions, 0) as bigint) as binge_sessions,

        -- plays
        cast(coalesce(play_days.plays, 0) as bigint) as plays,
        cast(coalesce(play_days.watch_seconds, 0) as bigint) as watch_seconds,
        cast(coalesce(play_days.completed_plays, 0) as bigint) as completed_plays,
        cast(coalesce(play_days.distinct_titles, 0) as bigint) as distinct_titles,

        -- play starts by local time of day and device
        cast(coalesce(play_start_days.play_starts, 0) as bigint) as play_starts,
        cast(coalesce(play_start_days.play_starts_morning, 0) as bigint) as play_starts_morning,
        cast(coalesce(play_start_days.play_starts_afternoon, 0) as bigint) as play_starts_afternoon,
        cast(coalesce(play_start_days.play_starts_evening, 0) as bigint) as play_starts_evening,
        cast(coalesce(play_start_days.play_starts_night, 0) as bigint) as play_starts_night,
        cast(coalesce(play_start_days.play_starts_weekend, 0) as bigint) as play_starts_weekend,
        cast(coalesce(play_start_days.play_starts_tv, 0) as bigint) as play_starts_tv,
        cast(coalesce(play_start_days.play_starts_mobile, 0) as bigint) as play_starts_mobile,
        cast(coalesce(play_start_days.play_starts_web, 0) as bigint) as play_starts_web,
        cast(coalesce(play_start_days.play_starts_tablet, 0) as bigint) as play_starts_tablet,
        cast(coalesce(play_start_days.play_starts_console, 0) as bigint) as play_starts_console,

        -- discovery
        cast(coalesce(event_days.searches, 0) as bigint) as searches,
        cast(coalesce(event_days.list_adds, 0) as bigint) as list_adds,
        cast(coalesce(event_days.list_removes, 0) as bigint) as list_removes,
        cast(coalesce(event_days.ratings, 0) as bigint) as ratings,
        cast(coalesce(event_days.impressions, 0) as bigint) as impressions,
        cast(coalesce(event_days.clicks, 0) as bigint) as clicks

    from profile_days
    left join profiles
        on profile_days.profile_id = profiles.profile_id
    left join event_days
        on profile_days.profile_id = event_days.profile_id
        and profile_days.activity_date = event_days.activity_date
    left join play_start_days
        on profile_days.profile_id = play_start_days.profile_id
        and profile_days.activity_date = play_start_days.activity_date
    left join play_days
        on profile_days.profile_id = play_days.profile_id
        and profile_days.activity_date = play_days.activity_date
    left join watch_session_days
        on profile_days.profile_id = watch_session_days.profile_id
        and profile_days.activity_date = watch_session_days.activity_date
    left join session_days
        on profile_days.profile_id = session_days.profile_id
        and profile_days.activity_date = session_days.activity_date

)

select * from final
