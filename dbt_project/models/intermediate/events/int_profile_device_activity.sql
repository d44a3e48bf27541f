-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'devices'},
        incremental_strategy='append',
        pre_hook="{{ delete_rebuilt_devices() }}",
    )
}}
{#- One row per profile (null: anonymous events) per device: what the profiles mart needs from the
    profile's events on that device. A "latest" value is kept with its event's (occurred_at,
    event_id), so profiles takes the latest across devices with max() and equals an aggregate over
    all the profile's events. Incremental: rows change only for the devices in the rebuild windows,
    whose rows are dropped (pre_hook) and recomputed from all their events. -#}

with device_events as (

    select
        profile_id,
        device_id,
        event_id,
        event_type,
        account_id,
        country,
        timezone,
        is_kids,
        maturity_rating,
        language,
        profile_timezone,
        occurred_at
    from {{ ref('events') }}
    {%- if is_incremental() %}
    where {{ in_rebuilt_devices() }}
    {%- endif %}

),

final as (

    select
        profile_id,
        device_id,
        -- struct order compares occurred_at, then event_id (unique): max() is the latest event
        max(
            {{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                          'is_kids': "is_kids", 'maturity_rating': "maturity_rating"}) }}
        ) filter (
            where event_type = 'profile_updated'
        ) as latest_settings,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'language': "language"}) }}) filter (
            where event_type = 'profile_updated' and language is not null
        ) as latest_language,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'timezone': "profile_timezone"}) }}) filter (
            where event_type = 'profile_updated' and profile_timezone is not null
        ) as latest_profile_timezone,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'account_id': "account_id"}) }}) filter (
            where account_id is not null
        ) as latest_account,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'country': "country", 'timezone': "timezone"}) }})
            as latest_context,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from device_events
    group by profile_id, device_id

)

select * from final
