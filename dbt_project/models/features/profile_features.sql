-- One row per profile per snapshot date, for profiles first seen before that date.
-- Point in time: every measure is a windowed sum of daily aggregates with activity_date < snapshot_date
-- (windows are [snapshot_date - N days, snapshot_date)), so a row only sees events before
-- snapshot_date 00:00 UTC. Range joins over profile-days keep the cost at profiles x snapshots.

{%- set genres = features_genres() %}

with

snapshots as (

    select snapshot_date from {{ ref('feature_snapshots') }}

),

profiles as (

    select
        profile_id,
        account_id,
        cast(first_seen_at as date) as first_seen_date
    from {{ ref('profiles') }}
    where first_seen_at is not null

),

profile_daily as (

    select * from {{ ref('int_profile_daily') }}

),

profile_genre_daily as (

    select * from {{ ref('int_profile_genre_daily') }}

),

profile_updates as (

    select
        event_id,
        profile_id,
        occurred_at,
        is_kids
    from {{ ref('events') }}
    where event_type = 'profile_updated'
      and profile_id is not null
      and is_kids is not null

),

profile_snapshots as (

    select
        profiles.profile_id,
        profiles.account_id,
        profiles.first_seen_date,
        snapshots.snapshot_date
    from profiles
    inner join snapshots
        on profiles.first_seen_date < snapshots.snapshot_date

),

daily_windows as (

    select
        profile_daily.profile_id,
        snapshots.snapshot_date,
        {%- for days in [7, 28, 90] %}
        {{ features_window_sum('plays', days) }} as plays_{{ days }}d,
        {{ features_window_sum('sessions', days) }} as sessions_{{ days }}d,
        {{ features_window_sum(1, days) }} as active_days_{{ days }}d,
        {{ features_window_sum('watch_seconds', days) }} as watch_seconds_{{ days }}d,
        {%- endfor %}
        {{ features_window_sum('completed_plays', 90) }} as completed_plays_90d,
        {{ features_window_sum('watch_sessions', 90) }} as watch_sessions_90d,
        {{ features_window_sum('binge_sessions', 90) }} as binge_sessions_90d,
        {%- for part in ['play_starts', 'play_starts_morning', 'play_starts_afternoon', 'play_starts_evening',
                         'play_starts_night', 'play_starts_weekend', 'play_starts_tv', 'play_starts_mobile',
                         'play_starts_web', 'play_starts_tablet', 'play_starts_console'] %}
        {{ features_window_sum(part, 90) }} as {{ part }}_90d,
        {%- endfor %}
        {{ features_window_sum('list_adds', 28) }} as list_adds_28d,
        {{ features_window_sum('searches', 28) }} as searches_28d,
        {{ features_window_sum('ratings', 28) }} as ratings_28d
    from profile_daily
    inner join snapshots
        on profile_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -90) }}
        and profile_daily.activity_date < snapshots.snapshot_date
    group by profile_daily.profile_id, snapshots.snapshot_date

),

-- recency: each active day is "the latest one" for the snapshots after it, up to the next such day
play_days as (

    select
        profile_id,
        activity_date,
        lead(activity_date) over (partition by profile_id order by activity_date) as next_activity_date
    from profile_daily
    where plays > 0

),

session_days as (

    select
        profile_id,
        activity_date,
        lead(activity_date) over (partition by profile_id order by activity_date) as next_activity_date
    from profile_daily
    where sessions > 0

),

active_days as (

    select
        profile_id,
        activity_date,
        lead(activity_date) over (partition by profile_id order by activity_date) as next_activity_date
    from profile_daily

),

last_play as (

    select play_days.profile_id, snapshots.snapshot_date, play_days.activity_date as last_play_date
    from play_days
    inner join snapshots
        on play_days.activity_date < snapshots.snapshot_date
        and snapshots.snapshot_date <= coalesce(play_days.next_activity_date, date '9999-12-31')

),

last_session as (

    select session_days.profile_id, snapshots.snapshot_date, session_days.activity_date as last_session_date
    from session_days
    inner join snapshots
        on session_days.activity_date < snapshots.snapshot_date
        and snapshots.snapshot_date <= coalesce(session_days.next_activity_date, date '9999-12-31')

),

last_activity as (

    select active_days.profile_id, snapshots.snapshot_date, active_days.activity_date as last_activity_date
    from active_days
    inner join snapshots
        on active_days.activity_date < snapshots.snapshot_date
        and snapshots.snapshot_date <= coalesce(active_days.next_activity_date, date '9999-12-31')

),

-- kids flag as of the snapshot: the latest profile_updated before it (same interval trick)
profile_update_spans as (

    select
        profile_id,
        cast(occurred_at as date) as updated_date,
        lead(cast(occurred_at as date)) over (partition by profile_id order by occurred_at, event_id)
            as next_updated_date,
        is_kids
    from profile_updates

),

kids_flags as (

    select profile_update_spans.profile_id, snapshots.snapshot_date, profile_update_spans.is_kids
    from profile_update_spans
    inner join snapshots
        on profile_update_spans.updated_date < snapshots.snapshot_date
        and snapshots.snapshot_date <= coalesce(profile_update_spans.next_updated_date, date '9999-12-31')

),

genre_windows as (

    select
        profile_genre_daily.profile_id,
        snapshots.snapshot_date,
        profile_genre_daily.genre,
        cast(sum(profile_genre_daily.watch_seconds) as bigint) as watch_seconds_90d
    from profile_genre_daily
    inner join snapshots
        on profile_genre_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -90) }}
        and profile_genre_daily.activity_date < snapshots.snapshot_date
    group by profile_genre_daily.profile_id, snapshots.snapshot_date, profile_genre_daily.genre

),

genre_order as (

    -- alphabetical position of each genre, to break watch-time ties in top_genre deterministically
    select genre, row_number() over (order by genre) as genre_position
    from (select distinct genre from profile_genre_daily) as genres

),

genre_shares as (

    select
        genre_windows.profile_id,
        genre_windows.snapshot_date,
        genre_windows.genre,
        genre_windows.watch_seconds_90d,
        genre_order.genre_position,
        cast(genre_windows.watch_seconds_90d as double) / daily_windows.watch_seconds_90d as watch_share,
        -- JSON entries are written here only for genres without a fixed column: building text for
        -- every genre row is the costliest step of this model; the fixed ones come from their columns
        case
            when genre_windows.genre not in ('{{ genres | join("', '") }}')
            then '"' || genre_windows.genre || '":'
                || cast(round(cast(genre_windows.watch_seconds_90d as double) / daily_windows.watch_seconds_90d, 4)
                        as varchar)
        end as other_genre_entry
    from genre_windows
    inner join daily_windows
        on genre_windows.profile_id = daily_windows.profile_id
        and genre_windows.snapshot_date = daily_windows.snapshot_date
    inner join genre_order
        on genre_windows.genre = genre_order.genre
    where daily_windows.watch_seconds_90d > 0
      and genre_windows.watch_seconds_90d > 0

),

genre_features as (

    select
        profile_id,
        snapshot_date,
        {{ features_arg_max('genre', 'watch_seconds_90d * 1000 - genre_position') }} as top_genre,
        {%- for genre in genres %}
        max(case when genre = '{{ genre }}' then watch_share end) as genre_share_{{ genre }}_90d,
        {%- endfor %}
        {{ features_sorted_text_agg('other_genre_entry') }} as other_genre_entries
    from genre_shares
    group by profile_id, snapshot_date

),

final as (

    select
        -- ids
        profile_snapshots.profile_id,
        profile_snapshots.account_id,
        profile_snapshots.snapshot_date,

        -- profile
        coalesce(kids_flags.is_kids, false) as is_kids,
        {{ features_days_between('profile_snapshots.first_seen_date', 'profile_snapshots.snapshot_date') }}
            as tenure_days,

        -- recency (null when never)
        {{ features_days_between('last_play.last_play_date', 'profile_snapshots.snapshot_date') }}
            as days_since_last_play,
        {{ features_days_between('last_session.last_session_date', 'profile_snapshots.snapshot_date') }}
            as days_since_last_session,
        {{ features_days_between('last_activity.last_activity_date', 'profile_snapshots.snapshot_date') }}
            as days_since_last_activity,

        -- frequency and watch time
        {%- for days in [7, 28, 90] %}
        cast(coalesce(daily_windows.plays_{{ days }}d, 0) as bigint) as plays_{{ days }}d,
        cast(coalesce(daily_windows.sessions_{{ days }}d, 0) as bigint) as sessions_{{ days }}d,
        cast(coalesce(daily_windows.active_days_{{ days }}d, 0) as bigint) as active_days_{{ days }}d,
        cast(coalesce(daily_windows.watch_seconds_{{ days }}d, 0) as bigint) as watch_seconds_{{ days }}d,
        {%- endfor %}

        -- viewing habits (null when the window has no plays / play starts / watch sessions)
        {{ features_ratio('daily_windows.completed_plays_90d', 'daily_windows.plays_90d') }} as completion_rate_90d,
        {{ features_ratio('daily_windows.binge_sessions_90d', 'daily_windows.watch_sessions_90d') }}
            as binge_propensity,
        cast({{ features_trend('coalesce(daily_windows.watch_seconds_7d, 0)', 7,
                               'coalesce(daily_windows.watch_seconds_28d - daily_windows.watch_seconds_7d, 0)', 21) }}
             as double) as trend_7d_vs_prior_21d,
        {%- for part in ['morning', 'afternoon', 'evening', 'night', 'weekend', 'tv', 'mobile', 'web', 'tablet', 'console'] %}
        {{ features_ratio('daily_windows.play_starts_' ~ part ~ '_90d', 'daily_windows.play_starts_90d') }}
            as {{ part }}_share_90d,
        {%- endfor %}

        -- tastes (shares of 90-day watch time; null when there was none)
        '{' || concat_ws(',',
            {%- for genre in genres %}
            case
                when genre_features.genre_share_{{ genre }}_90d > 0
                then '"{{ genre }}":' || cast(round(genre_features.genre_share_{{ genre }}_90d, 4) as varchar)
            end,
            {%- endfor %}
            genre_features.other_genre_entries
        ) || '}' as genre_affinity,
        genre_features.top_genre,
        {%- for genre in genres %}
        case
            when daily_windows.watch_seconds_90d > 0
            then coalesce(genre_features.genre_share_{{ genre }}_90d, 0.0)
        end as genre_share_{{ genre }}_90d,
        {%- endfor %}

        -- discovery
        cast(coalesce(daily_windows.list_adds_28d, 0) as bigint) as list_adds_28d,
        cast(coalesce(daily_windows.searches_28d, 0) as bigint) as searches_28d,
        cast(coalesce(daily_windows.ratings_28d, 0) as bigint) as ratings_28d

    from profile_snapshots
    left join daily_windows
        on profile_snapshots.profile_id = daily_windows.profile_id
        and profile_snapshots.snapshot_date = daily_windows.snapshot_date
    left join last_play
        on profile_snapshots.profile_id = last_play.profile_id
        and profile_snapshots.snapshot_date = last_play.snapshot_date
    left join last_session
        on profile_snapshots.profile_id = last_session.profile_id
        and profile_snapshots.snapshot_date = last_session.snapshot_date
    left join last_activity
        on profile_snapshots.profile_id = last_activity.profile_id
        and profile_snapshots.snapshot_date = last_activity.snapshot_date
    left join kids_flags
        on profile_snapshots.profile_id = kids_flags.profile_id
        and profile_snapshots.snapshot_date = kids_flags.snapshot_date
    left join genre_features
        on profile_snapshots.profile_id = genre_features.profile_id
        and profile_snapshots.snapshot_date = genre_features.snapshot_date

)

select * from final
