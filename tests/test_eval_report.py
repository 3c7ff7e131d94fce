"""`stt-arena report`: Markdown, charts, and the HTML viewer rendered by headless Chromium when present."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from stt_arena.eval.runner import run_eval
from stt_arena.report import build_report

from .eval_helpers import cfg, examples, impossible_clinic

pytestmark = pytest.mark.slow  # end-to-end (`pytest -m 'not slow'` skips it)

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    tasks = examples() + [impossible_clinic()]
    run_eval(cfg("builtin:oracle", runs=2), tasks, root / "oracle", progress=False)
    run_eval(cfg("builtin:stale", runs=2), tasks, root / "stale", progress=False)
    return root


def test_report_files(two_runs, tmp_path):
    files = build_report([two_runs / "oracle", two_runs / "stale"], tmp_path / "rep", title="Cmp")
    names = sorted(f.name for f in files)
    assert names == ["levels.png", "radar.png", "report.md", "viewer.html"]
    for png in ("radar.png", "levels.png"):
        assert (tmp_path / "rep" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| builtin:oracle | 100.0 ± 0.0 |" in md and "| builtin:stale | 0.0 ± 0.0 |" in md
    assert "Impossible (n=1)" in md and "| T1 | window expiry |" in md and "pass^2" in md
    index = _index(tmp_path / "rep" / "viewer.html")
    assert len(index["rows"]) == 16 and set(index["models"]) == {"builtin:oracle", "builtin:stale"}
    [chunk] = sorted((tmp_path / "rep" / "viewer_data").iterdir())
    assert len(_chunk(chunk)) == 16


def _index(viewer):
    html = viewer.read_text()
    start = html.index('id="index">') + len('id="index">')
    return json.loads(html[start:html.index("</script>", start)])


def _chunk(path):
    text = path.read_text()
    return json.loads(text[text.index(",") + 1:text.rindex(");")])


def _many_runs(root, n_models=3, per_model=1000):
    """Results dirs with many trajectories (copies of one real record under new task ids)."""
    from stt_arena.eval.runner import run_eval as _run
    _run(cfg("builtin:stale"), [examples()[0]], root / "seed", progress=False)
    rec = json.loads((root / "seed" / "results.jsonl").read_text())
    dirs = []
    for m in range(n_models):
        d = root / f"m{m}"
        d.mkdir()
        with (d / "results.jsonl").open("w") as f:
            for k in range(per_model):
                lv = ("easy", "medium", "hard", "impossible")[k % 4]
                f.write(json.dumps({**rec, "model": f"model-{m}", "task_id": f"task-{k:05d}", "run": 0, "level": lv,
                                    "passed": (k + m) % 3 == 0}) + "\n")
        (d / "config.json").write_text(json.dumps({"label": f"model-{m}"}))
        dirs.append(d)
    return dirs


def test_viewer_holds_every_trajectory_in_chunks(tmp_path):
    """Issue 15 item 2: no silent cap (3,000 trajectories: all in the index, each in exactly one chunk)."""
    dirs = _many_runs(tmp_path)
    build_report(dirs, tmp_path / "rep")
    index = _index(tmp_path / "rep" / "viewer.html")
    assert len(index["rows"]) == 3000 and index["models"] == ["model-0", "model-1", "model-2"]
    chunks = sorted((tmp_path / "rep" / "viewer_data").glob("chunk-*.js"))
    assert len(chunks) == 15 and sum(len(_chunk(c)) for c in chunks) == 3000
    last = index["rows"][-1]
    t = _chunk(chunks[last[7]])[last[8]]
    assert (t["model"], t["task_id"]) == ("model-2", "task-00999")
    assert (tmp_path / "rep" / "viewer.html").stat().st_size < 400_000  # the index only, not the steps


def test_report_cli_and_bad_dir(two_runs, tmp_path):
    r = subprocess.run([sys.executable, "-m", "stt_arena", "report", str(two_runs / "oracle"), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "viewer.html" in r.stdout
    r = subprocess.run([sys.executable, "-m", "stt_arena", "report", str(tmp_path / "nothing")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not a results directory" in r.stderr


def _dump_dom(path, fragment, tmp_path):
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}", "--dump-dom",
                        f"file://{path}#{fragment}"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_viewer_renders_in_headless_chromium(two_runs, tmp_path):
    build_report([two_runs / "oracle", two_runs / "stale"], tmp_path / "rep")
    viewer = tmp_path / "rep" / "viewer.html"
    dom = _dump_dom(viewer, "", tmp_path)
    assert "16 of 16 trajectories shown" in dom and dom.count('class="row') == 16
    assert 'id="summary"' in dom and 'id="chart"' in dom  # opens on the summary
    dom = _dump_dom(viewer, "model=builtin:stale&type=T1&level=easy&open=0", tmp_path)
    assert "2 of 16 trajectories shown" in dom
    assert 'id="verdict">FAIL' in dom and "example-clinic-t1 (run 0) - builtin:stale" in dom
    assert 'class="step tool trigger"' in dom and "trigger: window_expiry" in dom
    dom = _dump_dom(viewer, "pass=pass&level=impossible&open=0", tmp_path)
    assert "2 of 16 trajectories shown" in dom and "judge heuristic" in dom and 'id="verdict">PASS' in dom
    dom = _dump_dom(viewer, "pass=fail&model=builtin:oracle", tmp_path)
    assert "0 of 16 trajectories shown" in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_viewer_with_3000_trajectories_summary_pages_and_lazy_detail_in_chromium(tmp_path):
    """Issue 15 items 2 and 11: every trajectory reachable (paged list, steps loaded on demand from the
    last chunk), and the first screen is a summary with pass rates per level/type per model and a chart."""
    dirs = _many_runs(tmp_path)
    build_report(dirs, tmp_path / "rep")
    viewer = tmp_path / "rep" / "viewer.html"
    dom = _dump_dom(viewer, "", tmp_path)
    assert "3000 of 3000 trajectories shown" in dom and "page 1 of 15" in dom and dom.count('class="row') == 200
    assert 'id="summary"' in dom and "Summary: 3000 trajectories, 3 model(s)" in dom
    assert dom.count('class="bar"') == 12 and "pass rate per conflict type" in dom
    dom = _dump_dom(viewer, "model=model-2&open=999", tmp_path)
    assert "1000 of 3000 trajectories shown" in dom and "page 5 of 5" in dom
    assert "task-00999 (run 0) - model-2" in dom and 'id="verdict">' in dom


def _radar_runs(two_runs):
    from stt_arena.report.build import load_runs
    return load_runs([two_runs / "oracle", two_runs / "stale"])


def test_radar_keeps_a_zero_run_visible_and_the_legend_off_the_title(two_runs):
    from stt_arena.report.charts import radar_figure
    runs = _radar_runs(two_runs)  # stale scores 0% on every type
    fig = radar_figure(runs)
    ax = fig.axes[0]
    assert ax.get_rorigin() < 0  # 0% is a ring of non-zero radius, not the centre point
    zero = ax.lines[1]
    xy = ax.transData.transform(list(zip(zero.get_xdata(), zero.get_ydata())))
    assert len({(round(x), round(y)) for x, y in xy}) >= 9  # nine distinct points on the ring, not one dot
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legend, title = ax.get_legend().get_window_extent(r), fig._suptitle.get_window_extent(r)
    assert not legend.overlaps(title)
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_equal_runs_are_named_in_the_radar_legend(two_runs):
    from stt_arena.report.charts import radar_figure
    runs = _radar_runs(two_runs)
    fig = radar_figure([runs[0], runs[0]])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "(=" in labels[1]
    assert fig.axes[0].lines[0].get_linestyle() != fig.axes[0].lines[1].get_linestyle()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_level_bars_label_every_bar_and_show_zero_as_a_stub(two_runs):
    from stt_arena.report.charts import level_bars_figure
    fig = level_bars_figure(_radar_runs(two_runs))
    ax = fig.axes[0]
    bars = [p for p in ax.patches]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(bars) == 2 * 5  # two runs x (four levels + overall), each bar labelled
    assert "0" in texts and "n/a" in texts  # the examples have no medium task: missing data says so
    # stale's 0% is a visible stub, distinct from missing data (no bar)
    assert all(b.get_height() > 0 for b, t in zip(bars, texts) if t != "n/a")
    assert all(b.get_height() == 0 for b, t in zip(bars, texts) if t == "n/a")
    import matplotlib.pyplot as plt
    plt.close(fig)
