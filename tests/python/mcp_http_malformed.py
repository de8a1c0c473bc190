"""kb serve's /mcp given what no well-behaved MCP client sends, then used by the official SDK.

Usage: mcp_http_malformed.py URL   (a running `kb serve`'s /mcp)

Each malformed message must get its JSON-RPC error (and the HTTP status the Streamable HTTP
transport asks for); a page of another origin gets 403; afterwards the server still answers
a real client. Prints one JSON line of what it saw.
"""

import json
import sys
import urllib.error
import urllib.request

import anyio
from mcp import Client


def post(url: str, body: bytes, origin: str | None = None, version: str | None = None) -> tuple[int, dict | None]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if origin:
        headers["Origin"] = origin
    if version:
        headers["MCP-Protocol-Version"] = version
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    return status, (json.loads(text) if text else None)


def expect(url: str, body: bytes, status: int, code: int | None, seen: dict, name: str, origin=None, version=None):
    got_status, reply = post(url, body, origin, version)
    assert got_status == status, (name, got_status, reply)
    if code is not None:
        assert reply["jsonrpc"] == "2.0", (name, reply)
        assert reply["error"]["code"] == code, (name, reply)
        assert reply["error"]["message"], (name, reply)
    seen[name] = [got_status, reply["error"]["code"] if reply and "error" in reply else None]
    return reply


async def still_answers(url: str) -> list[str]:
    with anyio.fail_after(60):
        async with Client(url) as client:
            found = await client.call_tool("search", {"query": "常設"})
            return [h["id"] for h in found.structured_content["results"]]


def main() -> None:
    url = sys.argv[1]
    seen: dict = {}
    call = lambda args: json.dumps(  # noqa: E731
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "search", "arguments": args}}
    ).encode()
    expect(url, b'{"jsonrpc": "2.0", "id": 1, "method": ', 400, -32700, seen, "bad_json")
    expect(url, b"\xff\xfe not utf-8", 400, -32700, seen, "bad_utf8")
    reply = expect(url, b'{"jsonrpc": "1.0", "id": 2, "method": "ping"}', 400, -32600, seen, "wrong_jsonrpc")
    assert reply["id"] == 2, reply
    expect(url, b'[{"jsonrpc": "2.0", "id": 3, "method": "ping"}]', 400, -32600, seen, "batch")
    expect(url, b'{"jsonrpc": "2.0", "id": 4, "method": "resources/destroy"}', 200, -32601, seen, "unknown_method")
    expect(url, call({"query": "常設", "limit": "many"}), 200, -32602, seen, "bad_limit")
    expect(url, call({"query": 5}), 200, -32602, seen, "query_not_text")
    expect(url, call({}), 200, -32602, seen, "no_query")
    expect(url, call({"query": "x", "lang": "fr"}), 200, -32602, seen, "bad_lang")
    # Above /v1's 64 KiB body cap but within a message's 1 MiB: answered.
    reply = expect(url, call({"query": "schtasks " * 20000}), 200, None, seen, "large")
    assert reply["result"]["structuredContent"]["results"], reply
    huge = call({"query": "a" * (2 << 20)})
    expect(url, huge, 413, -32600, seen, "huge")
    ping = b'{"jsonrpc": "2.0", "id": 9, "method": "ping"}'
    expect(url, ping, 403, -32600, seen, "foreign_origin", origin="http://attacker.example")
    expect(url, ping, 403, -32600, seen, "localhost_lookalike", origin="http://localhost.attacker.example")
    reply = expect(url, ping, 200, None, seen, "local_origin", origin="http://localhost:6274")
    assert reply == {"jsonrpc": "2.0", "id": 9, "result": {}}, reply
    expect(url, ping, 400, -32600, seen, "unknown_version", version="1999-01-01")
    expect(url, ping, 200, None, seen, "known_version", version="2025-06-18")
    seen["after"] = anyio.run(still_answers, url)
    print(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
