{#- Fails for every combination of the columns that occurs more than once
    (dbt_utils' test of the same name; dbt Hub packages are not available). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}

    select
        {{ columns }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns }}
    having count(*) > 1
{% endtest %}
