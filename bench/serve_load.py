"""A bounded load test of `tujie serve`: requests/s and p50/p99 latency at concurrency 1, 8 and 32, with and without micro-batching.

Localhost only. The server runs in its own process (`tujie.deploy.server.serve`, one torch
thread, access log off) on 127.0.0.1; this process sends a FIXED number of POST /predict
requests per concurrency level from that many client threads, each on its own keep-alive
connection, one test image per request (JSON), and stops a level early when its time limit
runs out. Every answer is checked (status 200, one prediction, probabilities summing to 1);
the script fails if any request erred or a level ran out of time.

All servers run at once and are warmed up first (50 requests each). For each concurrency
level every server is measured in turn, `--rounds` times; each server's median round is
printed, and each ratio is the median of the rounds' ratios (servers measured back to back),
so the other work of a shared machine weighs on every setting alike. The same requests go to a server without
micro-batching (max_batch 0: each request is its own forward pass, in a worker thread) and
to servers with it (max_batch 32), one per `--waits` value: how long the first request of a
batch waits for company (0: only the requests already queued, which under load are those
that arrived while the model ran). Ratios of requests/s are measured in the same run, on the
same machine and load.

    TUJIE_DATA=/work/shared/data OMP_NUM_THREADS=1 python bench/serve_load.py [--recipe mnist-lenet5|cifar10-resnet20] [--run RUN_DIR] [--requests 400] [--limit-s 60] [--waits 0 5]

Without --run it trains the model first, briefly (mnist-lenet5: 1 epoch on 2,000 images;
cifar10-resnet20: 1 epoch on 1,000): the weights matter little to the timings, the model does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

LEVELS = (1, 8, 32)
SERVER = ("import sys; from tujie.deploy.server import serve; "
          "serve(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), max_batch=int(sys.argv[3]), "
          "batch_wait_ms=float(sys.argv[4]), log_level='warning')")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(run_dir: Path, max_batch: int, wait_ms: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(run_dir), str(port), str(max_batch), str(wait_ms)],
                               env=env,
                               stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not answer /health within 120 s")


def load(port: int, bodies: list[bytes], concurrency: int, requests: int, limit_s: float) -> dict:
    """Send `requests` POSTs from `concurrency` threads (keep-alive connections); latencies in seconds."""
    latencies, errors, lock = [], [], threading.Lock()
    next_index = iter(range(requests))
    deadline = time.monotonic() + limit_s

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            body = bodies[index % len(bodies)]
            started = time.perf_counter()
            try:
                connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                raw = response.read()
                elapsed = time.perf_counter() - started
                answer = json.loads(raw)
                ok = (response.status == 200 and len(answer["predictions"]) == 1
                      and abs(sum(answer["predictions"][0]["probabilities"].values()) - 1) < 1e-4)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                ok, raw, elapsed = False, repr(error).encode(), time.perf_counter() - started
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                (latencies if ok else errors).append(elapsed if ok else raw[:200])
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    done = len(latencies)
    return {"concurrency": concurrency, "requests": done, "errors": len(errors), "first_error": errors[0] if errors else None,
            "wall_s": wall, "requests_per_s": done / wall if wall else 0.0, "complete": done + len(errors) == requests,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1000 * latencies[min(done - 1, int(0.99 * done))] if latencies else float("nan")}


RECIPES = {  # recipe -> overrides for a brief training run (the weights matter little to the timings)
    "mnist-lenet5": ["epochs=1", "data.limit=2000"],
    "cifar10-resnet20": ["epochs=1", "data.limit=1000"],
}


def make_run(recipe: str, out: Path) -> Path:
    import tujie as tj

    return tj.run(recipe, overrides=[*RECIPES[recipe], f"output_dir={out}", "run_name=served"], verbose=0, report=False).run_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="mnist-lenet5", help="the model to train briefly and serve")
    parser.add_argument("--run", type=Path, help="a trained image run directory instead (its dataset's test images are sent)")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--limit-s", type=float, default=60.0, help="time limit per level (seconds)")
    parser.add_argument("--max-batch", type=int, default=32, help="micro-batch size of the batched servers")
    parser.add_argument("--waits", type=float, nargs="+", default=[0.0, 5.0],
                        help="batch_wait_ms of the batched servers (one server each)")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per server and level (the median is kept)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import tujie as tj
    from tujie.deploy.runs import load_servable

    settings = [(0, 0.0)] + [(args.max_batch, wait) for wait in args.waits]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run or make_run(args.recipe, Path(scratch))
        servable = load_servable(run_dir)
        dataset = servable.contract.get("dataset") or "mnist"
        test = tj.datasets.load(dataset, normalize="unit").test
        bodies = [json.dumps({"inputs": [x.tolist()]}).encode() for x in test.x[:200].numpy()]  # one image each
        print(f"{servable.name}: {servable.model_name}, input {servable.input_shape}, {servable.parameters:,} parameters; "
              f"{args.requests} requests per level, one image each\n", flush=True)
        servers = [start_server(run_dir, max_batch, wait) for max_batch, wait in settings]  # all up at once
        try:
            for _process, port in servers:
                load(port, bodies, 4, 50, args.limit_s)  # warm-up: imports, thread pools, first allocations
            # interleaved (each level: every server in turn, `rounds` times; the median round kept), so the
            # other work on a shared machine weighs on every setting alike
            for concurrency in LEVELS:
                tries = [[] for _ in servers]
                for round_index in range(args.rounds):
                    for k in range(len(servers)):  # each round starts with the next server: no setting always goes first
                        k = (k + round_index) % len(servers)
                        tries[k].append(load(servers[k][1], bodies, concurrency, args.requests, args.limit_s))
                for (max_batch, wait), server_tries in zip(settings, tries):
                    in_order = [t["requests_per_s"] for t in server_tries]  # round by round, for the ratios
                    server_tries = sorted(server_tries, key=lambda t: t["requests_per_s"])
                    row = {"max_batch": max_batch, "wait_ms": wait, **server_tries[len(server_tries) // 2],
                           "errors": sum(t["errors"] for t in server_tries),
                           "complete": all(t["complete"] for t in server_tries), "round_requests_per_s": in_order}
                    rows.append(row)
                    print(f"max_batch={max_batch:<3} wait={wait:g} ms  concurrency={concurrency:<3} {row['requests']:>5} requests in "
                          f"{row['wall_s']:6.2f} s  {row['requests_per_s']:7.1f} req/s  p50 {row['p50_ms']:7.2f} ms  "
                          f"p99 {row['p99_ms']:7.2f} ms  errors {row['errors']}" + ("" if row["complete"] else "  (time limit)"),
                          flush=True)
        finally:
            for process, _port in servers:
                process.terminate()
                process.wait(30)
    print(f"\nrequests/s with micro-batching (max_batch={args.max_batch}) over without: the median of the rounds' ratios "
          "(each round measures every server back to back), [lowest, highest]:")
    for concurrency in LEVELS:
        plain = next(r for r in rows if r["max_batch"] == 0 and r["concurrency"] == concurrency)
        ratios = []
        for max_batch, wait in settings[1:]:
            batched = next(r for r in rows if (r["max_batch"], r["wait_ms"], r["concurrency"]) == (max_batch, wait, concurrency))
            per_round = sorted(b / p for b, p in zip(batched["round_requests_per_s"], plain["round_requests_per_s"]))
            batched["ratio_to_unbatched"] = statistics.median(per_round)
            ratios.append(f"wait {wait:g} ms: {statistics.median(per_round):.2f}x [{per_round[0]:.2f}, {per_round[-1]:.2f}]")
        print(f"  concurrency {concurrency:>2}: " + ";  ".join(ratios))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    errors = sum(r["errors"] for r in rows)
    assert errors == 0, f"{errors} requests failed; the first: {next(r['first_error'] for r in rows if r['errors'])}"
    assert all(r["complete"] for r in rows), "a level ran out of time: raise --limit-s or lower --requests"
    print("zero errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
