{#- The event contract as the warehouse sees it: rows of the seeds generated from
    streamloop/contract/event.schema.json (see streamloop/contract/export_seeds.py). -#}


{#- properties whose column name differs from the property name (clashes or house naming) -#}
{% macro property_column_name(name) -%}
  {{ return({'value': 'rating_value', 'query': 'search_query', 'timezone': 'profile_timezone',
             'reason': 'cancel_reason', 'granted': 'is_granted'}.get(name, name)) }}
{%- endmacro %}

{% macro sql_type_of_json_type(json_type) -%}
  {{ return({'string': 'varchar', 'integer': 'bigint', 'number': 'double', 'boolean': 'boolean'}[json_type]) }}
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

{#- SQL boolean: the JSON fragment is of the contract's json_type -#}
{% macro json_fragment_has_type(fragment, json_type) -%}
  {%- set kind = json_type_of(fragment) -%}
  {%- if json_type == 'string' -%} ({{ kind }} = 'VARCHAR')
  {%- elif json_type == 'boolean' -%} ({{ kind }} = 'BOOLEAN')
  {%- elif json_type == 'number' -%} ({{ kind }} in ('BIGINT', 'UBIGINT', 'DOUBLE'))
  {%- elif json_type == 'integer' -%}
    ({{ kind }} in ('BIGINT', 'UBIGINT') or ({{ kind }} = 'DOUBLE' and try_cast({{ json_text(fragment) }} as double) = round(try_cast({{ json_text(fragment) }} as double))))
  {%- else -%}{{ exceptions.raise_compiler_error("unknown JSON type " ~ json_type) }}
  {%- endif -%}
{%- endmacro %}

{#- SQL text expression: the first way `fragment` breaks the rule `row`, naming the field; else null -#}
{% macro contract_field_violation(fragment, row) -%}
  case
    {%- if row.is_required %}
    when {{ fragment }} is null then '{{ row.field }}: required for {{ row.event_type }}'
    {%- endif %}
    when {{ fragment }} is null then null
    when not {{ json_fragment_has_type(fragment, row.json_type) }} then '{{ row.field }}: must be {{ row.json_type }}'
    {%- if row.allowed_values %}
    when {{ json_text(fragment) }} not in ('{{ row.allowed_values | join("', '") }}')
      then '{{ row.field }}: must be one of {{ row.allowed_values | join(", ") }}'
    {%- endif %}
    {%- if row.min_length %}
    when length({{ json_text(fragment) }}) < {{ row.min_length }} then '{{ row.field }}: must not be empty'
    {%- endif %}
    {%- if row.minimum is not none %}
    when try_cast({{ json_text(fragment) }} as double) < {{ row.minimum }} then '{{ row.field }}: must be >= {{ row.minimum }}'
    {%- endif %}
    {%- if row.maximum is not none %}
    when try_cast({{ json_text(fragment) }} as double) > {{ row.maximum }} then '{{ row.field }}: must be <= {{ row.maximum }}'
    {%- endif %}
  end
{%- endmacro %}
