{#- The two point-in-time joins of the feature tables with the snapshot spine (a relation with a
    snapshot_date column, `snapshots` in every feature model). A snapshot date d means d 00:00 UTC:
    "before d" is activity_date < d, so d-1 23:59 counts and d 00:00 does not. Each macro is the body
    of a CTE (a select). -#}

{#- Sums of daily measures over windows of whole days, one row per key and snapshot date that has
    any daily row in the longest window.
    `measures`: measure name -> window lengths in days; output column <measure>_<N>d is the sum of
    the daily column <measure> (or of `expressions[measure]`, e.g. 1 to count days) over the window.
    Windows are the N days [d - N, d) before the snapshot, or with `ahead` the N days [d, d + N)
    from it on (labels). One range join covers every window: its rows are the longest window's. -#}
{% macro windowed_sums(daily, keys, measures, expressions={}, ahead=false, snapshots='snapshots') %}
  {%- set longest = measures.values() | map('max') | max %}
  {%- set day = daily ~ '.activity_date' %}
  {%- set snapshot_date = snapshots ~ '.snapshot_date' %}
    select
        {%- for key in keys %}
        {{ daily }}.{{ key }},
        {%- endfor %}
        {{ snapshot_date }},
        {%- for measure, windows in measures.items() %}
        {%- for days in windows %}
        {%- if ahead %}
        sum(case when {{ day }} < {{ features_add_days(snapshot_date, days) }}
                 then {{ expressions.get(measure, daily ~ '.' ~ measure) }} else 0 end) as {{ measure }}_{{ days }}d
        {%- else %}
        sum(case when {{ day }} >= {{ features_add_days(snapshot_date, -days) }}
                 then {{ expressions.get(measure, daily ~ '.' ~ measure) }} else 0 end) as {{ measure }}_{{ days }}d
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ daily }}
    inner join {{ snapshots }}
    {%- if ahead %}
        on {{ day }} >= {{ snapshot_date }}
        and {{ day }} < {{ features_add_days(snapshot_date, longest) }}
    {%- else %}
        on {{ day }} >= {{ features_add_days(snapshot_date, -longest) }}
        and {{ day }} < {{ snapshot_date }}
    {%- endif %}
    group by {% for key in keys %}{{ daily }}.{{ key }}, {% endfor %}{{ snapshot_date }}
{% endmacro %}

{#- The row of `source` in force at each snapshot: per `key`, the one with the latest `day`
    (a date expression) before the snapshot date; among rows of one day the last in `order_by`.
    Each row is "the latest" for the snapshots after its day, up to and including the next row's
    day, so an interval join keeps the cost at rows x snapshots. Outputs key, snapshot_date,
    `columns` of source as they are, and with `day_as` the row's day under that name. -#}
{% macro latest_before_snapshot(source, key, day, columns=[], day_as=none, order_by=none, where=none,
                                snapshots='snapshots') %}
    select
        spans.{{ key }},
        {{ snapshots }}.snapshot_date
        {%- for column in columns %},
        spans.{{ column }}
        {%- endfor %}
        {%- if day_as %},
        spans.span_start_date as {{ day_as }}
        {%- endif %}
    from (
        select
            {{ key }},
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            {{ day }} as span_start_date,
            lead({{ day }}) over (partition by {{ key }} order by {{ order_by or day }}) as span_end_date
        from {{ source }}
        {%- if where %}
        where {{ where }}
        {%- endif %}
    ) as spans
    inner join {{ snapshots }}
        on spans.span_start_date < {{ snapshots }}.snapshot_date
        and {{ snapshots }}.snapshot_date <= coalesce(spans.span_end_date, date '9999-12-31')
{% endmacro %}
