{#- Generic test: every non-null value of the column lies in [min_value, max_value].
    Usage: data_tests: [{accepted_range: {arguments: {min_value: 0, max_value: 1}}}] -#}
{% test accepted_range(model, column_name, min_value, max_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}
   or {{ column_name }} > {{ max_value }}
{% endtest %}
