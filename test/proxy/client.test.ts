import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import { freePort } from "../../harness/process.ts";
import { ToxiproxyClient, toxiproxyStatus } from "../../harness/proxy/client.ts";
import { type ServerUnderTest, startEmbedded, startReal } from "./support.ts";

for (const [kind, start] of [
  ["embedded", startEmbedded],
  ["real", startReal],
] as const) {
  describe(`ToxiproxyClient (${kind} server)`, function () {
    this.timeout(15_000);
    let server: ServerUnderTest | undefined;

    before(async function () {
      server = await start();
      if (!server) {
        console.log("      (skipped: toxiproxy-server not found on PATH, TOXIPROXY_BIN or .tools/bin)");
        this.skip();
      }
    });
    after(async () => server?.close());
    afterEach(async () => {
      if (server) await server.client.reset();
      for (const name of Object.keys((await server?.client.proxies()) ?? {}))
        await server!.client.removeProxy(name);
    });

    it("reads a proxy again with its toxics (refresh)", async () => {
      const client = server!.client;
      await client.createProxy({ name: "rpc", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" });
      await client.addToxic("rpc", { type: "latency", attributes: { latency: 50 } });
      const info = await client.proxy("rpc");
      expect(info.toxics).to.deep.equal([
        {
          name: "latency_downstream",
          type: "latency",
          stream: "downstream",
          toxicity: 1,
          attributes: { latency: 50, jitter: 0 },
        },
      ]);
      expect((await client.setEnabled("rpc", false)).enabled).to.equal(false);
      expect((await client.proxy("rpc")).enabled).to.equal(false);
    });

    it("turns failures into FiredrillErrors that name the proxy and quote the server", async () => {
      const client = server!.client;
      await client.createProxy({ name: "oracle", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" });
      await client.addToxic("oracle", { type: "timeout" });
      let error: unknown;
      try {
        await client.addToxic("oracle", { type: "timeout" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(FiredrillError);
      expect((error as FiredrillError).code).to.equal("FD300");
      expect((error as FiredrillError).message).to.include(
        'proxy "oracle": could not add toxic "timeout_downstream"',
      );
      expect((error as FiredrillError).message).to.include("HTTP 409 (toxic already exists)");
      expect(toxiproxyStatus(error)).to.equal(409);
      try {
        await client.proxy("missing");
        expect.fail("no error");
      } catch (e) {
        expect((e as Error).message).to.include('could not read proxy "missing": HTTP 404 (proxy not found)');
      }
    });

    it("injectToxic returns an idempotent removal that tolerates a reset", async () => {
      const client = server!.client;
      await client.createProxy({ name: "reg", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" });
      const heal = await client.injectToxic("reg", {
        type: "bandwidth",
        stream: "upstream",
        attributes: { rate: 1 },
      });
      expect((await client.proxy("reg")).toxics.map((t) => t.name)).to.deep.equal(["bandwidth_upstream"]);
      await client.reset();
      await heal();
      await heal();
      expect((await client.proxy("reg")).toxics).to.deep.equal([]);
    });

    it("updates a toxic by merging attributes", async () => {
      const client = server!.client;
      await client.createProxy({ name: "up", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" });
      await client.addToxic("up", { type: "slicer", attributes: { average_size: 10, delay: 5 } });
      const t = await client.updateToxic("up", "slicer_downstream", {
        attributes: { delay: 9 },
        toxicity: 0.5,
      });
      expect(t.attributes).to.deep.equal({ average_size: 10, size_variation: 0, delay: 9 });
      expect(t.toxicity).to.equal(0.5);
    });

    it("populates several proxies at once", async () => {
      const list = await server!.client.populate([
        { name: "a", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" },
        { name: "b", listen: "127.0.0.1:0", upstream: "127.0.0.1:1", enabled: false },
      ]);
      expect(list.map((p) => [p.name, p.enabled])).to.deep.equal([
        ["a", true],
        ["b", false],
      ]);
    });
  });
}

describe("ToxiproxyClient without a server", () => {
  it("says the server cannot be reached", async () => {
    const port = await freePort();
    const client = new ToxiproxyClient(`http://127.0.0.1:${port}`);
    try {
      await client.version();
      expect.fail("no error");
    } catch (e) {
      expect(e).to.be.instanceOf(FiredrillError);
      expect((e as Error).message).to.match(
        /toxiproxy at http:\/\/127\.0\.0\.1:\d+: could not read the version: .*ECONNREFUSED/,
      );
    }
  });
});
