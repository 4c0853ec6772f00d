"""Check the docs site without Quarto (it cannot be installed here; `nbdev-docs` builds the real site where it can).

1. Runs nbdev's notebook processing for the docs on every page of nbs/ -- the pipeline `nbdev-docs`/`nbdev-proc-nbs`
   use (`nbdev.serve._proc_file` + `nbdev.serve_drv.main` with nbdev's `FilterDefaults` processors: frontmatter,
   show_doc execution, hidden/exported cells removed, doc links) -- into `_docs_check/_proc/`.
2. Renders each processed page to HTML with nbconvert (plots embedded) into `_docs_check/<page>.html`, honouring the
   Quarto cell options nbdev leaves behind (`echo`, `output`, `include`), with the journey sidebar of nbs/sidebar.yml.
3. Fails on: processing errors; a numbered chapter without its Colab cells (.ci/colab_cells.py); a public function or class in a module's `__all__` without a docstring or without an
   explicit `show_doc` in its notebook; a `**kwargs` docment that lands on the return type; broken internal links (other
   pages, anchors, repository source links); sidebar.yml / nbdev.yml that nbdev-docs would rewrite or that miss pages.
4. Scans rendered outputs for local paths, stray warnings and progress-bar debris (`--strict-outputs` makes them fail).

Usage: `python .ci/docs_check.py [--out _docs_check] [--strict-outputs] [-n 2]`; prints a summary, exits 1 on failure.
"""
import argparse, ast, html, inspect, importlib, json, os, re, sys, time, warnings
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse, urldefrag

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # a scratch copy of the repository checks its own vlm_align, not an installed one
os.environ['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])

def _proc_one(args):
    """Process one notebook as nbdev-docs does (in a fresh process); return (page, errors, nbdev's warnings).
    nbdev stops at the first cell that fails while it runs the cells show_doc needs; here that failure is recorded, the
    cell keeps its saved outputs and processing goes on, so every failing cell is listed and the page still renders."""
    src, dst = map(Path, args)
    os.chdir(ROOT)
    import copy
    import nbdev.serve_drv, nbdev.processors as procs
    errors, run = [], procs.exec_show_docs.__call__
    def _tolerant(self, cell):
        outs = copy.deepcopy(cell.get('outputs'))
        try: run(self, cell)
        except Exception as e:
            errors.append(f'{type(e).__name__}: {e}')
            self.k.exc = None                       # the shell keeps the exception; nbdev would have stopped here
            if outs is not None: cell['outputs'] = outs
    procs.exec_show_docs.__call__ = _tolerant
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: nbdev.serve_drv.main((src, dst, procs.FilterDefaults))
        except Exception as e: errors.append(f'{type(e).__name__}: {e}')
    nbdev_ws = sorted({str(w.message).strip() for w in ws if 'nbdev' in (w.filename or '')})
    Path(str(dst) + '.log.json').write_text(json.dumps([errors, nbdev_ws]))   # for --keep
    return src.name, errors, nbdev_ws

# ---------------------------------------------------------------- rendering
_re_attr = re.compile(r'\)\{[^{}\n]*\}')
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def _quarto_opts(src):
    "Split the `#| key: value` lines nbdev leaves for Quarto from a cell's source."
    lines, opts = src.splitlines(), {}
    while lines and (m := _re_dir.match(lines[0])):
        opts[m.group(1)] = m.group(2).strip('"\''); lines.pop(0)
    return opts, '\n'.join(lines)

def pandoc_id(text):
    "The id pandoc (so Quarto) gives a heading: lowercase, punctuation but _-. dropped, spaces to hyphens, from the first letter."
    t = re.sub(r'[^\w\s.-]', '', text.strip().lower(), flags=re.UNICODE)
    t = re.sub(r'\s+', '-', t)
    t = re.sub(r'^[^a-z]+', '', t)
    return t or 'section'

def _sidebar(sidebar_yml):
    import yaml
    cfg = yaml.safe_load(sidebar_yml.read_text()) or {}
    return cfg.get('website', {}).get('sidebar', {}).get('contents', [])

def _flatten(contents):
    for c in contents:
        if isinstance(c, str): yield None, c
        elif isinstance(c, dict) and 'contents' in c:
            for _, f in _flatten(c['contents']): yield c.get('section'), f
        elif isinstance(c, dict) and 'href' in c: yield None, c['href']

CSS = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
#dc-side{position:fixed;top:0;left:0;bottom:0;width:230px;overflow:auto;background:#f7f7f9;border-right:1px solid #ddd;padding:12px;font-size:14px}
#dc-side a{display:block;padding:2px 0;color:#2c3e50;text-decoration:none}#dc-side a.dc-cur{font-weight:bold;color:#2780e3}
#dc-side .dc-sec{margin-top:10px;font-weight:600;color:#555}
#dc-main{margin-left:260px;max-width:1050px;padding:0 20px}
.dc-desc{font-size:1.15em;color:#555;border-left:4px solid #ddd;padding-left:10px}
"""

def render(proc_nb, out_dir, pages, nav, site_url):
    "Render one processed notebook to HTML; return (output file name, html text)."
    import nbformat, yaml
    from nbconvert import HTMLExporter
    nb = nbformat.read(proc_nb, as_version=4)
    fm = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.lstrip().startswith('---'):
        fm = yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}
        nb.cells = nb.cells[1:]
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw': continue          # Quarto-only content (the autogenerated warning is markdown)
        c.metadata.pop('execution', None)       # execnb's timings (floats) fail nbformat's schema
        if c.cell_type == 'code':
            for o in c.get('outputs', []):               # pandoc link attributes ({target="_blank" ...}) are Quarto-only
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = _re_attr.sub(')', md if isinstance(md, str) else ''.join(md))
            opts, c.source = _quarto_opts(c.source)
            if opts.get('include') == 'false': continue
            tags = set(c.metadata.get('tags', []))
            if opts.get('echo') == 'false' or not c.source.strip(): tags.add('dc_remove_input')
            if opts.get('output') == 'false': c.outputs = []
            if not c.source.strip() and not c.outputs: continue
            c.metadata['tags'] = sorted(tags)
        cells.append(c)
    title, desc = fm.get('title', proc_nb.stem), fm.get('description', '')
    head = nbformat.v4.new_markdown_cell(f'# {title}' + (f'\n\n<p class="dc-desc">{html.escape(str(desc))}</p>' if desc else ''))
    nb.cells = [head] + cells
    exp = HTMLExporter(template_name='lab', embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)
    from nbconvert.preprocessors import TagRemovePreprocessor
    trp = TagRemovePreprocessor(remove_input_tags={'dc_remove_input'}, enabled=True)
    nb, _ = trp.preprocess(nb, {})
    body, _ = exp.from_notebook_node(nb, resources={'metadata': {'name': title}})
    # headings get the ids pandoc/Quarto give them, so the anchors nbdev links to can be checked
    def _hid(m):
        inner = re.sub(r'<a class="anchor-link".*?</a>', '', m.group(3), flags=re.S)
        text = html.unescape(re.sub(r'<[^>]+>', '', inner))
        return f'<h{m.group(1)} id="{pandoc_id(text)}">{inner}</h{m.group(1)}>'
    body = re.sub(r'<h([1-6])(\s[^>]*)?>(.*?)</h\1>', _hid, body, flags=re.S)
    # the site's absolute doc links become relative, so the local pages navigate like the site
    body = body.replace(f'href="{site_url}/', 'href="')
    out = fm.get('output-file', proc_nb.stem + '.html')
    side = ['<nav id="dc-side"><b>vlm_align</b>']
    last = None
    for sec, f in nav:
        if sec != last and sec: side.append(f'<div class="dc-sec">{html.escape(sec)}</div>')
        last = sec
        target = pages.get(f, f)
        cls = ' class="dc-cur"' if target == out else ''
        side.append(f'<a href="{target}"{cls}>{html.escape(Path(f).stem)}</a>')
    side.append('</nav>')
    body = body.replace('<body', '<body data-docs-check="1"', 1)
    body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + ''.join(side) + '<div id="dc-main">', body, count=1)
    body = body.replace('</body>', '</div></body>').replace('</head>', f'<style>{CSS}</style></head>', 1)
    (out_dir/out).write_text(body)
    return out, body, nb

class _Links(HTMLParser):
    def __init__(self):
        super().__init__(); self.ids, self.hrefs = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if a.get('name') and tag == 'a': self.ids.add(a['name'])
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])

# ---------------------------------------------------------------- output hygiene
_re_path = re.compile(r'(?<![\w.])(/work/|/tmp/|/home/|/root/|/Users/|[A-Z]:\\Users\\)')
_re_warn = re.compile(r'\b(\w*Warning|WARNING|warnings\.warn)\b')
_re_bar = re.compile(r'(\r(?!\n)|\d+%\|[^|\n]{0,80}\||\[\d+:\d+<\d+:\d+|\d+(?:\.\d+)?(?:it|s)/(?:s|it)\]|[█▉▊▋▌▍▎▏]{3,})')

def _out_text(o):
    j = lambda v: v if isinstance(v, str) else ''.join(v)
    if o.get('output_type') == 'stream': return j(o.get('text', ''))
    if o.get('output_type') == 'error': return '\n'.join(o.get('traceback', []))
    d = o.get('data', {})
    return '\n'.join(str(d[k]) if isinstance(d[k], str) else ''.join(d[k]) for k in ('text/plain', 'text/markdown', 'text/html') if k in d)

def hygiene(nb_json):
    "Offending (cell index, kind, snippet) in the outputs of a processed notebook."
    found = []
    for i, c in enumerate(nb_json['cells']):
        i = f"id {c['id']}" if c.get('id') else f'#{i}'      # the source notebook's cell id, where it has one
        for o in c.get('outputs', []):
            if o.get('output_type') == 'display_data' and 'application/vnd.jupyter.widget-view+json' in o.get('data', {}):
                found.append((i, 'widget', 'a Jupyter widget (a progress bar?) that static docs cannot show'))
            t = _out_text(o)
            if o.get('output_type') == 'error': found.append((i, 'error', t.splitlines()[-1][:120] if t else 'error'))
            for kind, rx in (('local path', _re_path), ('warning', _re_warn), ('progress bar', _re_bar)):
                m = rx.search(t)
                if m:
                    line = t[max(0, t.rfind('\n', 0, m.start()) + 1): m.end() + 80].split('\n')[0].replace('\r', '\\r')
                    found.append((i, kind, line[:160]))
    return found

# ---------------------------------------------------------------- documentation of the public API
def _src_cells(nb_path):
    return [''.join(c['source']) for c in json.loads(nb_path.read_text())['cells'] if c['cell_type'] == 'code']

def api_problems(modidx, page_nb):
    "Public functions/classes of each module's __all__ without a docstring, a show_doc in their notebook, or with a misplaced docment."
    from fastcore.docments import docments
    problems, counted, exempt = [], 0, []
    for modname in sorted(modidx['syms']):
        mod = importlib.import_module(modname)
        page = None
        for sym, (url, _) in modidx['syms'][modname].items():
            page = url.split('#')[0]; break
        nb = page_nb.get(page)
        srcs = '\n'.join(_src_cells(nb)) if nb else ''
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name, None)
            if obj is None: problems.append(f'{modname}.{name} is in __all__ but not defined'); continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or getattr(obj, '__module__', modname) != modname:
                exempt.append(f'{modname}.{name}'); continue      # constants carry no docstring; documented in prose
            counted += 1
            where = f'{modname}.{name} ({nb.name if nb else "no notebook"})'
            if not (obj.__doc__ or '').strip(): problems.append(f'{where}: no docstring')
            if not re.search(rf'^\s*show_doc\(\s*{re.escape(name)}\s*[,)]', srcs, re.M):
                problems.append(f'{where}: exported but its notebook has no `show_doc({name})`')
            if inspect.isfunction(obj):
                sig = inspect.signature(obj)
                kw = [p.name for p in sig.parameters.values() if p.kind == p.VAR_KEYWORD]
                if kw:
                    try: d = docments(obj)
                    except Exception: d = {}
                    if d.get('return') and not d.get(kw[0]):
                        try: src = inspect.getsource(obj)
                        except OSError: src = ''
                        line = next((l for l in src.splitlines() if f'**{kw[0]}' in l), '')
                        if '#' in line and d['return'] in line:
                            problems.append(f'{where}: the comment on `**{kw[0]}` becomes the docment of the return type '
                                            f'("{d["return"][:60]}"): fastcore gives **kwargs no docment, so say it in the '
                                            f'docstring or prose, and give the return its own docment after `)->T:`')
    return problems, counted, exempt

# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='_docs_check', help='folder for the processed notebooks and HTML pages')
    ap.add_argument('--strict-outputs', action='store_true', help='fail on local paths, warnings, progress bars in outputs')
    ap.add_argument('--keep', action='store_true', help="reuse processed notebooks newer than their source (nbdev's cache rule)")
    ap.add_argument('-n', '--n-workers', type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args()
    t0 = time.time()
    os.chdir(ROOT)
    from nbdev.config import get_config, nbpath2html
    from nbdev.doclinks import nbglob
    from nbdev.serve import _proc_file
    from nbdev.quarto import _nbdev_yml
    cfg = get_config()
    nbs, out = cfg.nbs_path, (ROOT/a.out)
    site_url = f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/')
    import shutil
    if not a.keep: shutil.rmtree(out, ignore_errors=True)
    for f in out.glob('*.html'): f.unlink()
    (out/'_proc').mkdir(parents=True, exist_ok=True)
    fails, notes = [], []

    # configuration nbdev-docs would otherwise rewrite, and the journey sidebar
    vals = {k: cfg[k] for k in ['title', 'description', 'branch', 'git_url', 'doc_host', 'doc_baseurl']}
    vals['doc_path'] = cfg.doc_path.name
    if (nbs/'nbdev.yml').read_text() != _nbdev_yml.format(**vals):
        fails.append('nbs/nbdev.yml differs from what nbdev-docs writes from pyproject.toml (it would be overwritten): '
                     'copy it from `nbdev.quarto._nbdev_yml` formatted with the [tool.nbdev]/[project] settings')
    if not cfg.custom_sidebar: fails.append('custom_sidebar is false: nbdev-docs would regenerate nbs/sidebar.yml in file order')
    files = [f for f in nbglob(nbs, func=Path) if f.suffix == '.ipynb']
    pages = {f.name: nbpath2html(f).name for f in files}
    nav = list(_flatten(_sidebar(nbs/'sidebar.yml')))
    listed = [f for _, f in nav]
    for f in listed:
        if not (nbs/f).exists(): fails.append(f'sidebar.yml lists {f}, which does not exist')
    for f in sorted(pages):
        if f not in listed: fails.append(f'sidebar.yml does not list {f}')
    dup = {f for f in listed if listed.count(f) > 1}
    if dup: fails.append(f'sidebar.yml lists {sorted(dup)} more than once')
    # every numbered chapter has its Colab badge, install cell and GPU check (.ci/colab_cells.py)
    sys.path.insert(0, str(ROOT/'.ci'))
    import colab_cells
    (repo, branch), gpu_out = colab_cells._repo(), colab_cells._cpu_output()
    stale = [f.name for f in sorted(nbs.glob('0*.ipynb'))
             if json.loads(f.read_text()) != colab_cells.colab_cells(f, repo, branch, gpu_out)]
    if stale: fails.append(f'Colab cells missing or out of date in {stale}: run `python .ci/colab_cells.py && nbdev-clean`')

    # 1. nbdev's processing (the same per-file step proc_nbs runs, in fresh processes)
    jobs, kept = [], []
    for f in files:
        r = _proc_file(f, out/'_proc', nbs)
        if r: jobs.append((str(r[0]), str(r[1])))
        elif f.suffix == '.ipynb': kept.append((str(f), str(out/'_proc'/f.name)))
    t1 = time.time()
    def _run(job):
        r = subprocess.run([sys.executable, __file__, '--proc-one', *job], capture_output=True, text=True, cwd=ROOT)
        try: return tuple(json.loads(r.stdout.strip().splitlines()[-1]))
        except Exception: return Path(job[0]).name, [f'the processing worker died (exit {r.returncode}): {r.stderr[-1500:]}'], []
    with ThreadPoolExecutor(max_workers=max(1, a.n_workers)) as ex: results = list(ex.map(_run, jobs))
    for src, dst in kept:                                  # reused pages report what their processing reported
        log = Path(dst + '.log.json')
        if log.exists(): results.append((Path(src).name, *json.loads(log.read_text())))
    for name, errs, ws in results:
        for i, err in enumerate(errs):
            first = ' (nbdev-docs stops here)' if i == 0 else ''
            fails.append(f'processing {name}{first}: {err[:1200]}')
        mixed = [w for w in ws if w.startswith('Found cells containing imports and other code')]
        if mixed:
            firsts = '; '.join(repr(next((l for l in w.split('---')[1].strip().splitlines() if l.strip()), '')[:50]) for w in mixed)
            notes.append(f'{name}: {len(mixed)} cells mix imports with other code, so nbdev runs them while building the '
                         f'docs, out of order (imports belong in their own cells): {firsts}')
        for w in ws:
            if w not in mixed: notes.append(f'nbdev warned while processing {name}: {w[:300]}')
    t_proc = time.time() - t1

    # 2. HTML rendering
    t2 = time.time()
    rendered, hyg = {}, {}
    for src, dst in sorted(jobs + kept):
        dst = Path(dst)
        if not dst.exists(): continue
        try:
            name, body, _ = render(dst, out, pages, nav, site_url)
            rendered[name] = (Path(src).name, body)
            hyg[Path(src).name] = hygiene(json.loads(dst.read_text()))
            local = [m for m in re.findall(r'<img[^>]*\ssrc="([^"]+)"', body) if not m.startswith(('data:', 'http://', 'https://'))]
            if local: notes.append(f'{name}: images not embedded (the file was not found): {local[:5]}')
        except Exception as e: fails.append(f'rendering {Path(src).name} to HTML failed: {type(e).__name__}: {e}')
    t_render = time.time() - t2

    # 3a. public API documentation
    modidx = importlib.import_module(f'{cfg.lib_name}._modidx').d
    page_nb = {nbpath2html(f).name: f for f in files}
    api, counted, exempt = api_problems(modidx, page_nb)
    fails += api

    # 3b. internal links
    ids, n_links, n_src = {}, 0, 0
    for name, (_, body) in rendered.items():
        p = _Links(); p.feed(body); ids[name] = (p.ids, p.hrefs)
    git_url = cfg.git_url.rstrip('/')
    for name, (src, _) in rendered.items():
        for href in ids[name][1]:
            href = html.unescape(href)
            if href.startswith(f'{git_url}/blob/'):                   # source links: the file and line must exist
                n_src += 1
                path, frag = urldefrag(href[len(git_url) + len('/blob/'):])
                path = path.split('/', 1)[1] if '/' in path else path
                fp = ROOT/path
                if not fp.exists(): fails.append(f'{src}: link to {href}: {path} does not exist in the repository'); continue
                if frag.startswith('L') and frag[1:].isdigit() and int(frag[1:]) > len(fp.read_text().splitlines()):
                    fails.append(f'{src}: link to {href}: {path} has fewer than {frag[1:]} lines')
                continue
            u = urlparse(href)
            if u.scheme in ('http', 'https', 'mailto', 'data', 'javascript') or href.startswith('//'): continue
            n_links += 1
            target, frag = urldefrag(href)
            target = target.split('?')[0]
            if target.endswith(('.ipynb', '.qmd')): target = pages.get(Path(target).name, target.rsplit('.', 1)[0] + '.html')
            if target.endswith('.md') and (nbs/target).exists() is False and target[:-3] + '.html' in ids: target = target[:-3] + '.html'
            page = target or name
            if page not in ids:
                if not (nbs/target).exists(): fails.append(f'{src}: broken link {href!r}: no page {page}')
                continue
            if frag and frag not in ids[page][0]:
                fails.append(f'{src}: broken link {href!r}: {page} has no anchor #{frag}')

    # 4. outputs: local paths, warnings, progress bars
    offenders = [(nb, i, k, s) for nb, fs in sorted(hyg.items()) for i, k, s in fs]
    errs = [o for o in offenders if o[2] == 'error']
    for nb, i, k, s in errs: fails.append(f'{nb}: cell {i} shows an error output: {s}')
    soft = [o for o in offenders if o[2] != 'error']
    if a.strict_outputs:
        for nb, i, k, s in soft: fails.append(f'{nb}: cell {i}: {k}: {s}')

    # report
    print(f'docs check: {len(jobs)} pages processed by nbdev ({len(kept)} reused) in {t_proc:.0f}s, {len(rendered)} rendered to HTML in '
          f'{t_render:.0f}s -> {out.relative_to(ROOT) if ROOT in out.parents else out}/')
    print(f'  public API: {counted} functions/classes in __all__ checked for a docstring and show_doc '
          f'({len(exempt)} constants exempt); {n_links} internal links and {n_src} source links checked')
    for n in notes: print(f'  note: {n}')
    if soft:
        print(f'  {"FAIL" if a.strict_outputs else "warning"}: {len(soft)} outputs with local paths, warnings or progress bars:')
        for nb, i, k, s in soft: print(f'    {nb} cell {i}: {k}: {s}')
    else: print('  outputs: no local paths, warnings or progress-bar debris')
    if fails:
        print(f'docs check FAILED ({len(fails)} problems, {time.time() - t0:.0f}s):')
        for f in fails: print(f'  - {f}')
        sys.exit(1)
    print(f'docs check passed ({time.time() - t0:.0f}s)')

if __name__ == '__main__':
    if sys.argv[1:2] == ['--proc-one']:
        import contextlib, io
        with contextlib.redirect_stdout(io.StringIO()): res = _proc_one(sys.argv[2:4])
        print(json.dumps(res))
    else: main()
