"""Lifecycle messaging: campaigns from reviewed files, decided as pure functions of (profile state,
campaign, clock), sent once through adapters guarded by a ledger. Middle layer: imports only streamloop.core."""
