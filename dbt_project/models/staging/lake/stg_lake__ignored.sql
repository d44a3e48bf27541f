{#- One row per record acknowledged but not collected at the edge (Segment messages the product has
    no use for), with the reason. Counted by ingestion_reconciliation; nothing else reads them. -#}

with source as (

    select * from {{ lake_source('ignored') }}

),

renamed as (

    select
        -- ids
        batch_id || ':' || record_index as record_key,
        batch_id,
        record_index,

        -- dimensions
        source,
        raw,
        reason as ignored_reason,

        -- timestamps
        {{ to_utc_timestamp('received_at') }} as received_at,
        received_date

    from source

)

select * from renamed
