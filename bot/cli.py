"""The `empire` command line."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from pydantic import ValidationError

from bot.findings import describe_finding
from bot.secrets_cli import resolved, secrets_app
from bot.settings import Settings
from governance.ports import ExternalError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(
    help="Business Empire: money and marketplace work, approved in Slack.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
policy_app = typer.Typer(help="The approval policy file.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
api_token_app = typer.Typer(help="Tokens of the REST API.", no_args_is_help=True)
app.add_typer(api_token_app, name="api-token")
app.add_typer(secrets_app, name="secrets")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"empire: {message}", err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = ", ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise fail(f"invalid settings: {problems}", 2) from None


@app.command()
def init() -> None:
    """Write .env.example and a commented starter policy.yml here (never overwrites)."""
    templates = resources.files("bot") / "templates"
    for source, target in (("env.example", ".env.example"), ("policy.yml", "policy.yml")):
        path = Path(target)
        if path.exists():
            typer.echo(f"{target} exists, left as it is")
            continue
        path.write_text((templates / source).read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"wrote {target}")


def _log_to_console() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("stripe", "httpx", "slack_sdk", "slack_bolt"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
) -> None:
    """Migrate the database, then serve Slack, Stripe webhooks and the workers."""
    from bot.serve import ServeError, run

    _log_to_console()
    try:
        run(load_settings(), host, port)
    except ServeError as exc:
        raise fail(str(exc), 2) from None


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port of the page and the bot.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    folder: Annotated[
        Path, typer.Option(help="Where the sandbox keeps its database and policy.")
    ] = Path("./empire-sandbox"),
    policy: Annotated[
        Path | None, typer.Option(help="A policy file to try (default: the sample in FOLDER).")
    ] = None,
) -> None:
    """Run everything on this machine: the bot, a local Slack and Stripe, and a page to use them."""
    from bot.sandbox.run import local_url, run
    from bot.serve import ServeError

    _log_to_console()
    typer.echo(f"Business Empire sandbox: open {local_url(host, port)}/ (Ctrl-C stops it)")
    try:
        run(folder, host, port, policy)
    except ServeError as exc:
        raise fail(str(exc), 2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from storage.db import make_engine, shown_url
    from storage.migrate import upgrade

    settings = load_settings()
    try:
        upgrade(make_engine(settings.DATABASE_URL))
    except Exception as exc:
        where = shown_url(settings.DATABASE_URL)
        raise fail(f"DATABASE_URL: cannot migrate {where}: {type(exc).__name__}") from None
    typer.echo("database is at the latest schema")


def _checkpoint_option(text: str | None) -> object:
    from governance.audit import Checkpoint

    if text is None:
        return None
    try:
        return Checkpoint.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="A posted checkpoint (its hash, or <seq>:<hash>): prove the log extends it.",
            callback=_checkpoint_option,
        ),
    ] = None,
) -> None:
    """Check the audit chain and every executed transaction's signature.

    Names the first altered, removed or reordered entry, or the first transaction whose
    signed record no longer fits. With --checkpoint, also proves that the chain still
    holds the posted hash at its place: a chain rewritten since, even with every hash
    recomputed, fails.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from bot.signing_key import SigningKeyError, signing_key
    from bot.vault_settings import vault_references
    from governance import audit, signatures
    from storage.db import make_engine, make_session_factory, read_only

    through = cast("audit.Checkpoint | None", checkpoint)
    settings = load_settings()
    writable = make_session_factory(make_engine(settings.DATABASE_URL))
    if vault_references(settings):  # EMPIRE_SIGNING_KEY=vault:…; the read is access-logged
        settings = resolved(settings, writable)
    try:
        key = signing_key(settings, create=False)
    except SigningKeyError as exc:
        raise fail(str(exc), 2) from None
    sessions = read_only(writable)
    try:
        with sessions.begin() as session:
            located = audit.locate(session, through) if through else None
            if isinstance(located, str):
                typer.echo(f"FAILED: checkpoint {through}: {located}")
                raise typer.Exit(1)
            verdict = audit.verify(session, through=located)
            signed = signatures.verify(session, key) if key and verdict.ok else None
    except SQLAlchemyError as exc:
        # Exit 1 means a broken chain; a database that cannot be read is another matter.
        raise fail(
            f"DATABASE_URL: cannot read the audit log ({exc.__class__.__name__}); "
            "is it migrated (`empire db upgrade`)?",
            2,
        ) from None
    if not verdict.ok:
        typer.echo(f"FAILED: entry {verdict.bad_seq}: {verdict.reason}")
        raise typer.Exit(1)
    if signed is not None and not signed.ok:
        typer.echo(f"FAILED: request #{signed.bad_request}: {signed.reason}")
        raise typer.Exit(1)
    checked = (
        f", {signed.signed} transaction signatures"
        if signed
        else " (no signing key here: transaction signatures not checked)"
    )
    extends = f"; extends checkpoint #{located.seq}" if located else ""
    typer.echo(f"OK: {verdict.entries} entries{checked}{extends}")


@audit_app.command("export")
def audit_export() -> None:
    """Write the audit log to stdout as JSON lines, first entry first.

    Each line: seq, created_at, actor, kind, request_id, payload (an object), prev_hash,
    hash; the README says how to recompute every hash from these lines alone.
    """
    import json
    import os
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from governance import audit
    from storage.db import make_engine, make_session_factory, read_only

    settings = load_settings()
    sessions = read_only(make_session_factory(make_engine(settings.DATABASE_URL)))
    out = sys.stdout
    try:
        with sessions.begin() as session:
            for entry in audit.entries_in_order(session):
                record = audit.export_record(entry)
                # ASCII only: no character in a line (U+2028…) can look like a line break.
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
        out.flush()
    except SQLAlchemyError as exc:
        raise fail(
            f"DATABASE_URL: cannot read the audit log ({exc.__class__.__name__}); "
            "is it migrated (`empire db upgrade`)?",
            2,
        ) from None
    except BrokenPipeError:  # `empire audit export | head`: the reader has what it wanted
        # Python's advice: point stdout at devnull, so flushing it at exit raises nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Take a checkpoint now, unless nothing was appended since the last one.

    Records it, audits it and posts it to the notify channel (when Slack is configured),
    as `empire serve` does every EMPIRE_AUDIT_CHECKPOINT_EVERY.
    """
    from bot.bootstrap import deliver_notifications
    from governance import audit_witness
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade
    from storage.types import utcnow

    settings = load_settings()
    engine = make_engine(settings.DATABASE_URL)
    upgrade(engine)
    sessions = make_session_factory(engine)
    settings = resolved(settings, sessions)  # `vault:` settings read
    with sessions.begin() as session:
        taken = audit_witness.take(session, utcnow())
        last = None if taken else audit_witness.last_checkpoint(session)
    if taken is None:
        where = f" #{last.seq}" if last else ""
        typer.echo(f"Nothing new since the last checkpoint{where}: none taken")
        return
    if settings.SLACK_BOT_TOKEN and settings.notify_channel:
        deliver_notifications(settings, sessions)
    typer.echo(audit_witness.describe(taken.seq, taken.hash))


@app.command()
def reconcile(
    days: Annotated[
        int, typer.Option(min=1, max=366, help="How far back to look at what moved in Stripe.")
    ] = 7,
) -> None:
    """Compare what moved in Stripe with what was approved; report what nobody approved.

    Exits 1 when something in the window has no approved request behind it. Findings not
    reported before are also posted to the notify channel (when Slack is configured).
    """
    from datetime import timedelta

    from bot.bootstrap import deliver_notifications, payment_gateway
    from governance.reconcile import reconcile as run_reconciliation
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade
    from storage.types import utcnow

    settings = load_settings()
    if settings.STRIPE_API_KEY is None:
        raise fail("STRIPE_API_KEY is not set: there is no Stripe account to reconcile", 2)
    engine = make_engine(settings.DATABASE_URL)
    upgrade(engine)
    sessions = make_session_factory(engine)
    settings = resolved(settings, sessions)  # `vault:` settings read
    try:
        result = run_reconciliation(
            sessions, payment_gateway(settings), since=utcnow() - timedelta(days=days)
        )
    except ExternalError as exc:
        raise fail(f"Stripe: {exc.reason}", 2) from None
    for finding in result.findings:
        typer.echo(describe_finding(finding))
    if settings.SLACK_BOT_TOKEN and settings.notify_channel:
        # Also what an earlier run could not post: a finding is reported only once.
        deliver_notifications(settings, sessions)
    typer.echo(
        f"{'DIFFERENCES' if result.findings else 'OK'}: {_objects(result.checked)} in Stripe "
        f"since {result.since:%Y-%m-%d %H:%M} UTC, {len(result.findings)} without an approved "
        f"request ({len(result.new)} new)"
    )
    if result.findings:
        raise typer.Exit(1)


def _objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"


@policy_app.command("explain")
def policy_explain(
    action: Annotated[str, typer.Argument(help="An action name, e.g. payments.refund.")],
    amount: Annotated[str | None, typer.Option(help="The amount, e.g. 12000 or '€200'.")] = None,
    requester: Annotated[str | None, typer.Option(help="The requester's Slack user ID.")] = None,
    client: Annotated[str | None, typer.Option(help="The client's email address.")] = None,
    path: Annotated[
        Path | None, typer.Option(help="Policy file (default: EMPIRE_POLICY_FILE).")
    ] = None,
) -> None:
    """Which rule would apply to such a request, why, and what it would need.

    Today's totals (for rolling limits) and Slack user groups are not looked up here: a
    rule counting totals is shown as matching, a user group as counting nobody.
    """
    from governance.errors import InvalidAmount
    from governance.money import parse_amount
    from governance.policy import Asked, PolicyFileError, explain, format_explanation, load_policy

    settings = load_settings()
    target = path or settings.EMPIRE_POLICY_FILE
    try:
        policy = load_policy(target, default_currency=settings.EMPIRE_CURRENCY)
    except PolicyFileError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        raise typer.Exit(1) from None
    try:
        money = parse_amount(amount, settings.EMPIRE_CURRENCY) if amount else None
    except InvalidAmount as exc:
        raise fail(f"--amount: {exc}", 2) from None
    asked = Asked(action, money, requester, client.lower() if client else None)
    typer.echo(format_explanation(explain(policy, asked)), nl=False)


@policy_app.command("check")
def policy_check(
    path: Annotated[
        Path | None, typer.Argument(help="Policy file (default: EMPIRE_POLICY_FILE).")
    ] = None,
) -> None:
    """Validate a policy file: each error with its line and reason."""
    from governance.policy import PolicyFileError, load_policy

    target = path or load_settings().EMPIRE_POLICY_FILE
    try:
        policy = load_policy(target)
    except PolicyFileError as exc:
        for issue in exc.issues:
            typer.echo(str(issue))
        raise typer.Exit(1) from None
    for warning in policy.warnings:
        typer.echo(f"warning: {warning}")
    typer.echo(f"OK: {target}: {len(policy.rules)} rules, digest {policy.digest[:12]}")


def _api_tokens() -> tuple[sessionmaker[Session], bytes]:
    """The migrated database's sessions and the pepper (made here when missing)."""
    from bot.api.pepper import PepperError, api_pepper
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    settings = load_settings()
    engine = make_engine(settings.DATABASE_URL)
    upgrade(engine)
    sessions = make_session_factory(engine)
    settings = resolved(settings, sessions)  # the pepper may live in the vault
    try:
        pepper = api_pepper(settings, create=True)
    except (PepperError, OSError) as exc:
        raise fail(str(exc), 2) from None
    assert pepper is not None
    return sessions, pepper


@api_token_app.command("create")
def api_token_create(
    name: Annotated[str, typer.Argument(help="A name for the program that uses it, e.g. crm.")],
    scopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated: payments:write, payments:read, actions:read.",
        ),
    ],
) -> None:
    """Make a token; it is printed once, with its callback secret, and stored only hashed."""
    from bot.api import tokens
    from governance import audit

    sessions, pepper = _api_tokens()
    try:
        wanted = tokens.parse_scopes(scopes)
        with sessions.begin() as session:
            created = tokens.create(session, pepper, name, wanted)
            audit.append(
                session,
                "api_token.created",
                "cli",
                {"name": name, "prefix": created.token[: tokens.PREFIX_SHOWN], "scopes": wanted},
            )
    except tokens.TokenError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"token: {created.token}")
    typer.echo(f"callback secret: {created.callback_secret}")
    typer.echo(f"scopes: {','.join(created.scopes)}")
    typer.echo("Keep both now: they are not shown again.", err=True)


@api_token_app.command("list")
def api_token_list() -> None:
    """Every token: name, prefix, scopes, created, last used, revoked (never the token)."""
    from bot.api import tokens

    sessions, _pepper = _api_tokens()
    with sessions.begin() as session:
        rows = [
            (
                token.name,
                token.prefix + "…",
                ",".join(token.scopes),
                tokens.describe_time(token.created_at),
                tokens.describe_time(token.last_used_at),
                tokens.describe_time(token.revoked_at),
            )
            for token in tokens.all_tokens(session)
        ]
    if not rows:
        typer.echo("No API tokens (`empire api-token create NAME --scopes …` makes one).")
        return
    header = ("NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@api_token_app.command("revoke")
def api_token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Revoke a token at once; its requests already made stay as they are."""
    from bot.api import tokens
    from governance import audit

    sessions, _pepper = _api_tokens()
    try:
        with sessions.begin() as session:
            token = tokens.revoke(session, name)
            audit.append(session, "api_token.revoked", "cli", {"name": name})
            when = tokens.describe_time(token.revoked_at)
    except tokens.TokenError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"revoked {name} (since {when} UTC)")


def main() -> None:
    app(prog_name="empire")


if __name__ == "__main__":  # pragma: no cover
    main()
