{#- Incremental feature-layer daily aggregates (issue #17): only the keys whose rows change are
    recomputed. A key changes when a replaced mart row had it (captured before the marts delete those
    rows: int_feature_replaced_plays) or a rebuilt row has it. -#}

{#- True when this run recomputes the daily aggregates in full: not incremental (first build,
    --full-refresh, Spark) or every rebuild window starts at -infinity (a full rebuild of the marts,
    e.g. a catalog change; then int_feature_replaced_plays captured nothing). Always exact, only slower. -#}
{% macro feature_daily_in_full() %}
  {% if not execute or not is_incremental() %}{{ return(true) }}{% endif %}
  {{ return(rebuild_windows_cover_everything()) }}
{% endmacro %}

{% macro rebuild_windows_cover_everything() %}
  {% if not execute %}{{ return(true) }}{% endif %}
  {% set counts = run_query("select count(*), count(*) filter (where rebuild_from = " ~ timestamp_minus_infinity()
                            ~ ") from " ~ ref('int_device_rebuild_windows')) %}
  {% set row = counts.rows[0] %}
  {{ return(row[0] > 0 and row[0] == row[1]) }}
{% endmacro %}

{#- The plays mart's rows this run rebuilt (those of the rebuild windows) -#}
{% macro rebuilt_plays() -%}
  (
    select plays.*
    from {{ ref('plays') }} as plays
    inner join {{ ref('int_device_rebuild_windows') }} as windows
        on plays.device_id = windows.device_id
        and plays.started_at >= windows.rebuild_from
  )
{%- endmacro %}

{#- pre_hook: drop the rows of the keys `changed_keys_sql` (a select of `key_columns`) lists -#}
{% macro delete_changed_keys(changed_keys_sql, key_columns) %}
  {% if not feature_daily_in_full() %}
    delete from {{ this }} as target
    where exists (
        select 1
        from ({{ changed_keys_sql }}) as changed
        where {% for column in key_columns %}changed.{{ column }} is not distinct from target.{{ column }}
            {%- if not loop.last %} and {% endif %}{% endfor %}
    )
  {% elif is_incremental() %}
    delete from {{ this }}
  {% endif %}
{% endmacro %}

{#- (title_id, viewer_id, activity_date, country) keys of replaced and rebuilt plays -#}
{% macro title_viewer_changed_keys() -%}
    select title_id, viewer_id, activity_date, country from {{ ref('int_feature_replaced_plays') }}
    union
    select
        content_id as title_id,
        {{ title_viewer_key_columns('rebuilt.') }}
    from {{ rebuilt_plays() }} as rebuilt
    where content_id is not null
{%- endmacro %}

{#- viewer, day and country of a play, as int_title_viewer_daily groups them -#}
{% macro title_viewer_key_columns(prefix='') -%}
  coalesce({{ prefix }}profile_id, 'device:' || {{ prefix }}device_id) as viewer_id,
        cast({{ prefix }}ended_at as date) as activity_date,
        coalesce({{ prefix }}country, 'ZZ') as country
{%- endmacro %}
