"""kb's MCP server as an MCP client sees it, through the official MCP Python SDK.

Usage: mcp_client.py stdio KB INDEX   (spawns `KB --index INDEX mcp`)
       mcp_client.py http URL         (a running `kb serve`'s /mcp)

Initialises, lists the tools and checks their schemas, then calls search, explain and show the
way an assistant would. Asserts on the way; prints one JSON line of what it saw for the Rust
test to check again.
"""

import json
import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

SEED = (
    '"schtasks.exe" /create /SC ONCE /TN Troj '
    r"/TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"
)

EXPECTED_ARGS = {
    "search": ({"query"}, {"query", "limit", "kind", "tactic", "domain", "lang"}),
    "show": ({"id"}, {"id", "lang"}),
    "explain": ({"command_line"}, {"command_line", "lang"}),
    "diff": ({"old", "new"}, {"old", "new", "domain", "group", "software", "lang"}),
    "layer": (
        set(),
        {"group", "software", "tactic", "search", "commands", "ids", "domain", "limit", "lang"},
    ),
}


def has_japanese(text: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in text)


async def session(server, with_releases: bool) -> dict:
    seen = {}
    with anyio.fail_after(60):
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
            seen["tools"] = sorted(t.name for t in tools)
            for t in tools:
                required, props = EXPECTED_ARGS[t.name]
                schema = t.input_schema
                assert schema["type"] == "object", schema
                assert set(schema["required"]) == required, (t.name, schema)
                assert set(schema["properties"]) == props, (t.name, schema)
                assert schema["properties"]["lang"]["enum"] == ["ja", "en"], schema
                assert t.description, t.name

            found = await client.call_tool("search", {"query": "常設", "limit": 5})
            assert not found.is_error, found
            hits = found.structured_content["results"]
            seen["search"] = [h["id"] for h in hits]
            # The text block is the same JSON as the structured content (what `kb search --json` prints).
            assert json.loads(found.content[0].text) == found.structured_content

            explained = await client.call_tool("explain", {"command_line": SEED, "lang": "en"})
            assert not explained.is_error, explained
            seen["explain"] = [t["id"] for t in explained.structured_content["techniques"]]
            seen["program"] = explained.structured_content["program"]

            shown = await client.call_tool("show", {"id": "T1053.005", "lang": "ja"})
            assert not shown.is_error, shown
            record = shown.structured_content
            seen["show"] = record["id"]
            seen["show_name_ja"] = record.get("name_ja")
            # The text the CLI prints with --lang ja comes beside the JSON.
            seen["show_text_ja"] = has_japanese(shown.content[1].text)

            layer = await client.call_tool("layer", {"commands": [SEED], "lang": "ja"})
            assert not layer.is_error, layer
            seen["layer"] = [t["techniqueID"] for t in layer.structured_content["techniques"]]
            seen["layer_domain"] = layer.structured_content["domain"]
            # Two selections are bad arguments: a JSON-RPC error, which the SDK raises.
            try:
                await client.call_tool("layer", {"group": "APT29", "software": "Mimikatz"})
                seen["layer_two_selections"] = "answered"
            except Exception as e:  # the SDK's error type differs between its versions
                seen["layer_two_selections"] = str(e)

            if with_releases:
                changed = await client.call_tool("diff", {"old": "17.1", "new": "18.1", "group": ["G1015"]})
                assert not changed.is_error, changed
                kinds = {k["kind"]: k["counts"] for k in changed.structured_content["kinds"]}
                seen["diff_techniques_added"] = kinds["technique"]["added"]
                # A tool call names versions, never a file for kb to read.
                try:
                    await client.call_tool("diff", {"old": "/etc/passwd", "new": "18.1"})
                    seen["diff_path"] = "answered"
                except Exception as e:
                    seen["diff_path"] = str(e)

            missing = await client.call_tool("show", {"id": "T9999"})
            assert missing.is_error, missing
            seen["missing"] = missing.content[0].text
    return seen


def main() -> None:
    mode = sys.argv[1]
    if mode == "stdio":
        kb, index, attack = sys.argv[2], sys.argv[3], sys.argv[4]
        server = StdioServerParameters(
            command=kb, args=["--index", index, "mcp"], env={"LANG": "C", "KB_ATTACK": attack}
        )
    else:
        server = sys.argv[2]
    seen = anyio.run(session, server, mode == "stdio")
    print(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
