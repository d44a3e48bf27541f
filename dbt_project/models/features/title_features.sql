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

    select
        title_daily.title_id,
        snapshots.snapshot_date,
        {{ features_window_sum('plays', 7) }} as plays_7d,
        {{ features_window_sum('plays', 28) }} as plays_28d,
        {{ features_window_sum('completed_plays', 28) }} as completed_plays_28d,
        {{ features_window_sum('watch_seconds', 28) }} as watch_seconds_28d,
        {{ features_window_sum('list_adds', 28) }} as list_adds_28d,
        {{ features_window_sum('impressions', 28) }} as impressions_28d,
        {{ features_window_sum('clicks', 28) }} as clicks_28d,
        {{ features_window_sum('ratings_up', 90) }} as ratings_up_90d,
        {{ features_window_sum('ratings_down', 90) }} as ratings_down_90d
    from title_daily
    inner join snapshots
        on title_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -90) }}
        and title_daily.activity_date < snapshots.snapshot_date
    group by title_daily.title_id, snapshots.snapshot_date

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
        cast(coalesce(daily_windows.plays_7d, 0) as bigint) as plays_7d,
        cast(coalesce(daily_windows.plays_28d, 0) as bigint) as plays_28d,
        cast(coalesce(viewer_windows.unique_viewers_7d, 0) as bigint) as unique_viewers_7d,
        cast(coalesce(viewer_windows.unique_viewers_28d, 0) as bigint) as unique_viewers_28d,
        cast({{ features_trend('coalesce(daily_windows.plays_7d, 0)', 7,
                               'coalesce(daily_windows.plays_28d - daily_windows.plays_7d, 0)', 21) }}
             as double) as trending_velocity,

        -- viewing quality (null when no plays in the window)
        cast(coalesce(daily_windows.completed_plays_28d, 0) as bigint) as completed_plays_28d,
        {{ features_ratio('daily_windows.completed_plays_28d', 'daily_windows.plays_28d') }} as completion_rate_28d,
        cast(coalesce(daily_windows.watch_seconds_28d, 0) as bigint) as watch_seconds_28d,
        {{ features_ratio('daily_windows.watch_seconds_28d', 'daily_windows.plays_28d') }} as avg_watch_seconds_28d,

        -- interest
        cast(coalesce(daily_windows.list_adds_28d, 0) as bigint) as list_adds_28d,
        cast(coalesce(daily_windows.impressions_28d, 0) as bigint) as impressions_28d,
        cast(coalesce(daily_windows.clicks_28d, 0) as bigint) as clicks_28d,
        {{ features_ratio('daily_windows.clicks_28d', 'daily_windows.impressions_28d') }} as click_through_rate_28d,
        cast(coalesce(daily_windows.ratings_up_90d, 0) as bigint) as ratings_up_90d,
        cast(coalesce(daily_windows.ratings_down_90d, 0) as bigint) as ratings_down_90d,
        {{ features_ratio('daily_windows.ratings_up_90d - daily_windows.ratings_down_90d',
                          'daily_windows.ratings_up_90d + daily_windows.ratings_down_90d') }} as rating_balance_90d

    from title_snapshots
    left join daily_windows
        on title_snapshots.title_id = daily_windows.title_id
        and title_snapshots.snapshot_date = daily_windows.snapshot_date
    left join viewer_windows
        on title_snapshots.title_id = viewer_windows.title_id
        and title_snapshots.snapshot_date = viewer_windows.snapshot_date

)

select * from final
