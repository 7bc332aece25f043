"""Notifications of dispatches, escalations (督办) and bulletins: webhook and e-mail, after commit.

A step queues its message on the session; the messages go out only once the transaction
commits (a rolled-back step notifies nobody), each channel with a short time limit, and a
channel that fails is logged, never the request's failure. Messages carry the case's
public id, category, grid, departments, status and deadline: never a reporter's contact,
text or position.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from gridsvc.config import get_settings
from gridsvc.issues.models import Issue
from gridsvc.issues.service import iso_local

logger = logging.getLogger(__name__)
KEY = "gridsvc.notifications"
WORDS = {"dispatch": "派遣", "whistle": "吹哨", "escalate": "督办", "bulletin": "通报"}


def queue(session: Session, kind: str, issue: Issue, departments: list[str] | None = None) -> None:
    """Queue a message about ``issue`` to send once the session commits."""
    message = {
        "event": kind,
        "id": issue.id,
        "public_id": issue.public_id,
        "category": issue.category_code,
        "grid_code": issue.grid_code,
        "district_code": issue.district_code,
        "departments": departments if departments is not None else list(issue.departments or []),
        "status": issue.status,
        "deadline": iso_local(issue.deadline_at),
    }
    queue_message(session, message)


def queue_message(session: Session, message: dict[str, Any]) -> None:
    """Queue ``message`` (with its ``event``) to send once the session commits."""
    session.info.setdefault(KEY, []).append(message)


@event.listens_for(Session, "after_commit")
def send_queued(session: Session) -> None:
    """Send what the committed transaction queued."""
    messages = session.info.pop(KEY, [])
    if messages:
        deliver(messages)


@event.listens_for(Session, "after_rollback")
def drop_queued(session: Session) -> None:
    """Forget what a rolled-back transaction queued."""
    session.info.pop(KEY, None)


def deliver(messages: list[dict[str, Any]]) -> None:
    """Post the messages to the webhook and mail them, as the settings say."""
    settings = get_settings()
    if settings.notify_webhook_url:
        try:
            post(settings.notify_webhook_url, messages, settings.notify_timeout_s)
        except OSError as error:
            logger.warning("notification webhook failed: %s", error)
    recipients = [r.strip() for r in settings.notify_email_to.split(",") if r.strip()]
    if settings.smtp_host and recipients:
        try:
            mail(messages, recipients)
        except (OSError, smtplib.SMTPException) as error:
            logger.warning("notification e-mail failed: %s", error)


def post(url: str, messages: list[dict[str, Any]], timeout: float) -> None:
    """POST the messages as one JSON array."""
    body = json.dumps({"notifications": messages}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # a setting
        response.read()


def mail_line(message: dict[str, Any]) -> str:
    """Return the line of the e-mail that tells of ``message``."""
    word = WORDS.get(message["event"], message["event"])
    if message["event"] == "bulletin":
        return f"{word} {message['title']} {message['links']['html']}"
    return (
        f"{word} {message['public_id']} {message['category']} "
        f"网格 {message['grid_code'] or '-'} 部门 {'、'.join(message['departments']) or '-'} "
        f"期限 {message['deadline'] or '-'}"
    )


def mail(messages: list[dict[str, Any]], recipients: list[str]) -> None:
    """Send one e-mail listing the messages."""
    settings = get_settings()
    email = EmailMessage()
    kinds = sorted({WORDS.get(m["event"], m["event"]) for m in messages})
    email["Subject"] = f"网格化管理{'、'.join(kinds)}通知: {len(messages)} 件"
    email["From"] = settings.notify_email_from
    email["To"] = ", ".join(recipients)
    email.set_content("\n".join(mail_line(m) for m in messages))
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
    ) as smtp:
        smtp.send_message(email)
