{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
    )
}}
{#- One row per valid event_id: the first received copy wins (received_at, then batch and position);
    later copies are duplicates, counted in ingestion_reconciliation. An incremental run re-decides
    only the event_ids that received a copy since the last build. -#}

with valid_records as (

    select * exclude (raw, rejection_reason, is_valid, _staged_at)
    from {{ ref('int_events_received') }}
    where is_valid
    {%- if is_incremental() %}
      and event_id in (
        select event_id
        from {{ ref('int_events_received') }}
        where is_valid and {{ staged_since_watermark() }}
      )
    {%- endif %}

),

first_copies as (

    select *
    from valid_records
    qualify row_number() over (
        partition by event_id
        order by received_at, batch_id, record_index
    ) = 1

)

select * from first_copies
