-- One row per title (movie or series; an episode's activity counts toward its series) per
-- snapshot date, for titles released before the snapshot (or without a release date).
-- Windows are [snapshot_date - N days, snapshot_date) over daily aggregates: point in time.

with

snapshots as (

    select snapshot_date from {{ ref('feature_snapshots') }}

),

titles as (

    select
        title_id,
        kind,
        release_date
    from {{ ref('titles') }}
    where kind in ('movie', 'series')

),

title_daily as (

    select * from {{ ref('int_title_daily') }}

),

title_viewer_daily as (

    select * from {{ ref('int_title_viewer_daily') }}

),

title_snapshots as (

    select
        titles.title_id,
        titles.kind,
        titles.release_date,
        snapshots.snapshot_date
    from titles
    inner join snapshots
        on titles.release_date is null
        or titles.release_date < snapshots.snapshot_date

),

daily_windows as (

    {{ windowed_sums('title_daily', ['title_id'],
                     {'plays': [7, 28], 'completed_plays': [28], 'watch_seconds': [28], 'list_adds': [28],
                      'impressions': [28], 'clicks': [28], 'ratings_up': [90], 'ratings_down': [90]}) }}

),

viewer_windows as (

    select
        title_viewer_daily.title_id,
        snapshots.snapshot_date,
        count(distinct case
            when title_viewer_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -7) }}
                then title_viewer_daily.viewer_id
        end) as unique_viewers_7d,
        count(distinct title_viewer_daily.viewer_id) as unique_viewers_28d
    from title_viewer_daily
    inner join snapshots
        on title_viewer_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -28) }}
        and title_viewer_daily.activity_date < snapshots.snapshot_date
    group by title_viewer_daily.title_id, snapshots.snapshot_date

),

final as (

    select
        -- ids
        title_snapshots.title_id,
        title_snapshots.snapshot_date,

        -- title
        title_snapshots.kind,
        {{ features_days_between('title_snapshots.release_date', 'title_snapshots.snapshot_date') }}
            as days_since_release,

        -- popularity
        {{ features_zero_filled('daily_windows', ['plays_7d', 'plays_28d']) }},
        {{ features_zero_filled('viewer_windows', ['unique_viewers_7d', 'unique_viewers_28d']) }},
        cast(
            {{ features_trend('coalesce(daily_windows.plays_7d, 0)', 7,
                               'coalesce(daily_windows.plays_28d - daily_windows.plays_7d, 0)', 21) }}
            as double
        ) as trending_velocity,

        -- viewing quality (null when no plays in the window)
        {{ features_zero_filled('daily_windows', ['completed_plays_28d']) }},
        {{ features_ratio('daily_windows.completed_plays_28d', 'daily_windows.plays_28d') }} as completion_rate_28d,
        {{ features_zero_filled('daily_windows', ['watch_seconds_28d']) }},
        {{ features_ratio('daily_windows.watch_seconds_28d', 'daily_windows.plays_28d') }} as avg_watch_seconds_28d,

        -- interest
        {{ features_zero_filled('daily_windows', ['list_adds_28d', 'impressions_28d', 'clicks_28d']) }},
        {{ features_ratio('daily_windows.clicks_28d', 'daily_windows.impressions_28d') }} as click_through_rate_28d,
        {{ features_zero_filled('daily_windows', ['ratings_up_90d', 'ratings_down_90d']) }},
        {{ features_ratio('daily_windows.ratings_up_90d - daily_windows.ratings_down_90d',
                          'daily_windows.ratings_up_90d + daily_windows.ratings_down_90d') }} as rating_balance_90d

    from title_snapshots
    {{- features_left_join_on_keys(
        'title_snapshots', ['daily_windows', 'viewer_windows'], ['title_id', 'snapshot_date']
    ) }}

)

select * from final
