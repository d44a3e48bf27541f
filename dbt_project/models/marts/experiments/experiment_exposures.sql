{#- One row per experiment_exposure event with what the readout made of it: `counted`, or why not
    (unknown experiment or variant, no profile, before the start or after the end). Nothing is dropped:
    the statuses of an experiment add up to its exposure events. -#}

with exposure_events as (

    select event_id, profile_id, account_id, experiment_id, variant, occurred_at
    from {{ ref('events') }}
    where event_type = 'experiment_exposure'

),

variants as (

    select experiment_id, variant from {{ ref('experiment_variants') }}

),

experiments as (

    select
        experiment_id,
        min(started_at) as started_at,
        min(ended_at) as ended_at
    from {{ ref('experiment_variants') }}
    group by experiment_id

),

final as (

    select
        exposure_events.event_id,
        exposure_events.experiment_id,
        exposure_events.variant,
        exposure_events.profile_id,
        exposure_events.account_id,
        exposure_events.occurred_at as exposed_at,
        case
            when experiments.experiment_id is null then 'unknown_experiment'
            when variants.variant is null then 'unknown_variant'
            when exposure_events.profile_id is null then 'no_profile'
            when exposure_events.occurred_at < experiments.started_at then 'before_the_start'
            when exposure_events.occurred_at >= experiments.ended_at then 'after_the_end'
            else 'counted'
        end as exposure_status
    from exposure_events
    left join experiments
        on exposure_events.experiment_id = experiments.experiment_id
    left join variants
        on exposure_events.experiment_id = variants.experiment_id
        and exposure_events.variant = variants.variant

)

select * from final
