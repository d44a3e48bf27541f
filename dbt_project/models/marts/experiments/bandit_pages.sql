{#- One row per home page served under a bandit decision: the request id carries it
    (`<request>.<bandit_id>.<arm>`, functions/experiments.py encode_decision), the impressions carry the
    arm's selection probability. Reward inputs: impressions and clicks on the page. Off-policy
    evaluation and the bandit readout (orchestration/defs/experiments) read this. -#}

with impressions as (

    select * from {{ ref('impression_funnel') }}
    where request_id like '%.%.%'

),

decoded as (

    select
        impressions.*,
        split_part(request_id, '.', 2) as bandit_id,
        split_part(request_id, '.', 3) as arm
    from impressions

),

bandits as (

    select experiment_id, variant from {{ ref('experiment_variants') }}
    where kind = 'bandit'

),

final as (

    select
        decoded.request_id,
        decoded.bandit_id,
        decoded.arm,
        min(decoded.profile_id) as profile_id,
        min(decoded.impressed_at) as served_at,
        cast(min(decoded.impressed_at) as date) as served_date,
        -- every item of a page carries the same propensity: the served arm's selection probability
        max(decoded.propensity) as propensity,
        count(*) as impressions,
        sum(case when decoded.is_clicked then 1 else 0 end) as clicks,
        sum(case when decoded.is_played then 1 else 0 end) as plays
    from decoded
    inner join bandits
        on decoded.bandit_id = bandits.experiment_id
        and decoded.arm = bandits.variant
    group by decoded.request_id, decoded.bandit_id, decoded.arm

)

select * from final
