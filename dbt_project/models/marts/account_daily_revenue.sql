{#- One row per account per day on which it had a subscription or payment event: revenue (successful
    payments), failed payments, cancellation, and the plan and price in force at the end of the day.
    The labels of account_features (churn, revenue in the next 90 days) read this table. -#}

with billing_events as (

    select
        account_id,
        event_id,
        event_type,
        plan,
        price_cents,
        amount_cents,
        occurred_at,
        occurred_date
    from {{ ref('events') }}
    where account_id is not null
        and event_type in (
            'subscription_started', 'plan_changed', 'subscription_canceled', 'payment_succeeded', 'payment_failed'
        )

),

plans_in_force as (

    select
        *,
        last_value(case when event_type in ('subscription_started', 'plan_changed') then plan end ignore nulls)
            over account_timeline
            as plan_in_force,
        last_value(case when event_type in ('subscription_started', 'plan_changed') then price_cents end ignore nulls)
            over account_timeline
            as price_cents_in_force
    from billing_events
    window account_timeline as (
        partition by account_id
        order by occurred_at, event_id
        rows between unbounded preceding and current row
    )

),

final as (

    select
        account_id,
        occurred_date as revenue_date,
        cast(coalesce(sum(amount_cents) filter (where event_type = 'payment_succeeded'), 0) as bigint) as revenue_cents,
        count(*) filter (where event_type = 'payment_succeeded') as succeeded_payments,
        count(*) filter (where event_type = 'payment_failed') as failed_payments,
        bool_or(event_type = 'subscription_started') as is_subscribed_on_day,
        bool_or(event_type = 'subscription_canceled') as is_canceled_on_day,
        last(plan_in_force order by occurred_at, event_id) as plan,
        last(price_cents_in_force order by occurred_at, event_id) as price_cents
    from plans_in_force
    group by account_id, occurred_date

)

select * from final
