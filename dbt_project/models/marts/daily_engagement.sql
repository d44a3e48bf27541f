-- One row per profile per UTC day with any activity, for analysts and campaigns. The same daily
-- aggregate the feature tables are windowed sums of (int_profile_daily), trimmed to the
-- engagement measures. Plays and sessions count on the UTC day they ended.

with

profile_daily as (

    select * from {{ ref('int_profile_daily') }}

),

profiles as (

    -- the profile's account as of now (profiles), not stored per day: it can change for any past day
    select profile_id, account_id from {{ ref('profiles') }}

),

final as (

    select
        -- ids
        profile_daily.profile_id,
        profiles.account_id,
        profile_daily.activity_date,

        -- engagement
        sessions,
        session_seconds,
        plays,
        watch_seconds,
        completed_plays,
        distinct_titles,
        binge_sessions,
        play_starts,

        -- discovery
        searches,
        list_adds,
        list_removes,
        ratings,
        impressions,
        clicks

    from profile_daily
    left join profiles
        on profile_daily.profile_id = profiles.profile_id

)

select * from final
