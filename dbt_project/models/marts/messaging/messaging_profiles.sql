{#- One row per profile: what lifecycle campaigns select on (campaigns/*.yml `audience` predicates).
    Scores come from the model loop's `account_scores` / `profile_scores` tables when they exist in the
    warehouse (written by `streamloop train`); before the first training they are null, so a campaign
    on churn risk simply selects nobody. Consent per channel is profile_consents' (the latest
    consent_updated or message_unsubscribed; null: no record, the runner applies the documented default).
    The latest context (device, country, time zone, app) is kept so message events carry the profile's
    real context.
    Message events are the service's own writes, so they never count as the profile's activity. -#}
{%- set account_scores = adapter.get_relation(database=this.database, schema=this.schema,
                                              identifier='account_scores') -%}
{%- set profile_scores = adapter.get_relation(database=this.database, schema=this.schema,
                                              identifier='profile_scores') -%}
{#- a profile's own score wins over its account's; null when the model loop has not scored yet -#}
{%- if profile_scores is not none -%}
{%- set churn_risk_column = 'latest_profile_scores.churn_risk' -%}
{%- set segment_column = 'latest_profile_scores.segment' -%}
{%- elif account_scores is not none -%}
{%- set churn_risk_column = 'latest_account_scores.account_churn_risk' -%}
{%- set segment_column = 'latest_account_scores.account_segment' -%}
{%- else -%}
{%- set churn_risk_column = 'cast(null as double)' -%}
{%- set segment_column = 'cast(null as ' ~ string_type() ~ ')' -%}
{%- endif -%}
{%- set ltv_column = 'cast(null as double)' -%}
{%- if account_scores is not none -%}
{%- set ltv_column = 'cast(latest_account_scores.predicted_ltv_cents as double)' -%}
{%- endif -%}

with profiles as (

    select * from {{ ref('profiles') }}

),

accounts as (

    select * from {{ ref('accounts') }}

),

events as {{ inlined_cte() }} (

    select * from {{ ref('events') }}
    where profile_id is not null

),

plays as (

    select * from {{ ref('plays') }}
    where profile_id is not null

),

profile_activity as (

    select
        profile_id,
        {{ features_arg_max('device_id', 'occurred_at') }} as device_id,
        {{ features_arg_max('device_type', 'occurred_at') }} as device_type,
        {{ features_arg_max('os', 'occurred_at') }} as os,
        {{ features_arg_max('app_version', 'occurred_at') }} as app_version,
        max(occurred_at) as last_active_at
    from events
    where event_type not like 'message_%'
    group by profile_id

),

consents as (

    -- the warehouse decides consent in one place (latest decision per channel, ties by event_id)
    select profile_id, consent_email, consent_push, consent_in_app from {{ ref('profile_consents') }}

),

message_history as (

    select
        profile_id,
        max(occurred_at) filter (where event_type = 'message_sent') as last_message_at,
        count(*) filter (where event_type = 'message_sent' and channel = 'email') as email_sends,
        count(*) filter (where event_type = 'message_opened' and channel = 'email') as email_opens,
        count(*) filter (where event_type = 'message_sent' and channel = 'push') as push_sends,
        count(*) filter (where event_type = 'message_opened' and channel = 'push') as push_opens,
        count(*) filter (where event_type = 'message_sent' and channel = 'in_app') as in_app_sends,
        count(*) filter (where event_type = 'message_opened' and channel = 'in_app') as in_app_opens
    from events
    where event_type like 'message_%'
    group by profile_id

),

play_local_hours as (

    select
        plays.profile_id,
        extract(hour from {{ features_local_timestamp('plays.started_at', "coalesce(profiles.timezone, 'UTC')") }})
            as hour_local
    from plays
    inner join profiles
        on plays.profile_id = profiles.profile_id

),

play_hours as (

    select
        profile_id,
        hour_local,
        count(*) as play_count
    from play_local_hours
    group by profile_id, hour_local

),

preferred_hours as (

    -- the local hour the profile most often starts watching (send-time optimization); a tie goes to the
    -- earlier hour, so the same plays give the same hour however the warehouse was built
    select
        profile_id,
        hour_local as preferred_hour_local
    from (
        select
            profile_id,
            hour_local,
            row_number() over (partition by profile_id order by play_count desc, hour_local asc) as hour_rank
        from play_hours
    ) as ranked
    where hour_rank = 1

),

viewing as (

    select
        plays.profile_id,
        count(*) as plays_total,
        sum(plays.watch_seconds) as watch_seconds_total,
        count(*) filter (where plays.is_completed) as plays_completed,
        max(plays.started_at) as last_play_at
    from plays
    group by plays.profile_id

),

{% if account_scores is not none %}
latest_account_scores as (

    select
        account_id,
        {{ features_arg_max('predicted_ltv_cents', 'snapshot_date') }} as predicted_ltv_cents,
        {{ features_arg_max('churn_risk', 'snapshot_date') }} as account_churn_risk,
        {{ features_arg_max('segment', 'snapshot_date') }} as account_segment
    from {{ account_scores }}
    group by account_id

),
{% endif %}

{% if profile_scores is not none %}
latest_profile_scores as (

    select
        profile_id,
        {{ features_arg_max('churn_risk', 'snapshot_date') }} as churn_risk,
        {{ features_arg_max('segment', 'snapshot_date') }} as segment
    from {{ profile_scores }}
    group by profile_id

),
{% endif %}

final as (

    select
        -- ids
        profiles.profile_id,
        profiles.account_id,
        profile_activity.device_id,

        -- dimensions
        profiles.is_kids,
        profiles.maturity_rating,
        profiles.country,
        profiles.timezone,
        profiles.language,
        profile_activity.device_type,
        profile_activity.os,
        profile_activity.app_version,
        accounts.plan,
        accounts.status as subscription_status,
        coalesce(accounts.is_trial, false) as is_trial,

        -- scores
        {{ churn_risk_column }} as churn_risk,
        {{ ltv_column }} as predicted_ltv_cents,
        {{ segment_column }} as segment,

        -- consent (null: no record)
        consents.consent_email,
        consents.consent_push,
        consents.consent_in_app,

        -- viewing
        coalesce(viewing.plays_total, 0) as plays_total,
        coalesce(viewing.plays_completed, 0) as plays_completed,
        cast(coalesce(viewing.watch_seconds_total, 0) as double) as watch_seconds_total,
        cast(preferred_hours.preferred_hour_local as integer) as preferred_hour_local,

        -- messages
        coalesce(message_history.email_sends, 0) as email_sends,
        coalesce(message_history.email_opens, 0) as email_opens,
        coalesce(message_history.push_sends, 0) as push_sends,
        coalesce(message_history.push_opens, 0) as push_opens,
        coalesce(message_history.in_app_sends, 0) as in_app_sends,
        coalesce(message_history.in_app_opens, 0) as in_app_opens,

        -- timestamps
        accounts.subscribed_at,
        case
            when accounts.is_trial then {{ dbt.dateadd('day', var('streamloop_trial_days'), 'accounts.subscribed_at') }}
        end as trial_ends_at,
        profile_activity.last_active_at,
        viewing.last_play_at,
        message_history.last_message_at

    from profiles
    left join accounts
        on profiles.account_id = accounts.account_id
    left join profile_activity
        on profiles.profile_id = profile_activity.profile_id
    left join consents
        on profiles.profile_id = consents.profile_id
    left join message_history
        on profiles.profile_id = message_history.profile_id
    left join viewing
        on profiles.profile_id = viewing.profile_id
    left join preferred_hours
        on profiles.profile_id = preferred_hours.profile_id
    {% if account_scores is not none %}
    left join latest_account_scores
        on profiles.account_id = latest_account_scores.account_id
    {% endif %}
    {% if profile_scores is not none %}
    left join latest_profile_scores
        on profiles.profile_id = latest_profile_scores.profile_id
    {% endif %}

)

select * from final
