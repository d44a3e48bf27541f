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
{#- One row per account, device, profile (null: none) and UTC day of the events that have an account:
    what the accounts mart needs from them. A "latest" value is kept with its event's (occurred_at,
    event_id), so accounts takes the latest across rows with max() and equals an aggregate over all
    the account's events; counts add up. Incremental: rows change only for the devices in the rebuild
    windows, from the day of their rebuild_from on; those days are dropped (pre_hook) and recomputed. -#}

with account_events as (

    select
        account_id,
        device_id,
        profile_id,
        occurred_date as activity_date,
        event_id,
        event_type,
        country,
        plan,
        price_cents,
        currency,
        is_trial,
        occurred_at
    from {{ rebuilt_events(whole_days=true) if is_incremental() else ref('events') }}
    where account_id is not null

),

final as (

    select
        account_id,
        device_id,
        profile_id,
        activity_date,
        -- struct order compares occurred_at, then event_id (unique): max() is the latest event
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'plan': "plan", 'price_cents': "price_cents"}) }}) filter (
            where event_type in ('subscription_started', 'plan_changed')
        ) as latest_plan,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id", 'currency': "currency"}) }}) filter (
            where currency is not null
        ) as latest_currency,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id", 'is_trial': "is_trial"}) }}) filter (
            where event_type = 'subscription_started'
        ) as latest_subscription,
        max(occurred_at) filter (where event_type = 'subscription_canceled') as last_canceled_at,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id",
                         'event_type': "event_type"}) }}) filter (
            where event_type in ('payment_succeeded', 'payment_failed')
        ) as latest_payment,
        count(*) filter (where event_type = 'payment_failed') as failed_payments,
        count(*) filter (where event_type = 'payment_succeeded') as succeeded_payments,
        max({{ struct_of({'occurred_at': "occurred_at", 'event_id': "event_id", 'country': "country"}) }})
            as latest_context
    from account_events
    group by account_id, device_id, profile_id, activity_date

)

select * from final
