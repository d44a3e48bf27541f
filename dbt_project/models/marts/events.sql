-- depends_on: {{ ref('int_device_rebuild_windows') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'window:occurred_at'},
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_rebuilt_rows('occurred_at') }}",
    )
}}
{#- One row per valid, accepted_copies event, stitched to a profile (identity_rule) and a session.
    Incremental: each run replaces the rows of the rebuild windows (int_device_rebuild_windows):
    int_events_sessionized (a view) computes exactly those rows (ids, identity, session), narrow so
    its sorts stay light; the other columns are joined back from the accepted copy in
    int_events_received. -#}

with sessionized as (

    select * from {{ ref('int_events_sessionized') }}

),

accepted_copies as (

    -- the accepted copies' columns (int_events_sessionized carries their record_key)
    select * from {{ ref('int_events_received') }}

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
        accepted_copies.received_at,
        sessionized.device_id,
        sessionized.raw_profile_id,
        sessionized.profile_id,
        sessionized.account_id,
        sessionized.identity_rule,
        sessionized.session_id,

        -- context
        accepted_copies.country,
        accepted_copies.device_type,
        accepted_copies.app_version,
        accepted_copies.os,
        accepted_copies.timezone,

        -- content and recommendations
        accepted_copies.title_id,
        coalesce(titles.content_id, accepted_copies.title_id) as content_id,
        case when accepted_copies.title_id is not null then titles.title_id is not null end as is_title_in_catalog,
        accepted_copies.position_s,
        accepted_copies.duration_s,
        accepted_copies.row_id,
        accepted_copies.rank,
        accepted_copies.request_id,
        accepted_copies.propensity,
        accepted_copies.model_version,
        accepted_copies.search_query,
        accepted_copies.results_count,
        accepted_copies.rating_value,

        -- subscription and payments
        accepted_copies.plan,
        accepted_copies.price_cents,
        accepted_copies.currency,
        accepted_copies.is_trial,
        accepted_copies.amount_cents,
        accepted_copies.cancel_reason,

        -- messaging, consent, experiments
        accepted_copies.campaign_id,
        accepted_copies.message_id,
        accepted_copies.channel,
        accepted_copies.is_granted,
        accepted_copies.purpose,
        accepted_copies.experiment_id,
        accepted_copies.variant,

        -- profile settings (profile_updated)
        accepted_copies.is_kids,
        accepted_copies.maturity_rating,
        accepted_copies.language,
        accepted_copies.profile_timezone

    from sessionized
    inner join accepted_copies
        on sessionized.record_key = accepted_copies.record_key
    left join titles
        on accepted_copies.title_id = titles.title_id

)

select * from final
