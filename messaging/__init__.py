
campaign, clock), sent once through adapters guarded by a ledger. Middle layer: imports only streamloop.core."""
