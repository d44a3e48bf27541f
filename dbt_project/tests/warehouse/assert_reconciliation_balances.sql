-- shown in Dagster as a check of ingestion_reconciliation (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'ingestion_reconciliation'}}}) }}
-- On every received date, each count of ingestion_reconciliation (kept incrementally, from the ledger's
-- statuses) equals a recount from the tables downstream of it: records staged plus edge rejects plus
-- ignored messages plus suppressed records, rows of the events mart by the day their accepted copy
-- arrived, rows of rejected_events. And received = accepted + duplicates + rejected + ignored + suppressed.
-- Returns the failing checks.

with reconciled as (

    select * from {{ ref('ingestion_reconciliation') }}

),

staged as (

    select received_date, count(*) as record_count
    from {{ ref('int_events_received') }}
    group by received_date

),

edge_rejected as (

    select received_date, count(*) as record_count
    from {{ ref('stg_lake__edge_rejects') }}
    group by received_date

),

ignored as (

    select received_date, count(*) as record_count
    from {{ ref('stg_lake__ignored') }}
    group by received_date

),

suppressed as (

    select received_date, count(*) as record_count
    from {{ ref('stg_lake__suppressed') }}
    group by received_date

),

accepted as (

    -- the events mart holds each event's accepted copy; received_at is UTC, like the lake's partitions
    select cast(received_at as date) as received_date, count(*) as event_count
    from {{ ref('events') }}
    group by cast(received_at as date)

),

rejected as (

    select received_date, count(*) as record_count
    from {{ ref('rejected_events') }}
    where lake_kind = 'events'
    group by received_date

),

dates as (

    select received_date from reconciled
    union
    select received_date from staged
    union
    select received_date from edge_rejected
    union
    select received_date from ignored
    union
    select received_date from suppressed
    union
    select received_date from accepted
    union
    select received_date from rejected

),

compared as (

    select
        dates.received_date,
        coalesce(reconciled.received_count, 0) as received_count,
        coalesce(reconciled.accepted_count, 0) as accepted_count,
        coalesce(reconciled.duplicate_count, 0) as duplicate_count,
        coalesce(reconciled.rejected_count, 0) as rejected_count,
        coalesce(reconciled.ignored_count, 0) as ignored_count,
        coalesce(reconciled.suppressed_count, 0) as suppressed_count,
        coalesce(staged.record_count, 0) + coalesce(edge_rejected.record_count, 0)
        + coalesce(ignored.record_count, 0) + coalesce(suppressed.record_count, 0) as recounted_received,
        coalesce(accepted.event_count, 0) as recounted_accepted,
        coalesce(rejected.record_count, 0) as recounted_rejected
    from dates
    left join reconciled on dates.received_date = reconciled.received_date
    left join staged on dates.received_date = staged.received_date
    left join edge_rejected on dates.received_date = edge_rejected.received_date
    left join ignored on dates.received_date = ignored.received_date
    left join suppressed on dates.received_date = suppressed.received_date
    left join accepted on dates.received_date = accepted.received_date
    left join rejected on dates.received_date = rejected.received_date

),

failing as (

    select received_date, 'received vs records staged, rejected at the edge, ignored and suppressed' as failing_check
    from compared
    where received_count <> recounted_received
    union all
    select received_date, 'accepted vs events mart rows received that day' as failing_check
    from compared
    where accepted_count <> recounted_accepted
    union all
    select received_date, 'rejected vs rejected_events rows' as failing_check
    from compared
    where rejected_count <> recounted_rejected
    union all
    select received_date, 'received vs accepted + duplicates + rejected + ignored + suppressed' as failing_check
    from compared
    where received_count <> accepted_count + duplicate_count + rejected_count + ignored_count + suppressed_count

)

select * from failing
