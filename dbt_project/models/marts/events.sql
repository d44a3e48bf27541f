-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_rows('occurred_at') }}",
    )
}}
{#- One row per valid, deduplicated event, stitched to a profile (identity_rule) and a session.
    Incremental: each run replaces the rows of the rebuild windows (int_device_rebuild_windows). -#}

with sessionized as (

    select * from {{ ref('int_events_sessionized') }}

),

titles as (

    select title_id, content_id from {{ ref('titles') }}

),

final as (

    select
        -- ids and when
        sessionized.event_id,
        sessionized.event_type,
        sessionized.occurred_at,
        cast(sessionized.occurred_at as date) as occurred_date,
        sessionized.received_at,
        sessionized.device_id,
        sessionized.raw_profile_id,
        sessionized.profile_id,
        sessionized.account_id,
        sessionized.identity_rule,
        sessionized.session_id,

        -- context
        sessionized.country,
        sessionized.device_type,
        sessionized.app_version,
        sessionized.os,
        sessionized.timezone,

        -- content and recommendations
        sessionized.title_id,
        coalesce(titles.content_id, sessionized.title_id) as content_id,
        case when sessionized.title_id is not null then titles.title_id is not null end as is_title_in_catalog,
        sessionized.position_s,
        sessionized.duration_s,
        sessionized.row_id,
        sessionized.rank,
        sessionized.request_id,
        sessionized.propensity,
        sessionized.search_query,
        sessionized.results_count,
        sessionized.rating_value,

        -- subscription and payments
        sessionized.plan,
        sessionized.price_cents,
        sessionized.currency,
        sessionized.is_trial,
        sessionized.amount_cents,
        sessionized.cancel_reason,

        -- messaging, consent, experiments
        sessionized.campaign_id,
        sessionized.message_id,
        sessionized.channel,
        sessionized.is_granted,
        sessionized.experiment_id,
        sessionized.variant,

        -- profile settings (profile_updated)
        sessionized.is_kids,
        sessionized.maturity_rating,
        sessionized.language,
        sessionized.profile_timezone

    from sessionized
    left join titles
        on sessionized.title_id = titles.title_id

)

select * from final
