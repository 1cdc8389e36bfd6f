from pathlib import Path

from PIL import Image

from marketplace.management.commands.bench_plot import draw, read_history

CSV = """timestamp,revision,scale,metric,value,baseline,ratio
2026-11-28T15:21:15+00:00,aaa1111,small,match_p95_ms,33.9,7.7,4.4
2026-11-28T16:21:15+00:00,bbb2222,small,match_p95_ms,30.3,7.4,4.1
2026-11-28T16:21:15+00:00,bbb2222,small,split_cost_ratio,1.000,,
"""


def test_history_is_grouped_per_scale_and_metric_and_drawn(tmp_path: Path):
    results = tmp_path / "results.csv"
    results.write_text(CSV)
    series = read_history(results)
    assert sorted(series) == [("small", "match_p95_ms"), ("small", "split_cost_ratio")]
    assert [row["revision"] for row in series[("small", "match_p95_ms")]] == ["aaa1111", "bbb2222"]
    image = draw(series)
    assert image.size == (840, 180)  # two charts side by side, one row
    out = tmp_path / "plot.png"
    image.save(out)
    assert Image.open(out).getpixel((0, 0)) == (255, 255, 255)
