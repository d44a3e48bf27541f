"""Importers of public data sets (MovieLens, Sparkify) through the event contract into the raw lake."""
