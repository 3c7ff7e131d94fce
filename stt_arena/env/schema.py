"""OpenAI function-tool schemas derived from an env class's source (AST only: nothing is executed)."""
from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path

from docstring_parser import parse as parse_docstring

from ..sandbox import codecache
from ..sandbox.conventions import mutating_tools
from ..sandbox.guard import parse

_SIMPLE = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object",
           "list": "array", "tuple": "array", "set": "array", "Any": None, "object": None}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict
    mutating: bool

    def openai(self) -> dict:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def annotation_schema(node: ast.expr | None) -> dict:
    """JSON Schema of a type hint: str/int/float/bool, list[X], dict, Optional[X], X | None, Literal[...]."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # string annotation
        try:
            return annotation_schema(parse(node.value, mode="eval").body)
        except SyntaxError:
            return {}
    if isinstance(node, ast.Constant) and node.value is None:
        return {"type": "null"}
    if isinstance(node, ast.Name):
        t = _SIMPLE.get(node.id)
        return {"type": t} if t else {}
    if isinstance(node, ast.Attribute):  # typing.List etc.
        return annotation_schema(ast.Name(id=node.attr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        head = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head in ("list", "List", "Sequence", "set", "Set", "tuple", "Tuple", "Iterable"):
            item = annotation_schema(args[0]) if args and not (
                isinstance(args[0], ast.Constant) and args[0].value is Ellipsis) else {}
            return {"type": "array", "items": item} if item else {"type": "array"}
        if head in ("dict", "Dict", "Mapping"):
            return {"type": "object"}
        if head == "Optional":
            return _union([args[0], ast.Constant(value=None)])
        if head == "Union":
            return _union(args)
        if head == "Literal":
            vals = [a.value for a in args if isinstance(a, ast.Constant)]
            return {"enum": vals}
    return {}


def _union(parts: list[ast.expr]) -> dict:
    """Optional[X] / X | None -> X (optional-ness is carried by 'required'); other unions -> anyOf."""
    schemas = [annotation_schema(p) for p in parts]
    non_null = [s for s in schemas if s.get("type") != "null"]
    if len(non_null) == 1:
        return non_null[0]
    if all(non_null) and all(isinstance(s.get("type"), str) and len(s) == 1 for s in non_null):
        return {"type": [s["type"] for s in non_null]}
    return {"anyOf": non_null} if all(non_null) else {}


def _method_spec(fn: ast.FunctionDef) -> tuple[str, dict]:
    doc = parse_docstring(ast.get_docstring(fn) or "")
    pdesc = {p.arg_name: p.description or "" for p in doc.params}
    desc = " ".join(x for x in (doc.short_description, doc.long_description) if x).strip()
    a = fn.args
    params = a.posonlyargs + a.args
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    defaults = [None] * (len(params) - len(a.defaults)) + list(a.defaults)
    props, required = {}, []
    for p, d in zip(params + a.kwonlyargs, defaults + list(a.kw_defaults)):
        schema = annotation_schema(p.annotation) or {"type": "string"}
        if pdesc.get(p.arg):
            schema["description"] = pdesc[p.arg]
        if d is None:
            required.append(p.arg)
        elif isinstance(d, ast.Constant) and d.value is not None:
            schema["default"] = d.value
        props[p.arg] = schema
    return desc or fn.name.replace("_", " "), {"type": "object", "properties": props, "required": required}


def tool_specs(source: str, class_name: str, declared_mutating: list[str] | None = None) -> list[ToolSpec]:
    """Public methods of ``class_name`` as tools, in source order."""
    return list(_tool_specs(source, class_name, tuple(declared_mutating) if declared_mutating is not None else None))


@lru_cache(maxsize=256)
def _tool_specs(source: str, class_name: str, declared_mutating: tuple[str, ...] | None) -> tuple[ToolSpec, ...]:
    """Parsed once per machine: kept beside the vetted code (``codecache.cache_dir``, ``STT_ARENA_CODE_CACHE``),
    keyed by the inputs and by the sources that derive them; parsing a benchmark's environments costs
    ~0.3 s, which every run's first episodes would otherwise wait for."""
    path = _stored_at(source, class_name, declared_mutating)
    if path is not None:
        try:
            got = json.loads(path.read_text())
            return tuple(ToolSpec(str(n), str(d), dict(p), bool(m)) for n, d, p, m in got)
        except (OSError, ValueError, TypeError):  # none yet, or unreadable: parsed again
            pass
    specs = _parse_specs(source, class_name, declared_mutating)
    if path is not None:
        codecache.store(path, [list(astuple(t)) for t in specs])
    return specs


@lru_cache(maxsize=1)
def _salt() -> str:
    """``codecache.salt`` (interpreter, guard, conventions) plus this module and its docstring parser."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        parser = version("docstring_parser")
    except PackageNotFoundError:
        parser = "?"
    return hashlib.sha256(f"{codecache.salt()}|{parser}|".encode() + Path(__file__).read_bytes()).hexdigest()


def _stored_at(source: str, class_name: str, declared_mutating: tuple[str, ...] | None) -> Path | None:
    d = codecache.cache_dir()
    if d is None:
        return None
    try:
        salt = _salt()
    except OSError:  # sources not on disk (a frozen install): parsed per process
        return None
    key = hashlib.sha256(json.dumps([salt, source, class_name, declared_mutating]).encode()).hexdigest()
    return d / "toolspecs" / key[:2] / f"{key}.json"


def _parse_specs(source: str, class_name: str, declared_mutating: tuple[str, ...] | None) -> tuple[ToolSpec, ...]:
    tree = parse(source)
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if cls is None:
        raise ValueError(f"class {class_name!r} not found in environment source")
    declared: dict[str, list] = {}
    fns = []
    for st in cls.body:
        if isinstance(st, ast.FunctionDef) and not st.name.startswith("_"):
            if not any(getattr(d, "id", "") in ("staticmethod", "classmethod", "property") for d in st.decorator_list):
                fns.append(st)
        elif isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name) and t.id in ("MUTATING_TOOLS", "READ_ONLY_TOOLS"):
                    try:
                        declared[t.id] = list(ast.literal_eval(st.value))
                    except ValueError:
                        pass
    names = [f.name for f in fns]
    mut = set(declared_mutating if declared_mutating is not None else mutating_tools(
        names, declared.get("MUTATING_TOOLS"), declared.get("READ_ONLY_TOOLS")))
    out = []
    for fn in fns:
        desc, params = _method_spec(fn)
        out.append(ToolSpec(fn.name, desc, params, fn.name in mut))
    return tuple(out)
