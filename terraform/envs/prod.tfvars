# prod: protected tables and buckets, longer log retention, concurrency sized for ~20k events/s peaks
# (500 events per request, ~100 ms per request: 20000 / 500 * 0.1 s = 4 concurrent, x25 headroom for reads).
environment              = "prod"
api_reserved_concurrency = 100
log_retention_days       = 90
rejected_retention_days  = 90
deletion_protection      = true
