{#- The event contract as the warehouse sees it: rows of the seeds generated from
    streamloop/core/contract/event.schema.json (see streamloop/core/contract/export_seeds.py). -#}


{#- properties whose column name differs from the property name (clashes or house naming) -#}
{% macro property_column_name(name) -%}
  {{ return({'value': 'rating_value', 'query': 'search_query', 'timezone': 'profile_timezone',
             'reason': 'cancel_reason', 'granted': 'is_granted'}.get(name, name)) }}
{%- endmacro %}

{% macro sql_type_of_json_type(json_type) -%}
  {{ return({'string': string_type(), 'integer': 'bigint', 'number': 'double', 'boolean': 'boolean'}[json_type]) }}
{%- endmacro %}

{#- every row of contract_event_fields, as dicts; [] while parsing or before the seed is loaded -#}
{% macro contract_event_fields() %}
  {%- set seed = ref('contract_event_fields') -%}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% if adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.identifier) is none %}
    {{ return([]) }}
  {% endif %}
  {% set result = run_query("select event_type, field, json_type, is_required, allowed_values, min_length, minimum, maximum from " ~ seed ~ " order by event_type, field") %}
  {% set rows = [] %}
  {% for row in result.rows %}
    {% do rows.append({'event_type': row[0], 'field': row[1], 'json_type': row[2], 'is_required': row[3],
                       'allowed_values': (row[4].split('|') if row[4] else []), 'min_length': row[5],
                       'minimum': row[6], 'maximum': row[7]}) %}
  {% endfor %}
  {{ return(rows) }}
{% endmacro %}

{% macro contract_event_types() %}
  {%- set seed = ref('contract_event_types') -%}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% if adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.identifier) is none %}
    {{ return([]) }}
  {% endif %}
  {{ return(run_query("select event_type from " ~ seed ~ " order by 1").columns[0].values() | list) }}
{% endmacro %}

{#- distinct properties (name, json type), in a stable order -#}
{% macro contract_properties(fields) %}
  {% set seen = {} %}
  {% set properties = [] %}
  {% for row in fields if row.field.startswith('properties.') %}
    {% set name = row.field[11:] %}
    {% if name not in seen %}
      {% do seen.update({name: row.json_type}) %}
      {% do properties.append({'name': name, 'json_type': row.json_type}) %}
    {% elif seen[name] != row.json_type %}
      {{ exceptions.raise_compiler_error("property " ~ name ~ " has two JSON types in the contract") }}
    {% endif %}
  {% endfor %}
  {{ return(properties | sort(attribute='name')) }}
{% endmacro %}

{#- SQL expression: the value of fragment column `<field>_json` if it has the contract's json_type,
    else null (integers are numbers with no fraction, as in the edge validator) -#}
{% macro json_value_of_type(field, json_type) -%}
  {%- set fragment = field ~ '_json' -%}
  {%- if json_type == 'string' -%} {{ json_fragment_string(fragment) }}
  {%- elif json_type == 'boolean' -%} {{ json_fragment_boolean(fragment) }}
  {%- elif json_type == 'number' -%} {{ json_fragment_number(fragment) }}
  {%- elif json_type == 'integer' -%}
    case when {{ json_fragment_number(fragment) }} = round({{ json_fragment_number(fragment) }})
      then {{ json_fragment_number(fragment) }} end
  {%- else -%}{{ exceptions.raise_compiler_error("unknown JSON type " ~ json_type) }}
  {%- endif -%}
{%- endmacro %}

{#- SQL text expression: the first way `field` (columns <field>_json and <field>_value, the value
    when of the right type) breaks the contract rule `row`, naming the field; null when it does not -#}
{% macro contract_field_violation(field, row) -%}
  case
    {%- if row.is_required %}
    when {{ field }}_json is null then '{{ row.field }}: required for {{ row.event_type }}'
    {%- endif %}
    when {{ field }}_json is null then null
    when {{ field }}_value is null then '{{ row.field }}: must be {{ row.json_type }}'
    {%- if row.allowed_values %}
    {%- if row.json_type == 'string' %}
    when {{ field }}_value not in ('{{ row.allowed_values | join("', '") }}')
    {%- else %}
    when {{ field }}_value not in ({{ row.allowed_values | join(", ") }})
    {%- endif %}
      then '{{ row.field }}: must be one of {{ row.allowed_values | join(", ") }}'
    {%- endif %}
    {%- if row.min_length %}
    when length({{ field }}_value) < {{ row.min_length }} then '{{ row.field }}: must not be empty'
    {%- endif %}
    {%- if row.minimum is not none %}
    when {{ field }}_value < {{ row.minimum }} then '{{ row.field }}: must be >= {{ row.minimum }}'
    {%- endif %}
    {%- if row.maximum is not none %}
    when {{ field }}_value > {{ row.maximum }} then '{{ row.field }}: must be <= {{ row.maximum }}'
    {%- endif %}
  end
{%- endmacro %}
