
{#- One row per profile seen in events. Settings come from the latest profile_updated (language and
    timezone: the latest one that set them); country and, failing a setting, timezone come from the
    context of the profile's latest event. Combined from the per-device partials in
    int_profile_device_activity (the latest across devices is the latest overall). -#}

with partials as (

    select * from {{ ref('int_profile_device_activity') }}
    where profile_id is not null

),

combined as (

    select
        profile_id,
        max(latest_settings) as latest_settings,
        max(latest_language) as latest_language,
        max(latest_profile_timezone) as latest_profile_timezone,
        max(latest_account) as latest_account,
        max(latest_context) as latest_context,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from partials
    group by profile_id

),

final as (

    select
        profile_id,
        latest_account.account_id,
        latest_settings.is_kids,
        latest_settings.maturity_rating,
        coalesce(latest_profile_timezone.timezone, latest_context.timezone) as timezone,
        latest_context.country,
        latest_language.language,
        first_seen_at,
        last_seen_at
    from combined

)

select * from final
