{#- Incremental change tracking.

    Every record staged by a run carries `_staged_at` = that run's start. After a build whose models
    all succeeded, the on-run-end hook stores the run's start as the watermark; the next run treats
    records staged after it as new. A run that fails leaves the watermark alone, so the next run
    picks its records up again (every incremental step is idempotent: delete + insert by key). -#}

{% macro run_started_literal() -%}
  cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{% macro build_state_relation() -%}
  {{ return(api.Relation.create(database=target_database(), schema=target.schema, identifier='_streamloop_build_state')) }}
{%- endmacro %}

{#- The last successful build's start, or none when there is no state (first build, deleted state). -#}
{% macro build_watermark() %}
  {% if not execute %}{{ return(none) }}{% endif %}
  {% set state = adapter.get_relation(database=target_database(), schema=target.schema, identifier='_streamloop_build_state') %}
  {% if state is none %}{{ return(none) }}{% endif %}
  {% set result = run_query("select max(watermark) from " ~ state) %}
  {% set value = result.columns[0].values()[0] %}
  {{ return(value.strftime("%Y-%m-%d %H:%M:%S.%f") if value is not none else none) }}
{% endmacro %}

{#- SQL predicate on `_staged_at`: records staged since the last successful build -#}
{% macro staged_since_watermark(column='_staged_at') -%}
  {%- set watermark = build_watermark() -%}
  {%- if watermark is none -%} true
  {%- else -%} {{ column }} > cast('{{ watermark }}' as timestamp)
  {%- endif -%}
{%- endmacro %}

{#- on-run-end: advance the watermark only when every model of the event chain ran and nothing failed -#}
{% macro record_build_watermark(results) %}
  {% if not execute or flags.WHICH not in ('build', 'run') %}{{ return('') }}{% endif %}
  {% set ran = [] %}
  {% set failed = [] %}
  {% for result in results %}
    {% if result.node.resource_type == 'model' %}{% do ran.append(result.node.name) %}{% endif %}
    {% if result.status in ('error', 'fail', 'skipped', 'runtime error') %}{% do failed.append(result.node.name) %}{% endif %}
  {% endfor %}
  {% set chain = ['int_events_received', 'int_events_deduplicated', 'int_device_rebuild_windows', 'events', 'sessions', 'plays', 'impression_funnel'] %}
  {% set missing = chain | reject('in', ran) | list %}
  {% if failed or missing %}{{ return('') }}{% endif %}
  {{ return(adapter.dispatch('replace_table_as', 'streamloop')(build_state_relation(), "select " ~ run_started_literal() ~ " as watermark")) }}
{% endmacro %}

{#- SQL that replaces `relation` with the result of `query` -#}
{% macro default__replace_table_as(relation, query) -%}
  create or replace table {{ relation }} as {{ query }}
{%- endmacro %}

{#- the target's database (DuckDB's catalog); Spark has none (schemas only) -#}
{% macro target_database() -%}
  {{ return(target.database if target.database is defined else none) }}
{%- endmacro %}
