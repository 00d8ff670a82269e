import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { freePort, isAlive, poll, sleep } from "../../harness/process.ts";

describe("process helpers", () => {
  describe("isAlive", () => {
    it("is true for a running process and false for one that has exited", async () => {
      expect(isAlive(process.pid)).to.equal(true);
      const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      await new Promise((resolve) => child.once("exit", resolve));
      expect(isAlive(child.pid!)).to.equal(false);
      expect(isAlive(0)).to.equal(false);
      expect(isAlive(-1)).to.equal(false);
    });

    it("does not count a zombie as alive", async function () {
      if (!existsSync("/proc/self/stat")) this.skip();
      // `sleep 30` replaces the shell and never reaps the shell's background child. The child
      // ends only once the shell has become `sleep`: a shell still running could reap it first.
      const script =
        'shell=$$; (while [ "$(cat /proc/$shell/comm)" != sleep ]; do sleep 0.01; done) & echo $!; exec sleep 30';
      const parent = spawn("sh", ["-c", script], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      try {
        const lines = createInterface({ input: parent.stdout! });
        const zombie = Number((await lines[Symbol.asyncIterator]().next()).value);
        lines.close();
        const reaped = await poll(async () => (isAlive(zombie) ? undefined : true), 5_000);
        expect(reaped, `pid ${zombie} is a zombie, not alive`).to.equal(true);
        // The kernel still knows the pid: only the zombie check tells it apart.
        expect(() => process.kill(zombie, 0)).to.not.throw();
      } finally {
        parent.kill("SIGKILL");
      }
    });
  });

  describe("sleep", () => {
    it("waits the time given", async () => {
      const started = performance.now();
      await sleep(50);
      expect(performance.now() - started).to.be.at.least(45);
    });

    it("resolves early when any of its signals aborts", async () => {
      const quiet = new AbortController();
      const loud = new AbortController();
      const started = performance.now();
      setTimeout(() => loud.abort(), 20);
      await sleep(10_000, quiet.signal, undefined, loud.signal);
      expect(performance.now() - started).to.be.below(2_000);
      await sleep(10_000, loud.signal);
      expect(performance.now() - started).to.be.below(2_000);
    });

    it("returns at once for zero or less", async () => {
      let later = false;
      const timer = setTimeout(() => {
        later = true;
      }, 0);
      await sleep(0);
      await sleep(-5);
      expect(later, "no timer ran first").to.equal(false);
      clearTimeout(timer);
    });
  });

  describe("poll", () => {
    it("returns the first value the check gives", async () => {
      let calls = 0;
      const value = await poll(async () => (++calls === 3 ? "ready" : undefined), 5_000, 5);
      expect(value).to.equal("ready");
      expect(calls).to.equal(3);
    });

    it("gives undefined once the deadline passes", async () => {
      const started = performance.now();
      expect(await poll(async () => undefined, 60, 10)).to.equal(undefined);
      expect(performance.now() - started).to.be.at.least(55);
    });
  });

  it("freePort gives a port that can be listened on", async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
