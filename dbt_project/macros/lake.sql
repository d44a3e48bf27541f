{#- The lake's file kinds may be absent (no rejects yet, no catalog loaded): read_parquet fails on an
    empty glob, so staging reads a typed empty relation instead. -#}

{% macro lake_root() -%}
  {{ return(env_var('STREAMLOOP_LAKE_URI', var('streamloop_lake_root')) | trim) }}
{%- endmacro %}

{#- the files of one kind, below the root as streamloop/core/lake.py lays them out (var streamloop_lake_globs) -#}
{% macro lake_glob(kind) -%}
  {{ lake_root() }}/{{ var('streamloop_lake_globs')[kind] }}
{%- endmacro %}

{% macro lake_has_files(kind) %}
  {% if not execute %}{{ return(true) }}{% endif %}
  {{ return(adapter.dispatch('lake_has_files', 'streamloop')(kind)) }}
{% endmacro %}

{% macro default__lake_has_files(kind) %}
  {% set result = run_query("select count(*) from glob('" ~ lake_glob(kind) ~ "')") %}
  {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}

{#- source('lake', kind) when it has files, else an empty relation with the same columns -#}
{% macro lake_source(kind) %}
  {%- set relation = source('lake', kind) -%}
  {%- if lake_has_files(kind) -%}
    {{ adapter.dispatch('lake_relation', 'streamloop')(kind, relation) }}
  {%- else -%}
    {{ adapter.dispatch('lake_empty_relation', 'streamloop')(kind) }}
  {%- endif -%}
{% endmacro %}

{#- the source as the adapter reads it (DuckDB: the source's external_location) -#}
{% macro default__lake_relation(kind, relation) -%}
  {{ relation }}
{%- endmacro %}

{% macro default__lake_empty_relation(kind) -%}
    (select
        null::varchar as batch_id,
        null::integer as record_index,
        null::timestamptz as received_at,
        null::varchar as source,
        null::varchar as raw
        {%- if kind != 'catalog' %}, null::date as received_date{% endif %}
        {%- if kind in ('rejected', 'ignored') %}, null::varchar as reason{% endif %}
     where false)
{%- endmacro %}

{#- Received-date partitions holding a batch that `relation` (an incremental model keyed by
    received_date, batch_id) has not processed yet: a listing of file names, no file is read.
    Only `batch-*` files are listed: `compacted-*` files (streamloop/core/compaction.py) hold batches the
    warehouse had already processed when they were compacted, so they are never new. -#}
{% macro lake_unprocessed_partitions(kind, relation) %}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% set query %}
    with files as (
        select
            regexp_extract(file, 'received_date=([0-9-]+)/batch-([^/]+)\.parquet$', ['received_date', 'batch_id']) as parts
        from glob('{{ lake_glob(kind) }}')
        where regexp_matches(file, '/batch-[^/]+\.parquet$')
    ),
    processed as (
        -- distinct first: an anti-join straight against the ledger hashes every record (~1 CPU-s at
        -- 10M); its few (date, batch) pairs come from dictionary-compressed columns (~0.1 CPU-s)
        select distinct received_date, batch_id from {{ relation }}
    )
    select distinct parts.received_date
    from files
    where not exists (
        select 1 from processed
        where processed.received_date = cast(parts.received_date as date)
          and processed.batch_id = parts.batch_id
    )
    order by 1
  {% endset %}
  {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}

{#- Does any events file carry the typed columns the lake fills when it lands a record
    (streamloop/core/lake.py, EVENTS_SCHEMA)? Lakes landed before them, or only by writers that do not
    type (Firehose's conversion), have none: staging then parses every record. -#}
{% macro lake_events_are_typed() %}
  {% if not execute or not lake_has_files('events') %}{{ return(false) }}{% endif %}
  {{ return(adapter.dispatch('lake_events_are_typed', 'streamloop')()) }}
{% endmacro %}

{% macro default__lake_events_are_typed() %}
  {#- exists: DuckDB stops at the first typed file (0.005 s against 0.16 s for counting 688 files' footers; a
      long-lived lake has thousands) -#}
  {% set result = run_query("select exists (select 1 from parquet_schema('" ~ lake_glob('events') ~ "') where name = 'landed_typed')") %}
  {{ return(result.columns[0].values()[0]) }}
{% endmacro %}
