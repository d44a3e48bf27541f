{{ config(severity='warn') }}
-- warns when more than var streamloop_max_reject_rate of the records received on a day were rejected
select
    received_date,
    rejected_count,
    received_count,
    rejected_count / received_count as reject_rate
from {{ ref('ingestion_reconciliation') }}
where received_count > 0
    and rejected_count / received_count > {{ var('streamloop_max_reject_rate') }}
