"""Why ms-swift's LoRA figures sit far above `estimate_memory(...).reserved`: the caching allocator, fed rows of varying length.

    python benchmarks/vram_fragmentation.py [--seeds 3] [--cases 1_8b] [--fixed]

ms-swift 1.x's benchmark (docs/source_en/LLM/Benchmark.md, commit 4692215) prints `torch.cuda.max_memory_reserved` after
a whole `swift sft` run over cls-fudan-news-zh, whose rows vary from 91 to 19,548 tokens (3234.4 ± 2547.5, published),
one row per step (batch 1, no padding), rows longer than `--max_length` dropped (`truncation_strategy='delete'`), every
row of the 4,959 when max_length <= 2048 and a 1,000-row sample above (scripts/benchmark/test_memory_time/run_single.py).
PyTorch's caching allocator keeps every block it ever got from cudaMalloc and reuses a cached block only when it is at
least as large as the request (best fit, split, merged only within its own segment); a step longer than any before
needs new segments, and the pieces left at the ends of the old ones stay reserved. PyTorch's own documentation names
this case ("a changing batch size" — here, a changing sequence length) as the cause of fragmentation
(docs.pytorch.org/docs/stable/notes/cuda.html, "expandable_segments").

This script measures it on the CPU, with nothing fitted:
1. one training step of the model is traced on fake tensors (the sizes and the order of every allocation and free),
   at two lengths, so each allocation's size is exact as a function of the row length (they are linear with SDPA);
   the step is swift's: bf16 weights, LoRA on q/k/v (Qwen's fused c_attn; its dropout left out: under checkpointing
   its masks live for one layer at a time), gradient checkpointing, the Qwen-1 remote
   code's loss (bf16 logits, the log-softmax in fp32 under autocast) and accelerate's `convert_outputs_to_fp32` copy of
   the logits (accelerate/accelerator.py, `prepare_model` with native AMP);
2. row lengths are drawn like swift's: log-normal with the published mean and spread, clipped to the published
   min/max, filtered and sampled as above, in random order (the Trainer's RandomSampler);
3. the allocation sequence of every step is replayed through a model of PyTorch's CUDACachingAllocator for large
   blocks (> 1 MiB; c10/cuda/CUDACachingAllocator.cpp: sizes rounded to 512 B, new segments rounded to 2 MiB, best-fit
   search ordered by size then address, split when more than 1 MiB remains, merge with free neighbours in the same
   segment, cached segments released only when a cudaMalloc would exceed the 80 GiB A100).
Its peak `reserved` is a random variable of the row order: the script prints the spread over a few seeds. Weights are
counted once (allocated = reserved for them); small blocks (<= 1 MiB, their own pool) are left out.
"""
import argparse, bisect, math, random, statistics, sys, warnings, weakref
from pathlib import Path
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).parent))
from vram_published import QWEN_1_8B, QWEN_7B, QWEN_14B, GiB   # the same shapes the published benchmark maps

MiB = 2**20

class Events(TorchDispatchMode):
    "Record every new tensor storage (allocation) and its release (free), in order."
    def __init__(self): super().__init__(); self.ev, self.live, self.n = [], {}, 0
    def track(self, t):
        st = t.untyped_storage(); k = st._cdata
        if k in self.live: return
        i = self.n; self.n += 1; self.ev.append(("a", i, st.nbytes()))
        def gone(_, i=i, k=k): self.ev.append(("f", i, 0)); self.live.pop(k, None)
        self.live[k] = weakref.ref(st, gone)
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor): self.track(t)
        return out

def swift_step(cfg_dict, T):
    "Allocation events of one swift LoRA step on a row of T tokens, traced on fake tensors."
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from peft import LoraConfig, get_peft_model
    from vlm_align.vram_machinery import _fake
    cfg = Qwen2Config(**{k: v for k, v in cfg_dict.items() if k != "model_type"}); cfg._attn_implementation = "sdpa"
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
        m.gradient_checkpointing_enable(gradient_checkpointing_kwargs=dict(use_reentrant=True))  # Qwen-1: reentrant
        m.enable_input_require_grads()                                                           # swift sft.py
        m = get_peft_model(m, LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj"])).train()
    mode, ev = _fake(m), Events()
    with mode: ids = torch.randint(0, 1000, (1, T))
    inner = m.base_model.model
    with mode, ev, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hs = inner.model(input_ids=ids, use_cache=False).last_hidden_state
        logits = inner.lm_head(hs); del hs                                    # bf16 logits
        shift = logits[..., :-1, :].contiguous()                              # Qwen-1 remote code's shift
        loss = torch.nn.functional.cross_entropy(shift.float().view(-1, shift.size(-1)), ids[..., 1:].reshape(-1))
        del shift                                                             # log-softmax in fp32 (autocast)
        out = logits.float(); del logits                                      # accelerate: outputs converted to fp32
        acc = out.argmax(dim=2); del out, acc                                 # swift's token accuracy
        loss.backward(); del loss
        for p in m.parameters(): p.grad = None
    return ev.ev

def step_sizes(cfg_dict):
    "Each allocation of a step as (kind, id, bytes at T=0, bytes per token), from traces at 256 and 512 tokens."
    a, b = swift_step(cfg_dict, 256), swift_step(cfg_dict, 512)
    assert [x[:2] for x in a] == [x[:2] for x in b], "the step's allocation order depends on the length"
    out = []
    for x, y in zip(a, b):
        per = (y[2] - x[2]) / 256
        # sizes that do not grow with T and exceed 1 MiB are weight-sized copies the CPU matmul makes; CUDA's does not
        if x[0] == "a" and per == 0 and x[2] > MiB: continue
        out.append((x[0], x[1], x[2] - per * 256, per))
    return out

class CachingAllocator:
    "PyTorch's CUDACachingAllocator for large blocks, default settings, one stream."
    def __init__(self, capacity):
        self.free_blocks, self.blocks, self.ends, self.segments, self.owner = [], {}, {}, {}, {}
        self.nseg = self.reserved = self.allocated = self.peak_reserved = self.peak_allocated = 0; self.capacity = capacity
    def _add(self, seg, off, size, free):
        self.blocks[(seg, off)] = [size, free]; self.ends[(seg, off + size)] = off
        if free: bisect.insort(self.free_blocks, (size, seg, off))
    def _remove(self, seg, off):
        size, free = self.blocks.pop((seg, off)); del self.ends[(seg, off + size)]
        if free: del self.free_blocks[bisect.bisect_left(self.free_blocks, (size, seg, off))]
        return size
    def malloc(self, key, n):
        s = -(-n // 512) * 512
        i = bisect.bisect_left(self.free_blocks, (s, -1, -1))
        if i == len(self.free_blocks):                    # no cached block fits: a new segment
            seg_size = 20 * MiB if s < 10 * MiB else -(-s // (2 * MiB)) * 2 * MiB
            if self.reserved + seg_size > self.capacity: self.release()
            seg = self.nseg; self.nseg += 1; self.segments[seg] = seg_size
            self.reserved += seg_size; self.peak_reserved = max(self.peak_reserved, self.reserved)
            self._add(seg, 0, seg_size, True); i = bisect.bisect_left(self.free_blocks, (s, -1, -1))
        size, seg, off = self.free_blocks[i]; self._remove(seg, off)
        if size - s > MiB: self._add(seg, off, s, False); self._add(seg, off + s, size - s, True)
        else: self._add(seg, off, size, False); s = size
        self.owner[key] = (seg, off); self.allocated += s; self.peak_allocated = max(self.peak_allocated, self.allocated)
    def free(self, key):
        seg, off = self.owner.pop(key); size = self._remove(seg, off); self.allocated -= size
        nxt = self.blocks.get((seg, off + size))
        if nxt and nxt[1]: size += self._remove(seg, off + size)
        prev = self.ends.get((seg, off))
        if prev is not None and self.blocks[(seg, prev)][1]: size += self._remove(seg, prev); off = prev
        self._add(seg, off, size, True)
    def release(self):
        for size, seg, off in list(self.free_blocks):
            if off == 0 and size == self.segments[seg]: self._remove(seg, off); self.reserved -= size; del self.segments[seg]

def swift_lengths(max_length, seed, rows=4959, mean=3234.4, sd=2547.5, lo=91, hi=19548):
    "Row lengths as swift's benchmark trains them, in training order."
    r = random.Random(seed); s2 = math.log(1 + (sd / mean) ** 2)
    xs = [min(hi, max(lo, round(r.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))))) for _ in range(rows)]
    if max_length > 2048: xs = r.sample(xs, 1000)
    xs = [x for x in xs if x <= max_length]; r.shuffle(xs)
    return xs

def replay(sizes, lengths, weights, capacity=80 * GiB):
    "Peak (allocated, reserved) bytes over the run: weights plus the replayed steps."
    A = CachingAllocator(capacity - weights)
    for k, T in enumerate(lengths):
        for kind, i, c0, per in sizes:
            if kind == "a":
                n = int(c0 + per * T)
                if n > MiB: A.malloc((k, i), n)
            elif (k, i) in A.owner: A.free((k, i))
    return weights + A.peak_allocated, weights + A.peak_reserved

MEASURED = {  # ms-swift Benchmark.md, "GPU Memory (GiB)", LoRA, batch 1, checkpointing and flash attention on
    "1_8b": (QWEN_1_8B, {512: 6.99, 1024: 10.71, 2048: 16.35, 4096: 23.80, 8192: 37.03}),
    "7b": (QWEN_7B, {512: 18.01, 1024: 21.73, 2048: 27.74, 4096: 35.31, 8192: 48.41}),
    "14b": (QWEN_14B, {512: 30.14, 1024: 34.43, 2048: 40.14, 4096: 47.95, 8192: 60.74})}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3); ap.add_argument("--cases", nargs="+", default=["1_8b"], choices=list(MEASURED))
    ap.add_argument("--fixed", action="store_true", help="replay 10 steps of exactly max_length tokens instead (one shape)")
    a = ap.parse_args()
    from vlm_align.vram import estimate_memory
    from vram_published import SWIFT
    print("| model | max_length | rows | measured reserved GB | estimate allocated GB | replayed allocated GB "
          "| replayed reserved GB (seeds) | measured / estimate allocated |\n|---|---|---|---|---|---|---|---|")
    for name in a.cases:
        cfg, measured = MEASURED[name]
        sizes = step_sizes(cfg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = estimate_memory(cfg, "sft", **dict(SWIFT, seq_len=512)).breakdown["weights"]
        for L, m in measured.items():
            if a.fixed:   # steps of one shape: what the allocator reserves beyond the allocated peak without fragmentation
                al, re = replay(sizes, [L] * 10, W)
                print(f"| qwen-{name}-chat | {L} | 10 of {L} tokens | allocated {al / 1e9:.2f} | reserved {re / 1e9:.2f} | "
                      f"{(re - al) / al:+.1%} of allocated | {(re - al) / (al - W):+.1%} of the step's transient |", flush=True)
                continue
            est = estimate_memory(cfg, "sft", **dict(SWIFT, seq_len=L)).allocated
            runs = [replay(sizes, swift_lengths(L, s), W) for s in range(a.seeds)]
            res = sorted(r for _, r in runs)
            print(f"| qwen-{name}-chat | {L} | {len(swift_lengths(L, 0))} | {m * GiB / 1e9:.2f} | {est / 1e9:.2f} | "
                  f"{max(x for x, _ in runs) / 1e9:.2f} | {statistics.median(res) / 1e9:.2f} ({', '.join(f'{r / 1e9:.1f}' for r in res)}) "
                  f"| {m * GiB / est:.2f} |", flush=True)

if __name__ == "__main__": main()
