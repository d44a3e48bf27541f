-- One row per account per snapshot date, for accounts whose subscription is active at that date.
-- Features use events before snapshot_date 00:00 UTC; the labels (is_churned_30d,
-- revenue_next_90d_cents) use events from snapshot_date on. Household engagement is the sum of the
-- account's profile_features rows, so it inherits their point-in-time windows.

{%- set households = ['plays', 'sessions', 'watch_seconds'] %}

with

snapshots as (

    select
        snapshot_date,
        is_churn_label_complete,
        is_ltv_label_complete
    from {{ ref('feature_snapshots') }}

),

subscription_events as (

    select * from {{ ref('int_subscription_events') }}

),

account_daily as (

    select * from {{ ref('int_account_daily') }}

),

profile_features as (

    select * from {{ ref('profile_features') }}

),

-- the terms in force at a snapshot: the latest start / plan change / cancellation before it
account_terms as (

    {{ latest_before_snapshot('subscription_events', 'account_id', 'cast(occurred_at as date)',
                              columns=['event_type', 'plan', 'price_cents', 'currency', 'is_trial',
                                       'subscription_started_at'],
                              order_by='event_number',
                              where="event_type in ('subscription_started', 'plan_changed', 'subscription_canceled')") }}

),

lapses as (

    select
        account_id,
        subscription_started_at,
        lapses_at
    from subscription_events
    where lapses_at is not null

),

-- a subscription whose grace period after a failed payment ran out before the snapshot has lapsed
lapsed_before_snapshot as (

    select distinct
        account_terms.account_id,
        account_terms.snapshot_date
    from account_terms
    inner join lapses
        on account_terms.account_id = lapses.account_id
        and account_terms.subscription_started_at = lapses.subscription_started_at
        and lapses.lapses_at < cast(account_terms.snapshot_date as timestamp)

),

active_subscriptions as (

    select account_terms.*
    from account_terms
    left join lapsed_before_snapshot
        on account_terms.account_id = lapsed_before_snapshot.account_id
        and account_terms.snapshot_date = lapsed_before_snapshot.snapshot_date
    where account_terms.event_type <> 'subscription_canceled'
        and lapsed_before_snapshot.account_id is null

),

first_subscriptions as (

    select
        account_id,
        cast(min(occurred_at) as date) as first_subscribed_date
    from subscription_events
    where event_type = 'subscription_started'
    group by account_id

),

billing_windows as (

    {{ windowed_sums('account_daily', ['account_id'],
                     {'payments_failed': [90], 'payments_succeeded': [90], 'revenue_cents': [90], 'plan_changes': [90]}) }}

),

-- labels: the same daily measures from the snapshot on
label_windows as (

    {{ windowed_sums('account_daily', ['account_id'], {'revenue_cents': [90], 'cancellations': [30]}, ahead=true) }}

),

-- lapses dated (end of grace period) within [snapshot_date, snapshot_date + 30 days)
lapses_next_30d as (

    select distinct
        lapses.account_id,
        snapshots.snapshot_date
    from lapses
    inner join snapshots
        on lapses.lapses_at >= cast(snapshots.snapshot_date as timestamp)
        and lapses.lapses_at < cast({{ features_add_days('snapshots.snapshot_date', 30) }} as timestamp)

),

households as (

    select
        account_id,
        snapshot_date,
        count(*) as profile_count,
        sum(case when active_days_28d > 0 then 1 else 0 end) as active_profiles_28d,
        {%- for measure in households %}
        {%- for days in [7, 28, 90] %}
        sum({{ measure }}_{{ days }}d) as household_{{ measure }}_{{ days }}d,
        {%- endfor %}
        {%- endfor %}
        min(days_since_last_activity) as days_since_last_activity
    from profile_features
    group by account_id, snapshot_date

),

final as (

    select
        -- ids
        active_subscriptions.account_id,
        active_subscriptions.snapshot_date,

        -- subscription as of the snapshot
        active_subscriptions.plan,
        cast(active_subscriptions.price_cents as bigint) as price_cents,
        active_subscriptions.currency,
        coalesce(active_subscriptions.is_trial, false) as is_trial,
        {{ features_days_between('first_subscriptions.first_subscribed_date', 'active_subscriptions.snapshot_date') }}
            as tenure_days,
        {{ features_days_between('cast(active_subscriptions.subscription_started_at as date)',
                                 'active_subscriptions.snapshot_date') }} as subscription_age_days,

        -- household engagement
        {{ features_zero_filled('households', ['profile_count', 'active_profiles_28d']) }},
        {%- for measure in households %}
        {{ features_zero_filled('households', ['household_' ~ measure ~ '_7d', 'household_' ~ measure ~ '_28d',
                                               'household_' ~ measure ~ '_90d']) }},
        {%- endfor %}
        households.days_since_last_activity,

        -- billing, 90 days before the snapshot
        cast(coalesce(billing_windows.payments_failed_90d, 0) as bigint) as failed_payments_90d,
        cast(coalesce(billing_windows.payments_succeeded_90d, 0) as bigint) as payments_90d,
        cast(coalesce(billing_windows.revenue_cents_90d, 0) as bigint) as revenue_past_90d_cents,
        {{ features_zero_filled('billing_windows', ['plan_changes_90d']) }},

        -- labels, from the snapshot on
        (coalesce(label_windows.cancellations_30d, 0) > 0 or lapses_next_30d.account_id is not null)
            as is_churned_30d,
        cast(coalesce(label_windows.revenue_cents_90d, 0) as bigint) as revenue_next_90d_cents,
        snapshots.is_churn_label_complete,
        snapshots.is_ltv_label_complete

    from active_subscriptions
    inner join snapshots
        on active_subscriptions.snapshot_date = snapshots.snapshot_date
    left join first_subscriptions
        on active_subscriptions.account_id = first_subscriptions.account_id
    {{- features_left_join_on_keys('active_subscriptions',
                                   ['households', 'billing_windows', 'label_windows', 'lapses_next_30d'],
                                   ['account_id', 'snapshot_date']) }}

)

select * from final
