"""Browser plumbing shared by the e2e tests and ``make screenshots``: Debian's Chromium driven by
Playwright (``playwright install`` cannot download browsers here), axe-core checks and the
small-screen overflow check."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# Django language code -> the browser locale that asks for it (Accept-Language).
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
VIEWPORT = {"width": 1280, "height": 800}


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def new_context(browser, language: str, **kwargs):
    locale = LOCALES[language]
    return browser.new_context(
        locale=locale,
        extra_http_headers={"Accept-Language": f"{locale},{language};q=0.9"},
        viewport=kwargs.pop("viewport", VIEWPORT),
        **kwargs,
    )


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core on the current page; return the violations of the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in impacts]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe found serious/critical problems on {page.url}:\n" + describe_violations(violations)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
