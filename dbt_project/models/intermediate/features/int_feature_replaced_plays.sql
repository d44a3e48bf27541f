-- depends_on: {{ ref('int_device_rebuild_windows') }}
{#- The keys of the plays rows this run is about to replace (the plays mart deletes its rows of the
    rebuild windows in a pre_hook, so they are read here, before it runs: plays depends on this model).
    The feature-layer daily aggregates recompute these keys besides those of the rebuilt rows.
    Empty when the aggregates are rebuilt in full (first build, full refresh, Spark, windows covering
    everything). The plays table is read by name: a ref would be a cycle. -#}
{%- set plays = adapter.get_relation(database=target_database(), schema=target.schema, identifier='plays') %}
{%- set capture = execute and plays is not none and not should_full_refresh()
                  and not rebuild_windows_cover_everything() %}

{%- if capture %}

select distinct
    replaced.content_id as title_id,
    {{ title_viewer_key_columns('replaced.') }},
    replaced.profile_id
from {{ plays }} as replaced
inner join {{ ref('int_device_rebuild_windows') }} as windows
    on replaced.device_id = windows.device_id
    and replaced.started_at >= windows.rebuild_from
where replaced.content_id is not null

{%- else %}

select
    cast(null as {{ dbt.type_string() }}) as title_id,
    cast(null as {{ dbt.type_string() }}) as viewer_id,
    cast(null as date) as activity_date,
    cast(null as {{ dbt.type_string() }}) as country,
    cast(null as {{ dbt.type_string() }}) as profile_id
where 1 = 0

{%- endif %}
