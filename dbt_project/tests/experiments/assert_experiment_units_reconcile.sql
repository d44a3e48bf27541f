-- shown in Dagster as a check of experiment_assignments (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'experiment_assignments'}}}) }}
-- every exposure event is in experiment_exposures once, and every assigned profile has a metrics row
select 'exposure events' as failing_check
where (
    select count(*) from {{ ref('events') }}
    where event_type = 'experiment_exposure'
)
<> (select count(*) from {{ ref('experiment_exposures') }})

union all

select 'assigned profiles'
where (select count(*) from {{ ref('experiment_assignments') }})
    <> (select count(*) from {{ ref('experiment_metrics') }})
