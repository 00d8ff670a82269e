// The HTTP client of the monitor's polls and the lab's JSON-RPC: answers read whole, kept-alive
// connections reused, and a deadline's reason as the rejection, as fetch gives it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { send } from "../../harness/http.ts";

describe("http client", () => {
  let server: Server;
  let url: string;
  let connections: number;
  const seen: { method: string; body: string; type: string | undefined }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        seen.push({ method: req.method ?? "", body, type: req.headers["content-type"] });
        if (req.url === "/slow") return; // never answered
        res
          .writeHead(req.url === "/missing" ? 404 : 200, { "retry-after": "7" })
          .end(`answer to ${body || "GET"}`);
      });
    });
    server.on("connection", () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    connections = 0;
    seen.length = 0;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("sends a GET and a JSON POST, and reads status, headers and body", async () => {
    const get = await send(`${url}/`, { method: "GET", signal: AbortSignal.timeout(2_000) });
    expect([get.status, get.ok, get.headers["retry-after"], get.text]).to.deep.equal([
      200,
      true,
      "7",
      "answer to GET",
    ]);
    const post = await send(`${url}/`, {
      method: "POST",
      body: '{"a":1}',
      signal: AbortSignal.timeout(2_000),
    });
    expect(post.text).to.equal('answer to {"a":1}');
    expect(seen.map((s) => [s.method, s.type])).to.deep.equal([
      ["GET", undefined],
      ["POST", "application/json"],
    ]);
    const missing = await send(`${url}/missing`, { method: "GET", signal: AbortSignal.timeout(2_000) });
    expect([missing.status, missing.ok]).to.deep.equal([404, false]);
  });

  it("keeps the connection alive between requests", async () => {
    for (let i = 0; i < 5; i++) await send(`${url}/`, { method: "GET", signal: AbortSignal.timeout(2_000) });
    expect(connections).to.be.at.most(1);
  });

  it("rejects with the signal's reason when the deadline passes", async () => {
    const error = await send(`${url}/slow`, { method: "GET", signal: AbortSignal.timeout(100) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).to.equal("TimeoutError");
  });

  it("rejects with the network's error when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await send(`http://127.0.0.1:${port}/`, {
      method: "GET",
      signal: AbortSignal.timeout(2_000),
    }).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).to.equal("ECONNREFUSED");
  });
});
