import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import { ToxiproxyClient } from "../../harness/proxy/client.ts";
import {
  findToxiproxyServer,
  startEmbeddedToxiproxy,
  startRealToxiproxy,
} from "../../harness/proxy/server.ts";
import { Probe, startEchoServer, startTcpServer } from "./support.ts";

function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

describe("embedded toxiproxy server", function () {
  this.timeout(20_000);

  it("close() closes the API, every proxy listener and every live connection", async () => {
    const echo = await startEchoServer();
    const server = await startEmbeddedToxiproxy();
    try {
      const client = new ToxiproxyClient(server.url);
      const plain = await client.createProxy({
        name: "a",
        listen: "127.0.0.1:0",
        upstream: `127.0.0.1:${echo.port}`,
      });
      const toxic = await client.createProxy({
        name: "b",
        listen: "127.0.0.1:0",
        upstream: `127.0.0.1:${echo.port}`,
      });
      await client.addToxic("b", { type: "latency", attributes: { latency: 10 } });
      const p1 = await Probe.open(portOf(plain.listen));
      const p2 = await Probe.open(portOf(toxic.listen));
      await p1.roundTrip("x");
      await p2.roundTrip("y");
      await server.close();
      await p1.until(() => p1.ended !== undefined, 2000, "the plain connection to close");
      await p2.until(() => p2.ended !== undefined, 2000, "the toxic connection to close");
      let refused = 0;
      for (const url of [server.url, `http://${plain.listen}`, `http://${toxic.listen}`]) {
        await fetch(url).catch(() => refused++);
      }
      expect(refused).to.equal(3);
      await server.close(); // idempotent
    } finally {
      await server.close();
      await echo.close();
    }
  });

  it("a toxic change never hangs on a connection whose client stopped reading: that connection is cut", async () => {
    const flood = await startTcpServer((socket) => {
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (socket.write(chunk)) {
          /* fill every buffer */
        }
      };
      socket.on("drain", pump);
      pump();
    });
    const server = await startEmbeddedToxiproxy();
    try {
      const client = new ToxiproxyClient(server.url);
      const p = await client.createProxy({
        name: "f",
        listen: "127.0.0.1:0",
        upstream: `127.0.0.1:${flood.port}`,
      });
      await client.addToxic("f", { type: "latency", attributes: { latency: 1 } });
      const probe = await Probe.open(portOf(p.listen));
      await probe.until(() => probe.bytes > 0, 3000, "the first bytes");
      probe.socket.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const start = performance.now();
      await client.updateToxic("f", "latency_downstream", { attributes: { latency: 2 } });
      expect(performance.now() - start).to.be.lessThan(9000);
      probe.socket.resume();
      await probe.until(() => probe.ended !== undefined, 5000, "the stuck connection to be cut");
    } finally {
      await server.close();
      await flood.close();
    }
  });

  it("startRealToxiproxy reports a binary that dies before it is ready, with its output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fd-toxi-"));
    const fake = join(dir, "toxiproxy-server");
    writeFileSync(fake, "#!/bin/sh\necho 'bind: address already in use'\nexit 3\n");
    chmodSync(fake, 0o755);
    try {
      await startRealToxiproxy({ bin: fake, readyTimeoutMs: 5000 });
      expect.fail("no error");
    } catch (error) {
      expect(error).to.be.instanceOf(FiredrillError);
      expect((error as FiredrillError).code).to.equal("FD300");
      expect((error as Error).message).to.match(/toxiproxy-server: exited before it was ready \(code 3/);
      expect((error as FiredrillError).details.join("\n")).to.include("address already in use");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("findToxiproxyServer prefers TOXIPROXY_BIN", () => {
    const dir = mkdtempSync(join(tmpdir(), "fd-toxi-"));
    const fake = join(dir, "toxiproxy-server");
    writeFileSync(fake, "#!/bin/sh\n");
    chmodSync(fake, 0o755);
    const saved = process.env["TOXIPROXY_BIN"];
    try {
      process.env["TOXIPROXY_BIN"] = fake;
      expect(findToxiproxyServer()).to.equal(fake);
    } finally {
      if (saved === undefined) delete process.env["TOXIPROXY_BIN"];
      else process.env["TOXIPROXY_BIN"] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
