
{#- One row per account (household) seen in events, with its current subscription:
      status  canceled (latest subscription_started is followed by a subscription_canceled),
              past_due (its latest payment failed), active (it subscribed or paid), or unknown. -#}

with partials as (

    -- per account, device and profile (int_account_device_activity): the latest across rows is the
    -- latest overall
    select * from {{ ref('int_account_device_activity') }}

),

billing as (

    select
        account_id,
        max(latest_plan).plan as plan,
        max(latest_plan).price_cents as price_cents,
        max(latest_currency).currency as currency,
        max(latest_subscription).is_trial as is_trial,
        max(latest_subscription).occurred_at as subscribed_at,
        max(last_canceled_at) as last_canceled_at,
        max(latest_payment).event_type as last_payment_event_type,
        cast(sum(failed_payments) as bigint) as failed_payments_total,
        cast(sum(succeeded_payments) as bigint) as succeeded_payments_total
    from partials
    group by account_id

),

activity as (

    select
        account_id,
        max(latest_context).country as country,
        count(distinct profile_id) as profile_count
    from partials
    group by account_id

),

final as (

    select
        activity.account_id,
        activity.country,
        billing.plan,
        billing.price_cents,
        billing.currency,
        billing.is_trial,
        billing.subscribed_at,
        case
            when billing.last_canceled_at >= coalesce(billing.subscribed_at, billing.last_canceled_at)
                then billing.last_canceled_at
        end as canceled_at,
        case
            when billing.last_canceled_at >= coalesce(billing.subscribed_at, billing.last_canceled_at) then 'canceled'
            when billing.last_payment_event_type = 'payment_failed' then 'past_due'
            when billing.subscribed_at is not null or billing.succeeded_payments_total > 0 then 'active'
            else 'unknown'
        end as status,
        activity.profile_count,
        billing.failed_payments_total
    from activity
    inner join billing
        on activity.account_id = billing.account_id

)

select * from final
