"""A client for OpenAI-compatible chat endpoints (vLLM, TGI, llama.cpp servers, hosted APIs).

Used by the translation stage and by the LLM judges: POST {base_url}/chat/completions, greedy
(temperature 0), through the `openai` SDK's own client rather than a hand-written one: its
connection pool (one client shared by every thread, so `complete_many` keeps up to `concurrency`
requests in flight), its timeout per request, and its retries of 408/409/429/5xx and connection
errors with exponential backoff (0.5 s doubling to 8 s, with jitter) or the server's Retry-After /
retry-after-ms when that is at most two minutes (a longer Retry-After is not waited for: the
request fails, saying so). The request body is ours and the reply is parsed here (`client.post` with
a raw response, the SDK's documented way to call an endpoint it does not model), so any
OpenAI-compatible server works and a malformed reply is a one-line `DataError`, not a pydantic
traceback.

The API key is read from the environment variable named by `api_key_env` at request time and only
ever put in the Authorization header of that request: never logged (this SDK logs no headers or
bodies), cached or written anywhere, and never in an error message. The SDK's own environment
defaults (OPENAI_ORG_ID, OPENAI_PROJECT_ID headers) are not sent to a third-party endpoint.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from xinstruct.errors import DataError
from xinstruct.progress import warn


class ChatClient:
    """One endpoint and model; thread-safe, so `complete` may be called from many threads at once."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        max_retries: int = 5,
        timeout: float = 120.0,
        who: str = "chat endpoint",
    ):
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.model, self.api_key_env, self.max_retries, self.timeout = model, api_key_env, max_retries, timeout
        self.who = who  # names the user of the endpoint in warnings ("translator", "judge")
        self._warned_no_key = False
        self._sdk: Any = None  # the openai.OpenAI client, made on first use: importing openai takes ~0.5 s
        self._lock = threading.Lock()

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        """The assistant's reply to `messages`, greedy."""
        payload: dict = {"model": self.model, "messages": messages, "temperature": 0}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        body = self._post(payload)
        try:
            content = json.loads(body)["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            snippet = body[:200].decode("utf-8", errors="replace")
            raise DataError(
                f"{self.url}: malformed response from the chat endpoint, expected JSON with "
                f"choices[0].message.content ({type(e).__name__}: {e}); got: {snippet!r}"
            ) from None
        return content.strip()

    def complete_many(
        self, conversations: Sequence[list[dict[str, str]]], concurrency: int = 1, max_tokens: int | None = None
    ) -> list[str]:
        """The replies to `conversations`, in order, with up to `concurrency` requests in flight.

        The first error is raised (requests not yet started are cancelled; those in flight finish).
        """
        if concurrency <= 1 or len(conversations) <= 1:
            return [self.complete(c, max_tokens) for c in conversations]
        with ThreadPoolExecutor(max_workers=min(concurrency, len(conversations)), thread_name_prefix=self.who) as pool:
            return list(pool.map(lambda c: self.complete(c, max_tokens), conversations))

    def close(self) -> None:
        """Close the connection pool (a later request opens a new one)."""
        with self._lock:
            sdk, self._sdk = self._sdk, None
        if sdk is not None:
            sdk.close()

    def _client(self):
        with self._lock:
            if self._sdk is None:
                from openai import Omit, OpenAI

                self._sdk = OpenAI(
                    base_url=self.base_url,
                    # never sent: every request carries its own Authorization (or explicitly none), read at
                    # request time; a placeholder keeps the SDK from reading $OPENAI_API_KEY for another endpoint
                    api_key="unused-see-authorization-header",
                    max_retries=self.max_retries,
                    timeout=self.timeout,
                    default_headers={"OpenAI-Organization": Omit(), "OpenAI-Project": Omit()},
                )
            return self._sdk

    def _authorization(self) -> Any:
        key = os.environ.get(self.api_key_env)
        if key:
            return f"Bearer {key}"
        if not self._warned_no_key:
            self._warned_no_key = True
            warn(f"{self.who}: ${self.api_key_env} is not set; calling {self.url} without an API key")
        from openai import Omit

        return Omit()  # no Authorization header at all (local servers need none)

    def _post(self, payload: dict) -> bytes:
        """The 200 reply's body; every failure is a one-line DataError (no traceback, never the key)."""
        import httpx2
        import openai

        client = self._client()
        options: Any = {"headers": {"Authorization": self._authorization()}}
        try:
            response = client.post("/chat/completions", body=payload, cast_to=httpx2.Response, options=options)
            return response.content
        except openai.APIStatusError as e:
            raise DataError(self._status_message(e)) from None
        except openai.APITimeoutError as e:
            raise DataError(
                f"{self.url}: no reply within timeout={self.timeout} s, gave up after {_attempts(e.request)} "
                "attempts (max_retries)"
            ) from None
        except openai.APIConnectionError as e:
            cause = e.__cause__ or e
            raise DataError(
                f"{self.url}: cannot connect ({type(cause).__name__}: {cause}), gave up after "
                f"{_attempts(e.request)} attempts (max_retries)"
            ) from None
        except openai.OpenAIError as e:
            raise DataError(f"{self.url}: {type(e).__name__}: {e}") from None

    def _status_message(self, e: Any) -> str:
        response = e.response
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        body = response.text[:200]
        code = response.status_code
        if not (code in (408, 409, 429) or code >= 500):
            hint = f"; check that ${self.api_key_env} holds a valid key" if code in (401, 403) else ""
            return f"{self.url}: {status}{hint}: {body!r}"
        attempts = _attempts(response.request)
        if attempts > self.max_retries:
            return f"{self.url}: {status}, gave up after {attempts} attempts (max_retries)"
        # retryable, yet not retried: the server asked for more than the SDK waits (or said x-should-retry: false)
        wait = response.headers.get("retry-after-ms") or response.headers.get("retry-after")
        why = f"its Retry-After {wait!r} is longer than the 2 minutes waited" if wait else "the server said not to"
        return f"{self.url}: {status}, not retried after attempt {attempts}: {why}: {body!r}"


def _attempts(request: Any) -> int:
    """Attempts made for `request`: the SDK numbers its retries in the x-stainless-retry-count header."""
    try:
        return int(request.headers.get("x-stainless-retry-count", 0)) + 1
    except (AttributeError, ValueError):
        return 1
