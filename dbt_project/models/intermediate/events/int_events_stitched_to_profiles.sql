{{ config(materialized='view') }}
{#- One row per valid event in the rebuild windows, with its resolved profile and account and the
    identity rule used (CONTRACT §3), in order:
      explicit           the event carries profile_id
      device_forward     the latest login/profile_switch on the device at or before the event, unless
                         a logout came in between
      device_retroactive the next login/profile_switch on the device after the event
      anonymous          none of the above; the profile stays null
    The account of a stitched event is the account of the identity event that gave its profile (a
    profile_switch without account_id stays in the household of the device's latest login that had
    one). The device's identity events before its window are read as context (they decide
    device_forward at the start of the window) but not returned.
    Everything is read from one window pass over the device's timeline (one sort), which also gives
    each event the time of the device's previous event in the window (previous_occurred_at) for
    sessionization. -#}

with windows as (

    select * from {{ ref('int_device_rebuild_windows') }}

),

timeline as (

    -- the window's events and, before it, the device's identity events as context
    select
        deduplicated.*,
        deduplicated.occurred_at < windows.rebuild_from as is_context
    from {{ ref('int_events_deduplicated') }} as deduplicated
    inner join windows
        on deduplicated.device_id = windows.device_id
    where deduplicated.occurred_at >= windows.rebuild_from
        or deduplicated.event_type in {{ identity_event_types_sql() }}

),

marked as (

    select
        *,
        -- what an identity event says about the device from then on: a profile, or nobody (logout)
        case
            when event_type in {{ login_event_types_sql() }}
                then {{ struct_of({'profile_id': 'profile_id', 'is_logout': 'false'}) }}
            when event_type = 'logout'
                then {{ struct_of({'profile_id': 'cast(null as ' ~ string_type() ~ ')', 'is_logout': 'true'}) }}
        end as identity_mark,
        case when event_type in {{ login_event_types_sql() }} then account_id end as login_account_id,
        case
            when event_type in {{ login_event_types_sql() }}
                then {{ struct_of({'profile_id': 'profile_id', 'account_id': 'account_id'}) }}
        end as login_mark,
        case when not is_context then occurred_at end as window_occurred_at
    from timeline

),

resolved as (

    select
        *,
        {{ last_non_null('identity_mark') }} over device_so_far as latest_identity,
        {{ last_non_null('identity_mark') }} over device_before as previous_identity,
        -- the household of the latest login so far (a profile_switch may omit account_id)
        {{ last_non_null('login_account_id') }} over device_so_far as latest_login_account_id,
        {{ first_non_null('login_mark') }} over device_after as next_login,
        lag(window_occurred_at) over device_order as previous_occurred_at
    from marked
    {#- each window spelled out: Spark's WINDOW clause cannot build one window on another -#}
    {%- set device_order = 'partition by device_id order by ' ~ device_event_order() %}
    window
        device_order as ({{ device_order }}),
        device_so_far as ({{ device_order }} rows between unbounded preceding and current row),
        device_before as ({{ device_order }} rows between unbounded preceding and 1 preceding),
        device_after as ({{ device_order }} rows between 1 following and unbounded following)

),

states as (

    select
        *,
        -- forward: the latest identity event at or before the event; a logout belongs to whoever
        -- was logged in before it
        case
            when event_type = 'logout'
                then
                    case when not previous_identity.is_logout then previous_identity.profile_id end
            when not latest_identity.is_logout then latest_identity.profile_id
        end as forward_profile_id,
        -- no login-type event lies between an event and the next one, so the household that next
        -- login falls back to is the latest one so far
        next_login.profile_id as next_login_profile_id,
        case when next_login is not null then coalesce(next_login.account_id, latest_login_account_id) end
            as next_login_account_id
    from resolved

),

stitched as (

    select
        event_id,
        record_key,
        device_id,
        event_type,
        occurred_at,
        profile_id as raw_profile_id,
        case
            when profile_id is not null then 'explicit'
            when forward_profile_id is not null then 'device_forward'
            when next_login_profile_id is not null then 'device_retroactive'
            else 'anonymous'
        end as identity_rule,
        coalesce(profile_id, forward_profile_id, next_login_profile_id) as profile_id,
        -- an account the event carries is kept; otherwise the account of the identity event that
        -- gave the profile (for an explicit profile: when that identity event names the same profile)
        case
            when account_id is not null then account_id
            when profile_id is not null
                then coalesce(
                        case when forward_profile_id = profile_id then latest_login_account_id end,
                        case when next_login_profile_id = profile_id then next_login_account_id end
                    )
            when forward_profile_id is not null then latest_login_account_id
            else next_login_account_id
        end as account_id,
        previous_occurred_at
    from states
    where not is_context

)

select * from stitched
