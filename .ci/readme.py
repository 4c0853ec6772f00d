"""Render README.md from nbs/index.ipynb without Quarto (nbdev-readme needs Quarto, which cannot be installed here).
Markdown cells are copied, code cells fenced as python, the title cell becomes '# title' and '> description'.
`python .ci/readme.py` writes README.md; `--check` exits 1 if README.md differs (CI runs that)."""
import sys, json
from pathlib import Path
root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text())
parts = []
for c in nb['cells']:
    src = ''.join(c['source']).strip()
    if not src or src.startswith('#|'): continue
    parts.append(src if c['cell_type'] == 'markdown' else f'```python\n{src}\n```')
text = '\n\n'.join(parts) + '\n'
note = '<!-- Generated from nbs/index.ipynb by `python .ci/readme.py` (or `nbdev-readme` where Quarto is installed); edit the notebook, not this file. -->\n\n'
text = note + text
if '--check' in sys.argv:
    if (root/'README.md').read_text() != text: sys.exit('README.md is out of sync with nbs/index.ipynb: run `python .ci/readme.py`.')
    print('README.md in sync with nbs/index.ipynb')
else: (root/'README.md').write_text(text); print('wrote README.md')
