"""HTTP routes, one module per resource; business logic lives outside (collector, home)."""
