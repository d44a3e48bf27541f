{#- One row per pair of experiments and their variants with the profiles assigned to both: how
    experiments share traffic. Independent hashing (different salts) should make one experiment's
    variant independent of the other's; the readout tests that (ml.experiments.overlap_checks). -#}

with assignments as (

    select experiment_id, profile_id, variant from {{ ref('experiment_assignments') }}

),

final as (

    select
        first_experiment.experiment_id,
        first_experiment.variant,
        other_experiment.experiment_id as other_experiment_id,
        other_experiment.variant as other_variant,
        count(*) as profiles
    from assignments as first_experiment
    inner join assignments as other_experiment
        on first_experiment.profile_id = other_experiment.profile_id
        and first_experiment.experiment_id <> other_experiment.experiment_id
    group by
        first_experiment.experiment_id,
        first_experiment.variant,
        other_experiment.experiment_id,
        other_experiment.variant

)

select * from final
