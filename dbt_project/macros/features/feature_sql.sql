{#- Adapter-specific SQL used by the feature models. DuckDB is the default; Spark gets its own branch
    so the same models build there. Everything else in models/features is portable SQL. -#}

{#- A date plus a whole number of days, as a date. -#}
{% macro features_add_days(date_expr, days) %}
  {{ return(adapter.dispatch('features_add_days', 'streamloop')(date_expr, days)) }}
{% endmacro %}
{% macro default__features_add_days(date_expr, days) -%}
  cast({{ date_expr }} + cast({{ days }} as integer) as date)
{%- endmacro %}
{% macro spark__features_add_days(date_expr, days) -%}
  date_add({{ date_expr }}, {{ days }})
{%- endmacro %}

{#- Whole days from start_date to end_date (end - start). -#}
{% macro features_days_between(start_date, end_date) %}
  {{ return(adapter.dispatch('features_days_between', 'streamloop')(start_date, end_date)) }}
{% endmacro %}
{% macro default__features_days_between(start_date, end_date) -%}
  cast(datediff('day', {{ start_date }}, {{ end_date }}) as integer)
{%- endmacro %}
{% macro spark__features_days_between(start_date, end_date) -%}
  datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- Wall-clock time in an IANA timezone for a UTC timestamp (warehouse timestamps are naive UTC). -#}
{% macro features_local_timestamp(utc_timestamp, timezone_name) %}
  {{ return(adapter.dispatch('features_local_timestamp', 'streamloop')(utc_timestamp, timezone_name)) }}
{% endmacro %}
{% macro default__features_local_timestamp(utc_timestamp, timezone_name) -%}
  timezone({{ timezone_name }}, timezone('UTC', cast({{ utc_timestamp }} as timestamp)))
{%- endmacro %}
{% macro spark__features_local_timestamp(utc_timestamp, timezone_name) -%}
  from_utc_timestamp({{ utc_timestamp }}, {{ timezone_name }})
{%- endmacro %}

{#- True on Saturday and Sunday. -#}
{% macro features_is_weekend(local_timestamp) %}
  {{ return(adapter.dispatch('features_is_weekend', 'streamloop')(local_timestamp)) }}
{% endmacro %}
{% macro default__features_is_weekend(local_timestamp) -%}
  (isodow({{ local_timestamp }}) in (6, 7))
{%- endmacro %}
{% macro spark__features_is_weekend(local_timestamp) -%}
  (dayofweek({{ local_timestamp }}) in (1, 7))
{%- endmacro %}

{#- One output row per element of a list column (select-list form). -#}
{% macro features_explode(list_expr) %}
  {{ return(adapter.dispatch('features_explode', 'streamloop')(list_expr)) }}
{% endmacro %}
{% macro default__features_explode(list_expr) -%}
  unnest({{ list_expr }})
{%- endmacro %}
{% macro spark__features_explode(list_expr) -%}
  explode({{ list_expr }})
{%- endmacro %}

{#- Select-list expression yielding 0, step, 2*step, ... below span_days (one row each). -#}
{% macro features_day_offsets(span_days, step_days) %}
  {{ return(adapter.dispatch('features_day_offsets', 'streamloop')(span_days, step_days)) }}
{% endmacro %}
{% macro default__features_day_offsets(span_days, step_days) -%}
  unnest(range(0, {{ span_days }}, {{ step_days }}))
{%- endmacro %}
{% macro spark__features_day_offsets(span_days, step_days) -%}
  explode(sequence(0, {{ span_days }} - 1, {{ step_days }}))
{%- endmacro %}

{#- Genre labels as lowercase identifiers: "Sci-Fi" -> sci_fi, "Children's" -> children_s. -#}
{% macro features_genre_key(genre_expr) %}
  {{ return(adapter.dispatch('features_genre_key', 'streamloop')(genre_expr)) }}
{% endmacro %}
{% macro default__features_genre_key(genre_expr) -%}
  trim(regexp_replace(lower(trim({{ genre_expr }})), '[^a-z0-9]+', '_', 'g'), '_')
{%- endmacro %}
{% macro spark__features_genre_key(genre_expr) -%}
  regexp_replace(regexp_replace(lower(trim({{ genre_expr }})), '[^a-z0-9]+', '_'), '^_+|_+$', '')
{%- endmacro %}

{#- Aggregate: the value of `value_expr` on the row with the largest `order_expr`. -#}
{% macro features_arg_max(value_expr, order_expr) %}
  {{ return(adapter.dispatch('features_arg_max', 'streamloop')(value_expr, order_expr)) }}
{% endmacro %}
{% macro default__features_arg_max(value_expr, order_expr) -%}
  arg_max({{ value_expr }}, {{ order_expr }})
{%- endmacro %}
{% macro spark__features_arg_max(value_expr, order_expr) -%}
  max_by({{ value_expr }}, {{ order_expr }})
{%- endmacro %}

{#- Aggregate: the group's non-null texts, sorted, joined with commas; null if none. -#}
{% macro features_sorted_text_agg(text_expr) %}
  {{ return(adapter.dispatch('features_sorted_text_agg', 'streamloop')(text_expr)) }}
{% endmacro %}
{% macro default__features_sorted_text_agg(text_expr) -%}
  {#- an ordered string_agg sorts every group's rows, nulls included; sorting the short list is far cheaper -#}
  nullif(array_to_string(list_sort(list({{ text_expr }}) filter (where {{ text_expr }} is not null)), ','), '')
{%- endmacro %}
{% macro spark__features_sorted_text_agg(text_expr) -%}
  nullif(array_join(array_sort(collect_list({{ text_expr }})), ','), '')
{%- endmacro %}
