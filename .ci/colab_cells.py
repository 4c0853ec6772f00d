"""Make every numbered notebook (nbs/0*.ipynb) Colab-ready: right after its title cell, an "Open in Colab" badge, an
install cell (hidden in the docs; it installs vlm_align only inside Colab, so nbdev-test and CI never run pip), and a GPU
check that prints the GPU found and whether it supports bf16 (or that the tiny offline model will be used).

The three cells have fixed ids derived from the notebook's name, so the script is idempotent: running it again on
changed notebooks puts the three cells back in place with the current text and changes nothing else.
`python .ci/colab_cells.py` writes the notebooks; `--check` exits 1 if any notebook would change. Run `nbdev-clean` after.
"""
import hashlib, io, json, sys, contextlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _repo():
    "owner/name and branch of the GitHub repository, from pyproject.toml's nbdev settings."
    try:
        from nbdev.config import get_config
        cfg = get_config(ROOT)
        url, branch = cfg.git_url, cfg.branch
    except Exception:
        import tomllib
        t = tomllib.loads((ROOT/'pyproject.toml').read_text())
        url, branch = t['project']['urls']['Repository'], 'main'
    return url.rstrip('/').removeprefix('https://github.com/'), branch

INSTALL = '''#| hide
# Colab only: install vlm_align. Anywhere else (a local clone, nbdev-test, CI) this cell does nothing.
import sys, subprocess
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "vlm_align"], check=True)'''

GPU = '''import torch
if torch.cuda.is_available():
    gpu = torch.cuda.get_device_properties(0)
    print(f"GPU: {gpu.name}, {gpu.total_memory / 2**30:.0f} GiB; bf16 "
          + ("supported" if torch.cuda.is_bf16_supported() else "not supported: train in fp16 (bf16=False, fp16=True)"))
else:
    print("no GPU: cells that load a model use its tiny offline twin, on the CPU "
          "(in Colab: Runtime > Change runtime type > GPU, for the real model)")'''

def cell_id(stem, kind): return hashlib.sha1(f'{stem}:colab:{kind}'.encode()).hexdigest()[:8]

def _cpu_output():
    "What the GPU check prints here (run once, so a new cell arrives with its output, as a notebook run leaves it)."
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): exec(GPU, {})
    return buf.getvalue()

def colab_cells(nb_path, repo, branch, gpu_out):
    "The notebook with the three Colab cells placed after its title cell (existing copies replaced in place)."
    nb = json.loads(nb_path.read_text())
    stem = nb_path.stem
    ids = {k: cell_id(stem, k) for k in ('badge', 'install', 'gpu')}
    old = {c.get('id'): c for c in nb['cells'] if c.get('id') in ids.values()}
    cells = [c for c in nb['cells'] if c.get('id') not in ids.values()]
    title = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and ''.join(c['source']).lstrip().startswith('# ')), None)
    if title is None: raise SystemExit(f'{nb_path}: no title cell ("# Title") to put the Colab cells after')
    url = f'https://colab.research.google.com/github/{repo}/blob/{branch}/nbs/{nb_path.name}'
    badge_src = f'[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})'
    def src(s): return s.splitlines(True)
    badge = {'cell_type': 'markdown', 'id': ids['badge'], 'metadata': {}, 'source': src(badge_src)}
    install = {'cell_type': 'code', 'execution_count': None, 'id': ids['install'], 'metadata': {}, 'outputs': [], 'source': src(INSTALL)}
    prev = old.get(ids['gpu'])
    outs = prev['outputs'] if prev and ''.join(prev['source']) == GPU and prev.get('outputs') else \
        [{'name': 'stdout', 'output_type': 'stream', 'text': src(gpu_out)}]
    gpu = {'cell_type': 'code', 'execution_count': None, 'id': ids['gpu'], 'metadata': {}, 'outputs': outs, 'source': src(GPU)}
    cells[title + 1:title + 1] = [badge, install, gpu]
    nb['cells'] = cells
    return nb

def main():
    check = '--check' in sys.argv
    repo, branch = _repo()
    gpu_out, changed = _cpu_output(), []
    for p in sorted((ROOT/'nbs').glob('0*.ipynb')):
        before = p.read_text()
        nb = colab_cells(p, repo, branch, gpu_out)
        # compare as data: formatting is nbdev-clean's job
        if json.loads(before) != nb:
            changed.append(p.name)
            if not check: p.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n')  # nbdev-clean's layout
    if check and changed: sys.exit(f'Colab cells missing or out of date in {changed}: run `python .ci/colab_cells.py && nbdev-clean`')
    print(f'{"would change" if check else "updated"} {len(changed)} notebooks: {", ".join(changed) or "none"}')

if __name__ == '__main__': main()
