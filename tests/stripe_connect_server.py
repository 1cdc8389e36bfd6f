"""A small Stripe-compatible server for the Connect calls localstripe lacks.

It serves ``/v1/accounts``, ``/v1/account_links``, ``/v1/transfers`` and
``/v1/transfers/<id>/reversals`` like Stripe does: form-encoded requests (``a[b][c]=v``), JSON
responses shaped like Stripe's objects, errors as ``{"error": {...}}``, and the
``Idempotency-Key`` header honoured (the same key returns the first response; the same key with
another body is a 400, as on Stripe). Accounts are created ready to receive payouts, as after a
completed onboarding. Runs in a thread of the test process.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def _nest(pairs: list[tuple[str, str]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class ConnectState:
    def __init__(self):
        self.lock = threading.Lock()
        self.accounts: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[str, int, dict]] = {}
        self.requests: list[tuple[str, str]] = []

    def reset(self):
        with self.lock:
            self.accounts.clear()
            self.transfers.clear()
            self.idempotent.clear()
            self.requests.clear()


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class Handler(BaseHTTPRequestHandler):
    state: ConnectState

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _id("req"))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error"):
        self._send(status, {"error": {"type": kind, "message": message}})

    def do_GET(self):
        state = self.state
        state.requests.append(("GET", self.path))
        parts = self.path.split("?")[0].strip("/").split("/")
        with state.lock:
            if parts[:2] == ["v1", "accounts"] and len(parts) == 3 and parts[2] in state.accounts:
                return self._send(200, state.accounts[parts[2]])
            if parts[:2] == ["v1", "transfers"] and len(parts) == 3 and parts[2] in state.transfers:
                return self._send(200, state.transfers[parts[2]])
        return self._error(404, f"No such object: {self.path}")

    def do_POST(self):
        state = self.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        params = _nest(parse_qsl(raw, keep_blank_values=True))
        state.requests.append(("POST", self.path))
        key = self.headers.get("Idempotency-Key")
        with state.lock:
            if key and key in state.idempotent:
                seen_raw, status, body = state.idempotent[key]
                if seen_raw != raw:
                    return self._error(400, "Keys for idempotent requests can only be used with the same parameters")
                return self._send(status, body)
            status, body = self._create(params)
            if key:
                state.idempotent[key] = (raw, status, body)
        return self._send(status, body)

    def _create(self, params: dict) -> tuple[int, dict]:
        state = self.state
        parts = self.path.split("?")[0].strip("/").split("/")
        now = int(time.time())
        if parts == ["v1", "accounts"]:
            account = {
                "id": _id("acct"),
                "object": "account",
                "type": params.get("type", "express"),
                "country": params.get("country", "CN"),
                "email": params.get("email"),
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "metadata": params.get("metadata", {}),
                "created": now,
            }
            state.accounts[account["id"]] = account
            return 200, account
        if parts == ["v1", "account_links"]:
            if params.get("account") not in state.accounts:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such account"}}
            return 200, {
                "object": "account_link",
                "url": f"https://connect.stripe.test/setup/e/{params['account']}/{secrets.token_hex(6)}",
                "created": now,
                "expires_at": now + 300,
            }
        if parts == ["v1", "transfers"]:
            if params.get("destination") not in state.accounts:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such destination"}}
            transfer = {
                "id": _id("tr"),
                "object": "transfer",
                "amount": int(params["amount"]),
                "amount_reversed": 0,
                "currency": params["currency"],
                "destination": params["destination"],
                "source_transaction": params.get("source_transaction"),
                "transfer_group": params.get("transfer_group"),
                "metadata": params.get("metadata", {}),
                "reversed": False,
                "reversals": {"object": "list", "data": [], "has_more": False},
                "created": now,
            }
            state.transfers[transfer["id"]] = transfer
            return 200, transfer
        if len(parts) == 4 and parts[:2] == ["v1", "transfers"] and parts[3] == "reversals":
            transfer = state.transfers.get(parts[2])
            if transfer is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such transfer"}}
            amount = int(params.get("amount") or transfer["amount"] - transfer["amount_reversed"])
            if amount > transfer["amount"] - transfer["amount_reversed"]:
                return 400, {"error": {"type": "invalid_request_error", "message": "Reversal exceeds transfer"}}
            reversal = {
                "id": _id("trr"),
                "object": "transfer_reversal",
                "amount": amount,
                "currency": transfer["currency"],
                "transfer": transfer["id"],
                "metadata": params.get("metadata", {}),
                "created": now,
            }
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
            transfer["reversals"]["data"].append(reversal)
            return 200, reversal
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {self.path}"}}


def start(port: int = 0) -> tuple[ThreadingHTTPServer, ConnectState]:
    state = ConnectState()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state
