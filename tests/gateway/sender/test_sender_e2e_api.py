"""End to end: the REST API (HMAC-signed, the bundled client) -> the queue -> the sender -> the CMPP simulator
-> status report -> `delivered`, for short and long messages, templates and free content."""

import asyncio
import json

import pytest
from factories.gateway import TEST_SECRET, ApiClientFactory, DjangoTestApiClient

from gateway.cmpp.simulator import Simulator, SimulatorConfig
from gateway.models import Message
from gateway.sender.adapters import node_specs
from gateway.sender.runner import Sender, SenderSettings
from gateway.services.seed import gateway_seed_defaults

pytestmark = pytest.mark.django_db(transaction=True)


LONG_FREE = "您有一项交管业务需要办理。" * 12  # well over 70 characters: several segments


def test_api_to_delivered(contract, make_node, tmp_path, free_port):
    gateway_seed_defaults(contract=contract)
    row = ApiClientFactory(contract=contract, allow_free_content=True)
    api = DjangoTestApiClient(row.key_id, TEST_SECRET)
    sent = [
        api.send(
            mobile="13912345678",
            template_code="violation_notice",
            params={"plate": "苏C12345", "time": "2026-11-01 08:00", "place": "解放路"},
            client_ref="e2e-1",
        ),
        api.send(mobile="13912345679", content="请于本周内办理年检。", client_ref="e2e-2"),
        api.send(mobile="13912345680", content=LONG_FREE, client_ref="e2e-3"),
    ]
    assert all(s["status"] == "queued" for s in sent)
    port = free_port()
    make_node(port=port)
    log_path = tmp_path / "submits.jsonl"
    sim = Simulator(SimulatorConfig(port=port, report_delay=0.05, log_path=str(log_path)))

    async def run():
        await sim.start()
        specs = await asyncio.to_thread(node_specs, response_timeout=2.0)
        stop = asyncio.Event()
        cfg = SenderSettings(poll_seconds=0.1, report_grace_seconds=0.5, flush_interval=0.02)
        task = asyncio.create_task(Sender(specs, cfg).run(stop))
        try:
            async with asyncio.timeout(60):
                while await asyncio.to_thread(Message.objects.exclude(status="delivered").exists):
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await task
            await sim.stop()

    asyncio.run(run())
    for first in sent:
        got = api.get(first["id"])
        assert (got["status"], got["stat"]) == ("delivered", "DELIVRD")
        assert len(got["carrier_msg_ids"]) == got["segments"]
    long_msg = Message.objects.get(client_ref="e2e-3")
    assert long_msg.segments > 1
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(lines) == sum(m.segments for m in Message.objects.all())
    texts = "".join(line["text"] for line in lines)
    assert "苏C12345" in texts and "【12123】" in texts  # the template filled in, the signature applied
