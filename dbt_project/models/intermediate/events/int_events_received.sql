{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'staged'},
        incremental_strategy='append',
    )
}}
{#- The parsed landing ledger: one row per received event record (valid or not). Each run appends
    the lake batches it has not seen, found by listing file names (received date / batch id), so
    only new files are read and parsed. `_staged_at` marks the run that staged a record. -#}

{%- if is_incremental() %}
  {%- set new_partitions = lake_unprocessed_partitions('events', this) %}
{%- endif %}

with staged as (

    select * from {{ ref('stg_lake__events') }}
    {%- if is_incremental() %}
    where
        {%- if new_partitions %}
        received_date in (
            {%- for day in new_partitions %}cast('{{ day }}' as date){{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- else %}
        false
        {%- endif %}
    {%- endif %}

),

new_records as (

    select
        staged.*,
        {{ run_started_literal() }} as _staged_at
    from staged
    {%- if is_incremental() %}
    where not exists (
        -- against the distinct processed batches, not every processed record (a hash of 10M keys)
        select 1
        from (select distinct received_date, batch_id from {{ this }}) as processed
        where processed.received_date = staged.received_date
          and processed.batch_id = staged.batch_id
    )
    {%- endif %}

)

select * from new_records
