{#- One row per received date: every event record received that day is accepted (the first copy of
    a valid event), a duplicate (a later copy of an accepted event_id) or rejected (at the edge or in
    the warehouse), so received_count = accepted_count + duplicate_count + rejected_count. -#}

with received as (

    select
        received.received_date,
        received.is_valid,
        deduplicated.record_key is not null as is_accepted
    from {{ ref('int_events_received') }} as received
    left join {{ ref('int_events_deduplicated') }} as deduplicated
        on received.record_key = deduplicated.record_key

),

warehouse_counts as (

    select
        received_date,
        count(*) as warehouse_received_count,
        count(*) filter (where is_accepted) as accepted_count,
        count(*) filter (where is_valid and not is_accepted) as duplicate_count,
        count(*) filter (where not is_valid) as rejected_in_warehouse_count
    from received
    group by received_date

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
        coalesce(warehouse_counts.warehouse_received_count, 0) + coalesce(edge_counts.rejected_at_edge_count, 0) as received_count,
        coalesce(warehouse_counts.accepted_count, 0) as accepted_count,
        coalesce(warehouse_counts.duplicate_count, 0) as duplicate_count,
        coalesce(warehouse_counts.rejected_in_warehouse_count, 0) + coalesce(edge_counts.rejected_at_edge_count, 0) as rejected_count,
        coalesce(edge_counts.rejected_at_edge_count, 0) as rejected_at_edge_count,
        coalesce(warehouse_counts.rejected_in_warehouse_count, 0) as rejected_in_warehouse_count
    from warehouse_counts
    full outer join edge_counts
        on warehouse_counts.received_date = edge_counts.received_date

)

select * from final
