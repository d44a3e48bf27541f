{#- Model contracts (models/**/*.yml) name DuckDB types. On Spark the same names are translated
    before dbt checks the model's columns against them: varchar needs a length there, and lists
    are array<…>. -#}

{% macro spark_type_of(data_type) -%}
  {%- set name = data_type | trim | lower -%}
  {%- if name.endswith('[]') -%}
    array<{{ spark_type_of(name[:-2]) }}>
  {%- else -%}
    {{ {'varchar': 'string', 'text': 'string', 'integer': 'int', 'timestamptz': 'timestamp'}.get(name, name) }}
  {%- endif -%}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) %}
  {%- set translated = {} -%}
  {%- for name in columns -%}
    {%- set column = columns[name].copy() if columns[name] is mapping else columns[name] -%}
    {%- if column['data_type'] is defined and column['data_type'] -%}
      {%- do column.update({'data_type': spark_type_of(column['data_type'])}) -%}
    {%- endif -%}
    {%- do translated.update({name: column}) -%}
  {%- endfor -%}
  {{ return(default__get_empty_schema_sql(translated)) }}
{% endmacro %}
