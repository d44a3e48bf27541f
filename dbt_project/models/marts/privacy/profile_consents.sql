{#- One row per profile that ever sent a consent decision: the latest per messaging channel and for
    personalization (null: no decision recorded; readers apply the documented defaults —
    STREAMLOOP_PERSONALIZATION_DEFAULT, messaging's consent default). An unsubscribe withdraws its
    channel. Read by publication (serving honours personalization), training sets and messaging_profiles
    (campaign audiences): the one place the warehouse decides consent. -#}

with consent_events as {{ inlined_cte() }} (

    select
        profile_id,
        occurred_at,
        event_id,
        channel,
        purpose,
        case when event_type = 'consent_updated' then is_granted else false end as is_granted
    from {{ ref('events') }}
    where
        event_type in ('consent_updated', 'message_unsubscribed')
        and profile_id is not null

),

decisions as (

    -- an event decides every key it names: its channel and its purpose (the collector's messaging hook
    -- and the serving functions read the same event the same way)
    select profile_id, occurred_at, event_id, channel as consent_key, is_granted
    from consent_events
    where channel is not null
    union all
    select profile_id, occurred_at, event_id, purpose as consent_key, is_granted
    from consent_events
    where purpose is not null

),

latest_decisions as (

    -- the last decision per profile and key; the event id breaks a tie in time, so every build agrees
    select
        profile_id,
        consent_key,
        is_granted,
        occurred_at
    from (
        select
            decisions.*,
            row_number() over (
                partition by profile_id, consent_key order by occurred_at desc, event_id desc
            ) as decision_rank
        from decisions
    ) as ranked
    where decision_rank = 1

),

final as (

    select
        profile_id,
        bool_or(is_granted) filter (where consent_key = 'personalization') as consent_personalization,
        bool_or(is_granted) filter (where consent_key = 'email') as consent_email,
        bool_or(is_granted) filter (where consent_key = 'push') as consent_push,
        bool_or(is_granted) filter (where consent_key = 'in_app') as consent_in_app,
        max(occurred_at) as last_decision_at
    from latest_decisions
    group by profile_id

)

select * from final
