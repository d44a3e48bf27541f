-- One row per account per UTC day with subscription or billing events: the additive daily measures
-- account features window over (past-window features before the snapshot date, labels after it).

with

subscription_events as (

    select
        account_id,
        cast(occurred_at as date) as activity_date,
        event_type,
        amount_cents,
        lapses_at
    from {{ ref('int_subscription_events') }}

),

final as (

    select
        account_id,
        activity_date,
        cast(sum(case when event_type = 'subscription_started' then 1 else 0 end) as bigint) as subscription_starts,
        cast(sum(case when event_type = 'subscription_canceled' then 1 else 0 end) as bigint) as cancellations,
        cast(sum(case when event_type = 'plan_changed' then 1 else 0 end) as bigint) as plan_changes,
        cast(sum(case when event_type = 'payment_succeeded' then 1 else 0 end) as bigint) as payments_succeeded,
        cast(sum(case when event_type = 'payment_failed' then 1 else 0 end) as bigint) as payments_failed,
        cast(coalesce(sum(case when event_type = 'payment_succeeded' then amount_cents end), 0) as bigint)
            as revenue_cents
    from subscription_events
    group by account_id, activity_date

)

select * from final
