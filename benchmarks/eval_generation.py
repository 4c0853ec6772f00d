"""Answers per second of `vlm_align.eval.generate_predictions` (batched, left padding) against a one-prompt-at-a-time loop.

Both run in the same process on the same questions and model, greedy, same `max_new_tokens`, after one warm-up call
each. Without a GPU (or with VLM_ALIGN_TINY=1) the model is the tiny offline twin from `vlm_align.sources.load_vlm`
and the questions are synthetic AMBER-shaped rows; on a GPU it is the real `--model`.
Usage: python benchmarks/eval_generation.py [--n 32] [--batch 8] [--max-new-tokens 16] [--model Qwen/Qwen2.5-VL-3B-Instruct]"""
import argparse, os, tempfile, time, warnings
from pathlib import Path
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32); ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=16); ap.add_argument("--model", default="Qwen/Qwen2.5-VL-3B-Instruct")
    a = ap.parse_args()
    import torch, transformers
    transformers.logging.set_verbosity_error()
    from vlm_align.sources import load_vlm
    from vlm_align.synth import synth_dataset
    from vlm_align.eval import amber_rows, generate_predictions, hf_generate
    model, processor = load_vlm(a.model)
    if torch.cuda.is_available(): model = model.to("cuda")
    rows, _ = amber_rows(synth_dataset("exists", n=a.n, seed=1))
    hf_generate(model, processor, [rows[0]["question"]], [rows[0]["image"]], max_new_tokens=a.max_new_tokens)  # warm-up
    t0 = time.perf_counter()
    single = [hf_generate(model, processor, [r["question"]], [r["image"]], max_new_tokens=a.max_new_tokens)[0] for r in rows]
    t_single = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        preds = generate_predictions(model, processor, rows, Path(d)/"p.jsonl", batch_size=a.batch, max_new_tokens=a.max_new_tokens)
        t_batch = time.perf_counter() - t0
    same = sum(p["response"] == s for p, s in zip(preds, single))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    print(f"{a.n} AMBER-shaped questions, greedy, max_new_tokens={a.max_new_tokens}, {type(model).__name__} ({device})")
    print(f"one prompt at a time (generate loop) : {a.n / t_single:7.2f} answers/s")
    print(f"generate_predictions, batch_size={a.batch:<3}  : {a.n / t_batch:7.2f} answers/s  ({t_single / t_batch:.1f}x)")
    print(f"identical answers: {same}/{a.n}")

if __name__ == "__main__": main()
