import { expect } from "chai";
import { redact, redactDeep, registerSecret } from "../../harness/redact.ts";

describe("redact", () => {
  it("removes private keys, URL credentials, bearer tokens and API keys from text", () => {
    const key = `0x${"ab".repeat(32)}`;
    const text = `key=${key} url=https://user:pass@rpc.example/v3/0123456789abcdef0123456789abcdef?apikey=SECRET1 Bearer abc.def`;
    const out = redact(text);
    expect(out).not.to.include(key);
    expect(out).not.to.include("user:pass");
    expect(out).not.to.include("0123456789abcdef0123456789abcdef");
    expect(out).not.to.include("SECRET1");
    expect(out).not.to.include("abc.def");
    expect(out).to.include("https://<redacted>@rpc.example");
  });

  it("removes registered secrets from nested values", () => {
    registerSecret("webhook-secret-value");
    const out = redactDeep({ a: ["x webhook-secret-value y"], b: { c: "webhook-secret-value" } });
    expect(JSON.stringify(out)).not.to.include("webhook-secret-value");
  });

  it("redacts a key by value once registered, wherever it appears", () => {
    const key = `0x${"cd".repeat(32)}`;
    registerSecret(key);
    expect(redact(`signing with ${key} now`)).not.to.include(key);
    expect(redact(`{"privateKey":"0x${"ef".repeat(32)}"}`)).not.to.include("ef".repeat(32));
  });

  it("keeps transaction hashes and redemption ids readable", () => {
    const hash = `0x${"12".repeat(32)}`;
    expect(redact(`redemption ${hash} paid in tx ${hash}`)).to.equal(`redemption ${hash} paid in tx ${hash}`);
  });

  it("keeps ordinary addresses and hashes shorter than a key", () => {
    const address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    expect(redact(address)).to.equal(address);
  });
});
