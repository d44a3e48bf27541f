{#- One row per record dropped at the edge because its person asked to be forgotten (the suppression
    list, docs/privacy.md): only where, when and from which source it came; nothing of the record is kept.
    Counted by ingestion_reconciliation; nothing else reads them. -#}

with source as (

    select * from {{ lake_source('suppressed') }}

),

renamed as (

    select
        -- ids
        batch_id || ':' || record_index as record_key,
        batch_id,
        record_index,

        -- dimensions
        source,

        -- timestamps
        {{ to_utc_timestamp('received_at') }} as received_at,
        received_date

    from source

)

select * from renamed
