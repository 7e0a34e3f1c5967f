"""Operations: the bot's own probes (`/livez`, `/readyz`) and Prometheus metrics (`/metrics`) on a port of
its own. `heartbeat` (a loop's progress), `health` (liveness and readiness decided from one snapshot),
`metrics` (the registry and every metric), `server` (the HTTP server), `process` (the one set of them
per process: it outlives the plugin's activations). Nothing here imports `chat` or `crm`."""
