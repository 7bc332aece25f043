"""Dispatches and escalations notify a webhook and by e-mail, after commit only.

Both receivers are real servers on 127.0.0.1: an HTTP server taking the webhook's POST and a
small SMTP sink speaking the protocol to smtplib.
"""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gridsvc.config import get_settings
from gridsvc.issues import actions
from tests.issues.indicator_cases import report
from tests.issues.test_deadlines_service import at
from tests.issues.test_workflow_api import WORKER_A, act


class Received(list):
    """What a receiver got, in order."""


def webhook_server(received: Received) -> HTTPServer:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    return HTTPServer(("127.0.0.1", 0), Hook)


def smtp_sink(received: Received) -> socketserver.TCPServer:
    class Sink(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 sink\r\n")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    self.wfile.write(b"354 go on\r\n")
                    lines = []
                    while (data := self.rfile.readline()) not in (b".\r\n", b""):
                        lines.append(data[1:] if data.startswith(b"..") else data)
                    received.append(email.message_from_bytes(b"".join(lines), policy=default))
                    self.wfile.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    return socketserver.TCPServer(("127.0.0.1", 0), Sink)


@pytest.fixture
def receivers(monkeypatch) -> Iterator[tuple[Received, Received]]:
    hooks, mails = Received(), Received()
    web, smtp = webhook_server(hooks), smtp_sink(mails)
    for server in (web, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GRIDSVC_NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{web.server_port}/hook")
    monkeypatch.setenv("GRIDSVC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GRIDSVC_SMTP_PORT", str(smtp.server_address[1]))
    monkeypatch.setenv("GRIDSVC_NOTIFY_EMAIL_TO", "centre@example.org, duty@example.org")
    get_settings.cache_clear()
    yield hooks, mails
    for server in (web, smtp):
        server.shutdown()
        server.server_close()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_dispatch_notifies_once_committed(client, city, receivers) -> None:
    hooks, mails = receivers
    issue = client.post(
        "/api/v1/issues",
        json={"lon": 113.5039, "lat": 35.5039, "category": "road_damage", "description": "坑"},
    ).json()
    act(client, issue["id"], WORKER_A, "register")
    assert hooks == [] and mails == []  # no dispatch yet
    act(client, issue["id"], WORKER_A, "dispatch")
    (hook,) = hooks
    (message,) = hook["notifications"]
    assert message["event"] == "dispatch" and message["public_id"] == issue["public_id"]
    assert message["departments"] == ["transport"] and message["status"] == "dispatched"
    assert "坑" not in json.dumps(hook, ensure_ascii=False)  # never the reporter's text
    (mail,) = mails
    assert "派遣" in mail["Subject"] and issue["public_id"] in mail.get_content()
    assert mail["To"] == "centre@example.org, duty@example.org"
    act(client, issue["id"], WORKER_A, "whistle", expect=422)  # refused: no notification
    assert len(hooks) == len(mails) == 1


def test_escalations_notify_after_commit_not_before(db_session, city, receivers) -> None:
    hooks, mails = receivers
    start = at("2025-11-03", "09:00")
    first, second = report(db_session, start), report(db_session, start)
    escalated = actions.escalate_overdue(db_session, start + timedelta(days=3))
    assert {issue.id for issue in escalated} == {first, second}
    assert hooks == []  # not committed yet
    db_session.commit()
    (hook,) = hooks
    assert {m["id"] for m in hook["notifications"]} == {first, second}
    assert {m["event"] for m in hook["notifications"]} == {"escalate"}
    assert "督办" in mails[0]["Subject"] and "2 件" in mails[0]["Subject"]
    actions.escalate_overdue(db_session, start + timedelta(days=4))  # nothing new
    db_session.commit()
    assert len(hooks) == 1


def test_a_receiver_that_is_down_does_not_fail_the_step(client, city, monkeypatch) -> None:
    monkeypatch.setenv("GRIDSVC_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/nowhere")
    monkeypatch.setenv("GRIDSVC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GRIDSVC_SMTP_PORT", "9")
    monkeypatch.setenv("GRIDSVC_NOTIFY_EMAIL_TO", "centre@example.org")
    get_settings.cache_clear()
    try:
        issue = client.post(
            "/api/v1/issues",
            json={"lon": 113.5039, "lat": 35.5039, "category": "road_damage", "description": "坑"},
        ).json()
        act(client, issue["id"], WORKER_A, "register")
        assert act(client, issue["id"], WORKER_A, "dispatch")["status"] == "dispatched"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
