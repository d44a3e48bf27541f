{#- One row per account per day on which it had a subscription or payment event: revenue (successful
    payments), failed payments, cancellation, and the plan and price in force at the end of the day.
    Reads int_subscription_events (the billing events in time order with the terms in force after each),
    a small table, rather than scanning the events mart again: the terms are worked out in one place. -#}

with billing_events as (

    select
        account_id,
        event_id,
        event_type,
        plan,
        price_cents,
        amount_cents,
        occurred_at,
        cast(occurred_at as date) as occurred_date
    from {{ ref('int_subscription_events') }}

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
        {{ last_by('plan', ['occurred_at', 'event_id']) }} as plan,
        {{ last_by('price_cents', ['occurred_at', 'event_id']) }} as price_cents
    from billing_events
    group by account_id, occurred_date

)

select * from final
