"""Rows/s formatting synthetic RLAIF-V-shaped preference rows: the seed's recipe vs `vlm_align.data.to_preference`.

Run: HF_HUB_OFFLINE=1 python benchmarks/data_format.py [--n 10000]
The seed's recipe (blog "Preference Optimization for Vision Language Models"): `map` one row at a time, the chat
template applied per row, `thumbnail` to the processor's longest edge, then a cast to decoded `Image` features.
Both run on the same rows, with the tiny Idefics2 processor (the seed's model family) for the chat template.
"""
import argparse, time, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import datasets, torch
from datasets import features
from vlm_align.synth import synth_dataset
from vlm_align.tiny import tiny_vlm
from vlm_align.data import to_preference

def seed_recipe(dataset, processor, max_size, num_proc=None):
    "The seed's `format` + map + cast, as published (only the size passed in)."
    def format(example):
        prompt = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": example["question"]}]}]
        chosen = [{"role": "assistant", "content": [{"type": "text", "text": example["chosen"]}]}]
        rejected = [{"role": "assistant", "content": [{"type": "text", "text": example["rejected"]}]}]
        prompt = processor.apply_chat_template(prompt, tokenize=False)
        chosen = processor.apply_chat_template(chosen, tokenize=False)
        rejected = processor.apply_chat_template(rejected, tokenize=False)
        example["image"].thumbnail((max_size, max_size))
        return {"images": [example["image"]], "prompt": prompt, "chosen": chosen, "rejected": rejected}
    dataset = dataset.map(format, remove_columns=dataset.column_names, num_proc=num_proc)
    f = dataset.features
    f["images"] = features.Sequence(features.Image(decode=True))
    return dataset.cast(f)

def timed(fn):
    t = time.perf_counter(); out = fn(); return out, time.perf_counter() - t

if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--n", type=int, default=10_000); args = ap.parse_args()
    torch.set_num_threads(1); datasets.disable_progress_bars()
    raw, t_gen = timed(lambda: synth_dataset("exists", args.n, shape="preference"))
    processor = tiny_vlm("idefics2")[1]
    sizes = [raw[i]["image"].size for i in range(0, args.n, max(1, args.n // 200))]
    print(f"{args.n} rows from synth_dataset('exists', {args.n}, shape='preference') in {t_gen:.1f}s; "
          f"image sides {min(min(s) for s in sizes)}-{max(max(s) for s in sizes)} px; {os.cpu_count()} CPUs")
    print(f"{'longest edge':>12} {'recipe':28} {'num_proc':>8} {'seconds':>8} {'rows/s':>8}")
    for edge in (980, 128):  # 980: Idefics2's longest_edge, nothing to shrink; 128: every image shrinks
        runs = [("seed (map per row)", 1, lambda: seed_recipe(raw, processor, edge)),
                ("seed (map per row)", 2, lambda: seed_recipe(raw, processor, edge, num_proc=2)),
                ("to_preference", 1, lambda: to_preference(raw, longest_edge=edge)),
                ("to_preference", 2, lambda: to_preference(raw, longest_edge=edge, num_proc=2))]
        for name, nproc, fn in runs:
            out, t = timed(fn)
            assert len(out) == args.n and max(out[0]["images"][0].size) <= edge
            print(f"{edge:>12} {name:28} {nproc:>8} {t:8.1f} {args.n / t:8.0f}")
