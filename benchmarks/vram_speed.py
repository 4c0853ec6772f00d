"""How long `estimate_memory` takes, against a baseline measured in the same run.

    python benchmarks/vram_speed.py [--repeat 3]

Baseline: building the model's skeleton on the meta device from its config (`from_config` under
`torch.device("meta")`), the step `accelerate estimate-memory` takes to count parameters. The estimate
builds that skeleton too and adds LoRA matching, traced layer activations, vision and LM-head terms;
the ratio says what those cost on top. Each estimate runs on a fresh cache (first call, as a user meets it).
Times are the best of `--repeat` runs on this machine; compare ratios, not seconds, across machines.
"""
import argparse, time
from vlm_align import vram
from vlm_align.vram import KNOWN_CONFIGS, estimate_memory, model_config

def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

CACHES = [vram._counts, vram._saved_bytes, vram._idefics2_patches, vram._vision_block_bytes, vram._processor_cost]

def fresh_estimate(mid, method):
    for c in CACHES: c.cache_clear()
    return estimate_memory(mid, method, peft_config=True, gradient_checkpointing=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=sorted(KNOWN_CONFIGS))
    ap.add_argument("--method", default="grpo")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"estimate_memory(model, {a.method!r}, peft_config=True, gradient_checkpointing=True), best of {a.repeat}, fresh cache\n")
    print("| model | parameters | meta skeleton s (baseline) | estimate s | ratio |")
    print("|---|---|---|---|---|")
    for mid in a.models:
        cfg = model_config(mid)
        base = best(lambda: vram._meta_model(cfg), a.repeat)
        est = best(lambda: fresh_estimate(mid, a.method), a.repeat)
        e = fresh_estimate(mid, a.method)
        print(f"| {mid} | {e.params/1e9:.2f}B | {base:.3f} | {est:.3f} | {est/base:.1f}x |", flush=True)

if __name__ == "__main__": main()
