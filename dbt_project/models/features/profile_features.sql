-- One row per profile per snapshot date, for profiles first seen before that date.
-- Point in time: every measure is a windowed sum of daily aggregates with activity_date < snapshot_date
-- (windows are [snapshot_date - N days, snapshot_date)), so a row only sees events before
-- snapshot_date 00:00 UTC. Range joins over profile-days keep the cost at profiles x snapshots.

{%- set genres = features_genres() %}
{%- set play_start_parts = ['morning', 'afternoon', 'evening', 'night', 'weekend'] + var('streamloop_device_types') %}
{#- daily measure -> window lengths (days) summed into <measure>_<N>d -#}
{%- set daily_measures = {
    'plays': [7, 28, 90], 'sessions': [7, 28, 90], 'active_days': [7, 28, 90], 'watch_seconds': [7, 28, 90],
    'completed_plays': [90], 'watch_sessions': [90], 'binge_sessions': [90], 'play_starts': [90],
    'list_adds': [28], 'searches': [28], 'ratings': [28]} %}
{%- for part in play_start_parts %}
{%- do daily_measures.update({'play_starts_' ~ part: [90]}) %}
{%- endfor %}

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

    {{ windowed_sums('profile_daily', ['profile_id'], daily_measures, expressions={'active_days': 1}) }}

),

-- recency: the latest day with a play / session / any activity before the snapshot
last_play as (

    {{ latest_before_snapshot('profile_daily', 'profile_id', 'activity_date', day_as='last_play_date',
                              where='plays > 0') }}

),

last_session as (

    {{ latest_before_snapshot('profile_daily', 'profile_id', 'activity_date', day_as='last_session_date',
                              where='sessions > 0') }}

),

last_activity as (

    {{ latest_before_snapshot('profile_daily', 'profile_id', 'activity_date', day_as='last_activity_date') }}

),

-- kids flag as of the snapshot: the latest profile_updated before it
kids_flags as (

    {{ latest_before_snapshot('profile_updates', 'profile_id', 'cast(occurred_at as date)', columns=['is_kids'],
                              order_by='occurred_at, event_id') }}

),

genre_windows as (

    {{ windowed_sums('profile_genre_daily', ['profile_id', 'genre'], {'watch_seconds': [90]}) }}

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
            when genre_windows.genre not in (
                    '{{ genres | join("', '") }}'
                )
                then '"' || genre_windows.genre || '":'
                    || {{ number_text('round(cast(genre_windows.watch_seconds_90d as double)'
                                      ~ ' / daily_windows.watch_seconds_90d, 4)') }}
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
        {{ features_zero_filled('daily_windows', ['plays', 'sessions', 'active_days', 'watch_seconds'],
                                suffix='_' ~ days ~ 'd') }},
        {%- endfor %}

        -- viewing habits (null when the window has no plays / play starts / watch sessions)
        {{ features_ratio('daily_windows.completed_plays_90d', 'daily_windows.plays_90d') }} as completion_rate_90d,
        {{ features_ratio('daily_windows.binge_sessions_90d', 'daily_windows.watch_sessions_90d') }}
            as binge_propensity,
        cast(
            {{ features_trend('coalesce(daily_windows.watch_seconds_7d, 0)', 7,
                               'coalesce(daily_windows.watch_seconds_28d - daily_windows.watch_seconds_7d, 0)', 21) }}
            as double
        ) as trend_7d_vs_prior_21d,
        {%- for part in play_start_parts %}
        {{ features_ratio('daily_windows.play_starts_' ~ part ~ '_90d', 'daily_windows.play_starts_90d') }}
            as {{ part }}_share_90d,
        {%- endfor %}

        -- tastes (shares of 90-day watch time; null when there was none)
        '{' || concat_ws(
            ',',
            {%- for genre in genres %}
            case
                when genre_features.genre_share_{{ genre }}_90d > 0
                    then '"{{ genre }}":' || {{ number_text('round(genre_features.genre_share_' ~ genre ~ '_90d, 4)') }}
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
        {{ features_zero_filled('daily_windows', ['list_adds_28d', 'searches_28d', 'ratings_28d']) }}

    from profile_snapshots
    {{- features_left_join_on_keys('profile_snapshots',
                                   ['daily_windows', 'last_play', 'last_session', 'last_activity', 'kids_flags',
                                    'genre_features'],
                                   ['profile_id', 'snapshot_date']) }}

)

select * from final
