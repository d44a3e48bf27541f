{#- Seeds on Spark: dbt-spark's session method binds an empty CSV cell as the text 'None' (a null
    number still casts to null, a null string does not). Rows are written as SQL literals instead,
    an empty cell as null. Otherwise as dbt-spark's own spark__load_csv_rows. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(get_batch_size()) %}
    {% set sql %}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
          {%- set type = spark_type_of(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
          {%- set value = row[loop.index0] -%}
          cast({{ 'null' if value is none else "'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'" }} as {{ type }})
          {%- if not loop.last %}, {% endif -%}
        {%- endfor -%})
        {%- if not loop.last %},{% endif %}
      {%- endfor %}
    {% endset %}
    {% do adapter.add_query(sql, abridge_sql_log=True) %}
    {% if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}

{#- As dbt-spark's spark__create_csv_table, with the seeds' column_types (written for DuckDB, e.g.
    varchar) translated for Spark (spark_type_of in contracts_spark.sql) -#}
{% macro spark__create_csv_table(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
  {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {%- set type = spark_type_of(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }} {%- if not loop.last -%}, {%- endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ partition_cols(label="partitioned by") }}
    {{ clustered_cols(label="clustered by") }}
    {{ location_clause() }}
    {{ comment_clause() }}
  {% endset %}
  {% call statement('_') -%}
    {{ sql }}
  {%- endcall %}
  {{ return(sql) }}
{% endmacro %}
