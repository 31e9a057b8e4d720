#!/usr/bin/env bash
# Sourced by scripts/run-demo.sh (`make run`): two simulated carrier nodes and the sender, in the background.
# Uses $py and appends to the bash array `pids`; logs go to run/*.log, accepted segments to run/sim-node*.jsonl.
# The sender's metrics and health: http://127.0.0.1:9108/metrics and /healthz.
$py manage.py setup_demo_nodes --count 2
for i in 1 2; do
  $py -m gateway.cmpp.simulator --host 127.0.0.1 --port $((7890 + i)) --sp-id 901234 --secret demo-s3cret \
    --node-id "$i" --report-delay 1 --log "run/sim-node$i.jsonl" >"run/sim-node$i.log" 2>&1 &
  pids+=($!)
done
sleep 1
$py manage.py runsender --metrics-port 9108 >run/sender.log 2>&1 &
pids+=($!)
# Status callbacks to the API clients that have a callback URL (docs/api.md "Status events").
$py manage.py runcallbacks >run/callbacks.log 2>&1 &
pids+=($!)
echo "  carrier simulators on 127.0.0.1:7891 and :7892, sender and callback worker running (logs in run/, health on :9108/healthz)"
