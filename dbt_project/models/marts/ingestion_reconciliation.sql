{#- One row per received date: every event record received that day is accepted (the first copy of
    a valid event), a duplicate (a later copy of an accepted event_id), rejected (at the edge or in
    the warehouse), ignored (a Segment message acknowledged but not collected) or suppressed (dropped at
    the edge: its person asked to be forgotten), so
    received_count = accepted_count + duplicate_count + rejected_count + ignored_count + suppressed_count. -#}

with warehouse_counts as (

    -- kept per received date, recounted where a build changed something
    select * from {{ ref('int_received_daily_counts') }}

),

edge_counts as (

    select
        received_date,
        count(*) as rejected_at_edge_count
    from {{ ref('stg_lake__edge_rejects') }}
    group by received_date

),

ignored_counts as (

    select
        received_date,
        count(*) as ignored_count
    from {{ ref('stg_lake__ignored') }}
    group by received_date

),

suppressed_counts as (

    select
        received_date,
        count(*) as suppressed_count
    from {{ ref('stg_lake__suppressed') }}
    group by received_date

),

received_dates as (

    select received_date from warehouse_counts
    union
    select received_date from edge_counts
    union
    select received_date from ignored_counts
    union
    select received_date from suppressed_counts

),

final as (

    select
        received_dates.received_date,
        coalesce(warehouse_counts.warehouse_received_count, 0)
        + coalesce(edge_counts.rejected_at_edge_count, 0)
        + coalesce(ignored_counts.ignored_count, 0)
        + coalesce(suppressed_counts.suppressed_count, 0) as received_count,
        coalesce(warehouse_counts.accepted_count, 0) as accepted_count,
        coalesce(warehouse_counts.duplicate_count, 0) as duplicate_count,
        coalesce(warehouse_counts.rejected_in_warehouse_count, 0)
        + coalesce(edge_counts.rejected_at_edge_count, 0) as rejected_count,
        coalesce(edge_counts.rejected_at_edge_count, 0) as rejected_at_edge_count,
        coalesce(warehouse_counts.rejected_in_warehouse_count, 0) as rejected_in_warehouse_count,
        coalesce(ignored_counts.ignored_count, 0) as ignored_count,
        coalesce(suppressed_counts.suppressed_count, 0) as suppressed_count
    from received_dates
    left join warehouse_counts
        on received_dates.received_date = warehouse_counts.received_date
    left join edge_counts
        on received_dates.received_date = edge_counts.received_date
    left join ignored_counts
        on received_dates.received_date = ignored_counts.received_date
    left join suppressed_counts
        on received_dates.received_date = suppressed_counts.received_date

)

select * from final
