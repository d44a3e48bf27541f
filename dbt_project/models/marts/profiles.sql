
{#- One row per profile seen in events. Settings come from the latest profile_updated (language and
    timezone: the latest one that set them); country and, failing a setting, timezone come from the
    context of the profile's latest event. -#}

with profile_events as (

    select
        profile_id,
        account_id,
        event_id,
        event_type,
        is_kids,
        maturity_rating,
        language,
        profile_timezone,
        country,
        timezone,
        occurred_at
    from {{ ref('events') }}
    where profile_id is not null

),

settings as (

    select
        profile_id,
        last(is_kids order by occurred_at, event_id) as is_kids,
        last(maturity_rating order by occurred_at, event_id) as maturity_rating,
        last(language order by occurred_at, event_id) filter (where language is not null) as language,
        last(profile_timezone order by occurred_at, event_id) filter (where profile_timezone is not null) as timezone
    from profile_events
    where event_type = 'profile_updated'
    group by profile_id

),

activity as (

    select
        profile_id,
        last(account_id order by occurred_at, event_id) filter (where account_id is not null) as account_id,
        last(country order by occurred_at, event_id) as country,
        last(timezone order by occurred_at, event_id) as context_timezone,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from profile_events
    group by profile_id

),

final as (

    select
        activity.profile_id,
        activity.account_id,
        settings.is_kids,
        settings.maturity_rating,
        coalesce(settings.timezone, activity.context_timezone) as timezone,
        activity.country,
        settings.language,
        activity.first_seen_at,
        activity.last_seen_at
    from activity
    left join settings
        on activity.profile_id = settings.profile_id

)

select * from final
