"""Draw the history of bench/results.csv as a PNG: one small chart per (scale, metric), value and
baseline over the runs in order, labelled with the git revision of the last run.

Pillow is already a dependency (photo checks), so no plotting library is needed for a few lines.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageDraw

RESULTS = Path(settings.BASE_DIR) / "bench" / "results.csv"
OUTPUT = Path(settings.BASE_DIR) / "bench" / "results.png"
CHART_W, CHART_H, PAD = 420, 180, 34
VALUE, BASELINE, INK, GRID = (27, 138, 126), (150, 160, 172), (29, 39, 51), (217, 222, 229)


def read_history(path: Path) -> dict[tuple[str, str], list[dict]]:
    series: dict[tuple[str, str], list[dict]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            series[(row["scale"], row["metric"])].append(row)
    return series


def _points(values: list[float], left: int, top: int, low: float, high: float) -> list[tuple[float, float]]:
    span = (high - low) or 1.0
    step = (CHART_W - 2 * PAD) / max(len(values) - 1, 1)
    return [
        (left + PAD + i * step, top + CHART_H - PAD - (v - low) / span * (CHART_H - 2 * PAD))
        for i, v in enumerate(values)
    ]


def draw(series: dict[tuple[str, str], list[dict]]) -> Image.Image:
    keys = sorted(series)
    columns = 2
    rows = (len(keys) + columns - 1) // columns
    image = Image.new("RGB", (columns * CHART_W, max(rows, 1) * CHART_H), "white")
    pen = ImageDraw.Draw(image)
    for index, key in enumerate(keys):
        left, top = (index % columns) * CHART_W, (index // columns) * CHART_H
        runs = series[key]
        values = [float(r["value"]) for r in runs]
        baselines = [float(r["baseline"]) for r in runs if r["baseline"]]
        low, high = min(values + baselines), max(values + baselines)
        pen.rectangle([left + PAD, top + PAD, left + CHART_W - PAD, top + CHART_H - PAD], outline=GRID)
        pen.text((left + PAD, top + 8), f"{key[1]} ({key[0]})", fill=INK)
        pen.text((left + PAD, top + CHART_H - PAD + 6), f"{len(runs)} runs, last {runs[-1]['revision']}", fill=INK)
        pen.text((left + CHART_W - PAD - 90, top + 8), f"{values[-1]:.3g} (max {high:.3g})", fill=INK)
        for data, colour in ((baselines, BASELINE), (values, VALUE)):
            if not data:
                continue
            points = _points(data, left, top, low, high)
            if len(points) > 1:
                pen.line(points, fill=colour, width=2)
            for x, y in points:
                pen.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
    return image


class Command(BaseCommand):
    help = "Plot bench/results.csv (value in teal, baseline in grey) into bench/results.png."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(OUTPUT))

    def handle(self, *args, output: str, **options):
        if not RESULTS.exists():
            raise CommandError("No bench/results.csv yet: run `make bench` first.")
        series = read_history(RESULTS)
        draw(series).save(output)
        self.stdout.write(f"{len(series)} charts written to {output}")
