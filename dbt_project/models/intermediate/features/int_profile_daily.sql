-- depends_on: {{ ref('int_device_rebuild_windows') }}
-- One row per profile per UTC day with any activity: the additive daily measures profile features
-- and daily_engagement are windowed sums of.
-- Day attribution keeps the point-in-time rule exact at day level: event counts use the event's
-- own day; a play or session counts on the day it *ended*, so a snapshot at d (which sums days
-- before d) only sees plays and sessions whose every event happened before d.
-- Incremental by day, configured with the other daily aggregates in dbt_project.yml.

{%- set event_counts = {'searches': 'search', 'list_adds': 'add_to_list', 'list_removes': 'remove_from_list',
                       'ratings': 'rating', 'impressions': 'impression', 'clicks': 'click'} %}
{#- local hours [first, last] of each part of the day -#}
{%- set day_parts = {'morning': [6, 11], 'afternoon': [12, 17], 'evening': [18, 23], 'night': [0, 5]} %}
{%- set device_types = var('streamloop_device_types') %}
{#- the first recomputed day (a SQL date), or none: a full build computes every day -#}
{%- set from_date = recomputed_from_date() if is_incremental() else none %}

with

events as {{ inlined_cte() }} (

    select
        profile_id,
        occurred_at,
        occurred_date,
        event_type,
        device_type,
        timezone
    from {{ ref('events') }}
    where profile_id is not null
        {%- if from_date %}
        and occurred_date >= {{ from_date }}
        {%- endif %}
        and event_type in (
            'play_start', 'search', 'add_to_list', 'remove_from_list', 'rating', 'impression', 'click'
        )

),

plays as {{ inlined_cte() }} (

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
    {%- if from_date %}
        -- every play of a session with a play that ended on a recomputed day: a session's binge flag
        -- reads all its plays (days before from_date are cut from the result below)
        and session_id in (
            select session_id from {{ ref('plays') }} where cast(ended_at as date) >= {{ from_date }}
        )
    {%- endif %}

),

sessions as (

    select
        profile_id,
        cast(ended_at as date) as activity_date,
        duration_seconds
    from {{ ref('sessions') }}
    where profile_id is not null
    {%- if from_date %}
        and cast(ended_at as date) >= {{ from_date }}
    {%- endif %}

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
        -- sqlfluff misplaces the items of a loop that ends a select list
        -- noqa: disable=LT02
        {%- for column, event_type in event_counts.items() %}
        sum(case when event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from events
    where event_type <> 'play_start'
    group by profile_id, occurred_date

),

play_start_days as (

    select
        profile_id,
        activity_date,
        count(*) as play_starts,
        {%- for part, hours in day_parts.items() %}
        sum(case when extract(hour from local_started_at) between {{ hours[0] }} and {{ hours[1] }} then 1 else 0 end)
            as play_starts_{{ part }},
        {%- endfor %}
        sum(case when {{ features_is_weekend('local_started_at') }} then 1 else 0 end) as play_starts_weekend,
        -- noqa: disable=LT02
        {%- for device_type in device_types %}
        sum(case when device_type = '{{ device_type }}' then 1 else 0 end) as play_starts_{{ device_type }}
            {{- ',' if not loop.last }}
        {%- endfor %}
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
        profile_days.activity_date,

        -- sessions
        {{ features_zero_filled('session_days', ['sessions', 'session_seconds']) }},
        {{ features_zero_filled('watch_session_days', ['watch_sessions', 'binge_sessions']) }},

        -- plays
        {{ features_zero_filled('play_days', ['plays', 'watch_seconds', 'completed_plays', 'distinct_titles']) }},

        -- play starts by local time of day and device
        {{ features_zero_filled('play_start_days', ['play_starts', 'play_starts_morning', 'play_starts_afternoon',
                                                    'play_starts_evening', 'play_starts_night', 'play_starts_weekend',
                                                    'play_starts_tv', 'play_starts_mobile', 'play_starts_web',
                                                    'play_starts_tablet', 'play_starts_console']) }},

        -- discovery
        {{ features_zero_filled('event_days', event_counts.keys() | list) }}

    from profile_days
    {{- features_left_join_on_keys('profile_days',
                                   ['event_days', 'play_start_days', 'play_days', 'watch_session_days', 'session_days'],
                                   ['profile_id', 'activity_date']) }}
    {%- if from_date %}
    where profile_days.activity_date >= {{ from_date }}
    {%- endif %}

)

select * from final
