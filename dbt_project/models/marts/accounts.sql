
{#- One row per account (household) seen in events, with its current subscription:
      status  canceled (latest subscription_started is followed by a subscription_canceled),
              past_due (its latest payment failed), active (it subscribed or paid), or unknown. -#}

with account_events as (

    select
        account_id,
        profile_id,
        event_id,
        event_type,
        country,
        plan,
        price_cents,
        currency,
        is_trial,
        amount_cents,
        occurred_at
    from {{ ref('events') }}
    where account_id is not null

),

billing as (

    select
        account_id,
        last(plan order by occurred_at, event_id) filter (where event_type in ('subscription_started', 'plan_changed')) as plan,
        last(price_cents order by occurred_at, event_id) filter (where event_type in ('subscription_started', 'plan_changed')) as price_cents,
        last(currency order by occurred_at, event_id) filter (where currency is not null) as currency,
        last(is_trial order by occurred_at, event_id) filter (where event_type = 'subscription_started') as is_trial,
        max(occurred_at) filter (where event_type = 'subscription_started') as subscribed_at,
        max(occurred_at) filter (where event_type = 'subscription_canceled') as last_canceled_at,
        last(event_type order by occurred_at, event_id) filter (where event_type in ('payment_succeeded', 'payment_failed')) as last_payment_event_type,
        count(*) filter (where event_type = 'payment_failed') as failed_payments_total,
        count(*) filter (where event_type = 'payment_succeeded') as succeeded_payments_total
    from account_events
    group by account_id

),

activity as (

    select
        account_id,
        last(country order by occurred_at, event_id) as country,
        count(distinct profile_id) as profile_count
    from account_events
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
