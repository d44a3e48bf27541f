{#- One row per device seen in valid events; account, type and OS from its latest event. -#}

with device_events as (

    select device_id, account_id, profile_id, device_type, os, event_id, occurred_at
    from {{ ref('events') }}

),

final as (

    select
        device_id,
        last(account_id order by occurred_at, event_id) filter (where account_id is not null) as account_id,
        last(device_type order by occurred_at, event_id) as device_type,
        last(os order by occurred_at, event_id) as os,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(distinct profile_id) as profile_count
    from device_events
    group by device_id

)

select * from final
