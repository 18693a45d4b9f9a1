"""A client for OpenAI-compatible chat endpoints (vLLM, TGI, llama.cpp servers, hosted APIs).

Used by the translation stage and by the LLM judges: POST {base_url}/chat/completions, greedy
(temperature 0), retries with backoff on 429, 5xx and connection errors (Retry-After honoured,
capped), a timeout per request. The API key is read from the environment variable named by
`api_key_env` at request time and only ever put in the Authorization header: never logged,
cached or written anywhere.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from xinstruct.errors import DataError
from xinstruct.progress import warn

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_WAIT = 300.0  # the longest Retry-After honoured


class ChatClient:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        max_retries: int = 5,
        timeout: float = 120.0,
        who: str = "chat endpoint",
        sleep=time.sleep,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env, self.max_retries, self.timeout = model, api_key_env, max_retries, timeout
        self.who = who  # names the user of the endpoint in warnings ("translator", "judge")
        self._sleep = sleep
        self._warned_no_key = False

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        """The assistant's reply to `messages`, greedy."""
        payload: dict = {"model": self.model, "messages": messages, "temperature": 0}
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        body = self._post(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
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

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif not self._warned_no_key:
            self._warned_no_key = True
            warn(f"{self.who}: ${self.api_key_env} is not set; calling {self.url} without an API key")
        return headers

    def _post(self, data: bytes) -> bytes:
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as e:
                body = e.read()[:200].decode("utf-8", errors="replace")
                if e.code not in RETRY_STATUS:
                    hint = f"; check that ${self.api_key_env} holds a valid key" if e.code in (401, 403) else ""
                    raise DataError(f"{self.url}: HTTP {e.code} {e.reason}{hint}: {body!r}") from None
                problem = f"HTTP {e.code} {e.reason}"
                retry_after = e.headers.get("Retry-After")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                problem = f"cannot connect ({getattr(e, 'reason', e)})"
            if attempt == attempts:
                raise DataError(f"{self.url}: {problem}, gave up after {attempts} attempts (max_retries)")
            self._sleep(wait_seconds(retry_after, attempt))
        raise AssertionError("unreachable")


def wait_seconds(retry_after: str | None, attempt: int) -> float:
    """Retry-After (seconds or an HTTP date) if the server sent one, else exponential backoff 1, 2, 4 .. 60 s."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_WAIT)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return min(max((when - datetime.now(timezone.utc)).total_seconds(), 0.0), MAX_WAIT)
            except (TypeError, ValueError):
                pass
    return min(2.0 ** (attempt - 1), 60.0)
