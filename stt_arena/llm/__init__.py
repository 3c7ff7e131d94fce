"""LLM access: async OpenAI-compatible chat client with retries, rate limits and usage."""
from stt_arena.llm.client import (ChatResult, LLMClient, LLMError, ModelConfig, RateLimiter,
                                  TokenUsage, ToolCall, Usage)

__all__ = ["ChatResult", "LLMClient", "LLMError", "ModelConfig", "RateLimiter", "TokenUsage",
           "ToolCall", "Usage"]
