{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'staged'},
        incremental_strategy='append',
    )
}}
{#- The parsed catalog ledger: one row per received catalog record (valid or not). Each run appends
    the batches it has not seen; `_staged_at` marks the run (a catalog change rebuilds the event marts). -#}

with staged as (

    select * from {{ ref('stg_lake__catalog') }}

),

new_records as (

    select
        staged.*,
        {{ run_started_literal() }} as _staged_at
    from staged
    {%- if is_incremental() %}
    where staged.batch_id not in (select distinct batch_id from {{ this }})
    {%- endif %}

)

select * from new_records
