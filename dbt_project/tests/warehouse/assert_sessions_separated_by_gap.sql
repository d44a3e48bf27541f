-- consecutive sessions of a device are separated by at least streamloop_session_gap_minutes, and no session
-- spans a gap that long (checks sessionization on the built marts, incremental or not)
with ordered as (

    select
        device_id,
        session_id,
        started_at,
        lag(ended_at) over (partition by device_id order by started_at) as previous_ended_at
    from {{ ref('sessions') }}

)

select *
from ordered
where started_at - previous_ended_at < interval {{ var('streamloop_session_gap_minutes') }} minute
