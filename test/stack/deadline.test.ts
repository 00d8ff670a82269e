import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { stallTolerantDeadline } from "../../harness/stack/deadline.ts";

const TIMEOUT_MS = 300;

/** Keeps this process's event loop from running for `ms`, as a busy stack would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy on purpose.
  }
}

// A peer in a process of its own answers at once: it can answer while this process is busy.
const PEER = `
const server = require("node:http").createServer((req, res) => res.end("ok"));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

describe("stack stall-tolerant deadline", () => {
  let peer: ChildProcess;
  let url: string;
  let silent: Server;
  let silentUrl: string;

  before(async () => {
    peer = spawn(process.execPath, ["-e", PEER], { stdio: ["ignore", "pipe", "inherit"] });
    const [port] = (await once(peer.stdout!, "data")) as [Buffer];
    url = `http://127.0.0.1:${String(port).trim()}`;
    // Accepts and never answers.
    silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  after(async () => {
    peer.kill();
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });

  it("a plain timeout blames a peer that answered while this process was busy", async () => {
    const call = fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then(
      (r) => r.text(),
      (e: Error) => e.name,
    );
    stall(3 * TIMEOUT_MS);
    expect(await call).to.equal("TimeoutError");
  });

  it("gives that peer one more timeout and takes its answer", async () => {
    const deadline = stallTolerantDeadline(TIMEOUT_MS);
    const call = fetch(url, { signal: deadline.signal }).then(
      (r) => r.text(),
      (e: Error) => e.name,
    );
    stall(3 * TIMEOUT_MS);
    expect(await call).to.equal("ok");
    deadline.clear();
  });

  it("still times out a peer that does not answer, on an idle loop and after a stall", async () => {
    for (const busyMs of [0, 3 * TIMEOUT_MS]) {
      const deadline = stallTolerantDeadline(TIMEOUT_MS);
      const started = performance.now();
      const call = fetch(silentUrl, { signal: deadline.signal }).then(
        () => "answered",
        (e: Error) => e.name,
      );
      stall(busyMs);
      expect(await call, `after a ${busyMs} ms stall`).to.equal("TimeoutError");
      expect(performance.now() - started).to.be.at.least(TIMEOUT_MS);
    }
  });
});
