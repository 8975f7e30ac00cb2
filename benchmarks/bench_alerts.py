"""Alert delivery throughput: a backlog of alerts to a loopback Standard Webhooks receiver and a JSONL file.

Measures, in one process and one run:

- `baseline httpx-post-only`: the same bodies POSTed one after another with one httpx client,
  no signing, no bookkeeping (the floor for sequential delivery to this receiver);
- `tgsweep deliver (webhook)`: `graph.alerts.delivery.deliver_alerts` over the backlog: signing
  with `standardwebhooks`, one committed transaction per outcome;
- `tgsweep deliver (jsonl)`: the same backlog to a JSONL sink (one write + fsync per pass).

The receiver (aiohttp, same event loop) verifies every signature. Figures are alerts/s; the
requirement checked is that a 2,000-alert backlog (a receiver down for a while) is cleared in
one pass in under 60 s, i.e. > 33 alerts/s. The machine may be shared: figures are noisy.

    python benchmarks/bench_alerts.py [--alerts 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store.sqlite import Store  # noqa: E402
from graph.alerts.delivery import deliver_alerts  # noqa: E402
from store.sqlite.alerts import enqueue_alert  # noqa: E402
from tgsweep.config import load_config  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"tgsweep-benchmark-key-000").decode()
REQUIRED_PER_S = 2000 / 60


async def main(n: int) -> int:
    verifier = Webhook(SECRET)
    seen: set[str] = set()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        if "webhook-signature" in request.headers:
            verifier.verify(body, dict(request.headers))
            seen.add(request.headers["webhook-id"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    folder = Path(tempfile.mkdtemp(prefix="tgsweep-bench-alerts-"))
    results: list[tuple[str, float]] = []
    try:
        for kind in ("webhook", "jsonl"):
            sink = (f'type = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\nsecret = "{SECRET}"' if kind == "webhook"
                    else 'type = "jsonl"\npath = "alerts.jsonl"')
            config_path = folder / kind / "config.toml"
            config_path.parent.mkdir()
            config_path.write_text(f'[storage]\ndatabase = "t.db"\n\n[[alerts.sinks]]\n{sink}\n')
            config = load_config(config_path)
            async with await Store.open(config.storage.database) as store:
                async with store.transaction() as tx:
                    for i in range(n):
                        await enqueue_alert(tx, "bank_match", f"media:c{i:06d}", "high",
                                            [f"file {i} matches bank bench"],
                                            {"posts": [f"https://t.me/gallery/{i}"], "bank": "bench"}, f"bench:{i}")
                bodies = [r[0] for r in await store.fetchall("SELECT payload FROM alerts")]
                if kind == "webhook":
                    import httpx

                    started = time.perf_counter()
                    async with httpx.AsyncClient() as client:
                        for body in bodies:
                            (await client.post(f"http://127.0.0.1:{port}/hook", content=body.encode())).raise_for_status()
                    results.append(("baseline httpx-post-only", n / (time.perf_counter() - started)))
                started = time.perf_counter()
                counts = await deliver_alerts(store, config)
                results.append((f"tgsweep deliver ({kind})", n / (time.perf_counter() - started)))
                assert counts["delivered"] == n and counts["pending"] == 0, counts
        assert len(seen) == n
    finally:
        await runner.cleanup()
    base = results[0][1]
    for name, rate in results:
        print(f"{name:28s} {rate:9.0f} alerts/s  ({rate / base:.2f}x baseline)")
    ok = all(rate > REQUIRED_PER_S for name, rate in results if name.startswith("tgsweep"))
    print(f"requirement: > {REQUIRED_PER_S:.0f} alerts/s (a {n}-alert backlog cleared in one pass): "
          f"{'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args().alerts)))
