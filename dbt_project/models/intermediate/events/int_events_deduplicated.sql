{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'staged_event_ids'},
        incremental_strategy=delete_insert_strategy(),
        unique_key='event_id',
        on_schema_change='sync_all_columns',
    )
}}
{#- One row per valid event_id: the first received copy wins (received_at, then batch and position);
    later copies are duplicates, counted in ingestion_reconciliation. An incremental run re-decides
    only the event_ids that received a copy since the last build. Narrow (what identity stitching
    and sessions need): the other columns stay in int_events_received, found by record_key. -#}

with valid_records as {{ inlined_cte() }} (

    select
        event_id, record_key, batch_id, record_index, received_at, device_id, event_type, occurred_at,
        profile_id, account_id
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

duplicated_event_ids as (

    -- few event_ids have more than one copy: only those need ordering, on a narrow projection
    select event_id
    from valid_records
    group by event_id
    having count(*) > 1

),

first_copy_keys as (

    select
        event_id,
        {{ arg_min_by_parts('record_key', ['received_at', 'batch_id', 'record_index']) }} as record_key
    from valid_records
    where event_id in (select event_id from duplicated_event_ids)
    group by event_id

),

first_copies as (

    -- narrow: what identity stitching and sessions need; the events mart joins the rest back by
    -- record_key
    select event_id, record_key, device_id, event_type, occurred_at, profile_id, account_id
    from valid_records
    where event_id not in (select event_id from duplicated_event_ids)
        or record_key in (select record_key from first_copy_keys)

)

select * from first_copies
