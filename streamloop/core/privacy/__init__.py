"""Privacy: forget a person in every store (erasers register themselves), suppress their late events,
and keep an audit of each deletion without personal data. docs/privacy.md is the data inventory."""
