"""ganparts benchmarks: ``python -m benchmarks`` (``make bench``) prints the tables and writes JSON.

1. framework overhead: ganparts' training loop vs a hand-written plain-PyTorch loop (plain_sagan.py);
2. attention overhead: step time with SAGAN blocks / without, batch 64 and 256;
3. hardware utilisation: counted FLOPs per step ÷ step time ÷ measured fp32 matmul throughput;
4. sampling throughput and the attention layer's peak memory (explicit N×N map vs fused SDPA);
5. time to quality: wall-clock training time until the EMA generator reaches given FIDs;
6. concurrency: trainings side by side, with and without thread budgets;
7. on CUDA only: steps/s and images/s at batch 32/64/256, eager, compiled and bf16 (gpu.py).

Every ratio is measured within one run, from interleaved rounds after warm-up (timing.py).
"""
