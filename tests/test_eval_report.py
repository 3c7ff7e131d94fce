"""`stt-arena report`: Markdown, charts, and the HTML viewer rendered by headless Chromium when present."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from stt_arena.eval.runner import run_eval
from stt_arena.report import build_report

from .test_eval_helpers import cfg, examples, impossible_clinic

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
    html = (tmp_path / "rep" / "viewer.html").read_text()
    start = html.index('id="data">') + len('id="data">')
    data = json.loads(html[start:html.index("</script>", start)])
    assert len(data) == 16 and {d["model"] for d in data} == {"builtin:oracle", "builtin:stale"}


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
    dom = _dump_dom(viewer, "model=builtin:stale&type=T1&level=easy&open=0", tmp_path)
    assert "2 of 16 trajectories shown" in dom
    assert 'id="verdict">FAIL' in dom and "example-clinic-t1 (run 0) - builtin:stale" in dom
    assert 'class="step tool trigger"' in dom and "trigger: window_expiry" in dom
    dom = _dump_dom(viewer, "pass=pass&level=impossible&open=0", tmp_path)
    assert "2 of 16 trajectories shown" in dom and "judge heuristic" in dom and 'id="verdict">PASS' in dom
    dom = _dump_dom(viewer, "pass=fail&model=builtin:oracle", tmp_path)
    assert "0 of 16 trajectories shown" in dom
