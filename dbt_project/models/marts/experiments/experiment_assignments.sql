{#- One row per experiment and profile: the profile's first counted exposure decides its variant
    (assignment is sticky, so a second variant means a bug or a changed salt: flagged, not hidden). -#}

with counted_exposures as (

    select * from {{ ref('experiment_exposures') }}
    where exposure_status = 'counted'

),

ranked as (

    select
        counted_exposures.*,
        row_number() over (
            partition by experiment_id, profile_id order by exposed_at, event_id
        ) as exposure_number
    from counted_exposures

),

per_profile as (

    select
        experiment_id,
        profile_id,
        count(*) as exposure_count,
        count(distinct variant) as variant_count,
        count(distinct cast(exposed_at as date)) as exposure_days
    from counted_exposures
    group by experiment_id, profile_id

),

final as (

    select
        ranked.experiment_id,
        ranked.profile_id,
        ranked.account_id,
        ranked.variant,
        ranked.exposed_at as first_exposed_at,
        per_profile.exposure_count,
        per_profile.exposure_days,
        per_profile.variant_count > 1 as has_multiple_variants
    from ranked
    inner join per_profile
        on ranked.experiment_id = per_profile.experiment_id
        and ranked.profile_id = per_profile.profile_id
    where ranked.exposure_number = 1

)

select * from final
