-- shown in Dagster as a check of experiment_assignments (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'experiment_assignments'}}}) }}
-- one seed row per (experiment, variant) and one assignment / metrics row per (experiment, profile)
select 'experiment_variants' as model, experiment_id, variant as key_value, count(*) as copies
from {{ ref('experiment_variants') }}
group by experiment_id, variant
having count(*) > 1

union all

select 'experiment_assignments' as model, experiment_id, profile_id as key_value, count(*) as copies
from {{ ref('experiment_assignments') }}
group by experiment_id, profile_id
having count(*) > 1

union all

select 'experiment_metrics' as model, experiment_id, profile_id as key_value, count(*) as copies
from {{ ref('experiment_metrics') }}
group by experiment_id, profile_id
having count(*) > 1
