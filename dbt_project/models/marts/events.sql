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
    Incremental: each run replaces the rows of the rebuild windows (int_device_rebuild_windows):
    int_events_sessionized holds exactly those rows (ids and identity); the other columns are
    joined back from int_events_deduplicated. -#}

with sessionized as (

    select * from {{ ref('int_events_sessionized') }}

),

deduplicated as (

    select * from {{ ref('int_events_deduplicated') }}

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
        deduplicated.received_at,
        sessionized.device_id,
        sessionized.raw_profile_id,
        sessionized.profile_id,
        sessionized.account_id,
        sessionized.identity_rule,
        sessionized.session_id,

        -- context
        deduplicated.country,
        deduplicated.device_type,
        deduplicated.app_version,
        deduplicated.os,
        deduplicated.timezone,

        -- content and recommendations
        deduplicated.title_id,
        coalesce(titles.content_id, deduplicated.title_id) as content_id,
        case when deduplicated.title_id is not null then titles.title_id is not null end as is_title_in_catalog,
        deduplicated.position_s,
        deduplicated.duration_s,
        deduplicated.row_id,
        deduplicated.rank,
        deduplicated.request_id,
        deduplicated.propensity,
        deduplicated.search_query,
        deduplicated.results_count,
        deduplicated.rating_value,

        -- subscription and payments
        deduplicated.plan,
        deduplicated.price_cents,
        deduplicated.currency,
        deduplicated.is_trial,
        deduplicated.amount_cents,
        deduplicated.cancel_reason,

        -- messaging, consent, experiments
        deduplicated.campaign_id,
        deduplicated.message_id,
        deduplicated.channel,
        deduplicated.is_granted,
        deduplicated.experiment_id,
        deduplicated.variant,

        -- profile settings (profile_updated)
        deduplicated.is_kids,
        deduplicated.maturity_rating,
        deduplicated.language,
        deduplicated.profile_timezone

    from sessionized
    inner join deduplicated
        on sessionized.event_id = deduplicated.event_id
    left join titles
        on deduplicated.title_id = titles.title_id

)

select * from final
