"""Rows per second of `vlm_align.synth.synth_dataset`, 10,000 rows per task and shape, default image sizes.
Usage: python benchmarks/synth_speed.py [n]"""
import sys, time
from vlm_align.synth import synth_dataset, TASKS, ROW_SHAPES

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
for shape in ROW_SHAPES:
    for task in TASKS:
        t0 = time.perf_counter()
        ds = synth_dataset(task, n, seed=0, shape=shape)
        dt = time.perf_counter() - t0
        print(f"{shape:10s} {task:7s} {len(ds):6d} rows {dt:6.2f} s {len(ds) / dt:8,.0f} rows/s", flush=True)
