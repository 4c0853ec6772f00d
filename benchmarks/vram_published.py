"""`estimate_memory` against peak-memory figures others measured and published, with their settings.

    python benchmarks/vram_published.py

Each case: its source, the settings as published, the metric the source printed, and how we mapped it. Only measured
figures whose settings are complete enough to rebuild the run; nothing here is tuned per case. The estimate compared
is the one matching the source's metric: `allocated` for `torch.cuda.max_memory_allocated`, `reserved` for
`torch.cuda.max_memory_reserved` (allocated plus `RESERVED_OVERHEAD`, an assumption).

Sources
  SWIFT  ms-swift 1.x, docs/source_en/LLM/Benchmark.md (github.com/modelscope/ms-swift, commit 4692215): A100 80GB,
         torch 2.1.1, flash-attn 2.3.4; `swift sft`, bf16 weights (--dtype AUTO), batch 1, gradient checkpointing on,
         flash attention on, LoRA r=8 on DEFAULT targets (Qwen: the fused c_attn), gradient accumulation 16, dataset
         cls-fudan-news-zh (3234±2547 tokens, rows longer than --max_length dropped, so the longest rows are
         ~max_length), unless the row says otherwise. Metric: "GPU Memory (GiB)" = sum of torch.cuda.max_memory_reserved
         (swift's get_max_cuda_memory), GiB = 2^30 bytes. Qwen-1.x (remote code, model_type "qwen") is mapped to a
         transformers Qwen2 config of the same shapes (q/k/v biases, SwiGLU, untied head); its DEFAULT LoRA target,
         the fused c_attn, is mapped to q_proj/k_proj/v_proj (same inputs; 6.3M instead of 4.2M adapter parameters).
         Swift 1.x trains with HF Trainer's plain loss on full logits (no TRL fused head): fused_lm_head=False. Full
         fine-tuning: HF Trainer's AdamW ("adamw_torch") on bf16 weights, i.e. pure bf16 states. LoRA dropout 0.05
         (argument.py `lora_dropout_p`). Rows: every row <= max_length of the 4,959 when max_length <= 2048, else of a
         1,000-row sample (scripts/benchmark/test_memory_time/run_single.py), one row per step, no padding.
         The metric is reserved after a whole run of rows of varying length: it includes the caching allocator's
         fragmentation, which `MemoryEstimate.reserved` (allocated + RESERVED_OVERHEAD, steps of one shape) does not
         model. `python benchmarks/vram_fragmentation.py` replays swift's runs through the allocator on the CPU and
         shows that this, not the allocated peak, is the gap (see its docstring).
  LITGPT Lightning-AI/litgpt tutorials/resource-tables.md (lit-gpt commit 8641822, 10/20/2023): 1x A100-SXM4-40GB,
         torch 2.1.0, --precision bf16-true, finetune/lora.py: LoRA r=8 on query and value only, no gradient
         checkpointing, AdamW (foreach), Alpaca: longest row 1304 tokens for Llama 2, 1044 for phi-1.5 (published);
         micro-batches padded to their longest row; LoRA dropout 0.05; phi-1.5's GELU is one tanh-approximate F.gelu
         (mapped to HF's "gelu_pytorch_tanh", not the five-step "gelu_new"). Metric: "Max GPU RAM" = torch.cuda.max_memory_allocated()/1e9
         (the script's "Memory used"). bnb.nf4-dq = QLoRA NF4 with double quantisation. Its adapters are bf16 (ours
         fp32: +4 bytes per adapter parameter, under 0.05 GB here). LM head: finetune/lora.py projects the head in
         chunks of 128 tokens (`lm_head_chunk_size=128`) and lit_gpt/utils.py `chunked_cross_entropy` takes a bf16
         cross-entropy per chunk, but the list of chunks stays referenced through backward (`logits` in the loop) and
         each chunk's bf16 log-softmax is saved: 4 bytes per logit at backward start. `litgpt_head` maps that: the
         estimate's TRL tiled-head item is replaced by rows x tokens x vocab x 4 bytes.
  QWEN   QwenLM/Qwen README.md, "Profiling of Memory and Speed" (github.com/QwenLM/Qwen): one A100-SXM4-80G, CUDA 11.8,
         PyTorch 2.0, flash attention 2, batch 1, gradient accumulation 8, inputs of 256 to 8,192 tokens. The training
         script is the repo's finetune.py: its `preprocess` pads every row to `model_max_length`, so every step has
         exactly the profiled length (one shape: no varying-length fragmentation). Its LoRA defaults: r=64, alpha 16,
         dropout 0.05 on c_attn, c_proj, w1, w2 (mapped to q/k/v, o_proj and down_proj — both named c_proj —, gate/up);
         `--gradient_checkpointing` (finetune/finetune_lora_single_gpu.sh), HF Trainer `--bf16` on the remote code's
         bf16 weights, AdamW ("adamw_torch"), full logits (fused_lm_head=False). "LoRA" is a chat model (adapters only);
         "LoRA (emb)" is a base model, where finetune.py adds modules_to_save=["wte", "lm_head"] (mapped to
         embed_tokens, lm_head): PEFT trains bf16 copies of both. Metric: not stated; neither finetune.py nor HF Trainer
         (skip_memory_metrics=True) prints a memory figure, so it is read as what nvidia-smi shows (reserved + CUDA
         context), in GiB as nvidia-smi's MiB give; the summary also prints the errors were it `allocated`, or GB.
         Q-LoRA rows (GPTQ int4 kernels, not bitsandbytes NF4) and DeepSpeed rows (configs not in the table) are left out.

  QWENVL QwenLM/Qwen-VL README.md, "Profiling of Memory and Speed" (github.com/QwenLM/Qwen-VL): the same setup as QWEN
         (A100-SXM4-80G, batch 1, gradient accumulation 8, finetune.py padding every row to `model_max_length`,
         metric not stated, read as nvidia-smi GiB), one 448x448 image per row, 384 to 2,048 tokens. Qwen-VL (remote
         code, not in transformers) is mapped to a transformers LLaVA config of the same shapes: its OpenCLIP
         ViT-bigG as a CLIP vision tower (width 1664, 48 layers, MLP 8192, patch 14, 448 px: 1,024 patches), its
         Qwen-7B language model as above, and its cross-attention resampler (256 image tokens, ~0.08B) by LLaVA's
         projector (0.02B); image_tokens=256, image_patches=1024; 9.59B parameters against the paper's 9.6B (arXiv
         2308.12966, Table 1: 1.9B + 0.08B + 7.7B). finetune.py: `fix_vit` and LoRA r=64/alpha 16/dropout 0.05 on
         c_attn, attn.c_proj, w1, w2 (q/k/v, o_proj, gate/up: the MLP's c_proj is not matched; the vision tower has
         no adapter, so it keeps no activations); "LoRA (Chat)" adapters only, "LoRA (Base)" plus modules_to_save
         wte and lm_head. The README, unlike Qwen's, does not say flash attention was on: eager attention is assumed
         (with SDPA the estimates move by at most 3%). Q-LoRA rows (GPTQ) are left out.

Which cases count towards the target. A figure counts when the published settings determine it: an allocated peak is
the step with the longest batch (LitGPT publishes its longest row), a profile of one shape is that shape (Qwen). ms-swift's
figures are `max_memory_reserved` after a run of rows of varying length in random order: the same settings give
9.2 to 14.5 GB for Qwen-1.8B at 1,024 tokens depending on the row order alone (`vram_fragmentation.py`), so they are
printed and summarised on their own ("run-dependent"), and kept out of the target's median and worst case.
"""
import argparse, statistics, warnings
from peft import LoraConfig
from vlm_align.vram import estimate_memory, RESERVED_OVERHEAD

GiB, GB = 2**30, 1e9

def qwen1(hidden, inter, layers, heads, vocab):
    "Qwen-1.x shapes as a transformers Qwen2 config (Qwen's intermediate_size counts both halves of the SwiGLU)."
    return dict(model_type="qwen2", hidden_size=hidden, intermediate_size=inter // 2, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=heads, vocab_size=vocab, tie_word_embeddings=False,
                max_position_embeddings=32768, rms_norm_eps=1e-6)

QWEN_1_8B = qwen1(2048, 11008, 24, 16, 151936)     # Qwen/Qwen-1_8B-Chat config.json
QWEN_7B = qwen1(4096, 22016, 32, 32, 151936)       # Qwen/Qwen-7B-Chat config.json
QWEN_14B = qwen1(5120, 27392, 40, 40, 152064)      # Qwen/Qwen-14B-Chat config.json
LLAMA2_7B = dict(model_type="llama", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, vocab_size=32000, tie_word_embeddings=False)
LLAMA2_13B = dict(model_type="llama", hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                  num_attention_heads=40, num_key_value_heads=40, vocab_size=32000, tie_word_embeddings=False)
PHI_1_5 = dict(model_type="phi", hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
               vocab_size=51200, partial_rotary_factor=0.5, tie_word_embeddings=False,
               # lit_gpt/config.py phi-1_5: gelu_approximate="tanh", run as one F.gelu(x, approximate="tanh") (lit_gpt/model.py);
               # HF's "gelu_new" computes the same function in five saved steps, "gelu_pytorch_tanh" is LitGPT's one op
               hidden_act="gelu_pytorch_tanh")

# LoRA dropout 0.05 in both sources (swift argument.py `lora_dropout_p: float = 0.05`; lit-gpt finetune/lora.py
# `lora_dropout = 0.05`): each adapted layer saves the dropout's mask for backward (peft's default is 0.0)
QKV = LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj"], lora_dropout=0.05)
QV = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.05)
SWIFT = dict(images_per_row=0, gradient_checkpointing=True, per_device_train_batch_size=1, fused_lm_head=False,
             gradient_accumulation_steps=16, peft_config=QKV, optim="adamw_torch")
SWIFT_FULL = dict(SWIFT, peft_config=None)
LITGPT = dict(images_per_row=0, gradient_checkpointing=False, optim="adamw_torch", fused_lm_head=True)

def case(source, name, model, measured, unit, metric, settings, determined=True, **kw): return locals()

CASES = []
for n, L, m in [("qwen-1_8b-chat", 512, 6.99), ("qwen-1_8b-chat", 1024, 10.71), ("qwen-1_8b-chat", 2048, 16.35),
                ("qwen-1_8b-chat", 4096, 23.80), ("qwen-1_8b-chat", 8192, 37.03),
                ("qwen-7b-chat", 512, 18.01), ("qwen-7b-chat", 1024, 21.73), ("qwen-7b-chat", 2048, 27.74),
                ("qwen-7b-chat", 4096, 35.31), ("qwen-7b-chat", 8192, 48.41),
                ("qwen-14b-chat", 512, 30.14), ("qwen-14b-chat", 1024, 34.43), ("qwen-14b-chat", 2048, 40.14),
                ("qwen-14b-chat", 4096, 47.95), ("qwen-14b-chat", 8192, 60.74)]:
    cfg = {"qwen-1_8b-chat": QWEN_1_8B, "qwen-7b-chat": QWEN_7B, "qwen-14b-chat": QWEN_14B}[n]
    CASES.append(case("SWIFT", n, cfg, m, GiB, "reserved", f"LoRA, max_length {L}", False, **dict(SWIFT, seq_len=L)))
for n, L, m in [("qwen-1_8b-chat", 512, 18.16), ("qwen-1_8b-chat", 1024, 18.62), ("qwen-1_8b-chat", 2048, 35.11),
                ("qwen-1_8b-chat", 4096, 31.62), ("qwen-1_8b-chat", 8192, 38.93),
                ("qwen-7b-chat", 512, 73.37), ("qwen-7b-chat", 1024, 73.64), ("qwen-7b-chat", 2048, 74.26),
                ("qwen-7b-chat", 4096, 78.76)]:
    cfg = {"qwen-1_8b-chat": QWEN_1_8B, "qwen-7b-chat": QWEN_7B}[n]
    CASES.append(case("SWIFT", n, cfg, m, GiB, "reserved", f"full, max_length {L}", False, **dict(SWIFT_FULL, seq_len=L)))
for b, m in [(2, 43.11), (4, 63.81), (8, 76.14)]:
    CASES.append(case("SWIFT", "qwen-7b-chat", QWEN_7B, m, GiB, "reserved", f"LoRA, 2048, batch {b}", False,
                      **dict(SWIFT, seq_len=2048, per_device_train_batch_size=b)))
for fa, gc, m in [(True, False, 37.70), (False, True, 27.71), (False, False, 57.67)]:
    CASES.append(case("SWIFT", "qwen-7b-chat", QWEN_7B, m, GiB, "reserved",
                      f"LoRA, 2048, flash {'on' if fa else 'off'}, checkpointing {'on' if gc else 'off'}", False,
                      **dict(SWIFT, seq_len=2048, attn="sdpa" if fa else "eager", gradient_checkpointing=gc)))
for r, tgt, m in [(64, QKV, 27.85), (8, True, 27.87)]:
    lc = (LoraConfig(r=r, target_modules=tgt.target_modules, lora_dropout=0.05) if tgt is not True
          else LoraConfig(r=8, target_modules="all-linear", lora_dropout=0.05))
    CASES.append(case("SWIFT", "qwen-7b-chat", QWEN_7B, m, GiB, "reserved",
                      f"LoRA r={r} {'DEFAULT' if tgt is QKV else 'ALL'}, 2048", False, **dict(SWIFT, seq_len=2048, peft_config=lc)))
for n, cfg, L, rows in [("phi-1.5", PHI_1_5, 1044, [(1, False, 4.82), (1, True, 3.72), (2, False, 6.76), (4, False, 10.68)]),
                        ("Llama 2 7B", LLAMA2_7B, 1304, [(1, False, 21.30), (1, True, 13.84), (2, False, 29.07)]),
                        ("Llama 2 13B", LLAMA2_13B, 1304, [(1, False, 38.12), (1, True, 22.55)])]:
    for b, q, m in rows:
        CASES.append(case("LITGPT", n, cfg, m, GB, "allocated", f"LoRA q,v{' nf4-dq' if q else ''}, micro-batch {b}",
                          **dict(LITGPT, peft_config=QV, seq_len=L, per_device_train_batch_size=b, quantize_4bit=q)))

QWEN_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]   # c_attn, c_proj, w1, w2
QWEN = dict(images_per_row=0, gradient_checkpointing=True, per_device_train_batch_size=1, gradient_accumulation_steps=8,
            fused_lm_head=False, optim="adamw_torch")
QWEN_LORA = LoraConfig(r=64, lora_alpha=16, lora_dropout=0.05, target_modules=QWEN_TARGETS)
QWEN_EMB = LoraConfig(r=64, lora_alpha=16, lora_dropout=0.05, target_modules=QWEN_TARGETS,
                      modules_to_save=["embed_tokens", "lm_head"])   # finetune.py on a base model: wte, lm_head
QWEN_TABLE = {  # README "Profiling of Memory and Speed", GB at 256, 512, 1024, 2048, 4096, 8192 tokens
    ("Qwen-1.8B-Chat", "LoRA"): (QWEN_1_8B, QWEN_LORA, [6.7, 7.4, 8.4, 11.0, 16.2, 21.8]),
    ("Qwen-1.8B", "LoRA (emb)"): (QWEN_1_8B, QWEN_EMB, [13.7, 14.0, 14.0, 15.1, 19.7, 27.7]),
    ("Qwen-7B-Chat", "LoRA"): (QWEN_7B, QWEN_LORA, [20.1, 20.4, 21.5, 23.8, 29.7, 36.6]),
    ("Qwen-7B", "LoRA (emb)"): (QWEN_7B, QWEN_EMB, [33.7, 34.1, 35.2, 35.1, 39.2, 48.5]),
    ("Qwen-14B-Chat", "LoRA"): (QWEN_14B, QWEN_LORA, [34.6, 35.1, 35.3, 37.4, 42.5, 55.2]),
    ("Qwen-14B", "LoRA (emb)"): (QWEN_14B, QWEN_EMB, [51.2, 51.1, 51.5, 54.1, 56.8, 67.7])}
for (n, method), (cfg, lc, ms) in QWEN_TABLE.items():
    for L, m in zip([256, 512, 1024, 2048, 4096, 8192], ms):
        CASES.append(case("QWEN", n, cfg, m, GiB, "nvidia-smi", f"{method}, {L} tokens", **dict(QWEN, peft_config=lc, seq_len=L)))

QWEN_VL = dict(model_type="llava", vision_config=dict(model_type="clip_vision_model", hidden_size=1664, intermediate_size=8192,
               num_hidden_layers=48, num_attention_heads=16, image_size=448, patch_size=14),
               text_config=QWEN_7B, vision_feature_layer=-1, vision_feature_select_strategy="full", image_seq_length=256)
VL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj"]   # c_attn, attn.c_proj, w1, w2
VL = dict(QWEN, images_per_row=1, image_tokens=256, image_patches=1024, attn="eager")
for method, save, ms in [("LoRA (Chat)", None, [23.3, 23.6, 25.1, 27.3]),
                         ("LoRA (Base)", ["embed_tokens", "lm_head"], [37.1, 37.3, 38.7, 38.7])]:
    lc = LoraConfig(r=64, lora_alpha=16, lora_dropout=0.05, target_modules=VL_TARGETS, modules_to_save=save)
    for L, m in zip([384, 512, 1024, 2048], ms):
        CASES.append(case("QWENVL", "Qwen-VL" + ("-Chat" if save is None else ""), QWEN_VL, m, GiB, "nvidia-smi",
                          f"{method}, {L} tokens, one 448 px image", **dict(VL, peft_config=lc, seq_len=L - 256)))

def litgpt_head(e, c):
    "LitGPT's LM head in place of TRL's tiled one: bf16 logit chunks plus their bf16 log-softmax, 4 bytes per logit."
    rows, tokens = c["kw"]["per_device_train_batch_size"], c["kw"]["seq_len"]
    return rows * tokens * e._config.get_text_config().vocab_size * 4 - e.breakdown.get("LM head (tiled logits)", 0)

def estimate(c, metric=None):
    "The estimate for case `c` in bytes, in the source's metric (or `metric`)."
    e = estimate_memory(c["model"], "sft", **c["kw"])
    metric = metric or c["metric"]
    est = {"reserved": e.reserved, "allocated": e.allocated, "nvidia-smi": e.nvidia_smi}[metric]
    return est + (litgpt_head(e, c) if c["source"] == "LITGPT" else 0)

def summary(errs, label):
    "One line: how many, median |error|, within ±10% and ±25%, the worst case."
    a = sorted(abs(x) for x, _ in errs)
    worst, wc = max(errs, key=lambda t: abs(t[0]))
    return (f"{label}: {len(errs)} cases; median |error| {statistics.median(a):.1%}; within ±10%: {sum(x <= 0.10 for x in a)}; "
            f"within ±25%: {sum(x <= 0.25 for x in a)}; worst {worst:+.1%} ({wc['source']} {wc['name']}, {wc['settings']})")

def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    warnings.simplefilter("ignore")
    errs = []
    for determined in (True, False):
        print(f"\n{'Determined by the published settings (the target)' if determined else 'Run-dependent: reserved after a run of varying-length rows (not in the target)'}\n")
        print(f"| source | model | settings | metric | measured GB | estimate GB | error |\n|---|---|---|---|---|---|---|")
        for c in [c for c in CASES if c["determined"] == determined]:
            est, got = estimate(c), c["measured"] * c["unit"]
            errs.append((est / got - 1, c))
            print(f"| {c['source']} | {c['name']} | {c['settings']} | {c['metric']} | {got/1e9:.2f} | {est/1e9:.2f} | {est/got-1:+.1%} |", flush=True)
    det = [(x, c) for x, c in errs if c["determined"]]
    print("\n" + summary(det, "TARGET (determined cases)") + ". Target: median |error| <= 10%, none beyond ±25%.")
    print(summary([(x, c) for x, c in errs if not c["determined"]], "Run-dependent (ms-swift)"))
    print(summary(errs, "All cases together") + f". RESERVED_OVERHEAD = {RESERVED_OVERHEAD:.0%}.")
    for src in dict.fromkeys(c["source"] for _, c in errs):
        for peft in (True, False):
            xs = [(x, c) for x, c in errs if c["source"] == src and bool(c["kw"]["peft_config"]) == peft]
            if xs: print(f"{src} {'LoRA' if peft else 'full'} ({len(xs)} cases, {xs[0][1]['metric']}): median |error| "
                         f"{statistics.median(abs(x) for x, _ in xs):.1%}, median error {statistics.median(x for x, _ in xs):+.1%}")
    qw = [c for c in CASES if c["source"] in ("QWEN", "QWENVL")]
    for alt, unit in (("allocated", GiB), ("nvidia-smi", GB)):
        xs = [estimate(c, alt) / (c["measured"] * unit) - 1 for c in qw]
        print(f"QWEN and QWENVL read as {alt} in {'GiB' if unit == GiB else 'GB'}: median |error| {statistics.median(abs(x) for x in xs):.1%}, "
              f"range {min(xs):+.1%} to {max(xs):+.1%}")

if __name__ == "__main__": main()
