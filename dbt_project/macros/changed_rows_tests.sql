{#- Data tests on the rows a build changed.

    An incremental build rewrites a small part of each incremental model; testing the whole table each
    time costs as much as a full build's tests. So a generic data test (unique, not_null, …) on an
    incremental model reads only the rows this build wrote, named by the model's
    `meta: {changed_rows: …}`:
      - 'window:<time column>': the rows of the devices in int_device_rebuild_windows at or after their rebuild_from
      - 'devices': the rows of the devices in int_device_rebuild_windows
      - 'window_days:<date column>': the rows of those devices from the day of their rebuild_from on
      - 'from_date:<date column>': the rows on or after the earliest rebuild window's day (daily aggregates)
      - 'staged': the rows staged by this build (`_staged_at` after the last successful build's start;
        in a separate `dbt test`, the largest `_staged_at` in the table)
      - 'staged_event_ids': the event_ids holding a record staged by this build (as 'staged')
    The tests read the whole table when the var streamloop_tests_on_changed_rows is false
    (`streamloop build --whole-table-tests`, the nightly_warehouse_build schedule), on --full-refresh,
    before the first build, for a model without `changed_rows` and where incremental models are rebuilt
    in full (Spark). Singular tests (tests/) always read whole tables. A `relationships` test filters only
    the tested model, never the model it points to. -#}

{#- dbt's get_where_subquery (applies a test's `where` config), with the changed rows selected -#}
{% macro get_where_subquery(relation) -%}
  {%- set conditions = [] -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
  {%- set changed = changed_rows_condition(relation, 'tested_rows') -%}
  {%- set join = '' -%}
  {%- if changed and changed.startswith('inner join') -%}
    {%- set join = ' ' ~ changed -%}
  {%- elif changed -%}
    {%- do conditions.append('(' ~ changed ~ ')') -%}
  {%- endif -%}
  {%- if conditions or join -%}
    {%- do return('(select tested_rows.* from ' ~ relation ~ ' as tested_rows' ~ join
                  ~ (' where ' ~ conditions | join(' and ') if conditions else '') ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

{#- The model node of this project named `name` (the graph's copy), or none: looked up by its unique id
    (a loop over the graph's nodes, three per data test, cost more than some tests' queries) -#}
{% macro model_node_named(name) %}
  {{ return(graph.nodes.get('model.' ~ project_name ~ '.' ~ name)) }}
{% endmacro %}

{#- SQL condition on `alias` (a row of `relation`) selecting the rows the latest build changed (for
    'window:' an `inner join` clause, one row per window), or none when the test reads the whole table -#}
{% macro changed_rows_condition(relation, alias) %}
  {% if not execute or not var('streamloop_tests_on_changed_rows') or flags.FULL_REFRESH %}{{ return(none) }}{% endif %}
  {% set node = model_node_named(relation.identifier) %}
  {% if node is none or node.config.materialized != 'incremental' or node.config.full_refresh %}{{ return(none) }}{% endif %}
  {% set kind = (node.config.meta or {}).get('changed_rows') %}
  {% if not kind %}{{ return(none) }}{% endif %}
  {% set windows = model_node_named('int_device_rebuild_windows').relation_name %}
  {% set received = model_node_named('int_events_received').relation_name %}
  {#- the kinds read from the rebuild windows need no watermark: the windows list every device (from
      -infinity) after a full build, and the model exists only once a build made them (a query per test
      saved, ~200 tests a build) -#}
  {% if kind.startswith('window:') %}
    {#- a join, not a correlated exists, which DuckDB decorrelates by grouping every (device_id, time) pair
        of the table (~1.5 s at 10M rows when nothing changed); the windows' columns are renamed so a
        test's `where` can name the model's own columns unqualified -#}
    {{ return("inner join (select device_id as _changed_device_id, rebuild_from as _changed_from from " ~ windows
              ~ ") as changed_windows on changed_windows._changed_device_id = " ~ alias ~ ".device_id and "
              ~ alias ~ "." ~ kind.split(':')[1] ~ " >= changed_windows._changed_from") }}
  {% elif kind.startswith('window_days:') %}
    {{ return("inner join (select device_id as _changed_device_id, cast(rebuild_from as date) as _changed_from_date from "
              ~ windows ~ ") as changed_windows on changed_windows._changed_device_id = " ~ alias ~ ".device_id and "
              ~ alias ~ "." ~ kind.split(':')[1] ~ " >= changed_windows._changed_from_date") }}
  {% elif kind.startswith('from_date:') %}
    {{ return(alias ~ "." ~ kind.split(':')[1] ~ " >= (select cast(min(rebuild_from) as date) from " ~ windows ~ ")") }}
  {% elif kind == 'devices' %}
    {{ return(alias ~ ".device_id in (select device_id from " ~ windows ~ ")") }}
  {% endif %}
  {% set watermark = build_watermark() %}
  {% if watermark is none %}{{ return(none) }}{% endif %}
  {#- within a build, the records staged since the last successful build's start (none when nothing new
      landed); a separate `dbt test` checks the latest build that staged any -#}
  {% set staged_by_this_build = "_staged_at > cast('" ~ watermark ~ "' as timestamp)"
     if flags.WHICH in ('build', 'run') else none %}
  {% if kind == 'staged' %}
    {{ return(alias ~ "." ~ (staged_by_this_build or "_staged_at = (select max(_staged_at) from " ~ relation ~ ")")) }}
  {% elif kind == 'staged_event_ids' %}
    {{ return(alias ~ ".event_id in (select event_id from " ~ received ~ " where "
              ~ (staged_by_this_build or "_staged_at = (select max(_staged_at) from " ~ received ~ ")") ~ ")") }}
  {% endif %}
  {{ exceptions.raise_compiler_error("model " ~ node.name ~ ": unknown meta changed_rows '" ~ kind ~ "'") }}
{% endmacro %}
