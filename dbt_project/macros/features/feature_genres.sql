{#- The fixed genre share columns of profile_features (genre_share_<genre>_90d): the demo catalog's
    genres (streamloop.core.simulate.catalog.GENRES), which cover most of MovieLens' too. A stable list so
    models get the same schema whatever the catalog holds; every genre, listed or not, is also in the
    genre_affinity JSON column. Changing this list changes the enforced contract of profile_features:
    update models/features/profile_features.yml and docs/features.md with it. -#}
{% macro features_genres() %}
  {{ return(['action', 'adventure', 'animation', 'comedy', 'crime', 'documentary', 'drama', 'family',
             'fantasy', 'horror', 'reality', 'romance', 'sci_fi', 'thriller']) }}
{% endmacro %}
