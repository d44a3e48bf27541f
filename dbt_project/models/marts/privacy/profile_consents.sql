{#- One row per profile that ever sent a consent decision: the latest per messaging channel and for
    personalization (null: no decision recorded; readers apply the documented defaults —
    STREAMLOOP_PERSONALIZATION_DEFAULT, messaging's consent default). An unsubscribe withdraws its
    channel. Read by publication (serving honours personalization), training sets and messaging. -#}

with events as (

    select * from {{ ref('events') }}

),

decisions as (

    select
        profile_id,
        occurred_at,
        event_id,
        coalesce(purpose, channel) as consent_key,
        case when event_type = 'consent_updated' then is_granted else false end as is_granted
    from events
    where
        event_type in ('consent_updated', 'message_unsubscribed')
        and profile_id is not null
        and coalesce(purpose, channel) is not null

),

final as (

    select
        profile_id,
        arg_max(is_granted, struct_pack(occurred_at, event_id)) filter (
            where consent_key = 'personalization'
        ) as consent_personalization,
        arg_max(is_granted, struct_pack(occurred_at, event_id)) filter (where consent_key = 'email') as consent_email,
        arg_max(is_granted, struct_pack(occurred_at, event_id)) filter (where consent_key = 'push') as consent_push,
        arg_max(is_granted, struct_pack(occurred_at, event_id)) filter (
            where consent_key = 'in_app'
        ) as consent_in_app,
        max(occurred_at) as last_decision_at
    from decisions
    group by profile_id

)

select * from final
