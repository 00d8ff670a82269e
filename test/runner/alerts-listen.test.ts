import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import { startAlertSink } from "../../harness/runner/alert-sink.ts";
import { alertsEndpoint } from "../../harness/runner/run-command.ts";

describe("where the alert receiver listens (--alerts-listen, --alerts-url)", () => {
  it("listens on loopback on a free port by default", () => {
    expect(alertsEndpoint({})).to.deep.equal({ host: "127.0.0.1", port: 0 });
  });

  it("reads HOST:PORT and a public URL", () => {
    expect(
      alertsEndpoint({ "alerts-listen": "0.0.0.0:9700", "alerts-url": "https://alerts.example.org/alerts/" }),
    ).to.deep.equal({
      host: "0.0.0.0",
      port: 9700,
      publicUrl: "https://alerts.example.org/alerts",
    });
    expect(alertsEndpoint({ "alerts-listen": "[::1]:0" })).to.deep.include({ host: "::1", port: 0 });
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ "alerts-listen": "9700" }, /--alerts-listen: expected HOST:PORT .*got "9700"/],
    [{ "alerts-listen": "0.0.0.0:70000" }, /--alerts-listen: expected HOST:PORT/],
    [{ "alerts-url": "not a url" }, /--alerts-url: not a URL/],
    [{ "alerts-url": "ftp://x/alerts" }, /--alerts-url: expected an http or https URL/],
    [{ "alerts-url": "https://user:pw@x/alerts" }, /--alerts-url: credentials do not belong in the URL/],
  ];
  for (const [values, pattern] of bad) {
    it(`refuses ${JSON.stringify(values)} as bad usage (exit 2)`, () => {
      try {
        alertsEndpoint(values);
        expect.fail("accepted");
      } catch (error) {
        expect(error).to.be.instanceOf(FiredrillError);
        expect((error as FiredrillError).message).to.match(pattern);
        expect((error as FiredrillError).exitCode).to.equal(2);
      }
    });
  }

  it("the receiver listens where it is told and gives the public URL to the stack", async () => {
    const sink = await startAlertSink("secret-0123456789", {
      onAlert: () => {},
      listen: { host: "127.0.0.2", port: 0, publicUrl: "https://alerts.example.org/alerts" },
    });
    try {
      expect(sink.url).to.equal("https://alerts.example.org/alerts");
      const bare = await startAlertSink("secret-0123456789", {
        onAlert: () => {},
        listen: { host: "127.0.0.2", port: 0 },
      });
      try {
        expect(bare.url).to.match(/^http:\/\/127\.0\.0\.2:\d+\/alerts$/);
        const answer = await fetch(bare.url, { method: "POST", body: "{}" });
        expect(answer.status).to.equal(401);
      } finally {
        await bare.close();
      }
    } finally {
      await sink.close();
    }
  });
});
