"""Static checks of terraform/ without a terraform binary or providers: every file parses (python-hcl2),
and references resolve across modules (what `terraform validate` would catch first).

    python -m deploy.terraform_graph [terraform/]   # prints every problem, exits 1 if any
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

TERRAFORM_DIR = Path(__file__).resolve().parents[1] / "terraform"
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
# module block arguments that are Terraform's own, not input variables of the module
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}

_VAR = re.compile(r"\bvar\.([A-Za-z_][\w-]*)")
_LOCAL = re.compile(r"\blocal\.([A-Za-z_][\w-]*)")
_MODULE = re.compile(r"\bmodule\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?(?:\.([A-Za-z_][\w-]*))?")


def unquote(text: str) -> str:
    """python-hcl2 keeps the quotes of labels and string literals."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


@dataclass
class ModuleDir:
    """One Terraform module (a folder of .tf files) as far as references are concerned."""

    path: Path
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    calls: dict[str, dict] = field(default_factory=dict)  # module block name -> its arguments
    text: str = ""  # every expression, for reference scanning

    @classmethod
    def load(cls, path: Path) -> ModuleDir:
        module = cls(path)
        for tf in sorted(path.glob("*.tf")):
            try:
                with tf.open() as handle:
                    parsed = hcl2.load(handle)
            except Exception as exc:  # the parser raises lark errors of several kinds
                raise ValueError(f"{tf}: does not parse as HCL2: {exc}") from exc
            module.text += tf.read_text() + "\n"
            for block in parsed.get("variable", []):
                module.variables.update({unquote(k): v for k, v in block.items()})
            for block in parsed.get("output", []):
                module.outputs.update({unquote(k): v for k, v in block.items()})
            for block in parsed.get("locals", []):
                module.locals.update(k for k in block if not k.startswith("__"))
            for block in parsed.get("module", []):
                module.calls.update({unquote(k): v for k, v in block.items()})
        return module

    def source_of(self, call: str) -> Path:
        return (self.path / unquote(self.calls[call]["source"])).resolve()


def module_dirs(root: Path = TERRAFORM_DIR) -> list[Path]:
    return sorted({tf.parent for tf in root.rglob("*.tf") if ".terraform" not in tf.parts})


def problems(root: Path = TERRAFORM_DIR) -> list[str]:
    """Every unresolved reference, missing file or undocumented variable/output under `root`."""
    found: list[str] = []
    modules: dict[Path, ModuleDir] = {}
    for path in module_dirs(root):
        try:
            modules[path.resolve()] = ModuleDir.load(path)
        except ValueError as exc:
            found.append(str(exc))
    for path, module in modules.items():
        where = path.relative_to(root.resolve())
        if "modules" in where.parts:
            found += [f"{where}: missing {name}" for name in MODULE_FILES if not (path / name).exists()]
        for name, spec in module.variables.items():
            if "type" not in spec or "description" not in spec:
                found.append(f"{where}: variable {name} needs a type and a description")
        for name, spec in module.outputs.items():
            if "description" not in spec:
                found.append(f"{where}: output {name} needs a description")
        # comments may mention var.x in prose; only code counts
        code = "\n".join(line.split("#", 1)[0] for line in module.text.splitlines())
        for name in sorted(set(_VAR.findall(code)) - set(module.variables)):
            found.append(f"{where}: var.{name} is not declared")
        for name in sorted(set(_LOCAL.findall(code)) - module.locals):
            found.append(f"{where}: local.{name} is not defined")
        for call, attribute in sorted(set(_MODULE.findall(code))):
            if call not in module.calls:
                found.append(f"{where}: module.{call} is not a module block here")
                continue
            target = modules.get(module.source_of(call))
            if target is not None and attribute and attribute not in target.outputs:
                found.append(f"{where}: module.{call}.{attribute} is not an output of {unquote(module.calls[call]['source'])}")
        for call, arguments in module.calls.items():
            source = module.source_of(call)
            target = modules.get(source)
            if target is None:
                found.append(f"{where}: module {call} source {unquote(arguments['source'])} has no .tf files")
                continue
            passed = {k for k in arguments if not k.startswith("__")} - META_ARGUMENTS
            for name in sorted(passed - set(target.variables)):
                found.append(f"{where}: module {call} passes {name}, which {source.name} does not declare")
            required = {name for name, spec in target.variables.items() if "default" not in spec}
            for name in sorted(required - passed):
                found.append(f"{where}: module {call} does not pass required variable {name}")
    return found


def main(argv: list[str] | None = None) -> int:
    root = Path((argv or sys.argv[1:] or [str(TERRAFORM_DIR)])[0])
    found = problems(root)
    for problem in found:
        print(problem)
    print(f"{len(module_dirs(root))} module folders checked, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
