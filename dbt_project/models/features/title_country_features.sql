-- One row per title per viewer country per snapshot date, for title-countries with at least one
-- play in the 28 days before the snapshot (absent rows mean no plays there). Completion by country
-- lets models and serving tell "finished everywhere" from "finished only in some markets".

with

snapshots as (

    select snapshot_date from {{ ref('feature_snapshots') }}

),

titles as (

    select title_id from {{ ref('titles') }}
    where kind in ('movie', 'series')

),

title_viewer_daily as (

    select * from {{ ref('int_title_viewer_daily') }}

),

final as (

    select
        -- ids
        title_viewer_daily.title_id,
        title_viewer_daily.country,
        snapshots.snapshot_date,

        -- 28 days before the snapshot
        cast(sum(title_viewer_daily.plays) as bigint) as plays_28d,
        cast(sum(title_viewer_daily.completed_plays) as bigint) as completed_plays_28d,
        {{ features_ratio('sum(title_viewer_daily.completed_plays)', 'sum(title_viewer_daily.plays)') }}
            as completion_rate_28d,
        cast(count(distinct title_viewer_daily.viewer_id) as bigint) as unique_viewers_28d

    from title_viewer_daily
    inner join titles
        on title_viewer_daily.title_id = titles.title_id
    inner join snapshots
        on title_viewer_daily.activity_date >= {{ features_add_days('snapshots.snapshot_date', -28) }}
        and title_viewer_daily.activity_date < snapshots.snapshot_date
    group by title_viewer_daily.title_id, title_viewer_daily.country, snapshots.snapshot_date

)

select * from final
