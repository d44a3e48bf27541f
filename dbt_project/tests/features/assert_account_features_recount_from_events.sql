-- a recount of whole tables, which only a logic change can break: whole-table builds run it (the nightly
-- schedule, --whole-table-tests, --full-refresh), a daily build leaves it out (orchestration/dbt_runner.py)
-- shown in Dagster as a check of account_features (it reads several models)
{{ config(tags=['whole_table_only'], meta={'dagster': {'ref': {'name': 'account_features'}}}) }}
-- Point-in-time audit of account_features against the raw `events` mart, by timestamp:
-- past-window features only from events before snapshot_date 00:00 UTC, the labels only from
-- events at or after it (revenue_next_90d_cents in [d, d+90 days); a cancellation in [d, d+30 days)
-- must mark is_churned_30d; without a cancellation or a lapse in that window it must not).

{%- set grace_days = var('streamloop_payment_grace_days') %}

with

snapshots as (

    select snapshot_date, cast(snapshot_date as timestamp) as snapshot_at
    from {{ ref('feature_snapshots') }}

),

features as (

    select account_id, snapshot_date, payments_90d, revenue_past_90d_cents, is_churned_30d, revenue_next_90d_cents
    from {{ ref('account_features') }}

),

billing as (

    select account_id, event_type, occurred_at, amount_cents
    from {{ ref('events') }}
    where account_id is not null
        and event_type in ('payment_succeeded', 'payment_failed', 'subscription_canceled')

),

recount as (

    select
        features.account_id,
        features.snapshot_date,
        count(case when billing.event_type = 'payment_succeeded'
                and billing.occurred_at < snapshots.snapshot_at
                and billing.occurred_at >= snapshots.snapshot_at - interval '90' day then 1
        end) as payments_90d,
        coalesce(sum(case when billing.event_type = 'payment_succeeded'
                and billing.occurred_at < snapshots.snapshot_at
                and billing.occurred_at >= snapshots.snapshot_at - interval '90' day
                then billing.amount_cents
        end), 0) as revenue_past_90d_cents,
        coalesce(sum(case when billing.event_type = 'payment_succeeded'
                and billing.occurred_at >= snapshots.snapshot_at
                and billing.occurred_at < snapshots.snapshot_at + interval '90' day
                then billing.amount_cents
        end), 0) as revenue_next_90d_cents,
        count(case when billing.event_type = 'subscription_canceled'
                and billing.occurred_at >= snapshots.snapshot_at
                and billing.occurred_at < snapshots.snapshot_at + interval '30' day then 1
        end) as cancellations_next_30d,
        -- failures whose grace period ends inside the churn window (candidates for a lapse)
        count(case when billing.event_type = 'payment_failed'
                and billing.occurred_at + interval '{{ grace_days }}' day >= snapshots.snapshot_at
                and billing.occurred_at + interval '{{ grace_days }}' day
                < snapshots.snapshot_at + interval '30' day then 1
        end) as lapse_candidates_next_30d
    from features
    inner join snapshots
        on features.snapshot_date = snapshots.snapshot_date
    left join billing
        on features.account_id = billing.account_id
    group by features.account_id, features.snapshot_date

)

select
    features.*,
    recount.payments_90d as recount_payments_90d,
    recount.revenue_past_90d_cents as recount_revenue_past_90d_cents,
    recount.revenue_next_90d_cents as recount_revenue_next_90d_cents,
    recount.cancellations_next_30d,
    recount.lapse_candidates_next_30d
from features
inner join recount
    on features.account_id = recount.account_id
    and features.snapshot_date = recount.snapshot_date
where features.payments_90d <> recount.payments_90d
    or features.revenue_past_90d_cents <> recount.revenue_past_90d_cents
    or features.revenue_next_90d_cents <> recount.revenue_next_90d_cents
    or (recount.cancellations_next_30d > 0 and not features.is_churned_30d)
    or (recount.cancellations_next_30d = 0 and recount.lapse_candidates_next_30d = 0 and features.is_churned_30d)
