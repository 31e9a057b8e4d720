"""The sender: claims queued messages from the database, submits them over CMPP sessions to every enabled
carrier node with failover, and records answers, status reports and uplink messages.

- `rules.py`: pure decisions (message outcome from its segments' reports, opt-out words, counting day).
- `policy.py`: pure node health policy (down, probation, gradual return) and weighted node choice.
- `store.py`: the database side (claims with leases, bulk result and report writes, daily counts).
- `adapters.py`: CarrierNode rows and claimed messages -> the CMPP package's plain config/request objects.
- `runner.py`: the asyncio engine `runsender` runs; `http.py`: its /metrics and /healthz endpoint.
"""
