{#- Data tests on the rows a build changed.

    An incremental build rewrites a small part of each incremental model; testing the whole table each
    time costs as much as a full build's tests. So a generic data test (unique, not_null, …) on an
    incremental model reads only the rows this build wrote, named by the model's
    `meta: {changed_rows: …}`:
      - 'window:<time column>': the rows of the devices in int_device_rebuild_windows at or after their rebuild_from
      - 'devices': the rows of the devices in int_device_rebuild_windows
      - 'staged': the rows staged by the latest build (`_staged_at`, the largest in the table)
      - 'staged_event_ids': the event_ids holding a record staged by the latest build
    The tests read the whole table when the var streamloop_tests_on_changed_rows is false
    (`streamloop build --whole-table-tests`, the nightly_warehouse_build schedule), on --full-refresh,
    before the first build, for a model without `changed_rows` and where incremental models are rebuilt
    in full (Spark). Singular tests (tests/) always read whole tables. A `relationships` test filters only
    the tested model, never the model it points to. -#}

{#- dbt's get_where_subquery (applies a test's `where` config), with the changed-rows condition added -#}
{% macro get_where_subquery(relation) -%}
  {%- set conditions = [] -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
  {%- set changed = changed_rows_condition(relation, 'tested_rows') -%}
  {%- if changed -%}{%- do conditions.append('(' ~ changed ~ ')') -%}{%- endif -%}
  {%- if conditions -%}
    {%- do return('(select * from ' ~ relation ~ ' as tested_rows where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

{#- The model node of the project named `name` (the graph's copy), or none -#}
{% macro model_node_named(name) %}
  {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name %}
    {{ return(node) }}
  {% endfor %}
  {{ return(none) }}
{% endmacro %}

{#- SQL condition on `alias` (a row of `relation`) selecting the rows the latest build changed, or none
    when the test reads the whole table -#}
{% macro changed_rows_condition(relation, alias) %}
  {% if not execute or not var('streamloop_tests_on_changed_rows') or flags.FULL_REFRESH %}{{ return(none) }}{% endif %}
  {% set node = model_node_named(relation.identifier) %}
  {% if node is none or node.config.materialized != 'incremental' or node.config.full_refresh %}{{ return(none) }}{% endif %}
  {% set kind = (node.config.meta or {}).get('changed_rows') %}
  {% if not kind or build_watermark() is none %}{{ return(none) }}{% endif %}
  {% set windows = model_node_named('int_device_rebuild_windows').relation_name %}
  {% set received = model_node_named('int_events_received').relation_name %}
  {% if kind.startswith('window:') %}
    {{ return("exists (select 1 from " ~ windows ~ " as windows where windows.device_id = " ~ alias ~ ".device_id and "
              ~ alias ~ "." ~ kind.split(':')[1] ~ " >= windows.rebuild_from)") }}
  {% elif kind == 'devices' %}
    {{ return(alias ~ ".device_id in (select device_id from " ~ windows ~ ")") }}
  {% elif kind == 'staged' %}
    {{ return(alias ~ "._staged_at = (select max(_staged_at) from " ~ relation ~ ")") }}
  {% elif kind == 'staged_event_ids' %}
    {{ return(alias ~ ".event_id in (select event_id from " ~ received ~ " where _staged_at = (select max(_staged_at) from "
              ~ received ~ "))") }}
  {% endif %}
  {{ exceptions.raise_compiler_error("model " ~ node.name ~ ": unknown meta changed_rows '" ~ kind ~ "'") }}
{% endmacro %}
