"""Cloud Monitoring's lag, scaled down for the tests: the emulator's 1-second samples are visible 2 s
after they close (Google's: 60 s, visible up to 180 s later), so a request's data arrives at most 3 s
after it; the canary analysis' metrics_delay matches that."""

MONITORING_CONFIG = {"monitoring_sample_seconds": 1, "monitoring_lag_seconds": 2}
METRICS_DELAY = 3
