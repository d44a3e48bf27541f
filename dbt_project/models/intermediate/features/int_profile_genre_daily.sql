-- One row per profile per UTC day per genre: watch time on titles of that genre. Plays count on
-- the day they ended (as in int_profile_daily); an episode takes its series' genres; a title with
-- several genres counts toward each, so a day's genre watch time can exceed its total watch time.

with

plays as (

    select
        profile_id,
        content_id,
        cast(ended_at as date) as activity_date,
        watch_seconds
    from {{ ref('plays') }}
    where profile_id is not null

),

titles as (

    select title_id, genres from {{ ref('titles') }}

),

play_genres as (

    select
        plays.profile_id,
        plays.activity_date,
        plays.watch_seconds,
        {{ features_explode('titles.genres') }} as genre_name
    from plays
    inner join titles
        on plays.content_id = titles.title_id

),

final as (

    select
        profile_id,
        activity_date,
        {{ features_genre_key('genre_name') }} as genre,
        cast(count(*) as bigint) as plays,
        cast(sum(watch_seconds) as bigint) as watch_seconds
    from play_genres
    where genre_name is not null
      and {{ features_genre_key('genre_name') }} <> ''
    group by profile_id, activity_date, {{ features_genre_key('genre_name') }}

)

select * from final
