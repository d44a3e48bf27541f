
{#- One row per title: the latest valid catalog record of each title_id wins. -#}

with catalog_records as (

    select * from {{ ref('int_catalog_received') }}
    where rejection_reason is null

),

latest as (

    select *
    from catalog_records
    qualify row_number() over (
            partition by title_id
            order by received_at desc, batch_id desc, record_index desc
        ) = 1

),

final as (

    select
        title_id,
        name,
        kind,
        series_id,
        season,
        episode,
        genres,
        moods,
        "cast",
        maturity_rating,
        cast(list_position(['all', '7+', '13+', '16+', '18+'], maturity_rating) as integer) as maturity_rank,
        runtime_s,
        release_date,
        available_countries,
        case when kind = 'episode' then series_id else title_id end as content_id,
        received_at as catalog_received_at
    from latest

)

select * from final
