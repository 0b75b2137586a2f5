"""`empire sandbox` as a person runs it: a real process, driven only through its HTTP API.

Most tests share one sandbox (each works on its own request and client, so they do not
meet); the policy and restart test starts its own, twice in the same folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import card_text
from tests.sandbox_process import (
    APPROVALS,
    FRAN,
    KIM,
    OLU,
    OTTO,
    REPO,
    RILEY,
    SAM,
    Json,
    SandboxProcess,
    buttons,
    poll,
)

pytestmark = pytest.mark.e2e

PAGE = REPO / "bot" / "sandbox" / "page"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    root = tmp_path_factory.mktemp("sandbox")
    process = SandboxProcess(root, root / "empire-sandbox")
    try:
        yield process.start()
    finally:
        process.stop()


# -- start-up ------------------------------------------------------------------------------


def test_start_up_prints_the_url_and_serves_the_page(sandbox: SandboxProcess) -> None:
    assert f"open {sandbox.url}/" in sandbox.stdout.read_text()
    page = sandbox.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        if not (PAGE / name).exists():
            continue  # the page's own files come later
        served = sandbox.http.get(f"/sandbox/page/{name}")
        assert served.status_code == 200, name
        assert served.headers["content-type"].startswith(kind)
        assert served.content
    assert (sandbox.folder / "policy.yml").is_file()
    assert (sandbox.folder / "sandbox.db").is_file()


def test_start_up_makes_the_sample_history(sandbox: SandboxProcess) -> None:
    first = sandbox.initial
    assert first.state["ready"] is True
    assert first.state["me"] == RILEY
    assert {u["id"] for u in first.state["users"]} == {RILEY, FRAN, SAM, KIM, OLU, OTTO}
    cards = next(c for c in first.state["channels"] if c["id"] == APPROVALS)["messages"]
    assert [card["text"] for card in cards] == [
        "Invoice #1: Executed",
        "Invoice #2: Executed",
        "Subscription #3: Executed",
        "Invoice #4: Waiting for approval",
    ]
    for card in cards[:3]:
        assert "Approvals: 1 of 1 (<@U0FIN1>)" in card_text(card)  # Fran approved them
        assert buttons(card) == []
    assert "Requested by <@U0SALES1>" in card_text(cards[3])
    assert {"Approve", "Deny"} <= set(buttons(cards[3]))

    stripe = first.stripe
    assert sorted(c["name"] for c in stripe["customers"]) == ["Acme Studio", "Globex", "Initech"]
    invoices = {(i["customer"], i["amount"], i["status"]) for i in stripe["invoices"]}
    assert {("Acme Studio", "$1,200.00", "paid"), ("Globex", "$14,500.00", "paid")} <= invoices
    assert not any(i["payable"] for i in stripe["invoices"])
    assert [
        (s["customer"], s["plan"], s["price"], s["status"]) for s in stripe["subscriptions"]
    ] == [("Globex", "Support retainer", "$500.00 / month", "active")]
    assert stripe["refunds"] == []

    verify = first.audit["verify"]
    assert verify["ok"] is True
    counted = re.fullmatch(r"OK: (\d+) entries", verify["text"])
    assert counted is not None, verify
    assert int(counted.group(1)) > 0
    assert any(
        (e["event"], e["request"], e["actor_name"]) == ("request.submitted", 4, "Riley (sales)")
        for e in first.audit["entries"]
    )

    sandbox.notified(":moneybag:", "$1,200.00", "paid")
    sandbox.notified(":moneybag:", "$14,500.00", "paid")


# -- flows -------------------------------------------------------------------------------------


def test_an_invoice_is_asked_refused_to_an_outsider_approved_sent_and_paid(
    sandbox: SandboxProcess,
) -> None:
    request_id = sandbox.ask("invoice billing@acme.example 900 Logo refresh")
    card = sandbox.card_saying(request_id, "Waiting for approval")
    assert "Approvals: 0 of 1" in card_text(card)
    assert "$900.00" in card_text(card)
    assert sandbox.invoice("Acme Studio", "$900.00") is None

    told = len(sandbox.ephemerals(OTTO))
    assert sandbox.click(OTTO, request_id, "approve") == {"ok": True}
    refusal = sandbox.ephemeral_saying(OTTO, f"request #{request_id}", after=told)
    assert "does not let you decide" in refusal["text"]
    assert refusal["channel"] == APPROVALS
    assert not any(refusal["text"] == e["text"] for e in sandbox.ephemerals(FRAN))
    assert sandbox.card(request_id) == card  # nothing changed
    assert sandbox.invoice("Acme Studio", "$900.00") is None

    assert sandbox.click(FRAN, request_id, "approve") == {"ok": True}
    done = card_text(sandbox.card_saying(request_id, "Executed"))
    assert "<@U0FIN1>" in done

    invoice = poll(lambda: sandbox.invoice("Acme Studio", "$900.00"), "the invoice in Stripe")
    assert (invoice["status"], invoice["payable"]) == ("open", True)
    assert invoice["id"] in done
    assert sandbox.pay(invoice["id"]) == {"ok": True}

    paid = sandbox.notified(invoice["id"], "paid", "$900.00")
    assert paid["bot"] is True
    settled = sandbox.invoice("Acme Studio", "$900.00")
    assert settled is not None
    assert (settled["status"], settled["payable"]) == ("paid", False)
    audit = sandbox.audit()
    assert audit["verify"]["ok"] is True, audit["verify"]
    assert any(
        (e["event"], e["request"], e["actor_name"])
        == ("request.approved", request_id, "Fran (finance)")
        for e in audit["entries"]
    )
    otto = {e["event"] for e in audit["entries"] if e["actor"] == OTTO}
    assert otto == {"click.refused"}  # the refusal is on record, and nothing else of his


def test_a_refund_over_ten_thousand_needs_two_people_from_finance(
    sandbox: SandboxProcess,
) -> None:
    globex = sandbox.invoice("Globex", "$14,500.00")
    assert globex is not None
    assert globex["status"] == "paid"

    request_id = sandbox.ask(f"refund {globex['id']} 12000 Project cancelled")
    text = card_text(sandbox.card_saying(request_id, "Approvals: 0 of 2"))
    assert "parliament" in text
    assert "$12,000.00" in text

    told = len(sandbox.ephemerals(RILEY))
    assert sandbox.click(RILEY, request_id, "approve") == {"ok": True}
    own = sandbox.ephemeral_saying(RILEY, f"request #{request_id}", after=told)
    assert "someone else must decide" in own["text"]
    assert "0 of 2" in card_text(sandbox.card_saying(request_id, "Waiting for approval"))

    assert sandbox.click(FRAN, request_id, "approve") == {"ok": True}
    sandbox.card_saying(request_id, "1 of 2")
    told = len(sandbox.ephemerals(FRAN))
    assert sandbox.click(FRAN, request_id, "approve") == {"ok": True}  # Fran again: not two
    sandbox.ephemeral_saying(FRAN, "already approved", after=told)
    assert "1 of 2" in card_text(sandbox.card_saying(request_id, "Waiting for approval"))
    assert sandbox.stripe()["refunds"] == []

    assert sandbox.click(SAM, request_id, "approve") == {"ok": True}
    done = card_text(sandbox.card_saying(request_id, "Executed"))
    assert "<@U0FIN1>" in done
    assert "<@U0FIN2>" in done
    [refund] = poll(lambda: sandbox.stripe()["refunds"], "the refund in Stripe")
    assert (refund["amount"], refund["invoice"]) == ("$12,000.00", globex["number"])
    assert refund["id"] in done
    assert sandbox.audit()["verify"]["ok"] is True


def test_deny_asks_the_denier_alone_for_a_reason(sandbox: SandboxProcess) -> None:
    request_id = sandbox.ask("invoice finance@initech.example 650 Brand guidelines")

    def kims_view() -> Json | None:
        found: Json | None = sandbox.state(KIM)["view"]
        return found

    # Opened and dismissed: nothing happens to the request.
    assert sandbox.click(KIM, request_id, "deny") == {"ok": True}
    view = poll(kims_view, "the deny modal")
    for other in (FRAN, SAM, RILEY, OTTO):
        assert sandbox.state(other)["view"] is None
    assert sandbox.close(KIM, view["id"]) == {"ok": True}
    assert kims_view() is None
    sandbox.card_saying(request_id, "Waiting for approval")

    # Opened again: an empty reason is refused next to the field, then a reason denies.
    assert sandbox.click(KIM, request_id, "deny") == {"ok": True}
    view = poll(kims_view, "the deny modal again")
    assert f"#{request_id}" in view["title"]["text"]
    assert view["errors"] == {}
    field = next(b for b in view["blocks"] if b["type"] == "input")
    block_id, action_id = field["block_id"], field["element"]["action_id"]

    refused = sandbox.submit(KIM, view["id"], {block_id: {action_id: "   "}})

    assert refused["ok"] is False
    assert set(refused["errors"]) == {block_id}
    assert refused["errors"][block_id]
    still = kims_view()
    assert still is not None
    assert still["id"] == view["id"]
    assert still["errors"] == refused["errors"]

    reason = "Not in the budget this quarter"
    assert sandbox.submit(KIM, view["id"], {block_id: {action_id: reason}}) == {"ok": True}
    assert kims_view() is None
    denied = card_text(sandbox.card_saying(request_id, "Denied"))
    assert reason in denied
    assert buttons(sandbox.card_saying(request_id, "Denied")) == []
    assert sandbox.invoice("Initech", "$650.00") is None


def test_revenue_comes_with_its_chart(sandbox: SandboxProcess) -> None:
    def chart() -> Json | None:
        for channel in sandbox.state(FRAN)["channels"]:
            for message in channel["messages"]:
                for shared in message["files"]:
                    if shared["mimetype"] == "image/png" and "Revenue" in message["text"]:
                        return dict(shared)
        return None

    assert sandbox.command(FRAN, "/empire revenue") == {"ok": True}

    found = poll(chart, "the revenue chart")
    assert found["url"] == f"/sandbox/files/{found['id']}"
    image = sandbox.http.get(found["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(PNG_SIGNATURE)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"as": "U0NOBODY"}, {"as": ""}, {}])
def test_the_state_of_someone_not_in_the_sandbox_is_refused(
    sandbox: SandboxProcess, params: dict[str, str]
) -> None:
    response = sandbox.http.get("/sandbox/api/state", params=params)
    assert response.status_code == 400
    assert response.json()["ok"] is False


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sandbox/api/command", b"not json"),
        ("/sandbox/api/command", b'["a list"]'),
        ("/sandbox/api/command", b'{"as": "U0SALES1", "channel": "C0APPROVALS"}'),
        ("/sandbox/api/command", b'{"as": "U0NOBODY", "channel": "C0APPROVALS", "text": "x"}'),
        ("/sandbox/api/command", b'{"as": "U0SALES1", "channel": "C0APPROVALS", "text": 7}'),
        ("/sandbox/api/click", b'{"as": "U0FIN1", "channel": "C0APPROVALS"}'),
        ("/sandbox/api/submit", b'{"as": "U0FIN1", "view_id": "V1"}'),
        ("/sandbox/api/submit", b'{"as": "U0FIN1", "view_id": "V1", "values": {"b": {"a": 1}}}'),
        ("/sandbox/api/close", b'{"as": "U0FIN1"}'),
        ("/sandbox/api/stripe/pay", b"{}"),
        ("/sandbox/api/stripe/pay", b""),
    ],
)
def test_a_body_the_page_would_not_send_is_refused(
    sandbox: SandboxProcess, path: str, body: bytes
) -> None:
    response = sandbox.http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    answer = response.json()
    assert answer["ok"] is False
    assert answer["error"]


def test_acts_that_go_nowhere_answer_why(sandbox: SandboxProcess) -> None:
    not_a_command = sandbox.command(RILEY, "hello there")
    assert not_a_command["ok"] is False
    assert "/empire" in not_a_command["error"]

    gone = sandbox.act(
        "/sandbox/api/click",
        {
            "as": FRAN,
            "channel": APPROVALS,
            "ts": "1000000000.000001",
            "action_id": "approve",
            "value": "1:abc",
        },
    )
    assert gone["ok"] is False
    assert gone["error"]

    seeded = sandbox.invoice("Acme Studio", "$1,200.00")
    assert seeded is not None
    paid_twice = sandbox.pay(seeded["id"])
    assert paid_twice["ok"] is False
    assert "already paid" in paid_twice["error"].lower()
    unknown = sandbox.pay("in_doesnotexist")
    assert unknown["ok"] is False
    assert "in_doesnotexist" in unknown["error"]

    no_form = sandbox.submit(FRAN, "V999999999", {"reason": {"reason": "why"}})
    assert no_form["ok"] is False
    assert no_form["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/sandbox/page/nope.js",
        "/sandbox/page/index.html",
        "/sandbox/page/..%2Fstate.py",
        "/sandbox/files/F999999999",
    ],
)
def test_what_is_not_there_is_404(sandbox: SandboxProcess, path: str) -> None:
    assert sandbox.http.get(path).status_code == 404


# -- the policy file and a restart ---------------------------------------------------------------


def test_a_policy_edit_is_announced_and_kept_when_a_restart_begins_afresh(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "empire-sandbox"
    first = SandboxProcess(tmp_path, folder)
    try:
        first.start()
        policy = folder / "policy.yml"
        sample = policy.read_text(encoding="utf-8")
        edited = sample.replace("amount_over: 10000 USD", "amount_over: 5000 USD", 1)
        assert edited != sample
        policy.write_text(edited, encoding="utf-8")

        changed = first.notified("policy changed", timeout=12)
        assert "parliament" in changed["text"]
        assert "$5,000.00" in changed["text"]
        # In force: a $6,000 refund now needs two people.
        globex = first.invoice("Globex", "$14,500.00")
        assert globex is not None
        request_id = first.ask(f"refund {globex['id']} 6000 Half the project")
        assert request_id == 5
        first.card_saying(request_id, "Approvals: 0 of 2")
    finally:
        first.stop()
    assert first.process is not None
    assert first.process.returncode is not None

    second = SandboxProcess(tmp_path, folder)
    try:
        second.start()
        assert policy.read_text(encoding="utf-8") == edited
        cards = [m["text"] for m in second.initial.state["channels"][0]["messages"]]
        assert cards == [
            "Invoice #1: Executed",
            "Invoice #2: Executed",
            "Subscription #3: Executed",
            "Invoice #4: Waiting for approval",
        ]
        assert second.initial.stripe["refunds"] == []
        assert second.audit()["verify"]["ok"] is True
        globex = second.invoice("Globex", "$14,500.00")
        assert globex is not None
        request_id = second.ask(f"refund {globex['id']} 6000 Half the project")
        assert request_id == 5  # numbered afresh
        second.card_saying(request_id, "Approvals: 0 of 2")  # the edited policy, in force
    finally:
        second.stop()
