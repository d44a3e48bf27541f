# dev: small, disposable (no deletion protection, short log retention, CORS open to local front-end dev servers).
environment              = "dev"
api_reserved_concurrency = 10
log_retention_days       = 14
rejected_retention_days  = 30
deletion_protection      = false
cors_allowed_origins     = ["http://localhost:3000", "http://localhost:5173"]
