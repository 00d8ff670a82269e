import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import { Gate } from "../../harness/stack/gate.ts";

describe("stack admission gate", () => {
  it("admits up to its limit at once and the rest in arrival order as places are given back", async () => {
    const gate = new Gate(2);
    expect(await gate.enter(1000)).to.equal(true);
    expect(await gate.enter(1000)).to.equal(true);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => gate.enter(10_000).then((ok) => order.push(ok ? n : -n)));
    expect(gate.held).to.equal(2);
    expect(gate.queued).to.equal(3);
    gate.leave();
    await waiting[0];
    expect(order).to.deep.equal([1]);
    expect(gate.held).to.equal(2);
    gate.leave();
    gate.leave();
    await Promise.all(waiting);
    expect(order).to.deep.equal([1, 2, 3]);
    expect(gate.held).to.equal(2);
    expect(gate.queued).to.equal(0);
  });

  it("gives up on a place at the waiter's deadline and leaves the queue to the others", async () => {
    const gate = new Gate(1);
    expect(await gate.enter(0)).to.equal(true);
    const late = gate.enter(20);
    const patient = gate.enter(60_000);
    expect(await late).to.equal(false);
    expect(gate.queued).to.equal(1);
    gate.leave();
    expect(await patient).to.equal(true);
    expect(gate.held).to.equal(1);
  });

  it("lets no newcomer pass a waiting request, and refuses a limit below 1 or a leave without enter", async () => {
    const gate = new Gate(1);
    await gate.enter(0);
    const first = gate.enter(60_000);
    gate.leave();
    // The place went to the waiting request, not to a newcomer arriving now.
    expect(await gate.enter(0)).to.equal(false);
    expect(await first).to.equal(true);
    expect(() => new Gate(0))
      .to.throw(FiredrillError, /limit.*a bug in firedrill/)
      .with.property("code", "FD501");
    const empty = new Gate(3);
    expect(() => empty.leave()).to.throw(/leave without enter/);
  });
});
