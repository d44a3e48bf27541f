"""Core: settings, the event contract, the raw lake, ingestion, importers, the simulator and the pure
logic several layers share. The bottom layer: it imports nothing of ml, functions, orchestration or the app."""
