{#- One row per experiment and assigned profile: each metric of ml/experiments.py METRICS in the
    window (first exposure → the experiment's end or the last event) and the same metric over the
    pre-period before the first exposure (CUPED's covariate). Counts only: the statistics are Python's. -#}

{%- set pre_days = var('streamloop_experiment_pre_period_days') %}

with assignments as (

    select * from {{ ref('experiment_assignments') }}

),

experiments as (

    select experiment_id, min(ended_at) as ended_at
    from {{ ref('experiment_variants') }}
    group by experiment_id

),

last_event as (

    select max(occurred_at) as last_event_at from {{ ref('events') }}

),

windows as (

    select
        assignments.experiment_id,
        assignments.profile_id,
        assignments.account_id,
        assignments.variant,
        assignments.exposure_days,
        assignments.first_exposed_at,
        cast(assignments.first_exposed_at as date) as first_exposed_date,
        assignments.first_exposed_at - interval {{ pre_days }} day as pre_period_start_at,
        least(experiments.ended_at, last_event.last_event_at) as observed_until
    from assignments
    inner join experiments
        on assignments.experiment_id = experiments.experiment_id
    cross join last_event

),

plays as (

    select profile_id, play_id, started_at, watch_seconds, is_completed from {{ ref('plays') }}

),

play_counts as (

    select
        windows.experiment_id,
        windows.profile_id,
        count(case when plays.started_at >= windows.first_exposed_at then 1 end) as plays,
        count(case when plays.started_at < windows.first_exposed_at then 1 end) as pre_plays,
        cast(
            sum(case when plays.started_at >= windows.first_exposed_at then plays.watch_seconds else 0 end)
            as double
        ) / 60 as watch_minutes,
        cast(
            sum(case when plays.started_at < windows.first_exposed_at then plays.watch_seconds else 0 end)
            as double
        ) / 60 as pre_watch_minutes,
        count(case when plays.started_at >= windows.first_exposed_at and plays.is_completed then 1 end)
            as completed_plays,
        count(case when plays.started_at < windows.first_exposed_at and plays.is_completed then 1 end)
            as pre_completed_plays
    from windows
    inner join plays
        on windows.profile_id = plays.profile_id
        and windows.pre_period_start_at <= plays.started_at
        and windows.observed_until >= plays.started_at
    group by windows.experiment_id, windows.profile_id

),

picks as (

    -- plays started from the Top Picks row
    select profile_id, impressed_at, play_id
    from {{ ref('impression_funnel') }}
    where row_id = 'top_picks' and is_played

),

top_picks_counts as (

    select
        windows.experiment_id,
        windows.profile_id,
        count(distinct case when picks.impressed_at >= windows.first_exposed_at then picks.play_id end)
            as top_picks_plays,
        count(distinct case when picks.impressed_at < windows.first_exposed_at then picks.play_id end)
            as pre_top_picks_plays
    from windows
    inner join picks
        on windows.profile_id = picks.profile_id
        and windows.pre_period_start_at <= picks.impressed_at
        and windows.observed_until >= picks.impressed_at
    group by windows.experiment_id, windows.profile_id

),

active_days as (

    select distinct profile_id, activity_date from {{ ref('daily_engagement') }}

),

activity as (

    select
        windows.experiment_id,
        windows.profile_id,
        max(case when active_days.activity_date >= windows.first_exposed_date + 7 then 1 else 0 end)
            as is_active_days_7_to_13,
        max(case when active_days.activity_date < windows.first_exposed_date then 1 else 0 end)
            as was_active_7_days_before
    from windows
    inner join active_days
        on windows.profile_id = active_days.profile_id
        and active_days.activity_date >= windows.first_exposed_date - 7
        and active_days.activity_date <= windows.first_exposed_date + 13
    group by windows.experiment_id, windows.profile_id

),

paid_starts as (

    select account_id, occurred_at
    from {{ ref('events') }}
    where event_type = 'subscription_started' and not coalesce(is_trial, false)

),

conversions as (

    select
        windows.experiment_id,
        windows.profile_id,
        max(case when paid_starts.occurred_at >= windows.first_exposed_at then 1 else 0 end) as is_converted,
        max(case when paid_starts.occurred_at < windows.first_exposed_at then 1 else 0 end) as pre_is_converted
    from windows
    inner join paid_starts
        on windows.account_id = paid_starts.account_id
        and windows.pre_period_start_at <= paid_starts.occurred_at
        and windows.observed_until >= paid_starts.occurred_at
    group by windows.experiment_id, windows.profile_id

),

final as (

    select
        windows.experiment_id,
        windows.profile_id,
        windows.variant,
        windows.first_exposed_at,
        windows.observed_until,
        coalesce(play_counts.plays, 0) as plays,
        coalesce(play_counts.pre_plays, 0) as pre_plays,
        coalesce(play_counts.watch_minutes, 0.0) as watch_minutes,
        coalesce(play_counts.pre_watch_minutes, 0.0) as pre_watch_minutes,
        coalesce(play_counts.completed_plays, 0) as completed_plays,
        coalesce(play_counts.pre_completed_plays, 0) as pre_completed_plays,
        cast(coalesce(top_picks_counts.top_picks_plays, 0) as double) / windows.exposure_days
            as top_picks_play_start_rate,
        cast(coalesce(top_picks_counts.pre_top_picks_plays, 0) as double) / {{ pre_days }}
            as pre_top_picks_play_start_rate,
        -- retention needs 14 days of follow-up: null (not counted) before that
        case
            when windows.observed_until >= windows.first_exposed_date + 14
                then coalesce(activity.is_active_days_7_to_13, 0)
        end as is_retained_7d,
        coalesce(activity.was_active_7_days_before, 0) as pre_is_retained_7d,
        coalesce(conversions.is_converted, 0) as is_converted,
        coalesce(conversions.pre_is_converted, 0) as pre_is_converted
    from windows
    left join play_counts
        on windows.experiment_id = play_counts.experiment_id and windows.profile_id = play_counts.profile_id
    left join top_picks_counts
        on windows.experiment_id = top_picks_counts.experiment_id and windows.profile_id = top_picks_counts.profile_id
    left join activity
        on windows.experiment_id = activity.experiment_id and windows.profile_id = activity.profile_id
    left join conversions
        on windows.experiment_id = conversions.experiment_id and windows.profile_id = conversions.profile_id

)

select * from final
