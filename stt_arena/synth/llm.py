"""Structured LLM calls for the synthesis pipeline: editable prompt files, an on-disk cache,
pydantic-validated JSON output with a repair-and-retry loop, concurrency and a rate limit.

* Prompts live in ``stt_arena/prompts/synth/<name>.md`` (or a ``--prompts-dir`` override). The first
  line is a marker ``<!-- synth-prompt: <name> -->`` (kept in the request: fake servers and log readers
  can tell the prompts apart). ``{{var}}`` placeholders are filled in; ``{{schema}}`` is the JSON Schema
  of the expected output.
* Cache: one JSON file per key ``sha256(messages, model, params)``, written atomically (tmp file +
  ``os.replace``), so an interrupted run resumes without paying twice. Repair turns are cached too.
* ``dry_run``: nothing is sent; cached answers are used, and the first uncached call of each item is
  recorded in ``planned`` and stops that item (``DryRunStop``).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..llm.client import LLMClient, LLMError, ModelConfig

T = TypeVar("T", bound=BaseModel)

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts" / "synth"
MARKER_RE = re.compile(r"<!--\s*synth-prompt:\s*([\w-]+)\s*-->")
_VAR_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class PromptError(RuntimeError):
    """A prompt file is missing or a placeholder has no value."""


class DryRunStop(Exception):
    """Raised in dry-run mode at the first uncached call of an item."""


class StructuredOutputError(RuntimeError):
    """The model's output never validated, even after the repair turns."""

    def __init__(self, prompt: str, errors: list[str]):
        self.prompt, self.errors = prompt, errors
        super().__init__(f"prompt {prompt!r}: invalid output after {len(errors)} attempts: {errors[-1][:300]}")


def prompt_marker(text: str) -> str | None:
    m = MARKER_RE.search(text or "")
    return m.group(1) if m else None


def load_prompt(name: str, prompts_dir: Path | None = None) -> str:
    for d in ([Path(prompts_dir)] if prompts_dir else []) + [PROMPTS_DIR]:
        p = d / f"{name}.md"
        if p.is_file():
            return p.read_text(encoding="utf-8")
    raise PromptError(f"prompt file {name}.md not found in {prompts_dir or PROMPTS_DIR}")


def render(template: str, variables: dict[str, Any]) -> str:
    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in variables:
            raise PromptError(f"prompt placeholder {{{{{key}}}}} has no value")
        v = variables[key]
        return v if isinstance(v, str) else json.dumps(v, indent=1, ensure_ascii=False, default=str)
    return _VAR_RE.sub(sub, template)


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, a fenced block, or the outermost {...} / [...]."""
    text = (text or "").strip()
    candidates = [text]
    candidates += re.findall(r"```(?:json)?\s*\n(.*?)```", text, re.S)
    for open_, close in (("{", "}"), ("[", "]")):
        i, j = text.find(open_), text.rfind(close)
        if 0 <= i < j:
            candidates.append(text[i:j + 1])
    last: Exception | None = None
    for c in candidates:
        try:
            return json.loads(c)
        except ValueError as e:
            last = e
    raise ValueError(f"no JSON object found in the reply ({last})")


class DiskCache:
    """One file per key under ``root/<k[:2]>/<k>.json``; atomic writes; unreadable files are misses."""

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root else None
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.root is None:
            return None
        p = self._path(key)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent, or a torn file from a crash: a miss
            with self._lock:
                self.misses += 1
            return None
        with self._lock:
            self.hits += 1
        return data

    def put(self, key: str, value: dict) -> None:
        if self.root is None:
            return
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def cache_key(messages: list[dict], model: str, params: dict) -> str:
    blob = json.dumps({"messages": messages, "model": model, "params": params}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class PlannedCall:
    item: str
    prompt: str
    model: str
    chars: int


@dataclass
class CallStats:
    calls: int = 0  # structured calls completed
    requests: int = 0  # requests sent to the endpoint
    cached: int = 0  # replies served from the cache
    repairs: int = 0
    failures: int = 0
    by_prompt: dict[str, int] = field(default_factory=dict)


class Synthesizer:
    """Makes structured calls; share one per stage run (its client, cache, semaphore and stats)."""

    def __init__(self, config: ModelConfig, *, cache_dir: Path | str | None = None, concurrency: int = 4,
                 max_repairs: int = 2, prompts_dir: Path | None = None, dry_run: bool = False,
                 json_mode: bool = False):
        self.config = config
        self.cache = DiskCache(cache_dir)
        self.max_repairs = max_repairs
        self.prompts_dir = prompts_dir
        self.dry_run = dry_run
        self.json_mode = json_mode
        self.stats = CallStats()
        self.planned: list[PlannedCall] = []
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self._client: LLMClient | None = None
        self._system = load_prompt("system", prompts_dir)

    @property
    def client(self) -> LLMClient:
        if self._client is None:
            self._client = LLMClient(self.config)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _params(self) -> dict:
        c = self.config
        p: dict[str, Any] = {"temperature": c.temperature, "max_tokens": c.max_tokens, "extra_body": c.extra_body}
        if self.json_mode:
            p["response_format"] = {"type": "json_object"}
        return p

    def messages_for(self, prompt: str, variables: dict[str, Any], schema: type[BaseModel]) -> list[dict]:
        text = render(load_prompt(prompt, self.prompts_dir),
                      {"schema": json.dumps(schema.model_json_schema(), ensure_ascii=False), **variables})
        return [{"role": "system", "content": self._system}, {"role": "user", "content": text}]

    async def _complete(self, messages: list[dict], prompt: str, item: str) -> str:
        params = self._params()
        key = cache_key(messages, self.config.model, params)
        hit = self.cache.get(key)
        if hit is not None and isinstance(hit.get("content"), str):
            self.stats.cached += 1
            return hit["content"]
        if self.dry_run:
            self.planned.append(PlannedCall(item, prompt, self.config.model, sum(len(m["content"]) for m in messages)))
            raise DryRunStop(f"{item}: {prompt}")
        async with self._sem:
            kw: dict[str, Any] = {}
            if self.json_mode:
                kw["response_format"] = {"type": "json_object"}
            self.stats.requests += 1
            self.stats.by_prompt[prompt] = self.stats.by_prompt.get(prompt, 0) + 1
            res = await self.client.chat(messages, **kw)
        content = res.content or ""
        self.cache.put(key, {"prompt": prompt, "model": self.config.model, "content": content,
                             "usage": res.usage.model_dump()})
        return content

    async def call(self, prompt: str, variables: dict[str, Any], schema: type[T], *, item: str = "",
                   validate: Any = None) -> T:
        """Render ``prompt``, ask, parse JSON, validate with ``schema`` (and ``validate(obj)``, which may
        raise ValueError with a message for the model); on failure send the repair prompt and retry."""
        messages = self.messages_for(prompt, variables, schema)
        errors: list[str] = []
        for attempt in range(self.max_repairs + 1):
            content = await self._complete(messages, prompt, item)
            try:
                obj = schema.model_validate(extract_json(content))
                if validate is not None:
                    validate(obj)
                self.stats.calls += 1
                return obj
            except (ValueError, ValidationError) as e:
                err = str(e)
                errors.append(err)
                if attempt == self.max_repairs:
                    break
                self.stats.repairs += 1
                repair = render(load_prompt("repair", self.prompts_dir), {"error": err[:2000], "prompt_name": prompt})
                messages = messages + [{"role": "assistant", "content": content}, {"role": "user", "content": repair}]
        self.stats.failures += 1
        raise StructuredOutputError(prompt, errors)


__all__ = ["Synthesizer", "DiskCache", "DryRunStop", "StructuredOutputError", "PromptError", "load_prompt",
           "render", "extract_json", "cache_key", "prompt_marker", "PROMPTS_DIR", "LLMError", "ModelConfig"]
