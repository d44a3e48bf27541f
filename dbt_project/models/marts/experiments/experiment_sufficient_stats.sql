{#- One row per experiment, variant and metric: the sums Python turns into estimates (n, Σy, Σy²,
    and with the pre-period value x: Σx, Σx², Σxy). SQL stops here: no means, variances or tests. -#}

{%- set metrics = ['plays', 'watch_minutes', 'completed_plays', 'top_picks_play_start_rate',
                   'is_retained_7d', 'is_converted'] %}

with experiment_metrics as (

    select * from {{ ref('experiment_metrics') }}

),

{% for metric in metrics %}
{{ metric }}_sums as (

    select
        experiment_id,
        variant,
        '{{ metric }}' as metric,
        count({{ metric }}) as n,
        -- order-free: the same data give the same sums, bit for bit, whatever the threads did
        {{ order_free_sum('cast(' ~ metric ~ ' as double)') }} as total,
        {{ order_free_sum('cast(' ~ metric ~ ' as double) * ' ~ metric) }} as total_squares,
        {{ order_free_sum('case when ' ~ metric ~ ' is not null then cast(pre_' ~ metric ~ ' as double) end') }}
            as pre_total,
        {{ order_free_sum('case when ' ~ metric ~ ' is not null then cast(pre_' ~ metric ~ ' as double) * pre_'
                          ~ metric ~ ' end') }} as pre_total_squares,
        {{ order_free_sum('cast(' ~ metric ~ ' as double) * pre_' ~ metric) }} as cross_total
    from experiment_metrics
    group by experiment_id, variant
    having count({{ metric }}) > 0

),

{% endfor %}
final as (

    {% for metric in metrics -%}
    select * from {{ metric }}_sums
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from final
