{#- Portable arithmetic shared by the feature tables. -#}

{#- numerator / denominator as a double; null when the denominator is 0 (undefined, not zero). -#}
{% macro features_ratio(numerator, denominator) -%}
  case when ({{ denominator }}) > 0 then cast(({{ numerator }}) as double) / ({{ denominator }}) end
{%- endmacro %}

{#- Trend of a recent window against an earlier one, both as daily rates:
    (recent_rate - prior_rate) / (recent_rate + prior_rate), in [-1, 1]; 0 when both are 0.
    +1 means activity only in the recent window, -1 only in the prior one. Defined for zeros. -#}
{% macro features_trend(recent_total, recent_days, prior_total, prior_days) -%}
  case
    when {{ recent_total }} + {{ prior_total }} = 0 then 0.0
    else (cast({{ recent_total }} as double) / {{ recent_days }} - cast({{ prior_total }} as double) / {{ prior_days }})
       / (cast({{ recent_total }} as double) / {{ recent_days }} + cast({{ prior_total }} as double) / {{ prior_days }})
  end
{%- endmacro %}
