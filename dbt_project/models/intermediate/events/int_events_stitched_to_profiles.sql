{{ config(materialized='view') }}
{#- One row per valid event in the rebuild windows, with its resolved profile and account and the
    identity rule used (CONTRACT §3), in order:
      explicit           the event carries profile_id
      device_forward     the latest login/profile_switch on the device at or before the event, unless
                         a logout came in between
      device_retroactive the next login/profile_switch on the device after the event
      anonymous          none of the above; the profile stays null
    The account of a stitched event is the account of the identity event that gave its profile. The
    device's identity events before its window are read as context (they decide device_forward at
    the start of the window) but not returned. -#}

with windows as (

    select * from {{ ref('int_device_rebuild_windows') }}

),

deduplicated as (

    select * from {{ ref('int_events_deduplicated') }}

),

window_events as (

    select
        deduplicated.*,
        false as is_context
    from deduplicated
    inner join windows
        on deduplicated.device_id = windows.device_id
        and deduplicated.occurred_at >= windows.rebuild_from

),

context_identity_events as (

    select
        deduplicated.*,
        true as is_context
    from deduplicated
    inner join windows
        on deduplicated.device_id = windows.device_id
        and deduplicated.occurred_at < windows.rebuild_from
    where deduplicated.event_type in {{ identity_event_types_sql() }}

),

timeline as (

    select * from window_events
    union all
    select * from context_identity_events

),

identity_events as (

    -- the device's login/profile_switch/logout events: a small share of all events
    select
        event_id,
        device_id,
        event_type,
        occurred_at,
        profile_id,
        -- a profile_switch may omit account_id: it stays in the household of the device's last login
        case
            when event_type in {{ login_event_types_sql() }}
                then coalesce(
                    account_id,
                    last_value(case when event_type in {{ login_event_types_sql() }} then account_id end ignore nulls) over (
                        partition by device_id
                        order by {{ device_event_order() }}
                        rows between unbounded preceding and current row
                    )
                )
        end as identity_account_id
    from timeline
    where event_type in {{ identity_event_types_sql() }}

),

identity_events_with_previous as (

    select
        *,
        -- a logout belongs to whoever was logged in before it (nobody after another logout)
        lag(
            case when event_type in {{ login_event_types_sql() }} then {'profile_id': profile_id, 'account_id': identity_account_id} end
        ) over (partition by device_id order by {{ device_event_order() }}) as state_before_identity_event
    from identity_events

),

identity_states as (

    select
        timeline.*,
        -- what each identity event says about the device from then on (a logout: nobody)
        case
            when timeline.event_type in {{ login_event_types_sql() }}
                then {'profile_id': timeline.profile_id, 'account_id': identity_events.identity_account_id}
            when timeline.event_type = 'logout'
                then {'profile_id': null::varchar, 'account_id': null::varchar}
        end as identity_state,
        identity_events.state_before_identity_event
    from timeline
    left join identity_events_with_previous as identity_events
        on timeline.event_id = identity_events.event_id

),

resolved as (

    select
        *,
        case
            when event_type = 'logout' then state_before_identity_event
            else last_value(identity_state ignore nulls) over device_timeline
        end as forward_state,
        first_value(case when event_type in {{ login_event_types_sql() }} then identity_state end ignore nulls) over (
            partition by device_id
            order by {{ device_event_order() }}
            rows between 1 following and unbounded following
        ) as next_login_state
    from identity_states
    window device_timeline as (
        partition by device_id
        order by {{ device_event_order() }}
        rows between unbounded preceding and current row
    )

),

stitched as (

    select
        * exclude (
            profile_id, account_id, identity_state, state_before_identity_event, next_login_state,
            forward_state, is_context
        ),
        profile_id as raw_profile_id,
        account_id as raw_account_id,
        case
            when profile_id is not null then 'explicit'
            when forward_state.profile_id is not null then 'device_forward'
            when next_login_state.profile_id is not null then 'device_retroactive'
            else 'anonymous'
        end as identity_rule,
        coalesce(profile_id, forward_state.profile_id, next_login_state.profile_id) as profile_id,
        -- an account the event carries is kept; otherwise the account of the identity event that
        -- gave the profile (for an explicit profile: when that identity event names the same profile)
        case
            when account_id is not null then account_id
            when profile_id is not null then coalesce(
                case when forward_state.profile_id = profile_id then forward_state.account_id end,
                case when next_login_state.profile_id = profile_id then next_login_state.account_id end
            )
            when forward_state.profile_id is not null then forward_state.account_id
            else next_login_state.account_id
        end as account_id
    from resolved
    where not is_context

)

select * from stitched
