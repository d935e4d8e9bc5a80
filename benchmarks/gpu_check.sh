#!/usr/bin/env bash
# One pass over the CUDA side of ganparts (issue #13), at most 8 minutes on one H200.
#
#   bash benchmarks/gpu_check.sh [FOLDER]      # from the repository root, on a machine with a GPU
#
# Writes everything into FOLDER (default: $OUT if set, else gpu_check/):
#   environment.txt   python, torch, CUDA, GPU (nvidia-smi)
#   pytest.log        the `cuda`-marked tests: no host sync in 50 steps, fused Adam, exact resume
#   torchrun.log      `ganparts train` under a one-process torchrun on CUDA, then a resume
#   torchrun_run/     that run's directory (metrics.jsonl, checkpoints, samples)
#   nccl.log          an nccl process group under torchrun: all_reduce and one DDP step
#   gpu_table.log     steps/s and images/s at batch 32/64/256, eager / compile / bf16
#   gpu_table.json    the same with every round's time
#   compile_table.log torch.compile's modes (default, reduce-overhead, max-autotune-no-cudagraphs) at batch 64, and .json
#   many_runs.log     aggregate steps/s of K = 1, 2, 4, 8 trainings at once (what `compare --jobs K` does)
#   many_runs.json    the same with each run's steps/s
#   summary.txt       each part's exit status and seconds (also printed)
# Progress bars and training output go to the logs, never to the terminal. Nothing is
# installed: ganparts and its dependencies must be importable (the repository root is put on
# PYTHONPATH; set PYTHON to choose the interpreter).
set -uo pipefail

FOLDER="${1:-${OUT:-gpu_check}}"
PYTHON="${PYTHON:-python}"
mkdir -p "$FOLDER"
FOLDER="$(cd "$FOLDER" && pwd)"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export GANPARTS_FEATURE_CACHE="$FOLDER/feature-cache"  # never the user's cache
SUMMARY="$FOLDER/summary.txt"
: > "$SUMMARY"

# part NAME SECONDS COMMAND…: run COMMAND with its output in NAME.log, killed after SECONDS.
part() {
    local name=$1 limit=$2 began status
    shift 2
    began=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" > "$FOLDER/$name.log" 2>&1
    status=$?
    echo "$name: exit $status after $(( $(date +%s) - began )) s (limit $limit s)$([ $status -eq 124 ] && echo ', TIMED OUT')" | tee -a "$SUMMARY"
}

{
    date -u
    "$PYTHON" -c 'import sys, torch; print("python", sys.version.split()[0], "· torch", torch.__version__, "· CUDA", torch.version.cuda, "· available", torch.cuda.is_available()); print(torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")'
    nvidia-smi 2>&1 || true
} > "$FOLDER/environment.txt" 2>&1

# Budget (limits, seconds): 100 + 75 + 35 + 75 + 110 + 70 = 465 s, under 8 minutes with start-up.
part pytest 100 "$PYTHON" -m pytest -m cuda -q -rs -p no:cacheprovider --continue-on-collection-errors tests

# A one-process torchrun trains as a single process (world size 1 joins no process group):
# this checks torchrun's launch, `--device cuda`, checkpoints and a resume on the GPU.
TRAIN=(-m torch.distributed.run --standalone --nproc_per_node 1 -m ganparts train specs/sagan_mnist.yaml
       --out "$FOLDER/torchrun_run" --device cuda --set data.source=mnist-5k
       --set train.sample_every=200 --set train.checkpoint_every=200)
part torchrun 75 bash -c '"$0" "$@" --set train.steps=400 && "$0" "$@" --set train.steps=600 --resume' "$PYTHON" "${TRAIN[@]}"
# nccl itself: a process group, an all_reduce and one DDP step.
part nccl 35 "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node 1 -m benchmarks.nccl_smoke

part gpu_table 75 "$PYTHON" -m benchmarks.gpu --device cuda --options eager,bf16,graph,graph+bf16 --budget-s 60 --json "$FOLDER/gpu_table.json"
# torch.compile's three modes at batch 64 (the issue's target batch), each compiling for tens of seconds.
part compile_table 110 "$PYTHON" -m benchmarks.gpu --device cuda --batches 64 --options compile,compile-ro,compile-ma --budget-s 90 --json "$FOLDER/compile_table.json"
part many_runs 70 "$PYTHON" -m benchmarks.many_runs --device cuda --jobs 1,2,4,8 --steps 150 --json "$FOLDER/many_runs.json"

echo "results in $FOLDER" | tee -a "$SUMMARY"
grep -h "passed\|failed\|skipped\|error" "$FOLDER/pytest.log" | tail -n 3
grep -h "nccl ok" "$FOLDER/nccl.log"
cat "$FOLDER/gpu_table.log" "$FOLDER/compile_table.log" "$FOLDER/many_runs.log"
