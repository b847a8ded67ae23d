#!/usr/bin/env node
// A TypeScript-SDK MCP client for mem-mcp's tests: the SDK Claude Desktop and most IDE assistants are
// built on. It connects (stdio: spawns the server; HTTP: streamable HTTP with a bearer token), lists
// the tools, calls each tool of the plan, and prints one JSON object on stdout saying what the SDK
// accepted and what it rejected (Client.callTool validates structuredContent against the tool's
// output schema and throws when it does not match: the failure issue 12 is about).
//
//   node client.mjs '<plan JSON>'      or      node client.mjs plan.json
//
// plan = {
//   "transport": "stdio" | "http",
//   "command": "python", "args": ["-m", "mem_mcp", "serve"], "env": {...}, "cwd": "/",   (stdio)
//   "url": "http://127.0.0.1:8765/mcp", "token": "mmcp_...",                               (http)
//   "calls": [{"name": "add_memories", "arguments": {"text": "..."}, "save": {"id": "events.0.memory_id"}}]
// }
// A call's arguments may use "$name" strings for values saved by earlier calls ("save" maps a name to
// a dotted path into the earlier call's structuredContent), so one plan can add a memory and then get,
// update and delete it by the id the server chose.
//
// Output: {"server": {...}, "tools": [{"name", "hasOutputSchema", "chars", "modelChars"}], "toolsChars", "modelChars",
//          "calls": [{"name", "arguments", "accepted", "isError", "text", "structuredContent", "sdkError"}],
//          "stderr": "<server's stderr, stdio only>"}
// "accepted" is false when the SDK threw instead of returning the result.

import { readFileSync, existsSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function readPlan(arg) {
  if (!arg) throw new Error("usage: node client.mjs '<plan JSON>' | plan.json");
  return JSON.parse(existsSync(arg) ? readFileSync(arg, "utf8") : arg);
}

function dig(obj, path) {
  let cur = obj;
  for (const part of path.split(".")) {
    if (cur === undefined || cur === null) return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : cur[part];
  }
  return cur;
}

function substitute(value, saved) {
  if (typeof value === "string" && value.startsWith("$") && value.slice(1) in saved) return saved[value.slice(1)];
  if (Array.isArray(value)) return value.map((v) => substitute(v, saved));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, saved)]));
  }
  return value;
}

const out = { server: null, tools: [], toolsChars: 0, modelChars: 0, calls: [], stderr: "" };

async function main() {
  const plan = readPlan(process.argv[2]);
  let transport;
  if (plan.transport === "http") {
    const headers = plan.token ? { Authorization: `Bearer ${plan.token}` } : {};
    transport = new StreamableHTTPClientTransport(new URL(plan.url), { requestInit: { headers } });
  } else {
    transport = new StdioClientTransport({
      command: plan.command,
      args: plan.args ?? [],
      env: plan.env, // merged over the SDK's default inherited variables (HOME, PATH, USER, ...), as Claude Desktop does
      cwd: plan.cwd,
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk) => {
      out.stderr += chunk.toString();
    });
  }
  const client = new Client({ name: plan.clientName ?? "ts-sdk-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    out.server = client.getServerVersion() ?? null;
    const listed = await client.listTools(); // caches the output-schema validators callTool uses
    out.tools = listed.tools.map((t) => ({
      name: t.name,
      hasOutputSchema: Boolean(t.outputSchema),
      chars: JSON.stringify(t).length,
      // What a model is given per tool (Claude's tool definition: name, description, input schema).
      modelChars: JSON.stringify({ name: t.name, description: t.description, input_schema: t.inputSchema }).length,
    }));
    out.toolsChars = out.tools.reduce((n, t) => n + t.chars, 0);
    out.modelChars = out.tools.reduce((n, t) => n + t.modelChars, 0);
    const saved = {};
    for (const call of plan.calls ?? []) {
      const args = substitute(call.arguments ?? {}, saved);
      const rec = { name: call.name, arguments: args, accepted: false, isError: null, text: null, structuredContent: null, sdkError: null };
      try {
        const result = await client.callTool({ name: call.name, arguments: args });
        rec.accepted = true;
        rec.isError = Boolean(result.isError);
        rec.text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
        rec.structuredContent = result.structuredContent ?? null;
        for (const [name, path] of Object.entries(call.save ?? {})) saved[name] = dig(result.structuredContent, path);
      } catch (err) {
        rec.sdkError = err instanceof Error ? err.message : String(err);
      }
      out.calls.push(rec);
    }
  } finally {
    await client.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ...out, fatal: err instanceof Error ? err.stack ?? err.message : String(err) }) + "\n");
  process.exit(1);
});
