{#- One row per received catalog record, typed, with the first contract violation as
    `rejection_reason` (null when valid). Later records of a title replace earlier ones downstream. -#}

{%- set text_fields = ['title_id', 'name', 'kind', 'series_id', 'maturity_rating', 'release_date'] -%}
{%- set integer_fields = ['season', 'episode', 'runtime_s'] -%}
{%- set list_fields = ['genres', 'moods', 'cast', 'available_countries'] -%}
{%- set document_shape = {} -%}
{%- for name in text_fields + integer_fields + list_fields %}{% do document_shape.update({name: 'JSON'}) %}{% endfor -%}

with source as (

    select * from {{ lake_source('catalog') }}

),

parsed as (

    select
        *,
        {{ parse_json_fields('raw', document_shape) }} as document
    from source

),

validated as (

    select
        *,
        case
            when document is null and not coalesce({{ is_valid_json('raw') }}, false) then 'raw: not valid JSON'
            when (document is null or document['title_id'] is null) and {{ json_type_of('raw') }} <> 'OBJECT'
                then 'record: must be a JSON object'
            when document['title_id'] is null then 'title_id: required'
            when {{ json_type_of("document['title_id']") }} <> 'VARCHAR'
                or length({{ json_text("document['title_id']") }}) = 0
                then 'title_id: must be a non-empty string'
            when document['name'] is null then 'name: required'
            when {{ json_text("document['kind']") }} is null
                or {{ json_text("document['kind']") }} not in ('movie', 'series', 'episode')
                then 'kind: must be one of movie, series, episode'
            when {{ json_text("document['kind']") }} = 'episode' and document['series_id'] is null
                then 'series_id: required for episodes'
            when {{ json_text("document['maturity_rating']") }} is null
                or {{ json_text("document['maturity_rating']") }} not in ('all', '7+', '13+', '16+', '18+')
                then 'maturity_rating: must be one of all, 7+, 13+, 16+, 18+'
            {%- for name in list_fields %}
            when document['{{ name }}'] is not null and {{ json_type_of("document['" ~ name ~ "']") }} <> 'ARRAY'
                then '{{ name }}: must be an array'
            {%- endfor %}
            when document['available_countries'] is null then 'available_countries: required'
            {%- for name in integer_fields %}
            when document['{{ name }}'] is not null
                and {{ json_type_of("document['" ~ name ~ "']") }} not in ('BIGINT', 'UBIGINT')
                then '{{ name }}: must be integer'
            {%- endfor %}
            when document['release_date'] is not null
                and try_cast({{ json_text("document['release_date']") }} as date) is null
                then 'release_date: not an ISO date'
        end as rejection_reason
    from parsed

),

renamed as (

    select
        -- ids
        batch_id || ':' || record_index as record_key,
        batch_id,
        record_index,
        {{ json_text("document['title_id']") }} as title_id,
        {{ json_text("document['series_id']") }} as series_id,

        -- dimensions
        {{ json_text("document['name']") }} as name,
        {{ json_text("document['kind']") }} as kind,
        {{ json_text("document['maturity_rating']") }} as maturity_rating,
        try(from_json(document['genres'], '["VARCHAR"]')) as genres,
        try(from_json(document['moods'], '["VARCHAR"]')) as moods,
        try(from_json(document['cast'], '["VARCHAR"]')) as "cast",
        try(from_json(document['available_countries'], '["VARCHAR"]')) as available_countries,
        source,

        -- numerics
        try_cast({{ json_text("document['season']") }} as integer) as season,
        try_cast({{ json_text("document['episode']") }} as integer) as episode,
        try_cast({{ json_text("document['runtime_s']") }} as integer) as runtime_s,

        -- validation
        rejection_reason,
        case when rejection_reason is not null then raw end as raw,

        -- timestamps
        try_cast({{ json_text("document['release_date']") }} as date) as release_date,
        {{ to_utc_timestamp('received_at') }} as received_at

    from validated

)

select * from renamed
