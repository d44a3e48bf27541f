-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'devices'},
        incremental_strategy=delete_insert_strategy(),
        unique_key='device_id',
    )
}}
{#- One row per device seen in valid events; account, type and OS from its latest event. Combined from
    the per-device-day partials in int_profile_device_activity (the latest across them is the latest
    overall). Incremental: a device's row depends on its own events only, and those change only for the
    devices in int_device_rebuild_windows, so a build recombines those devices and keeps the others. -#}

with partials as (

    select device_id, profile_id, latest_account, latest_device, first_seen_at, last_seen_at
    from {{ ref('int_profile_device_activity') }}
    {%- if is_incremental() %}
    where {{ in_rebuilt_devices() }}
    {%- endif %}

),

combined as (

    select
        device_id,
        max(latest_account) as latest_account,
        max(latest_device) as latest_device,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(distinct profile_id) as profile_count
    from partials
    group by device_id

),

final as (

    select
        device_id,
        latest_account.account_id,
        latest_device.device_type,
        latest_device.os,
        first_seen_at,
        last_seen_at,
        profile_count
    from combined

)

select * from final
