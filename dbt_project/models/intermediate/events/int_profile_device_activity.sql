-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'window_days:activity_date'},
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_device_days() }}",
    )
}}
{#- One row per profile (null: anonymous events) per device per UTC day: what the profiles and devices
    marts need from the profile's events on that device that day. A "latest" value is kept with its
    event's (occurred_at, event_id), so a mart takes the latest across rows with max() and equals an
    aggregate over all the events. Incremental: rows change only for the devices in the rebuild windows,
    from the day of their rebuild_from on; those days are dropped (pre_hook) and recomputed from all
    their events (a device's earlier days, most of its history, are kept). -#}

with device_events as (

    select
        profile_id,
        device_id,
        occurred_date as activity_date,
        event_id,
        event_type,
        account_id,
        country,
        timezone,
        device_type,
        os,
        is_kids,
        maturity_rating,
        language,
        profile_timezone,
        occurred_at
    from {{ rebuilt_events(whole_days=true) if is_incremental() else ref('events') }}

),

final as (

    select
        profile_id,
        device_id,
        activity_date,
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
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'device_type': "device_type", 'os': "os"}) }}) as latest_device,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from device_events
    group by profile_id, device_id, activity_date

)

select * from final
