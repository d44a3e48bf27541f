{#- Model-level generic tests that check many columns in one query, so wide feature tables do not
    add a dbt test (and its fixed cost) per column. -#}

{#- No nulls in any of `columns`. -#}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}

{#- Every non-null value of `columns` lies in [min_value, max_value]. -#}
{% test columns_in_range(model, columns, min_value, max_value) %}
select *
from {{ model }}
where {% for column in columns -%}
    {{ column }} < {{ min_value }} or {{ column }} > {{ max_value }}{{ ' or ' if not loop.last }}
{%- endfor %}
{% endtest %}
