{#- One data-test node per model for the daily build.

    Each dbt data test is a node with a fixed cost (~35–65 ms to compile it, run its query and record its
    result) whatever it reads. On a daily build its query is cheap (macros/changed_rows_tests.sql: the rows
    the build changed), so that fixed cost was most of the build's test time: 198 generic tests, 10–14 s of
    node time at 10M events. A model's `grouped_data_tests` test runs, in one query, the model's generic
    tests that the invocation left out while building the models they read. `streamloop build` leaves out,
    on a daily build, every test a group can run (orchestration/dbt_runner.py `build_test_selection`: a test of
    this model and of models built before it, error severity, dbt's default fail_calc); on a full refresh
    or a whole-table (nightly) build it leaves the groups out and every test runs as its own node. A plain
    `dbt build` selects every test, so its groups run nothing.

    Each member is the test's own macro (dbt's not_null, unique, …, or this project's) on the same
    changed-rows relation its own node would read; the group returns one row per member that found
    problems (its name and failing rows) and fails with their sum, so it fails exactly when a member
    would. streamloop names the failing members from those rows (orchestration/dbt_runner.py).
    Declared on every model that has generic tests (tests/test_warehouse_changed_rows_tests.py checks it):
      data_tests: [grouped_data_tests] -#}
{% test grouped_data_tests(model) %}
  {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
  {%- set members = grouped_test_members() if execute else [] %}
  {%- if members %}
select data_test, failing_rows
from (
    {%- for member in members %}
    select '{{ member.name }}' as data_test,
        (select count(*) from ({{ grouped_member_sql(member, model) }}) as member_rows) as failing_rows
    {{- ' union all' if not loop.last }}
    {%- endfor %}
) as members
where failing_rows > 0
  {%- else %}
select cast(null as {{ string_type() }}) as data_test, 0 as failing_rows
where 1 = 0
  {%- endif %}
{% endtest %}

{#- The generic tests of the model this group is attached to that the invocation left unselected and that
    read only this model and models built before it (its ancestors, which exist whenever it does): those a
    daily `streamloop build` leaves to the groups (dagster-dbt may pass its exclusions as a generated
    selector, so the group cannot read them from the invocation's --exclude). A run restricted to some
    models may leave out a relationships test whose other model it does not build: that one stays out. A
    test excluded by hand still runs in its group: exclude the group too (`--exclude
    test_name:grouped_data_tests`). -#}
{% macro grouped_test_members() %}
  {% set group = context['model'] %}
  {#- the model and its ancestors: the loop walks the list while it grows -#}
  {% set ancestors = [group.attached_node] %}
  {% for unique_id in ancestors %}
    {% set node = graph.nodes.get(unique_id) %}
    {% for parent in (node.depends_on.nodes if node else []) if parent not in ancestors %}
      {% do ancestors.append(parent) %}
    {% endfor %}
  {% endfor %}
  {% set members = [] %}
  {% for node in graph.nodes.values() %}
    {% if node.resource_type == 'test' and node.attached_node == group.attached_node
          and node.test_metadata and node.test_metadata.name != 'grouped_data_tests'
          and node.unique_id not in selected_resources
          and node.depends_on.nodes | reject('in', ancestors) | list | length == 0 %}
      {% do members.append(node) %}
    {% endif %}
  {% endfor %}
  {{ return(members | sort(attribute='name')) }}
{% endmacro %}

{#- A member test's SQL: its generic test macro (test_<name>, dbt's or this project's) with its own
    arguments, on `model` (the group's relation: the rows the build changed, as the member's would be) -#}
{% macro grouped_member_sql(member, model) %}
  {% set test_macro = context.get('test_' ~ member.test_metadata.name) %}
  {% if test_macro is none %}
    {{ exceptions.raise_compiler_error("grouped_data_tests: no macro test_" ~ member.test_metadata.name
                                       ~ " for " ~ member.name) }}
  {% endif %}
  {% set arguments = {} %}
  {% for key, value in member.test_metadata.kwargs.items() if key != 'model' %}
    {#- a model argument (a relationships test's `to`) is held as its jinja text, "ref('profiles')": the
        group names the relation itself (a model built before the group, see build_test_selection) -#}
    {% if value is string and value.replace('"', "'").startswith("ref('") %}
      {% set value = model_node_named(value.replace('"', "'").split("'")[1]).relation_name %}
    {% endif %}
    {% do arguments.update({key: value}) %}
  {% endfor %}
  {{ return(test_macro(model=model, **arguments)) }}
{% endmacro %}
