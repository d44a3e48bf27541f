{#- Generic test: no two rows share the same values of `columns` (a composite key).
    Usage: data_tests: [{unique_combination: {arguments: {columns: [profile_id, snapshot_date]}}}] -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
