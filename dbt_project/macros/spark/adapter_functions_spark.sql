{#- Spark implementations of the dispatched macros in adapter_functions.sql and portable_sql.sql.

    JSON is parsed once into Spark's VARIANT (try_parse_json, Spark 4+, no extra jars); a fragment
    is a VARIANT, and a JSON null becomes SQL null, as DuckDB's from_json does. Type names are
    mapped onto DuckDB's json_type names, which rejection reasons quote. -#}

{#- a struct shaped like `fields` (nested dicts of names) of the fragments under `path` -#}
{% macro _spark_json_struct(parsed, fields, path) -%}
  named_struct(
  {%- for name, shape in fields.items() %}
    '{{ name }}',
    {%- if shape is mapping %}
    case when {{ _spark_json_fragment(parsed, path ~ '.' ~ name) }} is not null
      then {{ _spark_json_struct(parsed, shape, path ~ '.' ~ name) }} end
    {%- else %}
    {{ _spark_json_fragment(parsed, path ~ '.' ~ name) }}
    {%- endif %}{{ ',' if not loop.last }}
  {%- endfor %}
  )
{%- endmacro %}

{#- the VARIANT at `path`, null when absent or a JSON null -#}
{% macro _spark_json_fragment(parsed, path) -%}
  {%- set fragment = "try_variant_get(" ~ parsed ~ ", '" ~ path ~ "', 'variant')" -%}
  case when not is_variant_null({{ fragment }}) then {{ fragment }} end
{%- endmacro %}

{% macro spark__parse_json_fields(column, fields) -%}
  {#- Spark evaluates the repeated try_parse_json once per row (common subexpression elimination) -#}
  case when try_parse_json({{ column }}) is not null
    then {{ _spark_json_struct('try_parse_json(' ~ column ~ ')', fields, '$') }} end
{%- endmacro %}

{#- DuckDB's json_type names for a VARIANT's schema_of_variant -#}
{% macro _spark_duckdb_json_type(variant) -%}
  case
    when {{ variant }} is null then null
    when schema_of_variant({{ variant }}) = 'STRING' then 'VARCHAR'
    when schema_of_variant({{ variant }}) = 'BOOLEAN' then 'BOOLEAN'
    when schema_of_variant({{ variant }}) = 'VOID' then 'NULL'
    when schema_of_variant({{ variant }}) like 'OBJECT%' then 'OBJECT'
    when schema_of_variant({{ variant }}) like 'ARRAY%' then 'ARRAY'
    {#- DuckDB: integers are UBIGINT when non-negative and BIGINT when negative, up to 2^64 - 1 -#}
    when schema_of_variant({{ variant }}) in ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DECIMAL(20,0)')
         or schema_of_variant({{ variant }}) rlike '^DECIMAL\\([0-9]+,0\\)$'
      then case
        when to_json({{ variant }}) rlike '^-' and try_cast(to_json({{ variant }}) as bigint) is not null then 'BIGINT'
        when try_cast(to_json({{ variant }}) as decimal(20, 0)) <= 18446744073709551615 then 'UBIGINT'
        else 'DOUBLE' end
    else 'DOUBLE'
  end
{%- endmacro %}

{% macro spark__json_type_of(fragment) -%}
  {{ _spark_duckdb_json_type(fragment) }}
{%- endmacro %}

{% macro spark__json_text_type_of(text, path) -%}
  {%- if path -%}
  {{ _spark_duckdb_json_type("try_variant_get(try_parse_json(" ~ text ~ "), '" ~ path ~ "', 'variant')") }}
  {%- else -%}
  {{ _spark_duckdb_json_type("try_parse_json(" ~ text ~ ")") }}
  {%- endif -%}
{%- endmacro %}

{#- cast of a VARIANT to string: strings unquoted, anything else its JSON text -#}
{% macro spark__json_text(fragment) -%}
  cast({{ fragment }} as string)
{%- endmacro %}

{% macro spark__json_fragment_json_text(fragment) -%}
  to_json({{ fragment }})
{%- endmacro %}

{% macro spark__json_fragment_string(fragment) -%}
  case when schema_of_variant({{ fragment }}) = 'STRING' then cast({{ fragment }} as string) end
{%- endmacro %}

{#- numbers only: a JSON string holding digits stays null, as in DuckDB -#}
{% macro spark__json_fragment_number(fragment) -%}
  case when to_json({{ fragment }}) rlike '^-?[0-9]' then cast({{ fragment }} as double) end
{%- endmacro %}

{% macro spark__json_fragment_boolean(fragment) -%}
  case when schema_of_variant({{ fragment }}) = 'BOOLEAN' then cast({{ fragment }} as boolean) end
{%- endmacro %}

{% macro spark__json_fragment_string_list(fragment) -%}
  try_variant_get({{ fragment }}, '$', 'array<string>')
{%- endmacro %}

{% macro spark__is_valid_json(column) -%}
  (try_parse_json({{ column }}) is not null)
{%- endmacro %}

{#- Spark's cast reads RFC 3339 with Z or an offset; the session time zone is UTC (profiles.yml) -#}
{% macro spark__parse_rfc3339_utc(text) -%}
  case
    when {{ text }} rlike '^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$'
      then cast(upper({{ text }}) as timestamp)
  end
{%- endmacro %}

{#- Spark timestamps are instants shown in the session time zone (UTC) -#}
{% macro spark__to_utc_timestamp(column) -%}
  cast({{ column }} as timestamp)
{%- endmacro %}

{% macro spark__seconds_between(start, finish) -%}
  (cast(unix_micros({{ finish }}) - unix_micros({{ start }}) as double) / 1000000)
{%- endmacro %}

{% macro spark__timestamp_minus_infinity() -%}
  timestamp'0001-01-01 00:00:00'
{%- endmacro %}

{#- The lake on Spark: Parquet folders read in place (received_date=… partitions are discovered).
    Spark SQL cannot list files, so which kinds have files comes from STREAMLOOP_LAKE_KINDS, set by
    `streamloop build` from the lake's listing (unset: every kind is assumed present). -#}
{% macro spark__lake_has_files(kind) %}
  {% set present = env_var('STREAMLOOP_LAKE_KINDS', 'events,catalog,rejected,ignored,messaging').split(',') %}
  {{ return(kind in present) }}
{% endmacro %}

{% macro spark__lake_relation(kind, relation) -%}
  parquet.`{{ lake_root() }}/{{ kind }}`
{%- endmacro %}

{% macro spark__lake_empty_relation(kind) -%}
    (select
        cast(null as string) as batch_id,
        cast(null as int) as record_index,
        cast(null as timestamp) as received_at,
        cast(null as string) as source,
        cast(null as string) as raw
        {%- if kind != 'catalog' %}, cast(null as date) as received_date{% endif %}
        {%- if kind in ('rejected', 'ignored') %}, cast(null as string) as reason{% endif %}
     where false)
{%- endmacro %}

{% macro spark__struct_of(fields) -%}
  named_struct({%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{% macro spark__string_type() -%}string{%- endmacro %}

{% macro spark__last_non_null(expression) -%}
  last_value({{ expression }}, true)
{%- endmacro %}

{% macro spark__first_non_null(expression) -%}
  first_value({{ expression }}, true)
{%- endmacro %}

{% macro spark__arg_min_by_parts(value, parts) -%}
  min_by({{ value }}, struct({{ parts | join(', ') }}))
{%- endmacro %}

{% macro spark__position_in_list(values, expression) -%}
  nullif(array_position(array('{{ values | join("', '") }}'), {{ expression }}), 0)
{%- endmacro %}

{% macro spark__star_except(columns) -%}
  * except ({{ columns | join(', ') }})
{%- endmacro %}

{#- Java prints 1.0E-4 where DuckDB prints 0.0001: go through a fixed-point decimal, then drop
    trailing zeros but keep one decimal ('0.5000' → '0.5', '1.0000' → '1.0') -#}
{% macro spark__number_text(expression, places) -%}
  regexp_replace(regexp_replace(cast(cast({{ expression }} as decimal(38, {{ places }})) as string),
                                '0+$', ''), '\\.$', '.0')
{%- endmacro %}

{#- CREATE OR REPLACE needs a v2 table format (Delta, Iceberg): drop, then create -#}
{% macro spark__replace_table_as(relation, query) -%}
  {% do run_query("drop table if exists " ~ relation) %}
  create table {{ relation }} as {{ query }}
{%- endmacro %}

{#- DuckDB's regexp_full_match: Spark's rlike matches anywhere, so anchor the pattern -#}
{% macro spark__regexp_matches_fully(text, pattern) -%}
  ({{ text }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro spark__delete_insert_strategy() -%}
  {{ return('append') }}
{%- endmacro %}

{#- min_by/max_by keep the value of the first/last row even when it is null, like DuckDB's
    first/last(… order by …) -#}
{% macro spark__first_by(value, parts) -%}
  min_by({{ value }}, struct({{ parts | join(', ') }}))
{%- endmacro %}

{% macro spark__last_by(value, parts) -%}
  max_by({{ value }}, struct({{ parts | join(', ') }}))
{%- endmacro %}

{#- the campaign runner's ledger snapshot (macros/messaging.sql), or a typed empty relation -#}
{% macro spark__messaging_ledger_relation() %}
  {%- set relation = source('messaging', 'ledger') -%}
  {%- if spark__lake_has_files('messaging') -%}
    parquet.`{{ messaging_ledger_location() }}`
  {%- else -%}
    (select
        {%- for name in ['message_id', 'campaign_id', 'profile_id', 'period', 'grp', 'channel', 'status', 'reason'] %}
        cast(null as string) as {{ name }},
        {%- endfor %}
        cast(null as bigint) as is_held,
        {%- for name in ['decided_at', 'send_at', 'sent_at', 'delivered_at'] %}
        cast(null as string) as {{ name }},
        {%- endfor %}
        cast(null as bigint) as attempts
     where false)
  {%- endif -%}
{% endmacro %}

{#- the session time zone is UTC: text without an offset is read as UTC -#}
{% macro spark__iso_text_to_utc_timestamp(text) -%}
  cast({{ text }} as timestamp)
{%- endmacro %}

{#- Spark SQL cannot read Parquet footers alone: the (merged, spark.sql.parquet.mergeSchema) schema of
    the events folder, from a query that reads no row -#}
{% macro spark__lake_events_are_typed() %}
  {% set result = run_query("select * from parquet.`" ~ lake_root() ~ "/events` limit 0") %}
  {{ return('landed_typed' in result.column_names) }}
{% endmacro %}
