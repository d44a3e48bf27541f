-- shown in Dagster as a check of ingestion_reconciliation (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'ingestion_reconciliation'}}}) }}
-- received = accepted + duplicates + rejected + ignored on every received date, and the totals agree with
-- the records actually staged, the edge rejects and the events mart (returns the failing checks)
with by_date as (

    select
        'received_date ' || received_date as failing_check
    from {{ ref('ingestion_reconciliation') }}
    where received_count <> accepted_count + duplicate_count + rejected_count + ignored_count

),

totals as (

    select
        (select sum(received_count) from {{ ref('ingestion_reconciliation') }}) as reconciled_received,
        (select count(*) from {{ ref('int_events_received') }})
            + (select count(*) from {{ ref('stg_lake__edge_rejects') }})
            + (select count(*) from {{ ref('stg_lake__ignored') }}) as staged_received,
        -- Parquet footers hold row counts: counting the lake reads no data
        (select count(*) from {{ ref('int_events_received') }}) as ledger_count,
        (select count(*) from {{ ref('stg_lake__events') }}) as lake_count,
        (select sum(accepted_count) from {{ ref('ingestion_reconciliation') }}) as reconciled_accepted,
        (select count(*) from {{ ref('events') }}) as events_count,
        (select sum(rejected_count) from {{ ref('ingestion_reconciliation') }}) as reconciled_rejected,
        (select count(*) from {{ ref('rejected_events') }} where lake_kind = 'events') as rejected_events_count

),

total_checks as (

    select 'received total' as failing_check from totals where reconciled_received <> staged_received
    union all
    select 'lake records vs staged records' from totals where ledger_count <> lake_count
    union all
    select 'accepted total vs events' from totals where reconciled_accepted <> events_count
    union all
    select 'rejected total vs rejected_events' from totals where reconciled_rejected <> rejected_events_count

)

select * from by_date
union all
select * from total_checks
