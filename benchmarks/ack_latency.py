"""How fast `empire serve` acks Slack, next to a Bolt app that does nothing but ack.

    .venv/bin/python -m benchmarks.ack_latency [--commands N] [--clicks N]
                                               [--database sqlite|postgresql]

`empire serve` runs as a process (`python -m bot serve`) on a fresh database, with the
fake Slack and Stripe servers on 127.0.0.1. It is sent `/empire help`, then
`/empire invoice …` commands; once their approval cards are posted, a finance user
clicks Approve on each. The same requests then go to two bare Bolt apps, each in a
process of its own, whose listeners only ack:

- bare sync: `slack_bolt.App(process_before_response=True,
  token_verification_enabled=False)` served by `bot.web.build_web_app` on uvicorn, as
  `empire serve` serves its own (Bolt dispatch in Starlette's thread pool);
- bare async: `AsyncApp` + `AsyncSlackRequestHandler` on Starlette and uvicorn (it needs
  `aiohttp`; without it the row says unavailable).

The faster of the two is the baseline. Every request is signed before its batch is
timed, warm-ups are left out, and the requests of a batch are sent one after another
over one keep-alive `httpx.Client`. That client runs in a process of its own, so that
the fake servers' threads never hold its GIL while it times. An ack time is the
client's wall time from sending the request to having read the whole response.
Nothing is asserted: the script prints a table and a verdict, and exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack, run_fake_slack
from integrations.local.stripe.server import FakeStripe, run_fake_stripe
from tests.databases import drop_template, fresh_postgres, fresh_sqlite, postgres_available
from tests.e2e.harness import (
    REPO,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    ServeProcess,
    button,
    request_id_of,
    serve_env,
    wait_for,
)
from tests.fakes.ports import free_port

Signed = tuple[bytes, dict[str, str]]

HELP = "/empire help"
INVOICE = "/empire invoice"
CLICK = "Approve click"
CASES = (HELP, INVOICE, CLICK)
EMPIRE = "empire serve"
BARE_SYNC = "bare sync"
BARE_ASYNC = "bare async"

REQUESTER = "U0REQ"
APPROVER = "U0FIN1"
USERS = ["U0REQ", "U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1"]
WARMUP_COMMANDS = 30
WARMUP_CLICKS = 10
UNDER_MS = 100.0
WITHIN_FACTOR = 2.0
_CARD_ID = re.compile(r"#(\d+)\b")


# -- the timing process ------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """What one batch of requests gave: timed samples, failures, and every answer."""

    samples_ms: list[float]
    failures: int
    answers: list[str]


_clients: dict[str, httpx.Client] = {}


def send_batch(url: str, requests: list[Signed], warmup: int) -> Batch:
    """Post `requests` in order over one keep-alive client; time all but the first `warmup`.

    Runs in the timing process. A non-200 answer counts as a failure, not as a sample.
    """
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = httpx.Client(base_url=url, timeout=30)
    samples: list[float] = []
    answers: list[str] = []
    failures = 0
    for index, (body, headers) in enumerate(requests):
        started = time.perf_counter()
        response = client.post("/slack/events", content=body, headers=headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answers.append(response.text)
        if response.status_code != 200:
            failures += 1
        elif index >= warmup:
            samples.append(elapsed_ms)
    return Batch(samples, failures, answers)


def run_batch(timer: Executor, url: str, requests: Sequence[sp.SlackRequest], warmup: int) -> Batch:
    signed = [request.signed() for request in requests]  # before any timing starts
    return timer.submit(send_batch, url, signed, warmup).result()


# -- the requests ------------------------------------------------------------------------


@dataclass
class Workload:
    commands: int
    clicks: int
    reply_url: str
    help: list[sp.SlackRequest] = field(default_factory=list)
    invoices: list[sp.SlackRequest] = field(default_factory=list)
    approves: list[sp.SlackRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = WARMUP_COMMANDS + self.commands
        self.help = [self.command("help") for _ in range(count)]
        self.invoices = [self.command(invoice_text(n)) for n in range(count)]

    def command(self, text: str) -> sp.SlackRequest:
        return sp.slash_command(text, user_id=REQUESTER, response_url=self.reply_url)


def invoice_text(n: int) -> str:
    return f"invoice client{n}@example.com 1500 Benchmark work {n}"


def approve_click(card: dict[str, Any], reply_url: str) -> sp.SlackRequest:
    approve = button(card, "approve")
    if approve is None:
        raise RuntimeError(f"card {card.get('ts')} has no Approve button")
    return sp.block_action(
        "approve", approve["value"], user_id=APPROVER, message=card, response_url=reply_url
    )


def pending_cards(fake_slack: FakeSlack, request_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The cards (still showing Approve) of `request_ids`, by request id."""
    found: dict[int, dict[str, Any]] = {}
    for message in fake_slack.messages(ws.APPROVALS_CHANNEL):
        match = _CARD_ID.search(message.get("text", ""))
        if match and int(match.group(1)) in request_ids and button(message, "approve"):
            found[int(match.group(1))] = dict(message)
    return found


# -- empire serve --------------------------------------------------------------------------


def measure_empire(
    timer: Executor,
    workload: Workload,
    database_url: str,
    folder: Path,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
) -> dict[str, Batch]:
    env = serve_env(database_url, folder, fake_slack.api_url, fake_stripe.url)
    serve = ServeProcess(env, folder).start(timeout=60)
    fake_stripe.add_webhook_endpoint(f"{serve.url}/stripe/webhook", WEBHOOK_SECRET)
    results: dict[str, Batch] = {}
    try:
        results[HELP] = run_batch(timer, serve.url, workload.help, WARMUP_COMMANDS)
        results[INVOICE] = run_batch(timer, serve.url, workload.invoices, WARMUP_COMMANDS)
        request_ids = [request_id_of(a) for a in results[INVOICE].answers if "#" in a]
        needed = WARMUP_CLICKS + workload.clicks
        extra = len(request_ids)
        while len(request_ids) < needed:  # fewer commands than clicks: submit more, untimed
            extra += 1
            answer = serve.command(invoice_text(extra), REQUESTER, workload.reply_url)
            request_ids.append(request_id_of(answer))
        wanted = set(request_ids[:needed])

        def every_card() -> dict[int, dict[str, Any]]:
            found = pending_cards(fake_slack, wanted)
            return found if len(found) == needed else {}

        cards = wait_for(every_card, timeout=90, what=f"{needed} approval cards")
        workload.approves = [
            approve_click(cards[request_id], workload.reply_url)
            for request_id in request_ids[:needed]
        ]
        results[CLICK] = run_batch(timer, serve.url, workload.approves, WARMUP_CLICKS)
    finally:
        serve.stop()
    return results


# -- the bare Bolt apps --------------------------------------------------------------------


def bare_sync_app(slack_api: str) -> Starlette:
    """`App` in its fastest setting, behind the very routes `empire serve` uses."""
    from slack_bolt import Ack, App
    from slack_sdk import WebClient
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from bot.foreground import Foreground
    from bot.web import build_web_app
    from bot.workers import Workers
    from integrations.unconfigured import UnconfiguredGateway

    bolt = App(
        client=WebClient(token=ws.BOT_TOKEN, base_url=slack_api),
        signing_secret=ws.SIGNING_SECRET,
        token_verification_enabled=False,
        process_before_response=True,
    )

    @bolt.command("/empire")
    def command(ack: Ack) -> None:
        ack("ok")

    @bolt.action("approve")
    def approve(ack: Ack) -> None:
        ack()

    # The health check answers from an in-memory database; nothing else touches it.
    sessions = sessionmaker(create_engine("sqlite://"))
    return build_web_app(bolt, sessions, "", UnconfiguredGateway(), Workers([]), Foreground())


def bare_async_app(slack_api: str) -> Starlette:
    """`AsyncApp` + `AsyncSlackRequestHandler`: dispatch stays on the event loop."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    bolt = AsyncApp(
        client=AsyncWebClient(token=ws.BOT_TOKEN, base_url=slack_api),
        signing_secret=ws.SIGNING_SECRET,
        process_before_response=True,
    )

    @bolt.command("/empire")
    async def command(ack: AsyncAck) -> None:
        await ack("ok")

    @bolt.action("approve")
    async def approve(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        response: Response = await handler.handle(request)
        return response

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


BARE_APPS: dict[str, Callable[[str], Starlette]] = {"sync": bare_sync_app, "async": bare_async_app}


def serve_bare(kind: str, port: int, slack_api: str) -> None:
    """The bare app's process: uvicorn with the settings `empire serve` uses."""
    import uvicorn

    app = BARE_APPS[kind](slack_api)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


@contextmanager
def bare_process(kind: str, folder: Path, slack_api: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / f"bare-{kind}.log"
    command = [sys.executable, "-m", "benchmarks.ack_latency", "--serve-bare", kind]
    command += ["--port", str(port), "--slack-api", slack_api]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bare {kind} app did not start: {log.read_text()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def measure_bare(
    timer: Executor, kind: str, workload: Workload, folder: Path, slack_api: str
) -> dict[str, Batch]:
    results: dict[str, Batch] = {}
    with bare_process(kind, folder, slack_api) as url:
        results[HELP] = run_batch(timer, url, workload.help, WARMUP_COMMANDS)
        results[INVOICE] = run_batch(timer, url, workload.invoices, WARMUP_COMMANDS)
        if workload.approves:
            results[CLICK] = run_batch(timer, url, workload.approves, WARMUP_CLICKS)
    return results


# -- the report ----------------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of them at or below."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def median_of_all(batches: dict[str, Batch]) -> float:
    samples = [s for batch in batches.values() for s in batch.samples_ms]
    return percentile(samples, 50) if samples else math.inf


def fastest_bare(bare: dict[str, dict[str, Batch]]) -> str | None:
    """The bare configuration with the lowest median ack over all its requests."""
    measured = {name: median_of_all(batches) for name, batches in bare.items() if batches}
    return min(measured, key=lambda name: measured[name]) if measured else None


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs > 0 else "-"


def print_table(
    results: dict[str, dict[str, Batch]], baseline: str | None, notes: dict[str, str]
) -> None:
    header = f"{'server':<13} {'case':<16} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}"
    header += f" {'p50 /bare':>10} {'p99 /bare':>10}"
    print(header)
    print("-" * len(header))
    base = results.get(baseline or "", {})
    for server, batches in results.items():
        if server in notes:
            print(f"{server:<13} {notes[server]}")
            continue
        for case in CASES:
            batch = batches.get(case)
            if batch is None or not batch.samples_ms:
                print(f"{server:<13} {case:<16} {'-':>5}   not measured")
                continue
            p50, p99 = percentile(batch.samples_ms, 50), percentile(batch.samples_ms, 99)
            line = f"{server:<13} {case:<16} {len(batch.samples_ms):>5} {p50:>8.2f} {p99:>8.2f}"
            reference = base.get(case)
            if server == EMPIRE and reference is not None and reference.samples_ms:
                line += f" {ratio(p50, percentile(reference.samples_ms, 50)):>10}"
                line += f" {ratio(p99, percentile(reference.samples_ms, 99)):>10}"
            print(line)
    for server, batches in results.items():
        failed = sum(batch.failures for batch in batches.values())
        if failed:
            print(f"warning: {server}: {failed} requests did not answer 200 (left out)")


def verdict(results: dict[str, dict[str, Batch]], baseline: str | None) -> str:
    """One line: is the slowest `/empire` command case's p99 under 100 ms and within 2x?"""
    ours = results.get(EMPIRE, {})
    measured = [case for case in (HELP, INVOICE) if case in ours and ours[case].samples_ms]
    if not measured:
        return "verdict: /empire command ack p99 not measured"
    case = max(measured, key=lambda c: percentile(ours[c].samples_ms, 99))
    p99 = percentile(ours[case].samples_ms, 99)
    under = "yes" if p99 < UNDER_MS else "no"
    line = f"verdict: /empire command ack p99 {p99:.2f} ms ({case}, the slower command case)"
    line += f"; under {UNDER_MS:.0f} ms: {under}"
    reference = results.get(baseline or "", {}).get(case)
    if baseline is None or reference is None or not reference.samples_ms:
        return line + f"; within {WITHIN_FACTOR:.0f}x of bare Bolt: unknown (no baseline)"
    bare_p99 = percentile(reference.samples_ms, 99)
    within = "yes" if p99 <= WITHIN_FACTOR * bare_p99 else "no"
    return (
        line + f"; within {WITHIN_FACTOR:.0f}x of bare Bolt ({baseline}, p99 {bare_p99:.2f} ms): "
        f"{within} ({ratio(p99, bare_p99)})"
    )


# -- main ----------------------------------------------------------------------------------


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        with fresh_sqlite(folder) as url:
            yield url
        return
    try:
        with fresh_postgres() as url:
            yield url
    finally:
        drop_template()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ack_latency",
        description="Ack latency of empire serve next to a bare Bolt app.",
    )
    parser.add_argument("--commands", type=int, default=300, help="timed commands per case")
    parser.add_argument("--clicks", type=int, default=100, help="timed Approve clicks")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    # The bare apps' own processes start through these.
    parser.add_argument("--serve-bare", choices=sorted(BARE_APPS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slack-api", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.commands < 1 or args.clicks < 1:
        parser.error("--commands and --clicks must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.port, args.slack_api)
        return 0
    print(
        f"ack latency: {args.commands} commands per case, {args.clicks} Approve clicks "
        f"(+{WARMUP_COMMANDS}/{WARMUP_CLICKS} warm-ups left out), database {args.database}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    if args.database == "postgresql" and not postgres_available():
        print("PostgreSQL does not answer on 127.0.0.1:5432; nothing measured")
        return 0
    started = time.monotonic()
    results: dict[str, dict[str, Batch]] = {}
    notes: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="empire-bench-") as tmp,
        run_fake_slack(users=USERS) as fake_slack,
        run_fake_stripe(api_key=STRIPE_KEY) as fake_stripe,
        ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as timer,
    ):
        folder = Path(tmp)
        workload = Workload(args.commands, args.clicks, fake_slack.response_url("bench"))
        try:
            with database(args.database, folder) as url:
                results[EMPIRE] = measure_empire(
                    timer, workload, url, folder, fake_slack, fake_stripe
                )
        except Exception as exc:
            traceback.print_exc()
            notes[EMPIRE] = f"failed: {exc}"
            results[EMPIRE] = {}
        for kind, name in (("sync", BARE_SYNC), ("async", BARE_ASYNC)):
            if kind == "async" and importlib.util.find_spec("aiohttp") is None:
                notes[name] = "unavailable: AsyncApp needs aiohttp, which is not installed"
                results[name] = {}
                continue
            try:
                results[name] = measure_bare(timer, kind, workload, folder, fake_slack.api_url)
            except Exception as exc:
                traceback.print_exc()
                notes[name] = f"failed: {exc}"
                results[name] = {}
    bare = {name: results[name] for name in (BARE_SYNC, BARE_ASYNC) if name not in notes}
    baseline = fastest_bare(bare)
    print()
    print_table(results, baseline, notes)
    print()
    print(f"baseline: {baseline or 'none'} (the bare app with the lowest median ack)")
    print(f"took {time.monotonic() - started:.1f} s")
    print(verdict(results, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
