{#- Joining a spine (snapshot rows, or active days) with the parts computed per key of it. -#}

{#- Left joins of each relation in `parts` to `spine` on equal `keys`. -#}
{% macro features_left_join_on_keys(spine, parts, keys) %}
  {%- for part in parts %}
    left join {{ part }}
        on {% for key in keys %}{{ spine }}.{{ key }} = {{ part }}.{{ key }}{{ '\n        and ' if not loop.last }}{% endfor %}
  {%- endfor %}
{% endmacro %}

{#- Select-list: count columns of a left-joined relation (each name + `suffix`) as bigint, 0 where it
    had no row. Rounded explicitly: a cast of a double truncates on Spark and rounds on DuckDB. -#}
{% macro features_zero_filled(relation, columns, suffix='') -%}
  {%- for column in columns -%}
    cast(round(coalesce({{ relation }}.{{ column }}{{ suffix }}, 0)) as bigint) as {{ column }}{{ suffix }}
    {{- ',\n        ' if not loop.last }}
  {%- endfor -%}
{%- endmacro %}
