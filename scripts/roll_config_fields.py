"""Extract the field names of ROLL's config dataclasses (read with ``ast``, nothing imported) into a JSON
fixture, so the RL YAMLs can be key-checked on machines without ROLL (it needs torch, ray, vLLM...).

Usage: python scripts/roll_config_fields.py ROLL_GIT_DIR_OR_CHECKOUT [COMMIT] > tests/fixtures/rl/roll_config_fields.json

Each class maps its fields (own and inherited) to the name of the field's annotated dataclass type when that
type is one of the extracted classes (so nested YAML mappings are checked too), else null.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

FILES = ("roll/configs/base_config.py", "roll/configs/worker_config.py", "roll/configs/model_args.py",
         "roll/configs/training_args.py", "roll/configs/generating_args.py", "roll/configs/data_args.py",
         "roll/pipeline/agentic/agentic_config.py")


def _read(root: Path, commit: str, path: str) -> str:
    if (root / path).exists():
        return (root / path).read_text()
    return subprocess.run(["git", "--git-dir", str(root), "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)] + \
        [n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)]


def main(argv: list[str]) -> int:
    root, commit = Path(argv[0]), (argv[1] if len(argv) > 1 else "HEAD")
    if not (root / FILES[0]).exists():
        commit = subprocess.run(["git", "--git-dir", str(root), "rev-parse", commit], check=True,
                                capture_output=True, text=True).stdout.strip()
    classes: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    for f in FILES:
        for node in ast.parse(_read(root, commit, f)).body:
            if isinstance(node, ast.ClassDef):
                fields = {st.target.id: _names(st.annotation) for st in node.body
                          if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)}
                classes[node.name] = ([b.id for b in node.bases if isinstance(b, ast.Name)], fields)

    def resolve(name: str) -> dict[str, list[str]]:
        bases, own = classes[name]
        out: dict[str, list[str]] = {}
        for b in bases:
            if b in classes:
                out.update(resolve(b))
        out.update(own)
        return out

    result = {"_source": {"repo": "alibaba/ROLL", "commit": commit, "files": list(FILES)}}
    for name in classes:
        result[name] = {k: next((t for t in types if t in classes), None) for k, types in resolve(name).items()}
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
