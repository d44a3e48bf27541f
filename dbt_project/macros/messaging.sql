{#- The runner's ledger snapshot (<lake>/messaging/ledger.parquet, messaging/export.py). Before the first
    campaign run it does not exist: staging then reads a typed empty relation. -#}

{% macro messaging_ledger_location() -%}
  {{ return(lake_root() ~ '/messaging/ledger.parquet') }}
{%- endmacro %}

{% macro messaging_ledger_relation() %}
  {{ return(adapter.dispatch('messaging_ledger_relation', 'streamloop')()) }}
{% endmacro %}

{#- DuckDB; Spark's is in spark/adapter_functions_spark.sql -#}
{% macro default__messaging_ledger_relation() %}
  {%- set relation = source('messaging', 'ledger') -%}  {#- lineage: campaign_runs → staging #}
  {%- set has_file = true -%}
  {%- if execute -%}
    {%- set result = run_query("select count(*) from glob('" ~ messaging_ledger_location() ~ "')") -%}
    {%- set has_file = result.columns[0].values()[0] > 0 -%}
  {%- endif -%}
  {%- if has_file -%}
    {{ relation }}
  {%- else -%}
    (select
        null::varchar as message_id, null::varchar as campaign_id, null::varchar as profile_id,
        null::varchar as period, null::varchar as grp, null::varchar as channel, null::varchar as status,
        null::varchar as reason, null::bigint as is_held, null::varchar as decided_at, null::varchar as send_at,
        null::varchar as sent_at, null::varchar as delivered_at, null::bigint as attempts
     where false)
  {%- endif -%}
{% endmacro %}
