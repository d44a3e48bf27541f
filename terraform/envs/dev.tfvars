# dev: small, disposable (no deletion protection, short log retention, open CORS for local front ends).
environment              = "dev"
api_reserved_concurrency = 10
log_retention_days       = 14
rejected_retention_days  = 30
deletion_protection      = false
