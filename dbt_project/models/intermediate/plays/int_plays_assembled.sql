{#- One row per play in the rebuild windows: a device's play_start of a title, through that title's
    heartbeats/pauses/resumes, to its play_stop or play_complete, the next play_start on the device,
    or the session's end (CONTRACT §3). Playback events before any play_start in the session, or of
    another title than the play's, are orphans and belong to no play. Assembled from this build's
    rebuild windows (the events mart's rebuilt rows): plays never cross a session, nor a window start.
    watch_seconds counts forward progress only: each step adds the position gained, at most the
    wall-clock time elapsed since the previous event (a seek forward is not watching). A play is
    completed on play_complete or when its last position reaches streamloop_completion_threshold of the runtime. -#}

with playback_events as (

    select
        event_id,
        event_type,
        device_id,
        session_id,
        profile_id,
        account_id,
        title_id,
        country,
        device_type,
        position_s,
        duration_s,
        occurred_at
    from {{ rebuilt_events() }} as rebuilt_events
    where event_type in ('play_start', 'heartbeat', 'pause', 'resume', 'play_stop', 'play_complete')

),

attached as (

    -- each event belongs to the session's latest play_start so far (none before the first)
    select
        *,
        last_value(case when event_type = 'play_start' then event_id end ignore nulls) over session_so_far
            as play_start_event_id,
        last_value(case when event_type = 'play_start' then title_id end ignore nulls) over session_so_far
            as play_title_id,
        count(*) filter (where event_type = 'play_start') over session_so_far as play_sequence,
        count(*) filter (where event_type = 'play_start') over (partition by session_id) as session_play_count
    from playback_events
    window session_so_far as (
        partition by session_id
        order by occurred_at, event_id
        rows between unbounded preceding and current row
    )

),

progressed as (

    -- only the play's title counts; a play ends at its first play_stop/play_complete
    select
        *,
        count(*) filter (where event_type in ('play_stop', 'play_complete')) over (
            partition by play_start_event_id
            order by occurred_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as endings_before,
        greatest(
            0,
            least(
                position_s - lag(position_s) over play_order,
                {{ seconds_between('lag(occurred_at) over play_order', 'occurred_at') }}
            )
        ) as forward_seconds
    from attached
    where play_start_event_id is not null
        and title_id = play_title_id
    window play_order as (partition by play_start_event_id order by occurred_at, event_id)

),

plays as (

    select
        {{ hash_id(["'play'", 'play_start_event_id']) }} as play_id,
        play_start_event_id,
        any_value(device_id) as device_id,
        any_value(session_id) as session_id,
        any_value(play_title_id) as title_id,
        max(profile_id) filter (where event_type = 'play_start') as profile_id,
        max(account_id) filter (where event_type = 'play_start') as account_id,
        max(country) filter (where event_type = 'play_start') as country,
        max(device_type) filter (where event_type = 'play_start') as device_type,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        -- whole seconds: sums over plays stay exact whatever order they are added in
        cast(round(coalesce(sum(forward_seconds), 0)) as bigint) as watch_seconds,
        max(position_s) as max_position_s,
        last(position_s order by occurred_at, event_id) as last_position_s,
        max(duration_s) filter (where event_type = 'play_start') as duration_s,
        bool_or(event_type = 'play_complete') as has_play_complete,
        max(event_type) filter (where event_type in ('play_stop', 'play_complete')) as ending_event_type,
        any_value(play_sequence) < any_value(session_play_count) as has_next_play
    from progressed
    where endings_before = 0
    group by play_start_event_id

),

final as (

    select
        play_id,
        device_id,
        profile_id,
        account_id,
        session_id,
        title_id,
        started_at,
        ended_at,
        cast(started_at as date) as play_date,
        watch_seconds,
        max_position_s,
        last_position_s,
        duration_s,
        (
            has_play_complete
            or (duration_s > 0 and last_position_s >= {{ var('streamloop_completion_threshold') }} * duration_s)
        ) as is_completed,
        case
            when ending_event_type is not null then ending_event_type
            when has_next_play then 'next_play'
            else 'session_end'
        end as end_reason,
        country,
        device_type
    from plays

)

select * from final
