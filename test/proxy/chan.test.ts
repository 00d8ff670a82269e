// The embedded proxy's waits, against Go's: a toxic's timer never fires before its time, though
// Node's timers count whole milliseconds.
import { expect } from "chai";
import { Chan, Stub } from "../../harness/proxy/chan.ts";

describe("embedded proxy: a stub's timer", () => {
  it("never fires before its time, for a wait of a fraction of a millisecond more than a whole", async () => {
    const stub = new Stub(new Chan(0), new Chan(0));
    const early: number[] = [];
    for (let round = 0; round < 20; round++) {
      const started = performance.now();
      const selected = await stub.select({ input: false, timerMs: 5.9 });
      expect(selected.kind).to.equal("timer");
      const waited = performance.now() - started;
      if (waited < 5.9) early.push(waited);
    }
    expect(early, "waits shorter than 5.9 ms").to.deep.equal([]);
  });
});
