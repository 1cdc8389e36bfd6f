"""Render the key pages of each journey into docs/screenshots/*.png (``make screenshots``).

Uses the demo market (``make seed``) in the configured database: starts ``manage.py runserver``
on a free local port, signs the demo personas in through session cookies and photographs each
page at 1280×800 with Debian's Chromium. Run it from the repository root:

    DEBUG=1 python tests/e2e/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # our own local server
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def small_png(data: bytes, target: Path) -> None:
    """Save a screenshot as a 256-colour PNG (a third of the size, same look for UI pages)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(target, optimize=True)


def shots():
    """(file name, language, demo user email or None, path) for every screenshot."""
    from capacity.models import Resource
    from marketplace import demo
    from marketplace.models import Order, Trade

    provider, buyer = "provider@spindle.demo", "buyer@spindle.demo"
    listed = Resource.objects.filter(status=Resource.Status.LISTED, provider__memberships__user__email=provider)
    mill = listed.order_by("pk").first()
    order = Order.objects.filter(buyer__memberships__user__email=buyer).order_by("pk").first()
    trade = Trade.objects.filter(buyer__memberships__user__email=buyer).order_by("pk").first()
    rows = [
        ("home-en", "en", None, "/"),
        ("home-zh", "zh-hans", None, "/"),
        ("catalogue-en", "en", None, "/catalogue/resources/"),
        ("catalogue-zh", "zh-hans", None, "/catalogue/resources/"),
        ("resource-en", "en", None, f"/catalogue/resources/{mill.pk}/"),
        ("calendar-en", "en", provider, f"/workspace/resources/{mill.pk}/calendar/"),
        ("calendar-zh", "zh-hans", provider, f"/workspace/resources/{mill.pk}/calendar/"),
        ("dashboard-provider-zh", "zh-hans", provider, "/"),
        ("order-wizard-en", "en", buyer, "/orders/new/"),
        ("ops-listings-en", "en", demo.OPERATOR_EMAIL, "/ops/listings/"),
    ]
    if order is not None:
        rows.append(("order-matches-en", "en", buyer, f"/orders/{order.pk}/matches/"))
    if trade is not None:
        rows.append(("trade-en", "en", buyer, f"/trades/{trade.pk}/"))
        rows.append(("trade-zh", "zh-hans", buyer, f"/trades/{trade.pk}/"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ.setdefault("DEBUG", "1")  # runserver serves the static files

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from tests.e2e import browser as b
    from tests.e2e.journeys import session_cookie

    if not b.chromium_available():
        print(f"Chromium is not installed at {b.CHROMIUM}: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 1
    rows = shots()  # before Playwright starts its event loop in this thread
    users = {email: get_user_model().objects.get(email=email) for _n, _l, email, _p in rows if email}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cookies = {email: session_cookie(user, base) for email, user in users.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(base + "/healthz")
        with sync_playwright() as playwright:
            chromium = b.launch(playwright)
            for name, language, email, path in rows:
                context = b.new_context(chromium, language, base_url=base)
                if email:
                    context.add_cookies([cookies[email]])
                page = context.new_page()
                response = page.goto(path)
                if response.status != 200:
                    print(f"{name}: HTTP {response.status} for {path}", file=sys.stderr)
                    return 1
                small_png(page.screenshot(), out / f"{name}.png")
                print(f"{out / name}.png  ({language}, {email or 'visitor'}, {path})")
                context.close()
            chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
