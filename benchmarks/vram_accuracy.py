"""Estimate vs measured peak memory for vlm_align.vram.

CUDA:  python benchmarks/vram_accuracy.py [--out benchmarks/vram_accuracy.md]
       random-init models at real size from real configs, real steps, torch.cuda.max_memory_allocated.
CPU:   python benchmarks/vram_accuracy.py --trace
       the same steps traced on fake tensors (nothing allocated), peak of live tensor bytes.
Text only (images_per_row=0): the vision encoder's share is not measured here yet.
"""
import argparse, time, torch
from vlm_align.vram import estimate_memory, measure_peak, trace_peak

MODELS = ["Qwen/Qwen2.5-VL-3B-Instruct", "HuggingFaceTB/SmolVLM-Instruct", "google/gemma-3-4b-it"]
METHODS = ["sft", "dpo", "grpo"]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", action="store_true", help="CPU: trace on fake tensors instead of measuring on CUDA")
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--batch-sizes", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--completion-len", type=int, default=256)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    where = "fake-tensor trace on CPU" if a.trace else torch.cuda.get_device_name()
    rows = [f"Machine: {where}. seq_len={a.seq_len}, completion_len={a.completion_len}, bf16, text only.", "",
            "| model | method | training | batch | measured GB | estimate GB | error |", "|---|---|---|---|---|---|---|"]
    for mid in a.models:
        for method in METHODS:
            for lora in (True, None):
                for b in a.batch_sizes:
                    kw = dict(lora=lora, batch_size=b, seq_len=a.seq_len, completion_len=a.completion_len)
                    t = time.time()
                    got = trace_peak(mid, method, **kw) if a.trace else measure_peak(mid, method, **kw)
                    e = estimate_memory(mid, method, images_per_row=0, steps_per_generation=1, **kw)
                    err = e.allocated / got - 1
                    rows.append(f"| {mid} | {method} | {'LoRA' if lora else 'full'} | {b} | {got/1e9:.2f} | "
                                f"{e.allocated/1e9:.2f} | {err:+.1%} |")
                    print(rows[-1], f"({time.time()-t:.0f}s)", flush=True)
    text = "\n".join(rows)
    print(text)
    if a.out: open(a.out, "w").write(text + "\n")

if __name__ == "__main__": main()
