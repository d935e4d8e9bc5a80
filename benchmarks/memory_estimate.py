"""How close is the memory estimate that refuses absurd specs to what training really uses?

For each configuration, a fresh process loads the data, notes its resident memory, then
builds the Trainer and runs three training steps on the CPU; the peak resident memory
above that baseline is compared with ``estimate_resources(spec, registry=default_registry()).total_bytes``.

    python benchmarks/memory_estimate.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "sagan, width 32, batch 256": ["data.batch_size=256"],
    "sagan, width 64, batch 128": ["model.generator.width=64", "model.discriminator.width=64", "data.batch_size=128"],
    "sagan at 28x28, width 32, batch 64": ["model.generator.attention=[{kind: sagan, resolution: 28}]", "data.batch_size=64"],
    "baseline (no attention), wgan-gp, batch 256": ["model.generator.attention=[]", "model.discriminator.attention=[]",
                                                    "loss=wgan-gp", "data.batch_size=256"],
}


def measure(overrides: list[str]) -> dict:
    """Run in a child process: estimate, then the real peak of three steps."""
    sys.path.insert(0, str(ROOT))
    from ganparts.data.sources import load_images
    from ganparts.plugins import default_registry
    from ganparts.spec.files import load_spec
    from ganparts.training.resources import estimate_resources
    from ganparts.training.trainer import Trainer

    registry = default_registry()
    spec = load_spec(ROOT / "specs" / "sagan_mnist.yaml", ["data.source=mnist-5k", *overrides], registry=registry)
    estimate = estimate_resources(spec, registry=registry)
    data = load_images("mnist-5k", registry=registry)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    trainer = Trainer(spec, data=data, registry=registry)
    for _ in range(3):
        trainer.train_step(trainer.sample_real())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"estimate_bytes": estimate.total_bytes, "measured_bytes": peak - baseline}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(json.loads(sys.argv[2]))))
        return 0
    print(f"{'configuration':46} {'estimate':>10} {'measured':>10} {'ratio':>6}")
    for name, overrides in CONFIGS.items():
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(overrides)], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = row["estimate_bytes"] / row["measured_bytes"]
        print(f"{name:46} {row['estimate_bytes'] / 2**20:8.0f} MiB {row['measured_bytes'] / 2**20:6.0f} MiB {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
