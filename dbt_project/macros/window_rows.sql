{#- Rows of `relation` (with device_id and `time_column`) inside this build's rebuild windows: in a
    full rebuild every row (rebuild_from = -infinity). -#}
{% macro rows_in_rebuild_windows(relation, time_column='occurred_at') -%}
    select rows_in_window.*
    from {{ relation }} as rows_in_window
    inner join {{ ref('int_device_rebuild_windows') }} as windows
        on rows_in_window.device_id = windows.device_id
        and rows_in_window.{{ time_column }} >= windows.rebuild_from
{%- endmacro %}
