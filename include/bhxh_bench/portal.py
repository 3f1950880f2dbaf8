"""Uploads to the unit portal: 200 uploads (40 with --quick) of a signed PDF and its XLSX appendix from 50
concurrent clients (10) to `python -m bhxh.portal serve` on loopback (its own store, uvicorn, one process), each
client timing its request from the first byte sent to the JSON receipt read; p95 of that latency against p95 of
validating the same files in-process (bhxh.intake.submission.check_submission and the signature check, one
after the other). The portal does more than the baseline (HTTP, the multipart stream, the store's transaction,
the receipt queued): the ratio says how much more, under load.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bhxh_bench.common import cleanup, free_port, tmp_dir
from bhxh_bench.mailbox import Item, corpus


def multipart(item: Item, pdf: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (("obligation", "nq51_action_programme"), ("cycle", "2019"), ("upload_id", uuid.uuid4().hex)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for field, filename, data in (("document", "Bao cao co chu ky so.pdf", pdf), ("appendix", item.name, item.appendix)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def run(quick: bool = False) -> dict:
    from bhxh.intake import links
    from bhxh.intake.signatures import check_document
    from bhxh.intake.submission import check_submission
    from bhxh.store.engine import init_store

    uploads, clients = (40, 10) if quick else (200, 50)
    work = tmp_dir("portal")
    items, pdf, ca_der = corpus(work, uploads + 1)
    (work / "trust").mkdir()
    (work / "trust" / "ca.der").write_bytes(ca_der)
    store = init_store(f"sqlite:///{work / 'store.sqlite'}")
    port = free_port()
    settings = links.PortalSettings(f"http://127.0.0.1:{port}", b"bench-" + uuid.uuid4().hex.encode())
    env = os.environ | {"BHXH_STORE_URL": store, "BHXH_TRUST_DIR": str(work / "trust"), "BHXH_PORTAL_URL": settings.base_url,
                        "BHXH_PORTAL_SECRET": settings.secret.decode(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    log = open(work / "portal.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "bhxh.portal", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{settings.base_url}/suc-khoe", timeout=2):  # noqa: S310 (loopback)
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"portal did not start: {(work / 'portal.log').read_text(errors='replace')[-2000:]}") from None
                time.sleep(0.2)
        tokens = {i.unit_id: links.mint(settings, i.unit_id, 1) for i in items}

        def upload(item: Item) -> tuple[float, dict]:
            body, ctype = multipart(item, pdf)
            headers = {"Content-Type": ctype, "Accept": "application/json", "Authorization": f"Bearer {tokens[item.unit_id]}"}
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("POST", f"/don-vi/{item.unit_id}/nop", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            conn.close()
            receipt = json.loads(data) if response.status in (200, 201) else {"body": data[:300].decode(errors="replace")}
            return elapsed, {**receipt, "http": response.status}

        upload(items[-1])  # warm-up: the sandbox helper, the caches
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            done = list(pool.map(upload, items[:uploads]))
        wall_s = time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
    latencies = [d[0] for d in done]
    receipts = [d[1] for d in done]
    check_document(pdf, "pdf", (ca_der,))
    validation = []
    for item in items[:uploads]:
        t0 = time.perf_counter()
        check_submission(item.appendix, item.name)
        check_document(pdf, "pdf", (ca_der,))
        validation.append(time.perf_counter() - t0)
    p95, v95 = percentile(latencies, 0.95), percentile(validation, 0.95)
    result = {
        "uploads": uploads,
        "clients": clients,
        "wall_s": round(wall_s, 2),
        "uploads_per_s": round(uploads / wall_s, 2),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(latencies), 3),
        "validate_p50_s": round(statistics.median(validation), 4),
        "validate_p95_s": round(v95, 4),
        "ratio_p95_to_validation": round(p95 / v95, 1),
        "http_status": {str(s): sum(1 for r in receipts if r["http"] == s) for s in sorted({r["http"] for r in receipts})},
        "receipts": sum(1 for r in receipts if r.get("receipt_number")),
        "accepted": sum(1 for r in receipts if r.get("status") == "accepted"),
        "signatures_valid": sum(1 for r in receipts if r.get("signature", {}).get("state") == "valid"),
    }
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
