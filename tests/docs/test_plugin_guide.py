"""docs/plugins.md stays true: its five-minute plugin loads and trains, and every hook and kind is covered."""

import json
import os
import re
import tomllib

from ganparts import hookspecs
from ganparts.spec.registry import KINDS
from tests.conftest import ROOT, make_distribution, run_cli, tiny_overrides

DOC = (ROOT / "docs" / "plugins.md").read_text()
FILES = {title: body for title, body in re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', DOC, re.S)}


def test_every_hook_and_kind_is_documented():
    hooks = [name for name in dir(hookspecs) if name.startswith(f"{hookspecs.PROJECT}_")]
    assert hooks and all(f"### `{hook}(" in DOC for hook in hooks)
    contract = DOC.split("## The block contract", 1)[1].split("\n## ", 1)[0]
    assert all(f"| `{kind}` |" in contract for kind in KINDS)


def test_the_five_minute_plugin_loads_and_trains(tmp_path):
    project = tomllib.loads(FILES["ganparts-pixelnorm/pyproject.toml"])["project"]
    ((plugin, module),) = project["entry-points"]["ganparts"].items()
    site = tmp_path / "site"
    site.mkdir()
    # What `pip install -e ./ganparts-pixelnorm` leaves behind, without needing pip here.
    distribution = make_distribution(site, module, FILES[f"ganparts-pixelnorm/{module}.py"], plugin=plugin, version=project["version"])
    assert distribution == project["name"]
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    listed = run_cli("plugins", "--json", env=env)
    report = next(r for r in json.loads(listed.stdout) if r["name"] == plugin)
    assert (report["status"], report["blocks"]) == ("loaded", {"norm": ["pixel"]}), report["reason"]

    spec = tmp_path / "pixel.yaml"
    spec.write_text(FILES["pixel.yaml"])
    sets = [arg for kv in tiny_overrides(**{"train.steps": "2"}) for arg in ("--set", kv)]
    trained = run_cli("train", spec, "--out", tmp_path / "run", "--no-progress", *sets, env=env)
    assert trained.returncode == 0, trained.stderr
    assert "norm:pixel (pixelnorm)" in run_cli("build", spec, *sets, env=env).stdout
