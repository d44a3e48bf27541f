{#- One row per day, row kind, model version ('(none)' for rows no model ranked) and experiment arm:
    impressions, clicks, plays, watch minutes and retained impressions, with the ratios people read
    (click-through, play-through, watch minutes per impression). `experiment_id`/`variant` is the profile's A/B variant at the time of the impression
    (first exposure before it), or the bandit arm of the page; '(none)' outside experiments, so every
    impression counts once per experiment it was part of plus once under '(none)'. -#}

with impressions as {{ inlined_cte() }} (

    select * from {{ ref('recommendation_impressions') }}

),

assignments as (

    select experiment_id, profile_id, variant, first_exposed_at from {{ ref('experiment_assignments') }}

),

bandit_arms as (

    select distinct experiment_id from {{ ref('experiment_variants') }}
    where kind = 'bandit'

),

by_arm as (

    select impressions.*, '(none)' as experiment_id, '(none)' as variant from impressions

    union all

    select impressions.*, assignments.experiment_id, assignments.variant
    from impressions
    inner join assignments
        on impressions.profile_id = assignments.profile_id
        and impressions.impressed_at >= assignments.first_exposed_at

    union all

    select impressions.*, split_part(impressions.request_id, '.', 2) as experiment_id, impressions.bandit_arm as variant
    from impressions
    inner join bandit_arms
        on split_part(impressions.request_id, '.', 2) = bandit_arms.experiment_id
    where impressions.bandit_arm is not null

),

final as (

    select
        impressed_date,
        row_kind,
        model_version,
        experiment_id,
        variant,
        count(*) as impressions,
        sum(case when is_clicked then 1 else 0 end) as clicks,
        sum(case when is_played then 1 else 0 end) as plays,
        cast(sum(watch_seconds) as double) / 60 as watch_minutes,
        count(is_retained_7d) as impressions_with_7d_follow_up,
        sum(case when is_retained_7d then 1 else 0 end) as retained_7d,
        count(is_retained_30d) as impressions_with_30d_follow_up,
        sum(case when is_retained_30d then 1 else 0 end) as retained_30d,
        sum(case when is_clicked then 1 else 0 end) * 1.0 / count(*) as click_through_rate,
        sum(case when is_played then 1 else 0 end) * 1.0
        / nullif(sum(case when is_clicked then 1 else 0 end), 0) as play_through_rate,
        cast(sum(watch_seconds) as double) / 60 / count(*) as watch_minutes_per_impression
    from by_arm
    group by impressed_date, row_kind, model_version, experiment_id, variant

)

select * from final
