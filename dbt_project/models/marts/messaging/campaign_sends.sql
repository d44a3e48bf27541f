{#- One row per message decided by the campaign runner: treated messages (sent, held, failed), holdout and
    control decisions. Delivery, open, click and unsubscribe times come from the message events that came
    back through the lake (first of each type per message). `reference_at` is when the message went out,
    or would have (holdout, control, not yet sent): the start of every outcome window. -#}

with ledger as (

    select * from {{ ref('stg_messaging__ledger') }}

),

events as (

    select * from {{ ref('events') }}
    where event_type like 'message_%'
        and message_id is not null

),

message_events as (

    select
        message_id,
        min(occurred_at) filter (where event_type = 'message_sent') as sent_event_at,
        min(occurred_at) filter (where event_type = 'message_delivered') as delivered_at,
        min(occurred_at) filter (where event_type = 'message_opened') as opened_at,
        min(occurred_at) filter (where event_type = 'message_clicked') as clicked_at,
        min(occurred_at) filter (where event_type = 'message_unsubscribed') as unsubscribed_at
    from events
    group by message_id

),

final as (

    select
        -- ids
        ledger.message_id,
        ledger.campaign_id,
        ledger.profile_id,
        ledger.period,

        -- dimensions
        ledger.assignment,
        ledger.assignment = 'holdout' as is_holdout,
        ledger.assignment = 'control' as is_control,
        ledger.channel,
        ledger.status,
        ledger.reason,
        ledger.is_held,

        -- timestamps
        ledger.decided_at,
        ledger.send_at,
        coalesce(ledger.sent_at, message_events.sent_event_at) as sent_at,
        message_events.delivered_at,
        message_events.opened_at,
        message_events.clicked_at,
        message_events.unsubscribed_at,
        coalesce(ledger.sent_at, ledger.send_at, ledger.decided_at) as reference_at

    from ledger
    left join message_events
        on ledger.message_id = message_events.message_id

)

select * from final
