"""Structured LLM calls for the synthesis pipeline: editable prompt files, an on-disk cache,
pydantic-validated JSON output with a repair-and-retry loop, concurrency and a rate limit.

* Prompts live in ``stt_arena/prompts/synth/<name>.md`` (or a ``--prompts-dir`` override). The first
  line is a marker ``<!-- synth-prompt: <name> -->`` (kept in the request: fake servers and log readers
  can tell the prompts apart). ``{{var}}`` placeholders are filled in; ``{{schema}}`` is the JSON Schema
  of the expected output.
* ``{{examples}}`` is the prompt's worked examples, ``examples/<name>.md`` (built from the benchmark's best
  tasks by ``scripts/build_synth_examples.py``, or hand-written where no benchmark counterpart exists).
* Cache: one JSON file per key ``sha256(messages, model, params)``, written atomically (tmp file +
  ``os.replace``), so an interrupted run resumes without paying twice. Repair turns are cached too.
* ``dry_run``: nothing is sent; cached answers are used, and the first uncached call of each item is
  recorded in ``planned`` and stops that item (``DryRunStop``).
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
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


class RepairNeeded(ValueError):
    """A validator's finding the model can fix in a repair turn; ``code`` is the rejection reason used
    when the repair turns run out (``mutation_mismatch``, ``unsafe_code``, ``oracle_fails``...)."""

    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}")


class StructuredOutputError(RuntimeError):
    """The model's output never validated, even after the repair turns; ``code`` is the last failure's
    reason (``invalid_llm_output`` for unparsable or schema-violating answers)."""

    def __init__(self, prompt: str, errors: list[str], code: str = "invalid_llm_output"):
        self.prompt, self.errors, self.code = prompt, errors, code
        super().__init__(f"prompt {prompt!r}: invalid output after {len(errors)} attempts: {errors[-1][:1500]}")


def prompt_marker(text: str) -> str | None:
    m = MARKER_RE.search(text or "")
    return m.group(1) if m else None


def load_prompt(name: str, prompts_dir: Path | None = None) -> str:
    for d in ([Path(prompts_dir)] if prompts_dir else []) + [PROMPTS_DIR]:
        p = d / f"{name}.md"
        if p.is_file():
            return p.read_text(encoding="utf-8")
    raise PromptError(f"prompt file {name}.md not found in {prompts_dir or PROMPTS_DIR}")


def load_examples(name: str, prompts_dir: Path | None = None) -> str:
    """``examples/<name>.md`` (prompts-dir override first; '' when there is none): the prompt's worked examples."""
    for d in ([Path(prompts_dir)] if prompts_dir else []) + [PROMPTS_DIR]:
        p = d / "examples" / f"{name}.md"
        if p.is_file():
            return "\n".join(ln for ln in p.read_text(encoding="utf-8").splitlines() if not ln.startswith("<!--"))
    return ""


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_TMP_RE = re.compile(r"^\.tmp-(\d+)-.*\.json$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DiskCache:
    """One file per key under ``root/<k[:2]>/<k>.json``; atomic writes with normal permissions (0666 less
    the umask); unreadable files are misses. A temporary file is named after its writer's pid: the files
    of a writer that died (kill -9) are removed when a cache is opened on the same folder."""

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root else None
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._mode = 0o666 & ~_umask()
        self.swept = self.sweep() if self.root is not None and self.root.is_dir() else 0

    def sweep(self) -> int:
        """Remove temporary files left by writers that are no longer running."""
        n = 0
        if self.root is None:
            return n
        for p in self.root.glob("*/.tmp-*.json"):
            m = _TMP_RE.match(p.name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                try:
                    p.unlink()
                    n += 1
                except OSError:
                    pass
        return n

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
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".tmp-{os.getpid()}-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, ensure_ascii=False)
                fh.flush()
                os.fchmod(fh.fileno(), self._mode)
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
    repairs: int = 0  # repair turns sent (or served from the cache)
    repaired: int = 0  # calls that validated after at least one repair turn
    failures: int = 0
    prompt_tokens: int = 0  # of the requests sent
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt + completion tokens of the replies served from the cache
    by_prompt: dict[str, int] = field(default_factory=dict)
    repairs_by_reason: dict[str, int] = field(default_factory=dict)
    repaired_by_reason: dict[str, int] = field(default_factory=dict)


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
        self.attempts: list[dict] = []  # one entry per answer checked: item, prompt, attempt, ok, reason, error
        self.planned: list[PlannedCall] = []
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self._client: LLMClient | None = None
        self._system = load_prompt("system", prompts_dir)
        self._system_tools = load_prompt("system_tools", prompts_dir)

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
                      {"schema": json.dumps(schema.model_json_schema(), ensure_ascii=False),
                       "examples": load_examples(prompt, self.prompts_dir), **variables})
        return [{"role": "system", "content": self._system}, {"role": "user", "content": text}]

    async def _complete(self, messages: list[dict], prompt: str, item: str) -> str:
        params = self._params()
        key = cache_key(messages, self.config.model, params)
        hit = self.cache.get(key)
        if hit is not None and isinstance(hit.get("content"), str):
            self.stats.cached += 1
            u = hit.get("usage") or {}
            self.stats.cached_tokens += int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0)
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
        self.stats.prompt_tokens += res.usage.prompt_tokens
        self.stats.completion_tokens += res.usage.completion_tokens
        content = res.content or ""
        self.cache.put(key, {"prompt": prompt, "model": self.config.model, "content": content,
                             "usage": res.usage.model_dump()})
        return content

    async def chat_tools(self, messages: list[dict], tools: list[dict], prompt: str, item: str) -> dict:
        """One tool-calling turn (cached like ``_complete``): ``{"content", "tool_calls": [{id, name,
        arguments (dict or None), error}], "message"}`` where ``message`` is the assistant turn to append."""
        params = {**self._params(), "tools": tools}
        params.pop("response_format", None)
        key = cache_key(messages, self.config.model, params)
        hit = self.cache.get(key)
        if hit is not None and isinstance(hit.get("message"), dict):
            self.stats.cached += 1
            u = hit.get("usage") or {}
            self.stats.cached_tokens += int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0)
            msg = hit["message"]
        else:
            if self.dry_run:
                self.planned.append(PlannedCall(item, prompt, self.config.model,
                                                sum(len(str(m.get("content") or "")) for m in messages)))
                raise DryRunStop(f"{item}: {prompt}")
            async with self._sem:
                self.stats.requests += 1
                self.stats.by_prompt[prompt] = self.stats.by_prompt.get(prompt, 0) + 1
                res = await self.client.chat(messages, tools=tools)
            self.stats.prompt_tokens += res.usage.prompt_tokens
            self.stats.completion_tokens += res.usage.completion_tokens
            msg = {"role": "assistant", "content": res.content or ""}
            if res.tool_calls:
                msg["tool_calls"] = [tc.openai_dict() for tc in res.tool_calls]
            self.cache.put(key, {"prompt": prompt, "model": self.config.model, "message": msg,
                                 "usage": res.usage.model_dump()})
        calls = []
        for tc in msg.get("tool_calls") or []:
            fn = tc.get("function") or {}
            raw = fn.get("arguments") or "{}"
            try:
                args = json.loads(raw)
                err = None if isinstance(args, dict) else "arguments must be a JSON object"
            except ValueError as e:
                args, err = None, f"invalid JSON arguments: {e}"
            calls.append({"id": tc.get("id"), "name": fn.get("name", ""), "arguments": args if not err else None,
                          "error": err})
        return {"content": msg.get("content") or "", "tool_calls": calls, "message": msg}

    def repair_message(self, prompt: str, error: str) -> dict:
        return {"role": "user", "content": render(load_prompt("repair", self.prompts_dir),
                                                  {"error": error[:6000], "prompt_name": prompt})}

    async def call(self, prompt: str, variables: dict[str, Any], schema: type[T], *, item: str = "",
                   validate: Any = None, prior: list[tuple[str, str]] | None = None,
                   reason: str = "") -> T:
        """Render ``prompt``, ask, parse JSON, validate with ``schema`` and ``validate(obj)`` (sync or async; it
        may raise ValueError, or ``RepairNeeded`` with a reason code, with a message for the model); on failure
        send the repair prompt with the precise error and retry, at most ``max_repairs`` times.

        ``prior``: earlier (answer, error) turns to continue from, e.g. a method that later failed its
        functional tests (``reason`` names why; that turn counts as a repair, and its outcome is recorded by
        the caller with ``record``). Every checked answer is appended to ``attempts``."""
        messages = self.messages_for(prompt, variables, schema)
        for content, err in prior or []:
            messages = messages + [{"role": "assistant", "content": content}, self.repair_message(prompt, err)]
        errors: list[str] = []
        code = "invalid_llm_output"
        # the reason of the repair turn the next answer responds to; a ``prior`` turn's outcome (e.g. do the
        # functional tests pass now?) is known only to the caller, which records it with ``record``
        pending = ""
        first = ""
        if prior:
            self._count_repair(reason or "prior")
        for attempt in range(self.max_repairs + 1):
            content = await self._complete(messages, prompt, item)
            try:
                try:
                    data = extract_json(content)
                except ValueError as e:
                    raise RepairNeeded("invalid_json", str(e)) from None
                obj = schema.model_validate(data)
                if validate is not None:
                    res = validate(obj)
                    if inspect.isawaitable(res):
                        await res
            except (ValueError, ValidationError) as e:
                code = e.code if isinstance(e, RepairNeeded) else "invalid_llm_output"
                err = e.detail if isinstance(e, RepairNeeded) else str(e)
                errors.append(err)
                self.attempts.append({"item": item, "prompt": prompt, "attempt": attempt, "ok": False,
                                      "answers_repair": pending or None, "reason": code, "error": err[:2000]})
                if attempt == self.max_repairs:
                    break
                pending = code
                first = first or code
                self._count_repair(code)
                messages = messages + [{"role": "assistant", "content": content}, self.repair_message(prompt, err)]
                continue
            self.attempts.append({"item": item, "prompt": prompt, "attempt": attempt, "ok": True,
                                  "answers_repair": pending or None, "reason": None, "error": None})
            self.stats.calls += 1
            if first:
                self.stats.repaired += 1
                self.stats.repaired_by_reason[first] = self.stats.repaired_by_reason.get(first, 0) + 1
            return obj
        self.stats.failures += 1
        raise StructuredOutputError(prompt, errors, "invalid_llm_output" if code == "invalid_json" else code)

    def record(self, item: str, check: str, reason: str, ok: bool, error: str = "") -> None:
        """The outcome of a repair the caller checks itself (``prior`` turns): logged like an answer."""
        self.attempts.append({"item": item, "prompt": check, "attempt": None, "ok": ok, "answers_repair": reason,
                              "reason": None if ok else reason, "error": error[:2000] or None})
        if ok:
            self.stats.repaired += 1
            self.stats.repaired_by_reason[reason] = self.stats.repaired_by_reason.get(reason, 0) + 1

    def _count_repair(self, code: str) -> None:
        self.stats.repairs += 1
        self.stats.repairs_by_reason[code] = self.stats.repairs_by_reason.get(code, 0) + 1


__all__ = ["Synthesizer", "DiskCache", "DryRunStop", "StructuredOutputError", "RepairNeeded", "PromptError", "load_prompt",
           "render", "extract_json", "cache_key", "prompt_marker", "PROMPTS_DIR", "LLMError", "ModelConfig"]
