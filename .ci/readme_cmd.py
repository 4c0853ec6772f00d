"""Print the Nth command (1-based) of README.md's Quick start shell block, exactly as the README states it.
CI runs the first in a fresh venv without dev extras, so the README is proven as written, whatever it says."""
import re, sys
from pathlib import Path
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
text = (Path(__file__).resolve().parent.parent / 'README.md').read_text()
sec = re.search(r'^## Quick start\n(.*?)(?=^## )', text, re.S | re.M)
if not sec: sys.exit("README.md has no '## Quick start' section")
block = re.search(r'```(?:sh|bash|shell)\n(.*?)```', sec.group(1), re.S)
if not block: sys.exit("README.md's Quick start has no ```sh block")
cmds = [l.strip() for l in block.group(1).splitlines() if l.strip() and not l.strip().startswith('#')]
if len(cmds) < n: sys.exit(f"README.md's Quick start block has {len(cmds)} commands, not {n}")
print(cmds[n - 1])
