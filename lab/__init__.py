"""The lab: everything that is never deployed (local host, sandbox cluster, fault runs,
benchmarks, scenarios). It imports the app; the app never imports it."""
