{{ config(materialized='view') }}
{#- One row per valid event in the rebuild windows, stitched to its profile and assigned to its
    session: a run of one device's events with gaps under streamloop_session_gap_minutes. session_id is a hash
    of the session's first event, so recomputing a window reproduces it. A view: the events mart
    materializes it (sessions, plays and the funnel read the rebuilt rows from there). -#}

with stitched as (

    select * from {{ ref('int_events_stitched_to_profiles') }}

),

session_starts as (

    select
        * exclude (previous_occurred_at),
        (
            previous_occurred_at is null
            or occurred_at - previous_occurred_at >= interval {{ var('streamloop_session_gap_minutes') }} minute
        ) as is_session_start
    from stitched

),

sessionized as (

    select
        * exclude (is_session_start),
        {{ hash_id(["'session'", "last_value(case when is_session_start then event_id end ignore nulls) over (
            partition by device_id
            order by " ~ device_event_order() ~ "
            rows between unbounded preceding and current row
        )"]) }} as session_id
    from session_starts

)

select * from sessionized
