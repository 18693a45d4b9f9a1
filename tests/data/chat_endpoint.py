"""Pieces of the local OpenAI-compatible chat servers the translation tests run."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def fake_translation(text: str) -> str:
    """What the fake endpoints answer for a segment: recognisably changed, and a function of it."""
    return f"<<{text.upper()}>>"


def send_reply(handler: BaseHTTPRequestHandler, reply: tuple[int, dict, bytes]) -> None:
    """Write (status, extra headers, JSON payload) as the response; a client killed mid-request is not an error."""
    status, headers, payload = reply
    try:
        handler.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:  # the client was killed mid-request
        pass
