-- depends_on: {{ ref('int_device_rebuild_windows') }}, {{ ref('int_catalog_received') }}
{{
    config(
        materialized='incremental',
        meta={'changed_rows': 'from_date:impressed_date'},
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_recomputed_days('impressed_date') }}",
        post_hook="{{ update_kept_impression_retention() }}",
    )
}}
{#- One row per impression of a recommended title, followed through: clicked → played → watch time
    of that play → was the profile active 7 and 30 days later. Built on impression_funnel (the click
    and play matching lives there only). `model_version`: the model that produced the row, '(none)'
    when the impression did not name one (rows of fixed lists, or apps that do not send it).
    Incremental: the pre_hook (delete_recomputed_days) drops the rows from the first day the rebuild
    windows can change, this recomputes the impressions after the last date kept, and the post_hook
    (update_kept_impression_retention) refreshes the retention flags of kept rows that can have changed. -#}

with funnel as {{ inlined_cte() }} (

    select * from {{ ref('impression_funnel') }}
    {%- if is_incremental() %}
    -- the rows the pre_hook kept are every impression up to their last date (none kept: all)
    where cast(impressed_at as date) > coalesce(
        (select max(impressed_date) from {{ this }}), cast('0001-01-01' as date)
    )
    {%- endif %}

),

plays as (

    select play_id, watch_seconds, is_completed from {{ ref('plays') }}

),

impression_days as (

    select distinct profile_id, cast(impressed_at as date) as impressed_date
    from funnel
    where profile_id is not null

),

retention as (

    {{ impression_retention('impression_days') }}

),

final as (

    select
        funnel.impression_event_id,
        funnel.request_id,
        case when funnel.request_id like '%.%.%' then split_part(funnel.request_id, '.', 3) end as bandit_arm,
        funnel.row_id,
        split_part(funnel.row_id, ':', 1) as row_kind,
        funnel.rank,
        funnel.title_id,
        funnel.profile_id,
        funnel.impressed_at,
        cast(funnel.impressed_at as date) as impressed_date,
        funnel.propensity,
        coalesce(funnel.model_version, '(none)') as model_version,
        funnel.is_clicked,
        funnel.is_played,
        coalesce(plays.watch_seconds, 0) as watch_seconds,
        coalesce(plays.is_completed, false) as is_play_completed,
        -- null until the follow-up window has been observed
        retention.is_retained_7d,
        retention.is_retained_30d
    from funnel
    left join plays
        on funnel.play_id = plays.play_id
    left join retention
        on funnel.profile_id = retention.profile_id
        and cast(funnel.impressed_at as date) = retention.impressed_date

)

select * from final
