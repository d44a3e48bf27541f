{#- More adapter-dispatched SQL (see adapter_functions.sql): DuckDB is the default, Spark's
    implementations are in spark/adapter_functions_spark.sql. -#}

{#- JSON type name (DuckDB's json_type names) of a JSON text column, or of the value at `path`
    ('$.a') in it; null when the path is absent -#}
{% macro json_text_type_of(text, path=none) -%}
  {{ return(adapter.dispatch('json_text_type_of', 'streamloop')(text, path)) }}
{%- endmacro %}

{% macro default__json_text_type_of(text, path) -%}
  {%- if path -%} json_type({{ text }}, '{{ path }}') {%- else -%} json_type({{ text }}) {%- endif -%}
{%- endmacro %}

{#- The JSON text of a fragment, strings quoted (for messages that quote what was received) -#}
{% macro json_fragment_json_text(fragment) -%}
  {{ return(adapter.dispatch('json_fragment_json_text', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_fragment_json_text(fragment) -%}
  cast({{ fragment }} as varchar)
{%- endmacro %}

{#- A fragment holding a JSON array as a list of strings; null when it is not an array -#}
{% macro json_fragment_string_list(fragment) -%}
  {{ return(adapter.dispatch('json_fragment_string_list', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_fragment_string_list(fragment) -%}
  try(from_json({{ fragment }}, '["VARCHAR"]'))
{%- endmacro %}

{#- A timestamp before every event ("rebuild from the first event") -#}
{% macro timestamp_minus_infinity() -%}
  {{ return(adapter.dispatch('timestamp_minus_infinity', 'streamloop')()) }}
{%- endmacro %}

{% macro default__timestamp_minus_infinity() -%}
  cast('-infinity' as timestamp)
{%- endmacro %}

{#- A struct from a dict of field name → SQL expression (in the dict's order) -#}
{% macro struct_of(fields) -%}
  {{ return(adapter.dispatch('struct_of', 'streamloop')(fields)) }}
{%- endmacro %}

{% macro default__struct_of(fields) -%}
  { {%- for name, expression in fields.items() %}'{{ name }}': {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}

{#- The SQL name of the text type (casts of null, seeds) -#}
{% macro string_type() -%}
  {{ return(adapter.dispatch('string_type', 'streamloop')()) }}
{%- endmacro %}

{% macro default__string_type() -%}varchar{%- endmacro %}

{#- Window function (followed by `over …`): the last / first non-null value of the frame -#}
{% macro last_non_null(expression) -%}
  {{ return(adapter.dispatch('last_non_null', 'streamloop')(expression)) }}
{%- endmacro %}

{% macro default__last_non_null(expression) -%}
  last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro first_non_null(expression) -%}
  {{ return(adapter.dispatch('first_non_null', 'streamloop')(expression)) }}
{%- endmacro %}

{% macro default__first_non_null(expression) -%}
  first_value({{ expression }} ignore nulls)
{%- endmacro %}

{#- Aggregate: `value` of the row whose (parts…) tuple is smallest -#}
{% macro arg_min_by_parts(value, parts) -%}
  {{ return(adapter.dispatch('arg_min_by_parts', 'streamloop')(value, parts)) }}
{%- endmacro %}

{% macro default__arg_min_by_parts(value, parts) -%}
  arg_min({{ value }}, ({{ parts | join(', ') }}))
{%- endmacro %}

{#- 1-based position of `expression` in a list of string literals; null when absent -#}
{% macro position_in_list(values, expression) -%}
  {{ return(adapter.dispatch('position_in_list', 'streamloop')(values, expression)) }}
{%- endmacro %}

{% macro default__position_in_list(values, expression) -%}
  list_position(['{{ values | join("', '") }}'], {{ expression }})
{%- endmacro %}

{#- Select-list: every column of the input except `columns` -#}
{% macro star_except(columns) -%}
  {{ return(adapter.dispatch('star_except', 'streamloop')(columns)) }}
{%- endmacro %}

{% macro default__star_except(columns) -%}
  * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{#- A double as text the way DuckDB prints it (0.5, 1.0, 0.0001) for values rounded to at most
    `places` decimals; used where numbers are written into JSON text -#}
{% macro number_text(expression, places=4) -%}
  {{ return(adapter.dispatch('number_text', 'streamloop')(expression, places)) }}
{%- endmacro %}

{% macro default__number_text(expression, places) -%}
  cast({{ expression }} as varchar)
{%- endmacro %}

{#- True when the whole of `text` matches `pattern` (a regular expression literal, no quotes) -#}
{% macro regexp_matches_fully(text, pattern) -%}
  {{ return(adapter.dispatch('regexp_matches_fully', 'streamloop')(text, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches_fully(text, pattern) -%}
  regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}

{#- incremental_strategy of the models that replace rows by unique_key. Spark without Delta/Iceberg
    has no delete+insert; there those models rebuild in full (dbt_project.yml), so 'append' only
    passes dbt-spark's check and is never used incrementally. -#}
{% macro delete_insert_strategy() -%}
  {{ return(adapter.dispatch('delete_insert_strategy', 'streamloop')()) }}
{%- endmacro %}

{% macro default__delete_insert_strategy() -%}
  {{ return('delete+insert') }}
{%- endmacro %}

{#- Aggregate: `value` on the group's first / last row ordered by (parts…), nulls included -#}
{% macro first_by(value, parts) -%}
  {{ return(adapter.dispatch('first_by', 'streamloop')(value, parts)) }}
{%- endmacro %}

{% macro default__first_by(value, parts) -%}
  first({{ value }} order by {{ parts | join(', ') }})
{%- endmacro %}

{% macro last_by(value, parts) -%}
  {{ return(adapter.dispatch('last_by', 'streamloop')(value, parts)) }}
{%- endmacro %}

{% macro default__last_by(value, parts) -%}
  last({{ value }} order by {{ parts | join(', ') }})
{%- endmacro %}

{#- ISO 8601 text with an offset (or none: UTC) → UTC timestamp -#}
{% macro iso_text_to_utc_timestamp(text) -%}
  {{ return(adapter.dispatch('iso_text_to_utc_timestamp', 'streamloop')(text)) }}
{%- endmacro %}

{% macro default__iso_text_to_utc_timestamp(text) -%}
  cast(cast({{ text }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- A sum of doubles that does not depend on the order the engine's threads add the rows in: each value
    rounded to 1e-12 and summed exactly as a decimal, then a double again. A plain double sum differs
    in its last bits from run to run, and statistics that subtract such sums (Σy² − (Σy)²/n) carry the
    difference into their 12th digit: two builds of the same data gave different interval bounds.
    Exact for |sum| < 1e26. -#}
{% macro order_free_sum(expression) -%}
  cast(sum(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}
