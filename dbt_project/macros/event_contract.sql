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

{#- SQL boolean: the field (columns <field>_kind and <field>_text, see stg_lake__events) has the
    contract's json_type -#}
{% macro field_has_type(field, json_type) -%}
  {%- set kind = field ~ '_kind' -%}
  {%- if json_type == 'string' -%} ({{ kind }} = 'VARCHAR')
  {%- elif json_type == 'boolean' -%} ({{ kind }} = 'BOOLEAN')
  {%- elif json_type == 'number' -%} ({{ kind }} in ('BIGINT', 'DOUBLE'))
  {%- elif json_type == 'integer' -%}
    ({{ kind }} = 'BIGINT' or ({{ kind }} = 'DOUBLE' and try_cast({{ field }}_text as double) = round(try_cast({{ field }}_text as double))))
  {%- else -%}{{ exceptions.raise_compiler_error("unknown JSON type " ~ json_type) }}
  {%- endif -%}
{%- endmacro %}

{#- SQL text expression: the first way `field` breaks the contract rule `row`, naming the field;
    null when it does not -#}
{% macro contract_field_violation(field, row) -%}
  case
    {%- if row.is_required %}
    when {{ field }}_kind is null then '{{ row.field }}: required for {{ row.event_type }}'
    {%- endif %}
    when {{ field }}_kind is null then null
    when not {{ field_has_type(field, row.json_type) }} then '{{ row.field }}: must be {{ row.json_type }}'
    {%- if row.allowed_values %}
    when {{ field }}_text not in ('{{ row.allowed_values | join("', '") }}')
      then '{{ row.field }}: must be one of {{ row.allowed_values | join(", ") }}'
    {%- endif %}
    {%- if row.min_length %}
    when length({{ field }}_text) < {{ row.min_length }} then '{{ row.field }}: must not be empty'
    {%- endif %}
    {%- if row.minimum is not none %}
    when try_cast({{ field }}_text as double) < {{ row.minimum }} then '{{ row.field }}: must be >= {{ row.minimum }}'
    {%- endif %}
    {%- if row.maximum is not none %}
    when try_cast({{ field }}_text as double) > {{ row.maximum }} then '{{ row.field }}: must be <= {{ row.maximum }}'
    {%- endif %}
  end
{%- endmacro %}
