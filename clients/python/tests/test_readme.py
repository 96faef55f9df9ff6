"""The README's "Bring your own workflow" quick start, as written there:
its `flows.py` is read out of README.md, declared with `--declare-only`
(an admin token), run by `baton-worker` with a service token, reviewed and
approved, and the declared next type runs in Python too."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from support import BatonServer, start_worker_process, worker_command

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_flows() -> str:
    text = README.read_text()
    m = re.search(r"cat > flows\.py <<'PY'\n(.*?)\nPY\n", text, re.S)
    assert m, "the README's quick start writes flows.py"
    return m.group(1) + "\n"


def test_the_readme_quick_start_runs_as_written(baton: BatonServer, tmp_path: Path):
    flows = tmp_path / "flows.py"
    flows.write_text(readme_flows())

    env = dict(os.environ, BATON_URL=baton.url, BATON_TOKEN=baton.admin_token)
    declared = subprocess.run(
        [*worker_command(), "--declare-only", str(flows)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert declared.returncode == 0, declared.stderr
    assert "declared summarize v1" in declared.stderr and "declared publish v1" in declared.stderr
    assert baton.admin_token not in declared.stderr

    proc = start_worker_process(baton, [str(flows)], {})
    try:
        wf = baton.admin.run("summarize", {"text": "A long text about harbours. " * 20})
        done = baton.wait_workflow(wf["id"], lambda w: w["status"] == "COMPLETED", timeout=30)
        approval = done["approval"]
        assert approval["status"] == "PENDING"
        decided = baton.admin.approve(approval["id"], approval["artifactVersion"], "fine")
        nxt = decided["nextWorkflow"]
        assert nxt["type"] == "publish"
        published = baton.wait_workflow(nxt["id"], lambda w: w["status"] == "COMPLETED", timeout=30)
        assert published["output"]["published"] == published["input"]["artifact_id"]
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)
    assert baton.worker_token not in err
