-- depends_on: {{ ref('int_device_rebuild_windows') }}
-- One row per profile per UTC day per genre: watch time on titles of that genre. Plays count on
-- the day they ended (as in int_profile_daily); an episode takes its series' genres; a title with
-- several genres counts toward each, so a day's genre watch time can exceed its total watch time.
-- Incremental by day, configured with the other daily aggregates in dbt_project.yml.

{#- the first recomputed day (a SQL date), or none: a full build computes every day -#}
{%- set from_date = recomputed_from_date() if is_incremental() else none %}

with

plays as (

    select
        profile_id,
        content_id,
        cast(ended_at as date) as activity_date,
        watch_seconds
    from {{ ref('plays') }}
    where profile_id is not null
    {%- if from_date %}
        and cast(ended_at as date) >= {{ from_date }}
    {%- endif %}

),

titles as (

    select title_id, genres from {{ ref('titles') }}

),

title_genre_names as (

    select
        title_id,
        {{ features_explode('genres') }} as genre_name
    from titles

),

title_genres as (

    -- a genre listed twice (or as "Sci-Fi" and "sci fi") counts once
    select distinct
        title_id,
        {{ features_genre_key('genre_name') }} as genre
    from title_genre_names
    where genre_name is not null

),

final as (

    select
        plays.profile_id,
        plays.activity_date,
        title_genres.genre,
        cast(count(*) as bigint) as plays,
        cast(sum(plays.watch_seconds) as bigint) as watch_seconds
    from plays
    inner join title_genres
        on plays.content_id = title_genres.title_id
    where title_genres.genre <> ''
    group by plays.profile_id, plays.activity_date, title_genres.genre

)

select * from final
