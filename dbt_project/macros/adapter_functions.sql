{#- Adapter-specific SQL lives behind adapter.dispatch: DuckDB is the default implementation; a
    `spark__<name>` macro next to each makes the project build on Spark. -#}

{#- Parses a JSON text column once into a struct of JSON fragments (one per path in `fields`, a
    nested dict of names); null when the text is not valid JSON or not an object. -#}
{% macro parse_json_fields(column, fields) -%}
  {{ return(adapter.dispatch('parse_json_fields', 'streamloop')(column, fields)) }}
{%- endmacro %}

{% macro default__parse_json_fields(column, fields) -%}
  {#- the json_valid guard keeps errors out of TRY, which would re-run a whole vector row by row -#}
  case when json_valid({{ column }}) then try(from_json({{ column }}, '{{ tojson(fields) }}')) end
{%- endmacro %}

{#- JSON type name of a fragment: VARCHAR, BIGINT, UBIGINT, DOUBLE, BOOLEAN, OBJECT, ARRAY, NULL -#}
{% macro json_type_of(fragment) -%}
  {{ return(adapter.dispatch('json_type_of', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_type_of(fragment) -%}
  json_type({{ fragment }})
{%- endmacro %}

{#- The text of a JSON fragment (strings unquoted) -#}
{% macro json_text(fragment) -%}
  {{ return(adapter.dispatch('json_text', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_text(fragment) -%}
  ({{ fragment }} ->> '$')
{%- endmacro %}

{#- Values of fragments produced by parse_json_fields (already-parsed, re-serialized JSON), each
    null unless the fragment holds that JSON type. They read the fragment's text instead of parsing
    it again: ~10x cheaper, which matters at ~40 fragments per event. -#}
{% macro json_fragment_string(fragment) -%}
  {{ return(adapter.dispatch('json_fragment_string', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_fragment_string(fragment) -%}
  case
    when not starts_with(cast({{ fragment }} as varchar), '"') then null
    when contains(cast({{ fragment }} as varchar), '\') then {{ fragment }} ->> '$'
    else (cast({{ fragment }} as varchar))[2:-2]
  end
{%- endmacro %}

{#- a JSON number as double (json text of a number is a valid SQL double literal; strings keep quotes and fail) -#}
{% macro json_fragment_number(fragment) -%}
  {{ return(adapter.dispatch('json_fragment_number', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_fragment_number(fragment) -%}
  try_cast(cast({{ fragment }} as varchar) as double)
{%- endmacro %}

{% macro json_fragment_boolean(fragment) -%}
  {{ return(adapter.dispatch('json_fragment_boolean', 'streamloop')(fragment)) }}
{%- endmacro %}

{% macro default__json_fragment_boolean(fragment) -%}
  case cast({{ fragment }} as varchar) when 'true' then true when 'false' then false end
{%- endmacro %}

{% macro is_valid_json(column) -%}
  {{ return(adapter.dispatch('is_valid_json', 'streamloop')(column)) }}
{%- endmacro %}

{% macro default__is_valid_json(column) -%}
  json_valid({{ column }})
{%- endmacro %}

{#- RFC 3339 text with an offset → UTC timestamp; null when it is not one -#}
{% macro parse_rfc3339_utc(text) -%}
  {{ return(adapter.dispatch('parse_rfc3339_utc', 'streamloop')(text)) }}
{%- endmacro %}

{% macro default__parse_rfc3339_utc(text) -%}
  case
    when regexp_full_match({{ text }}, '\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})')
      then timezone('UTC', try_cast(upper({{ text }}) as timestamptz))
  end
{%- endmacro %}

{#- timestamptz → UTC timestamp -#}
{% macro to_utc_timestamp(column) -%}
  {{ return(adapter.dispatch('to_utc_timestamp', 'streamloop')(column)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(column) -%}
  timezone('UTC', {{ column }})
{%- endmacro %}

{#- A stable id: hex digest of the concatenated parts -#}
{% macro hash_id(parts) -%}
  {{ return(adapter.dispatch('hash_id', 'streamloop')(parts)) }}
{%- endmacro %}

{% macro default__hash_id(parts) -%}
  md5(concat_ws('|', {{ parts | join(', ') }}))
{%- endmacro %}

{% macro seconds_between(start, finish) -%}
  {{ return(adapter.dispatch('seconds_between', 'streamloop')(start, finish)) }}
{%- endmacro %}

{#- whole microseconds first, like Spark's unix_micros: epoch() of two large doubles loses the last digits -#}
{% macro default__seconds_between(start, finish) -%}
  (cast(epoch_us({{ finish }}) - epoch_us({{ start }}) as double) / 1000000)
{%- endmacro %}

{#- `expression` as `type`, null when it does not fit (a rejected record's 1e308 as a bigint): a record's
    content must never fail the build. dbt's safe_cast is a plain cast on DuckDB. -#}
{% macro try_cast_to(expression, type) -%}
  {{ return(adapter.dispatch('try_cast_to', 'streamloop')(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast_to(expression, type) -%}
  try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{#- `with name as {{ inlined_cte() }} (…)`: DuckDB materializes a CTE read more than once (all its
    rows, before any consumer's filter); inlined, each consumer's joins filter its own scan. Spark
    has no such hint (and inlines by default). -#}
{% macro inlined_cte() -%}
  {{ return(adapter.dispatch('inlined_cte', 'streamloop')()) }}
{%- endmacro %}

{% macro default__inlined_cte() -%}
  not materialized
{%- endmacro %}

{% macro spark__inlined_cte() -%}
{%- endmacro %}
