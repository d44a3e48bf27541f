{{
    config(
        materialized='incremental',
        incremental_strategy=delete_insert_strategy(),
        unique_key='received_date',
    )
}}
{#- One row per received date of the ledger: records staged, accepted (the first copy of a valid
    event), duplicates (later copies) and rejected in the warehouse. Incremental: a record's status
    changes only when it is new or when its event_id received a new copy (which may now win), so a
    build recounts the received dates holding such records and keeps the others. -#}

with ledger as {{ inlined_cte() }} (

    select received_date, record_key, event_id, is_valid, _staged_at
    from {{ ref('int_events_received') }}

),

{%- if is_incremental() %}

changed_event_ids as (

    select distinct event_id
    from ledger
    where is_valid and {{ staged_since_watermark() }}

),

recounted_dates as (

    select distinct received_date
    from ledger
    where {{ staged_since_watermark() }}
       or (is_valid and event_id in (select event_id from changed_event_ids))

),

{%- endif %}

received as (

    select
        ledger.received_date,
        ledger.is_valid,
        deduplicated.record_key is not null as is_accepted
    from ledger
    left join {{ ref('int_events_deduplicated') }} as deduplicated
        on ledger.record_key = deduplicated.record_key
    {%- if is_incremental() %}
    where ledger.received_date in (select received_date from recounted_dates)
    {%- endif %}

),

final as (

    select
        received_date,
        count(*) as warehouse_received_count,
        count(*) filter (where is_accepted) as accepted_count,
        count(*) filter (where is_valid and not is_accepted) as duplicate_count,
        count(*) filter (where not is_valid) as rejected_in_warehouse_count
    from received
    group by received_date

)

select * from final
