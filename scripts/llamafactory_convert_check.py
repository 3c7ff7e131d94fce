"""Run LlamaFactory's own dataset parser and converters over exported SFT data; compare row counts.

Usage: python scripts/llamafactory_convert_check.py DATA_DIR [DATASET ...]
Reads DATA_DIR/dataset_info.json with ``llamafactory.data.parser.get_dataset_list``, loads each file with
``datasets`` as LlamaFactory does for local files, maps it through ``llamafactory.data.converter``'s
converter for the entry's formatting, and counts rows with a non-empty prompt and response (LlamaFactory
turns malformed rows into empty ones and drops them later without an error). Exit 1 if any row is lost.

``llamafactory.data``'s package ``__init__`` imports the multimodal plugins (torchaudio, torchvision);
when those cannot be imported (a CPU-only venv), the converter and parser modules are loaded without
that ``__init__`` -- the code that runs is LlamaFactory's own either way.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import types


def _import_llamafactory():
    try:
        from llamafactory.data import converter, parser  # noqa: F401
        return converter, parser, "package import"
    except (ImportError, OSError) as e:
        import llamafactory
        name = "llamafactory.data"
        for k in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[k]
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(os.path.dirname(llamafactory.__file__), "data")]
        sys.modules[name] = pkg
        converter = importlib.import_module(name + ".converter")
        parser = importlib.import_module(name + ".parser")
        return converter, parser, f"modules loaded without llamafactory.data/__init__ ({e})"


def _format_calls(ds, attr) -> int:
    """Render every function_call turn and tools column with the formatters of the qwen3 templates."""
    fmt = importlib.import_module("llamafactory.data.formatter")
    func = fmt.FunctionFormatter(slots=["{{content}}<|im_end|>\n"], tool_format="qwen")
    tools = fmt.ToolFormatter(tool_format="qwen")
    bad = 0
    for row in ds:
        try:
            tools.apply(content=row[attr.tools])
            for m in row[attr.messages]:
                if m[attr.role_tag] == attr.function_tag:
                    func.apply(content=m[attr.content_tag], thought_words=("<think>\n", "\n</think>\n\n"),
                               tool_call_words=("<tool_call>", "</tool_call>"))
        except Exception as e:  # noqa: BLE001
            bad += 1
            print("format error:", e)
    return bad


def main(argv: list[str]) -> int:
    data_dir = argv[0]
    converter, parser, how = _import_llamafactory()
    from datasets import load_dataset
    from llamafactory.hparams import DataArguments
    import llamafactory

    info = json.load(open(os.path.join(data_dir, "dataset_info.json")))
    names = argv[1:] or list(info)
    data_args = DataArguments(dataset=",".join(names), dataset_dir=data_dir)
    attrs = parser.get_dataset_list(names, data_dir)
    print(f"llamafactory {llamafactory.__version__}: {how}")
    ok = True
    for name, attr in zip(names, attrs):
        path = os.path.join(data_dir, attr.dataset_name)
        ds = load_dataset("json", data_files=path, split="train")
        conv = converter.get_dataset_converter(attr.formatting, attr, data_args)
        good = 0
        for row in ds:
            out = conv(row)
            prompt, response = out["_prompt"], out["_response"]
            if prompt and response and all(m["content"] for m in response) and prompt[-1]["content"]:
                good += 1
        skipped = len(ds) - good
        ok &= skipped == 0 and len(ds) > 0
        print(f"{name}: formatting={attr.formatting} file={attr.dataset_name} rows={len(ds)} "
              f"converted={good} skipped={skipped}")
        if attr.formatting == "sharegpt":
            bad = _format_calls(ds, attr)
            ok &= bad == 0
            print(f"{name}: function_call turns and tools rendered by LlamaFactory's qwen formatters, failures={bad}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
