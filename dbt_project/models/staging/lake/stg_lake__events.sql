{#- One row per received event record: the JSON parsed once, every field typed, and the first
    contract violation as `rejection_reason` (null when the event is valid). The per-type rules are
    compiled from the contract seeds, so a schema change needs no SQL edit here. -#}

{%- set fields = contract_event_fields() -%}
{%- set properties = contract_properties(fields) -%}
{%- set event_types = contract_event_types() -%}
{%- set context_fields = ['country', 'device_type', 'app_version', 'os', 'timezone'] -%}
{%- set device_types = ['tv', 'mobile', 'web', 'tablet', 'console'] -%}
{%- set context_shape = {} -%}
{%- for name in context_fields %}{% do context_shape.update({name: 'JSON'}) %}{% endfor -%}
{%- set properties_shape = {} -%}
{%- for property in properties %}{% do properties_shape.update({property.name: 'JSON'}) %}{% endfor -%}
{%- set document_shape = {
    'event_id': 'JSON', 'event_type': 'JSON', 'occurred_at': 'JSON', 'device_id': 'JSON',
    'profile_id': 'JSON', 'account_id': 'JSON', 'schema_version': 'JSON',
    'context': context_shape,
    'properties': properties_shape if properties else {'_none': 'JSON'},
} -%}
{%- set rules_by_type = fields | groupby('event_type') -%}

with source as (

    select * from {{ lake_source('events') }}

),

parsed as (

    select
        *,
        {{ parse_json_fields('raw', document_shape) }} as document
    from source

),

fragments as (

    select
        batch_id,
        record_index,
        received_at,
        received_date,
        source,
        raw,
        document,
        document['event_id'] as event_id_json,
        document['event_type'] as event_type_json,
        document['occurred_at'] as occurred_at_json,
        document['device_id'] as device_id_json,
        document['profile_id'] as profile_id_json,
        document['account_id'] as account_id_json,
        document['schema_version'] as schema_version_json,
        document['context'] as context_json,
        {%- for name in context_fields %}
        document['context']['{{ name }}'] as context_{{ name }}_json,
        {%- endfor %}
        document['properties'] as properties_json,
        {%- for property in properties %}
        document['properties']['{{ property.name }}'] as property_{{ property.name }}_json,
        {%- endfor %}
        {{ json_text('document[\'event_type\']') }} as event_type_text,
        {{ parse_rfc3339_utc(json_text("document['occurred_at']")) }} as occurred_at_utc
    from parsed

),

validated as (

    select
        *,
        coalesce(
            case
                when document is null and not coalesce({{ is_valid_json('raw') }}, false)
                    then 'raw: not valid JSON'
                {#- a valid JSON text that is not an object parses to null or a struct of nulls -#}
                when (document is null or event_id_json is null) and {{ json_type_of('raw') }} <> 'OBJECT'
                    then 'event: must be a JSON object (got ' || lower({{ json_type_of('raw') }}) || ')'
                when event_id_json is null then 'event_id: required'
                when not {{ json_fragment_has_type('event_id_json', 'string') }} then 'event_id: must be string'
                when length({{ json_text('event_id_json') }}) not between 1 and 128 then 'event_id: must be 1 to 128 characters'
                when event_type_json is null then 'event_type: required'
                when event_type_text is null or event_type_text not in ('{{ event_types | join("', '") }}')
                    then 'event_type: unknown type ' || coalesce(event_type_json::varchar, '')
                when occurred_at_json is null then 'occurred_at: required'
                when occurred_at_utc is null then 'occurred_at: not an RFC 3339 timestamp with offset'
                when occurred_at_utc > {{ to_utc_timestamp('received_at') }} + interval {{ var('max_future_skew_hours', 24) }} hour
                    then 'occurred_at: more than {{ var("max_future_skew_hours", 24) }} h after received_at'
                when device_id_json is null then 'device_id: required'
                when not {{ json_fragment_has_type('device_id_json', 'string') }} then 'device_id: must be string'
                when length({{ json_text('device_id_json') }}) not between 1 and 128 then 'device_id: must be 1 to 128 characters'
                when profile_id_json is not null and not {{ json_fragment_has_type('profile_id_json', 'string') }}
                    then 'profile_id: must be string or null'
                when length({{ json_text('profile_id_json') }}) not between 1 and 128 then 'profile_id: must be 1 to 128 characters'
                when account_id_json is not null and not {{ json_fragment_has_type('account_id_json', 'string') }}
                    then 'account_id: must be string or null'
                when length({{ json_text('account_id_json') }}) not between 1 and 128 then 'account_id: must be 1 to 128 characters'
                when schema_version_json is null then 'schema_version: required'
                when schema_version_json::varchar <> '1' then 'schema_version: must be 1'
                {#- a non-object context or properties parses as a struct of nulls: ask the text only then -#}
                when context_json is null then 'context: required'
                when {% for name in context_fields %}context_{{ name }}_json is null{{ ' and ' if not loop.last }}{% endfor %}
                    and {{ json_type_of("raw -> '$.context'") }} <> 'OBJECT' then 'context: must be an object'
                {%- for name in context_fields %}
                when context_{{ name }}_json is null then 'context.{{ name }}: required'
                when not {{ json_fragment_has_type('context_' ~ name ~ '_json', 'string') }} then 'context.{{ name }}: must be string'
                {%- endfor %}
                when not regexp_full_match({{ json_text('context_country_json') }}, '[A-Z]{2}')
                    then 'context.country: must be an ISO 3166-1 alpha-2 code'
                when {{ json_text('context_device_type_json') }} not in ('{{ device_types | join("', '") }}')
                    then 'context.device_type: must be one of {{ device_types | join(", ") }}'
                when length({{ json_text('context_timezone_json') }}) = 0 then 'context.timezone: must not be empty'
                when properties_json is null then 'properties: required'
                when {% for property in properties %}property_{{ property.name }}_json is null and {% endfor %}
                    {{ json_type_of("raw -> '$.properties'") }} <> 'OBJECT' then 'properties: must be an object'
            end,
            case event_type_text
                {%- for event_type, rules in rules_by_type %}
                when '{{ event_type }}' then coalesce(
                    {%- for rule in rules %}
                    {%- set fragment = 'property_' ~ rule.field[11:] ~ '_json' if rule.field.startswith('properties.') else rule.field ~ '_json' %}
                    {{ contract_field_violation(fragment, rule) }}{{ ',' if not loop.last }}
                    {%- endfor %}
                    {%- if rules | length == 1 %}, null{% endif %}
                )
                {%- endfor %}
            end
        ) as rejection_reason
    from fragments

),

renamed as (

    select
        -- ids
        batch_id || ':' || record_index as record_key,
        batch_id,
        record_index,
        {{ json_text('event_id_json') }} as event_id,
        {{ json_text('device_id_json') }} as device_id,
        {{ json_text('profile_id_json') }} as profile_id,
        {{ json_text('account_id_json') }} as account_id,

        -- dimensions
        event_type_text as event_type,
        source,
        try_cast({{ json_text('schema_version_json') }} as integer) as schema_version,
        {%- for name in context_fields %}
        {{ json_text('context_' ~ name ~ '_json') }} as {{ name }},
        {%- endfor %}

        -- properties, typed as the contract says (null unless the value has that type)
        {%- for property in properties %}
        case when {{ json_fragment_has_type('property_' ~ property.name ~ '_json', property.json_type) }}
            then try_cast({{ json_text('property_' ~ property.name ~ '_json') }} as {{ sql_type_of_json_type(property.json_type) }})
        end as {{ property_column_name(property.name) }},
        {%- endfor %}

        -- validation
        rejection_reason,
        rejection_reason is null as is_valid,
        case when rejection_reason is not null then raw end as raw,

        -- timestamps
        occurred_at_utc as occurred_at,
        {{ to_utc_timestamp('received_at') }} as received_at,
        received_date

    from validated

)

select * from renamed
