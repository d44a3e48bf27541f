{#- One row per received date: every event record received that day is accepted (the first copy of
    a valid event), a duplicate (a later copy of an accepted event_id) or rejected (at the edge or in
    the warehouse), so received_count = accepted_count + duplicate_count + rejected_count. -#}

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

final as (

    select
        coalesce(warehouse_counts.received_date, edge_counts.received_date) as received_date,
        (
            coalesce(warehouse_counts.warehouse_received_count, 0) + coalesce(edge_counts.rejected_at_edge_count, 0)
        ) as received_count,
        coalesce(warehouse_counts.accepted_count, 0) as accepted_count,
        coalesce(warehouse_counts.duplicate_count, 0) as duplicate_count,
        (
            coalesce(warehouse_counts.rejected_in_warehouse_count, 0) + coalesce(edge_counts.rejected_at_edge_count, 0)
        ) as rejected_count,
        coalesce(edge_counts.rejected_at_edge_count, 0) as rejected_at_edge_count,
        coalesce(warehouse_counts.rejected_in_warehouse_count, 0) as rejected_in_warehouse_count
    from warehouse_counts
    full outer join edge_counts
        on warehouse_counts.received_date = edge_counts.received_date

)

select * from final
