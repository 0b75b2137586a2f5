"""The sandbox page in Chromium, used as a person would: by the names on the screen.

Every element is found by its role and accessible name (the text box "Command", the
select "Acting as", buttons named by their text, the dialog by its title), so these tests
also hold the page to being usable with a screen reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FLOW_MS = 20_000  # a step that waits on the bot's workers and Stripe's webhooks
Shot = Callable[[str], Path]


def act_as(page: Page, person: str) -> None:
    page.get_by_role("combobox", name="Acting as").select_option(label=person)
    expect(page.get_by_text(re.compile(r"^Role: "))).to_be_visible()


def open_channel(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Channels").get_by_role("button", name=name).click()
    expect(page.get_by_role("log", name=name)).to_be_visible()


def run(page: Page, command: str) -> int:
    """Type `command` into the approvals channel; the request number the bot answers with."""
    before = page.locator("article.ephemeral").count()
    box = page.get_by_role("textbox", name="Command")
    box.fill(command)
    box.press("Enter")
    expect(box).to_have_value("")
    answer = page.locator("article.ephemeral").nth(before)
    expect(answer).to_contain_text(re.compile(r"#\d+"), timeout=FLOW_MS)
    found = re.search(r"#(\d+)", answer.inner_text())
    assert found is not None
    return int(found.group(1))


def card(page: Page, title: str) -> Locator:
    """The card whose header is `title` ("Invoice #5"), in the open channel."""
    return page.get_by_role("article").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def stripe_table(page: Page, caption: str) -> Locator:
    return page.get_by_role("region", name="Stripe").get_by_role("table", name=caption)


def test_an_invoice_is_asked_approved_executed_and_paid(page: Page, shot: Shot) -> None:
    expect(page.get_by_role("log", name="# approvals")).to_be_visible()
    expect(page.get_by_role("region", name="Audit log")).to_contain_text("OK:")
    shot("opened")

    act_as(page, "Riley (sales)")
    request = run(page, "/empire invoice billing@acme.example 900 Logo refresh")
    invoice = card(page, f"Invoice #{request}")
    expect(invoice).to_contain_text("$900.00", timeout=FLOW_MS)
    expect(invoice.get_by_role("button", name="Approve")).to_be_visible()
    shot("asked")

    act_as(page, "Fran (finance)")
    invoice.get_by_role("button", name="Approve").click()
    expect(invoice).to_contain_text("Executed", timeout=FLOW_MS)
    expect(invoice.get_by_role("button", name="Approve")).to_have_count(0)
    shot("executed")

    invoices = stripe_table(page, "Invoices")
    row = invoices.get_by_role("row").filter(has_text="$900.00")
    expect(row.first).to_contain_text("open", timeout=FLOW_MS)
    pay = page.get_by_role("region", name="Stripe").get_by_role(
        "button", name=re.compile(r"^Client pays ")
    )
    expect(pay).to_have_count(1)
    pay.click()
    expect(row.first).to_contain_text("paid", timeout=FLOW_MS)

    open_channel(page, "# notifications")
    notifications = page.get_by_role("log", name="# notifications")
    expect(notifications).to_contain_text("$900.00 from billing@acme.example", timeout=FLOW_MS)
    expect(page.get_by_role("region", name="Audit log")).to_contain_text("OK:")
    shot("paid")


def test_a_large_refund_needs_two_people_from_finance(page: Page, shot: Shot) -> None:
    # The sample history has a paid $14,500 invoice; its id is in the Stripe panel.
    paid = stripe_table(page, "Invoices").get_by_role("row").filter(has_text="$14,500.00")
    found = re.search(r"\bin_\w+", paid.first.inner_text())
    assert found is not None, paid.first.inner_text()

    act_as(page, "Riley (sales)")
    request = run(page, f"/empire refund {found.group(0)} 12000 Scope cut")
    refund = card(page, f"Refund #{request}")
    expect(refund.get_by_role("button", name="Approve")).to_be_visible(timeout=FLOW_MS)
    expect(refund).to_contain_text("parliament")

    refund.get_by_role("button", name="Approve").click()  # Riley asked: not his to approve
    own = page.locator("article.ephemeral").last
    expect(own).to_contain_text(f"#{request}", timeout=FLOW_MS)

    act_as(page, "Fran (finance)")
    refund.get_by_role("button", name="Approve").click()
    expect(refund).to_contain_text("1 of 2", timeout=FLOW_MS)
    expect(refund.get_by_role("button", name="Approve")).to_be_visible()
    shot("one-of-two")

    act_as(page, "Sam (finance)")
    refund.get_by_role("button", name="Approve").click()
    expect(refund).to_contain_text("Executed", timeout=FLOW_MS)
    refunds = stripe_table(page, "Refunds")
    expect(refunds).to_contain_text("$12,000.00", timeout=FLOW_MS)
    shot("executed")


def test_deny_asks_for_a_reason_in_a_dialog(page: Page, shot: Shot) -> None:
    waiting = card(page, "Invoice #4")  # left waiting by the sample history
    act_as(page, "Otto (outsider)")
    waiting.get_by_role("button", name="Approve").click()
    expect(page.locator("article.ephemeral").last).to_contain_text(
        "does not let you decide", timeout=FLOW_MS
    )

    act_as(page, "Kim (finance)")
    waiting.get_by_role("button", name="Deny").click()
    dialog = page.get_by_role("dialog", name="Deny request #4")
    expect(dialog).to_be_visible(timeout=FLOW_MS)
    dialog.get_by_role("button", name="Deny").click()
    expect(dialog).to_contain_text("Say why the request is denied.")
    shot("reason-missing")

    dialog.get_by_role("textbox", name="Reason").fill("Not in this quarter's budget")
    dialog.get_by_role("button", name="Deny").click()
    expect(dialog).to_be_hidden(timeout=FLOW_MS)
    expect(waiting).to_contain_text("Not in this quarter's budget", timeout=FLOW_MS)
    expect(waiting.get_by_role("button", name="Approve")).to_have_count(0)
    shot("denied")


def test_an_edit_changes_what_is_asked_and_revenue_shows_its_chart(page: Page, shot: Shot) -> None:
    waiting = card(page, "Invoice #4")
    act_as(page, "Fran (finance)")
    waiting.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit request #4")
    expect(dialog).to_be_visible(timeout=FLOW_MS)
    amount = dialog.get_by_role("textbox", name="Amount")
    expect(amount).to_have_value("$800.00")
    amount.fill("750")
    shot("editing")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden(timeout=FLOW_MS)
    expect(waiting).to_contain_text("$800.00 → $750.00", timeout=FLOW_MS)
    expect(waiting.get_by_role("button", name="Approve")).to_be_visible()

    act_as(page, "Riley (sales)")
    box = page.get_by_role("textbox", name="Command")
    box.fill("/empire revenue")
    box.press("Enter")
    chart = page.get_by_role("img", name=re.compile(r"^Revenue — "))
    expect(chart).to_be_visible(timeout=FLOW_MS)
    chart.scroll_into_view_if_needed()
    assert chart.evaluate("image => image.naturalWidth") > 0  # the PNG itself arrived
    shot("revenue")


def test_markup_in_what_people_type_is_shown_as_text(page: Page) -> None:
    act_as(page, "Riley (sales)")
    attack = '<img src=x onerror="window.pwned=1"><b>bold</b>'
    request = run(page, f"/empire invoice billing@acme.example 100 {attack}")
    asked = card(page, f"Invoice #{request}")
    # The bot drops the angle brackets itself; the rest must arrive as plain text.
    expect(asked).to_contain_text('onerror="window.pwned=1"', timeout=FLOW_MS)
    assert asked.locator("img, b").count() == 0
    assert page.evaluate("() => window.pwned") is None
