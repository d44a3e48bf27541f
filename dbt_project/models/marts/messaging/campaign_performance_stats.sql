{#- Sufficient statistics per campaign, period and assignment (treated, holdout, control): counts of the
    funnel and of outcomes after each message's reference time. Python (orchestration/defs/messaging)
    turns them into rates and the treated-vs-holdout retention lift with its interval (ml/stats.py):
    SQL never does the statistics.
    Outcomes: plays started within 7 days; retained = played at least once within 30 days, counted only
    for messages whose 30 days are over (before the last event the warehouse has). -#}

with sends as (

    select * from {{ ref('campaign_sends') }}

),

plays as (

    select profile_id, started_at from {{ ref('plays') }}
    where profile_id is not null

),

horizon as (

    select max(occurred_at) as last_event_at from {{ ref('events') }}

),

outcomes as (

    select
        sends.message_id,
        count(plays.started_at) filter (
            where plays.started_at < sends.reference_at + interval 7 day
        ) as plays_7d,
        count(plays.started_at) > 0 as is_retained_30d
    from sends
    left join plays
        on sends.profile_id = plays.profile_id
        and sends.reference_at < plays.started_at
        and sends.reference_at + interval 30 day >= plays.started_at
    group by sends.message_id

),

final as (

    select
        sends.campaign_id,
        sends.period,
        sends.assignment,
        count(*) as messages,
        count(*) filter (where sends.status in ('sent', 'delivered')) as sent,
        count(*) filter (where sends.status = 'failed') as failed,
        count(sends.delivered_at) as delivered,
        count(sends.opened_at) as opened,
        count(sends.clicked_at) as clicked,
        count(sends.unsubscribed_at) as unsubscribed,
        cast(sum(outcomes.plays_7d) as double) as plays_7d_sum,
        cast(sum(outcomes.plays_7d * outcomes.plays_7d) as double) as plays_7d_sum_squares,
        count(*) filter (where sends.reference_at + interval 30 day <= horizon.last_event_at) as mature_30d,
        count(*) filter (
            where sends.reference_at + interval 30 day <= horizon.last_event_at and outcomes.is_retained_30d
        ) as retained_30d
    from sends
    inner join outcomes
        on sends.message_id = outcomes.message_id
    cross join horizon
    where sends.status <> 'queued'  -- held messages not yet sent have no outcome yet
    group by sends.campaign_id, sends.period, sends.assignment

)

select * from final
