-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'devices'},
        incremental_strategy=delete_insert_strategy(),
        unique_key='device_id',
    )
}}
{#- One row per device seen in valid events; account, type and OS from its latest event.
    Incremental: a device's row depends on its own events only, and those change only for the
    devices in int_device_rebuild_windows, so a build recomputes those devices (from all their
    events) and keeps the others. -#}

with device_events as (

    select device_id, account_id, profile_id, device_type, os, event_id, occurred_at
    from {{ ref('events') }}
    {%- if is_incremental() %}
    where {{ in_rebuilt_devices() }}
    {%- endif %}

),

final as (

    select
        device_id,
        {{ last_by('account_id', ['occurred_at', 'event_id']) }} filter (where account_id is not null) as account_id,
        {{ last_by('device_type', ['occurred_at', 'event_id']) }} as device_type,
        {{ last_by('os', ['occurred_at', 'event_id']) }} as os,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(distinct profile_id) as profile_count
    from device_events
    group by device_id

)

select * from final
