"""A small Stripe-compatible server for the Connect calls localstripe lacks.

It serves ``/v1/accounts``, ``/v1/account_links``, ``/v1/transfers`` and
``/v1/transfers/<id>/reversals`` like Stripe does: form-encoded requests (``a[b][c]=v``), JSON
responses shaped like Stripe's objects, errors as ``{"error": {...}}``, and the
``Idempotency-Key`` header honoured (the same key returns the first response; the same key with
another body is a 400, as on Stripe). Accounts are created ready to receive payouts, as after a
completed onboarding. Runs in a thread of the test process.

It also serves ``/v1/balance_transactions`` (list with ``created[gte]``/``created[lt]``,
``limit`` and ``starting_after``; retrieve by id), which localstripe lacks: its own transfers
and reversals, plus the balance transactions of localstripe's charges and refunds (found by
listing those at ``upstream``, read from its ``/v1/balance/history/<id>``) with Stripe's
processing fee added to charges — ``FEE_PERCENT`` of the amount rounded half up plus
``FEE_FIXED`` minor units. Charges and refunds that existed at localstripe when the state was
last reset are hidden, so each test sees a fresh account. Tests inject discrepancies with
``extra`` (transactions our ledger never saw) and ``tampered`` (source id → fields to
overwrite, e.g. ``{"amount": 100}``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

FEE_PERCENT = Decimal("3.4")
FEE_FIXED = 180  # minor units (1.80 CNY)


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
        # Balance transactions: our own (transfers, reversals) and the ones tests inject.
        self.balance_transactions: dict[str, dict] = {}
        self.extra: list[dict] = []
        self.tampered: dict[str, dict] = {}
        self.upstream = ""  # localstripe's base URL
        self.hidden: set[str] = set()  # localstripe charges and refunds of earlier tests
        self.upstream_cache: dict[str, dict] = {}

    def reset(self, *, upstream: str = ""):
        with self.lock:
            self.accounts.clear()
            self.transfers.clear()
            self.idempotent.clear()
            self.requests.clear()
            self.balance_transactions.clear()
            self.extra.clear()
            self.tampered.clear()
            if upstream:
                self.upstream = upstream
            self.hidden = {row["id"] for row in self._upstream_sources()} if self.upstream else set()

    # --- balance transactions --------------------------------------------------------------

    def _upstream_get(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.upstream}{path}", headers={"Authorization": "Bearer sk_test_spindle"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def _upstream_list(self, resource: str) -> list[dict]:
        rows: list[dict] = []
        after = ""
        while True:
            query = urllib.parse.urlencode({"limit": 100, **({"starting_after": after} if after else {})})
            page = self._upstream_get(f"/v1/{resource}?{query}")
            rows += page["data"]
            if not page["has_more"] or not page["data"]:
                return rows
            after = page["data"][-1]["id"]

    def _upstream_sources(self) -> list[dict]:
        """localstripe's charges and refunds (its own balance-history list answers 500)."""
        return self._upstream_list("charges") + self._upstream_list("refunds")

    def _upstream_rows(self) -> list[dict]:
        rows = []
        for source in self._upstream_sources():
            if source["id"] in self.hidden or not source.get("balance_transaction"):
                continue
            txn_id = source["balance_transaction"]
            if txn_id not in self.upstream_cache:
                self.upstream_cache[txn_id] = self._upstream_get(f"/v1/balance/history/{txn_id}")
            rows.append(self.upstream_cache[txn_id])
        return rows

    def _shaped(self, row: dict) -> dict:
        """A localstripe balance transaction as Stripe returns it: fee, fee_details, net."""
        txn = {key: row.get(key) for key in ("id", "amount", "currency", "created", "description", "source", "type")}
        txn.update(object="balance_transaction", available_on=row.get("available_on", row["created"]))
        txn.update(reporting_category=row.get("reporting_category") or row["type"], status="available")
        fee = 0
        if txn["type"] == "charge":
            fee = int((Decimal(txn["amount"]) * FEE_PERCENT / 100).quantize(Decimal("1"), ROUND_HALF_UP)) + FEE_FIXED
        return self._finish(txn, fee)

    def _finish(self, txn: dict, fee: int) -> dict:
        detail = {"amount": fee, "currency": txn["currency"], "type": "stripe_fee", "description": "Stripe fees"}
        txn["fee"] = fee
        txn["fee_details"] = [detail] if fee else []
        txn.update(self.tampered.get(txn["source"] or "", {}))
        txn["net"] = txn["amount"] - txn["fee"]
        return txn

    def add_balance_transaction(self, *, type: str, amount: int, currency: str, source: str, fee: int = 0) -> dict:
        txn = {
            "id": _id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "currency": currency,
            "created": int(time.time()),
            "available_on": int(time.time()),
            "description": None,
            "source": source,
            "type": type,
            "reporting_category": type,
            "status": "available",
            "fee": fee,
        }
        self.balance_transactions[txn["id"]] = txn
        return txn

    def all_balance_transactions(self) -> list[dict]:
        upstream = self._upstream_rows() if self.upstream else []
        rows = [self._shaped(row) for row in upstream]
        rows += [self._finish(dict(txn), txn["fee"]) for txn in [*self.balance_transactions.values(), *self.extra]]
        # Stripe lists newest first.
        return sorted(rows, key=lambda txn: (-txn["created"], txn["id"]))


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
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        with state.lock:
            if parts[:2] == ["v1", "balance_transactions"]:
                return self._balance_transactions(parts, _nest(parse_qsl(query, keep_blank_values=True)))
            if parts[:2] == ["v1", "accounts"] and len(parts) == 3 and parts[2] in state.accounts:
                return self._send(200, state.accounts[parts[2]])
            if parts[:2] == ["v1", "transfers"] and len(parts) == 3 and parts[2] in state.transfers:
                return self._send(200, state.transfers[parts[2]])
        return self._error(404, f"No such object: {self.path}")

    def _balance_transactions(self, parts: list[str], params: dict):
        rows = self.state.all_balance_transactions()
        if len(parts) == 3:
            found = [txn for txn in rows if txn["id"] == parts[2]]
            if not found:
                return self._error(404, f"No such balance transaction: '{parts[2]}'")
            return self._send(200, found[0])
        created = params.get("created", {})
        if not isinstance(created, dict):
            created = {"gte": created, "lte": created}
        bounds = {op: int(value) for op, value in created.items()}
        checks = {
            "gte": lambda t, v: t >= v,
            "gt": lambda t, v: t > v,
            "lte": lambda t, v: t <= v,
            "lt": lambda t, v: t < v,
        }
        if set(bounds) - set(checks):
            return self._error(400, "Invalid created filter")
        rows = [txn for txn in rows if all(checks[op](txn["created"], v) for op, v in bounds.items())]
        if params.get("starting_after"):
            ids = [txn["id"] for txn in rows]
            if params["starting_after"] not in ids:
                return self._error(400, f"No such balance transaction: '{params['starting_after']}'")
            rows = rows[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit") or 10)
        if not 1 <= limit <= 100:
            return self._error(400, "Invalid limit: must be between 1 and 100")
        return self._send(
            200,
            {"object": "list", "url": "/v1/balance_transactions", "has_more": len(rows) > limit, "data": rows[:limit]},
        )

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
            transfer["balance_transaction"] = state.add_balance_transaction(
                type="transfer", amount=-transfer["amount"], currency=transfer["currency"], source=transfer["id"]
            )["id"]
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
            reversal["balance_transaction"] = state.add_balance_transaction(
                type="transfer_refund", amount=amount, currency=transfer["currency"], source=reversal["id"]
            )["id"]
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
