"""Estimate vs measured peak memory for vlm_align.vram.

CUDA:  python benchmarks/vram_accuracy.py [--out benchmarks/vram_accuracy.md]
       random-init models at real size from real configs, real steps, torch.cuda.max_memory_allocated.
CPU:   python benchmarks/vram_accuracy.py --trace [--models Qwen/Qwen2.5-VL-3B-Instruct --batch-sizes 1]
       the same steps traced on fake tensors (nothing allocated), peak of live tensor bytes, one thread.
       The trace also reports the bytes at its peak that only the CPU path of TRL's LM head allocates
       (trl/kernels/chunked_logprob.py: `_forward_tile`, `_backward_tile` and `_addmm_fp32`'s non-CUDA branch,
       which stand in for Triton kernels and an fp32-output addmm on CUDA), and the estimate against the trace
       without them.
Text only (images_per_row=0): the vision encoder's share is measured per block in the notebook, not here.
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
    if a.trace: torch.set_num_threads(1)   # the trace allocates nothing; one thread leaves the machine to others
    where = "fake-tensor trace on CPU" if a.trace else torch.cuda.get_device_name()
    rows = [f"Machine: {where}. seq_len={a.seq_len}, completion_len={a.completion_len}, bf16, text only.", ""]
    if a.trace:
        rows += ["| model | method | training | batch | traced GB | CPU-only LM-head temporaries GB | estimate GB | "
                 "estimate vs trace | estimate vs trace without CPU-only |", "|---|---|---|---|---|---|---|---|---|"]
    else: rows += ["| model | method | training | batch | measured GB | estimate GB | error |", "|---|---|---|---|---|---|---|"]
    for mid in a.models:
        for method in METHODS:
            for lora in (True, None):
                for b in a.batch_sizes:
                    kw = dict(lora=lora, batch_size=b, seq_len=a.seq_len, completion_len=a.completion_len)
                    t = time.time()
                    e = estimate_memory(mid, method, images_per_row=0, steps_per_generation=1, peft_config=lora,
                                        per_device_train_batch_size=b, seq_len=a.seq_len, max_completion_length=a.completion_len)
                    head = f"| {mid} | {method} | {'LoRA' if lora else 'full'} | {b} |"
                    if a.trace:
                        got, cpu = trace_peak(mid, method, cpu_only=True, **kw)
                        rows.append(f"{head} {got/1e9:.3f} | {cpu/1e9:.3f} | {e.allocated/1e9:.3f} | "
                                    f"{e.allocated/got-1:+.1%} | {e.allocated/(got-cpu)-1:+.1%} |")
                    else:
                        got = measure_peak(mid, method, **kw)
                        rows.append(f"{head} {got/1e9:.2f} | {e.allocated/1e9:.2f} | {e.allocated/got-1:+.1%} |")
                    print(rows[-1], f"({time.time()-t:.0f}s)", flush=True)
    text = "\n".join(rows)
    print(text)
    if a.out: open(a.out, "w").write(text + "\n")

if __name__ == "__main__": main()
