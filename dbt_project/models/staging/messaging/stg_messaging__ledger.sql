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
        {{ iso_text_to_utc_timestamp('decided_at') }} as decided_at,
        {{ iso_text_to_utc_timestamp('send_at') }} as send_at,
        {{ iso_text_to_utc_timestamp('sent_at') }} as sent_at

    from source

)

select * from renamed
