-- The snapshot date spine every feature table is keyed on: one row per snapshot date, every
-- `streamloop_snapshot_every_days` days, ending at the day after the last event (the snapshot serving uses).
-- A snapshot date d means "as of d 00:00 UTC": features see events before d, labels events from d.
-- Snapshots reach back at most `streamloop_snapshot_history_days` (var, 364 in dbt_project.yml) before the end, so a
-- long-tailed history (a few old events, e.g. subscriptions from years ago) cannot multiply the cost.

with

events as (

    select occurred_date from {{ ref('events') }}

),

data_bounds as (

    select
        min(occurred_date) as data_start_date,
        {{ features_add_days('max(occurred_date)', 1) }} as data_end_date
    from events
    having count(*) > 0

),

offsets as (

    select
        data_start_date,
        data_end_date,
        {{ features_day_offsets(
            'least(' ~ features_days_between('data_start_date', 'data_end_date') ~ ', '
                ~ var('streamloop_snapshot_history_days') ~ ' + 1)',
            var('streamloop_snapshot_every_days')) }} as days_before_end
    from data_bounds

),

final as (

    select
        {{ features_add_days('data_end_date', '-days_before_end') }} as snapshot_date,
        data_start_date,
        data_end_date,
        days_before_end = 0 as is_latest,
        -- labels look 30 (churn) and 90 (revenue) days ahead; only matured windows are complete
        (
            {{ features_add_days('data_end_date', '-days_before_end') }}
            <= {{ features_add_days('data_end_date', -30) }}
        ) as is_churn_label_complete,
        (
            {{ features_add_days('data_end_date', '-days_before_end') }}
            <= {{ features_add_days('data_end_date', -90) }}
        ) as is_ltv_label_complete
    from offsets

)

select * from final
