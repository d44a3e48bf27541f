{#- One row per rejected record: refused at the edge (rejected_at_stage = 'edge', the lake's
    rejected/ files) or by the warehouse's contract rules ('warehouse'), with the raw record and a
    reason naming the field. Catalog records the warehouse rejects are kept here too (lake_kind).
    Duplicates are not rejects: they are counted in ingestion_reconciliation. -#}

with warehouse_event_rejects as (

    select
        record_key, batch_id, record_index, received_at, received_date, source, raw,
        rejection_reason as reason,
        'warehouse' as rejected_at_stage,
        'events' as lake_kind
    from {{ ref('int_events_received') }}
    where not is_valid

),

warehouse_catalog_rejects as (

    select
        record_key, batch_id, record_index, received_at, cast(received_at as date) as received_date, source, raw,
        rejection_reason as reason,
        'warehouse' as rejected_at_stage,
        'catalog' as lake_kind
    from {{ ref('int_catalog_received') }}
    where rejection_reason is not null

),

edge_rejects as (

    select
        record_key, batch_id, record_index, received_at, received_date, source, raw,
        rejection_reason as reason,
        'edge' as rejected_at_stage,
        'events' as lake_kind
    from {{ ref('stg_lake__edge_rejects') }}

),

final as (

    select * from warehouse_event_rejects
    union all
    select * from warehouse_catalog_rejects
    union all
    select * from edge_rejects

)

select * from final
