{#- One row per received event record: every field typed, and the first contract violation as
    `rejection_reason` (null when the event is valid). Records the lake typed when it landed them
    (`landed_typed`, streamloop/core/contract/landed.py: valid by the contract, their fields in
    `<field>_value` columns) are read as they are, their JSON text never touched; every other record is
    parsed and validated here. The per-type rules are compiled from the contract seeds, so a schema change
    needs no SQL edit here. -#}

{%- set fields = contract_event_fields() -%}
{%- set properties = contract_properties(fields) -%}
{%- set event_types = contract_event_types() -%}
{%- set envelope_fields = [
    'event_id', 'event_type', 'occurred_at', 'device_id', 'profile_id', 'account_id', 'schema_version',
] -%}
{%- set context_fields = ['country', 'device_type', 'app_version', 'os', 'timezone'] -%}
{%- set device_types = var('streamloop_device_types') -%}
{%- set skew_hours = var('streamloop_max_future_skew_hours') -%}
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
{%- set has_typed = lake_events_are_typed() -%}
{#- the columns both branches give `renamed`, typed the same way -#}
{%- set value_columns = [] -%}
{%- set envelope_values = envelope_fields | reject('equalto', 'occurred_at') | list -%}
{%- for field in envelope_values %}{% do value_columns.append(field ~ '_value') %}{% endfor -%}
{%- for name in context_fields %}{% do value_columns.append('context_' ~ name ~ '_value') %}{% endfor -%}
{%- for property in properties %}{% do value_columns.append('property_' ~ property.name ~ '_value') %}{% endfor -%}
{%- do value_columns.append('occurred_at_utc') -%}


{#- The lake is read once per branch, not through a shared CTE: DuckDB would materialize a CTE read
    twice (every record's text in memory, ~10 CPU-s more at 10M records) -#}
with parsed as (

    select
        *,
        {{ parse_json_fields('raw', document_shape) }} as document
    from {{ lake_source('events') }}
    {%- if has_typed %}
    where not coalesce(landed_typed, false)
    {%- endif %}

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
        {%- for field in envelope_fields %}
        document['{{ field }}'] as {{ field }}_json,
        {%- endfor %}
        document['context'] as context_json,
        {%- for name in context_fields %}
        document['context']['{{ name }}'] as context_{{ name }}_json,
        {%- endfor %}
        document['properties'] as properties_json,
        -- sqlfluff misplaces the items of a loop that ends a select list
        -- noqa: disable=LT02
        {%- for property in properties %}
        document['properties']['{{ property.name }}'] as property_{{ property.name }}_json{{ ',' if not loop.last }}
        {%- endfor %}
    from parsed

),

fragment_values as (

    {#- each fragment's value when it has the contract's type, else null (no re-parsing) -#}
    select
        *,
        {%- for field in envelope_fields %}
        {{ json_value_of_type(field, 'number' if field == 'schema_version' else 'string') }} as {{ field }}_value,
        {%- endfor %}
        {%- for name in context_fields %}
        {{ json_value_of_type('context_' ~ name, 'string') }} as context_{{ name }}_value,
        {%- endfor %}
        -- sqlfluff misplaces the items of a loop that ends a select list
        -- noqa: disable=LT02,LT05
        {%- for property in properties %}
        {{ json_value_of_type('property_' ~ property.name, property.json_type) }} as property_{{ property.name }}_value{{ ',' if not loop.last }}
        {%- endfor %}
    from fragments

),

with_times as (

    select
        *,
        {{ parse_rfc3339_utc('occurred_at_value') }} as occurred_at_utc
    from fragment_values

),

validated as (

    select
        *,
        coalesce(
            case
                when document is null and not coalesce({{ is_valid_json('raw') }}, false)
                    then 'raw: not valid JSON'
                {#- a valid JSON text that is not an object parses to null or a struct of nulls -#}
                when (document is null or event_id_json is null) and {{ json_text_type_of('raw') }} <> 'OBJECT'
                    then 'event: must be a JSON object (got ' || lower({{ json_text_type_of('raw') }}) || ')'
                when event_id_json is null then 'event_id: required'
                when event_id_value is null then 'event_id: must be string'
                when length(event_id_value) not between 1 and 128 then 'event_id: must be 1 to 128 characters'
                when event_type_json is null then 'event_type: required'
                when event_type_value is null
                    or event_type_value not in (
                        '{{ event_types | join("', '") }}'  -- noqa: LT05
                    )
                    then 'event_type: unknown type ' || {{ json_fragment_json_text('event_type_json') }}
                when occurred_at_json is null then 'occurred_at: required'
                when occurred_at_utc is null then 'occurred_at: not an RFC 3339 timestamp with offset'
                when occurred_at_utc > {{ to_utc_timestamp('received_at') }} + interval {{ skew_hours }} hour
                    then 'occurred_at: more than {{ skew_hours }} h after received_at'
                when device_id_json is null then 'device_id: required'
                when device_id_value is null then 'device_id: must be string'
                when length(device_id_value) not between 1 and 128 then 'device_id: must be 1 to 128 characters'
                {#- a JSON null parses to a SQL null: profile_id and account_id may be null -#}
                when profile_id_json is not null and profile_id_value is null then 'profile_id: must be string or null'
                when length(profile_id_value) not between 1 and 128 then 'profile_id: must be 1 to 128 characters'
                when account_id_json is not null and account_id_value is null then 'account_id: must be string or null'
                when length(account_id_value) not between 1 and 128 then 'account_id: must be 1 to 128 characters'
                when schema_version_json is null then 'schema_version: required'
                when schema_version_value is distinct from 1 then 'schema_version: must be 1'
                {#- a non-object context or properties parses as a struct of nulls: ask the text only then -#}
                when context_json is null then 'context: required'
                when context_{{ context_fields[0] }}_json is null
                    {%- for name in context_fields[1:] %}
                    and context_{{ name }}_json is null
                    {%- endfor %}
                    and {{ json_text_type_of('raw', '$.context') }} <> 'OBJECT' then 'context: must be an object'
                {%- for name in context_fields %}
                when context_{{ name }}_json is null then 'context.{{ name }}: required'
                when context_{{ name }}_value is null then 'context.{{ name }}: must be string'
                {%- endfor %}
                when not {{ regexp_matches_fully('context_country_value', '[A-Z]{2}') }}
                    then 'context.country: must be an ISO 3166-1 alpha-2 code'
                when context_device_type_value not in (
                        '{{ device_types | join("', '") }}'  -- noqa: LT05
                    )
                    then 'context.device_type: must be one of {{ device_types | join(", ") }}'
                when length(context_timezone_value) = 0 then 'context.timezone: must not be empty'
                when properties_json is null then 'properties: required'
                when {% for property in properties %}property_{{ property.name }}_json is null
                    and {% endfor %}
                    {{ json_text_type_of('raw', '$.properties') }} <> 'OBJECT' then 'properties: must be an object'
            end,
            case event_type_value
                {%- for event_type, rules in rules_by_type %}
                when '{{ event_type }}'
                    then coalesce(
                            {%- for rule in rules %}
                            {%- set field = 'property_' ~ rule.field[11:]
                                if rule.field.startswith('properties.') else rule.field %}
                            {{ contract_field_violation(field, rule) }}{{ ',' if not loop.last }}
                            {%- endfor %}
                            {%- if rules | length == 1 %}, null{% endif %}
                        )
                {%- endfor %}
            end
        ) as rejection_reason
    from with_times

),

checked as (

    select
        batch_id, record_index, received_at, received_date, source, raw,
        {%- for column in value_columns %}
        {{ column }},
        {%- endfor %}
        rejection_reason
    from validated
    {%- if has_typed %}

    union all

    -- typed at landing: valid by the contract; `raw` is not read (staging keeps it for rejects only)
    select
        batch_id, record_index, received_at, received_date, source, cast(null as {{ string_type() }}) as raw,
        {%- for column in value_columns %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ string_type() }}) as rejection_reason
    from {{ lake_source('events') }}
    where landed_typed
    {%- endif %}

),

renamed as (

    select
        -- ids
        batch_id || ':' || record_index as record_key,
        batch_id,
        record_index,
        event_id_value as event_id,
        device_id_value as device_id,
        profile_id_value as profile_id,
        account_id_value as account_id,

        -- dimensions
        event_type_value as event_type,
        source,
        {#- safe casts: a rejected record's number may not fit the column (2^60 as schema_version) -#}
        {{ try_cast_to('schema_version_value', 'integer') }} as schema_version,
        {%- for name in context_fields %}
        context_{{ name }}_value as {{ name }},
        {%- endfor %}

        -- properties, typed as the contract says (null unless the value has that type)
        {%- for property in properties %}
        {{ try_cast_to('property_' ~ property.name ~ '_value', sql_type_of_json_type(property.json_type)) }}
            as {{ property_column_name(property.name) }},
        {%- endfor %}

        -- validation
        rejection_reason,
        rejection_reason is null as is_valid,
        case when rejection_reason is not null then raw end as raw,

        -- timestamps
        occurred_at_utc as occurred_at,
        {{ to_utc_timestamp('received_at') }} as received_at,
        received_date

    from checked

)

select * from renamed
