{#- One row per record refused at the edge (collector, ingest, importers), with the reason the
    edge validator gave. Nothing to parse: these records are kept as received. -#}

with source as (

    select * from {{ lake_source('rejected') }}

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
        reason as rejection_reason,

        -- timestamps
        {{ to_utc_timestamp('received_at') }} as received_at,
        received_date

    from source

)

select * from renamed
