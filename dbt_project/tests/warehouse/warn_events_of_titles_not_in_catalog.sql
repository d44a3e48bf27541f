{{ config(severity='warn') }}
-- valid events naming a title the catalog does not know: kept and flagged (is_title_in_catalog),
-- never dropped; this warns so the catalog can be completed
select
    title_id,
    count(*) as event_count
from {{ ref('events') }}
where is_title_in_catalog = false
group by title_id
