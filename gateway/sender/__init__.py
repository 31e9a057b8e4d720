"""The sender: claims queued messages from the database, submits them through carrier sessions to every
enabled node with failover, and records answers, status reports and uplink messages.

- `rules.py`: pure decisions (message outcome from its segments' reports, opt-out words, counting day).
- `policy.py`: pure node health policy (down, probation, gradual return) and weighted node choice.
- `outages.py`: when an outage is long enough to report (the gateway event assessment turns into tickets).
- `store.py`: the database side (claims with leases, bulk result and report writes, daily counts).
- `adapters.py`: CarrierNode rows and claimed messages -> the protocol-neutral objects of `gateway.carrier`.
- `runner.py`: the asyncio engine `runsender` runs (claim, dispatch, submit); `monitor.py`: node health while
  it runs; `writer.py`: batched writes; `dbthreads.py`: database calls off the loop; `nodes.py`: a node's live
  bookkeeping; `http.py`: /metrics, /healthz.
"""
