-- One row per subscription or billing event of an account, in time order, with what the feature
-- tables need to know the subscription's state as of any moment:
--   * the plan, price, currency and trial flag in force after the event (carried forward),
--   * for a failed payment, when the subscription lapses because of it: `streamloop_payment_grace_days`
--     (var, 14 in dbt_project.yml) after the failure, unless a payment succeeds within that grace period.

with

events as (

    select
        event_id,
        account_id,
        event_type,
        occurred_at,
        plan,
        price_cents,
        currency,
        is_trial,
        amount_cents
    from {{ ref('events') }}
    where account_id is not null
        and event_type in (
            'subscription_started', 'plan_changed', 'subscription_canceled', 'payment_succeeded', 'payment_failed'
        )

),

ordered as (

    select
        *,
        row_number() over (partition by account_id order by occurred_at, event_id) as event_number,
        -- the first successful payment after this event (for failures: did the account recover?)
        min(case when event_type = 'payment_succeeded' then occurred_at end) over (
            partition by account_id order by occurred_at, event_id
            rows between 1 following and unbounded following
        ) as next_payment_succeeded_at
    from events

),

with_state as (

    select
        *,
        -- the latest subscription start at or before this event, and the terms it set
        max(case when event_type = 'subscription_started' then event_number end) over (
            partition by account_id order by event_number rows between unbounded preceding and current row
        ) as subscription_event_number,
        max(case when event_type in ('subscription_started', 'plan_changed') then event_number end) over (
            partition by account_id order by event_number rows between unbounded preceding and current row
        ) as terms_event_number
    from ordered

),

final as (

    select
        -- ids
        with_state.event_id,
        with_state.account_id,
        with_state.event_number,
        with_state.event_type,

        -- terms in force after the event
        terms.plan,
        cast(terms.price_cents as bigint) as price_cents,
        subscription.currency,
        subscription.is_trial,
        subscription.occurred_at as subscription_started_at,

        -- numerics
        cast(with_state.amount_cents as bigint) as amount_cents,

        -- timestamps
        with_state.occurred_at,
        case
            when with_state.event_type = 'payment_failed'
                and (
                    with_state.next_payment_succeeded_at is null
                    or with_state.next_payment_succeeded_at
                    > with_state.occurred_at + interval '{{ var("streamloop_payment_grace_days") }}' day
                )
                then with_state.occurred_at + interval '{{ var("streamloop_payment_grace_days") }}' day
        end as lapses_at

    from with_state
    left join with_state as subscription
        on with_state.account_id = subscription.account_id
        and with_state.subscription_event_number = subscription.event_number
    left join with_state as terms
        on with_state.account_id = terms.account_id
        and with_state.terms_event_number = terms.event_number

)

select * from final
