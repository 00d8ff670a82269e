import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { BIN } from "../../harness/paths.ts";
import { ToxiproxyClient } from "../../harness/proxy/client.ts";

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const line = async (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of lines) {
        const m = l.match(pattern);
        if (m) return m;
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${pattern}; got:\n${lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { child, lines, exited, line };
}

describe("firedrill proxy serve", function () {
  this.timeout(20_000);

  it("serves the Toxiproxy API until SIGTERM, then closes every proxy and exits 0", async () => {
    const serve = run(["proxy", "serve", "--port", "0"]);
    try {
      const [, url] = await serve.line(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 15_000);
      const client = new ToxiproxyClient(url!);
      expect(await client.version()).to.match(/^2\.12\.0/);
      const proxy = await client.createProxy({ name: "p", listen: "127.0.0.1:0", upstream: "127.0.0.1:1" });
      serve.child.kill("SIGTERM");
      expect(await serve.exited).to.equal(0);
      expect(serve.lines.join("\n")).to.include("stopped (SIGTERM)");
      let refused = false;
      await fetch(`http://${proxy.listen}`).catch(() => {
        refused = true;
      });
      expect(refused).to.equal(true);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("refuses a non-loopback host without --allow-remote (exit 2)", async () => {
    const serve = run(["proxy", "serve", "--host", "0.0.0.0", "--port", "0"]);
    expect(await serve.exited).to.equal(2);
    expect(serve.lines.join("\n")).to.match(/not a loopback address.*--allow-remote.*\(FD100\)/);
  });

  it("rejects an unknown sub-command and a bad port (exit 2)", async () => {
    expect(await run(["proxy", "start"]).exited).to.equal(2);
    expect(await run(["proxy", "serve", "--port", "http"]).exited).to.equal(2);
  });
});
