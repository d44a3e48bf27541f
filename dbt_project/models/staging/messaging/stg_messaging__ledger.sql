{#- One row per message the campaign runner recorded (treated, holdout or control), typed. -#}

with source as (

    select * from {{ messaging_ledger_relation() }}

),

renamed as (

    select
        -- ids
        message_id,
        campaign_id,
        profile_id,
        period,

        -- dimensions
        grp as assignment,
        channel,
        status,
        reason,
        is_held = 1 as is_held,

        -- numerics
        attempts,

        -- timestamps (UTC)
        cast(cast(decided_at as timestamptz) at time zone 'UTC' as timestamp) as decided_at,
        cast(cast(send_at as timestamptz) at time zone 'UTC' as timestamp) as send_at,
        cast(cast(sent_at as timestamptz) at time zone 'UTC' as timestamp) as sent_at

    from source

)

select * from renamed
