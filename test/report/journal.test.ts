import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { FiredrillError } from "../../harness/errors.ts";
import {
  canonicalJson,
  HEAD_FILE,
  JournalSchema,
  journalHash,
  journalHashMatches,
  parseJournal,
  verifyJournalDir,
  writeJournal,
} from "../../harness/runner/journal.ts";
import { makeJournalDraft, PLANTED_SECRETS } from "../../harness/testing/journals.ts";

describe("journal", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "firedrill-journal-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeThree(): Promise<string[]> {
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { path } = await writeJournal(
        dir,
        makeJournalDraft({
          seed: 10 + i,
          scenario: i,
          startMs: Date.parse("2026-05-01T00:00:00.000Z") + i * 86_400_000,
        }),
      );
      files.push(path);
    }
    return files;
  }

  it("canonical JSON sorts keys at every depth and ignores key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).to.equal(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).to.equal(canonicalJson({ y: 2, x: 1 }));
  });

  it("writes journals atomically, chained by hash, with no temp file left", async () => {
    const files = await writeThree();
    const names = await readdir(dir);
    expect(names.filter((n) => n.endsWith(".tmp") || n === ".journal.lock")).to.deep.equal([]);
    const journals = await Promise.all(files.map(async (f) => parseJournal(await readFile(f, "utf8"), f)));
    expect(journals.map((j) => j.integrity.sequence)).to.deep.equal([1, 2, 3]);
    expect(journals[0]!.integrity.previous).to.equal(null);
    expect(journals[1]!.integrity.previous?.sha256).to.equal(journals[0]!.integrity.sha256);
    expect(journals[2]!.integrity.previous?.sha256).to.equal(journals[1]!.integrity.sha256);
    for (const j of journals) expect(journalHashMatches(j)).to.equal(true);
    const report = await verifyJournalDir(dir);
    expect(report.problems).to.deep.equal([]);
    expect(report.verified).to.have.length(3);
  });

  it("chains journals written concurrently into one directory", async () => {
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        writeJournal(
          dir,
          makeJournalDraft({ seed: 200 + i, startMs: Date.parse("2026-06-01T00:00:00.000Z") + i * 1000 }),
        ),
      ),
    );
    const report = await verifyJournalDir(dir);
    expect(report.problems).to.deep.equal([]);
    expect(report.verified).to.have.length(5);
  });

  it("names a journal whose content was edited", async () => {
    const files = await writeThree();
    const text = await readFile(files[1]!, "utf8");
    const journal = JSON.parse(text);
    journal.mttr_ms = 1;
    await writeFile(files[1]!, JSON.stringify(journal, null, 2));
    const report = await verifyJournalDir(dir);
    expect(report.problems.map((p) => [p.kind, p.file])).to.deep.include([
      "edited",
      files[1]!.split("/").pop(),
    ]);
    expect(report.verified).to.have.length(2);
  });

  it("names a journal that was edited and re-hashed, through the next journal's record", async () => {
    const files = await writeThree();
    const journal = JSON.parse(await readFile(files[0]!, "utf8"));
    journal.verdicts[0].passed = !journal.verdicts[0].passed;
    journal.integrity.sha256 = journalHash(journal);
    await writeFile(files[0]!, JSON.stringify(journal));
    const report = await verifyJournalDir(dir);
    const problem = report.problems.find((p) => p.file === files[0]!.split("/").pop());
    expect(problem?.kind).to.equal("edited");
    expect(problem?.message).to.match(/rewritten/);
  });

  it("names a removed journal in the middle of the chain", async () => {
    const files = await writeThree();
    await rm(files[1]!);
    const report = await verifyJournalDir(dir);
    expect(report.problems).to.have.length(1);
    expect(report.problems[0]!.kind).to.equal("removed");
    expect(report.problems[0]!.file).to.equal(files[1]!.split("/").pop());
  });

  it("names the newest journal when it was removed, through the head file", async () => {
    const files = await writeThree();
    await rm(files[2]!);
    const report = await verifyJournalDir(dir);
    expect(report.problems.map((p) => [p.kind, p.file])).to.deep.equal([
      ["removed", files[2]!.split("/").pop()],
    ]);
  });

  it("reports a missing head file", async () => {
    await writeThree();
    await rm(join(dir, HEAD_FILE));
    const report = await verifyJournalDir(dir);
    expect(report.problems.map((p) => p.file)).to.deep.equal([HEAD_FILE]);
  });

  it("redacts secrets before the journal reaches the disk", async () => {
    const { path } = await writeJournal(dir, makeJournalDraft({ plantSecrets: true }));
    const text = await readFile(path, "utf8");
    for (const secret of PLANTED_SECRETS) expect(text).not.to.include(secret);
    expect(journalHashMatches(parseJournal(text, path))).to.equal(true);
  });

  it("refuses to write a journal that does not match the schema", async () => {
    const draft = { ...makeJournalDraft(), seed: 1.5 };
    try {
      await writeJournal(dir, draft);
      expect.fail("writeJournal accepted a fractional seed");
    } catch (error) {
      expect(error).to.be.instanceOf(FiredrillError);
      expect((error as Error).message).to.match(/seed/);
      // firedrill made the draft: a journal its own schema refuses is a bug.
      expect([(error as FiredrillError).code, (error as FiredrillError).exitCode]).to.deep.equal([
        "FD502",
        4,
      ]);
    }
    expect(await readdir(dir)).to.deep.equal([]);
  });

  /** The FiredrillError `promise` rejects with; fails the test when it resolves. */
  async function rejection(promise: Promise<unknown>): Promise<FiredrillError> {
    const error = await promise.then(
      () => expect.fail("expected an error"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FiredrillError);
    return error as FiredrillError;
  }

  it("refuses a journal id already in the directory as bad input (exit 2)", async () => {
    const draft = makeJournalDraft();
    await writeJournal(dir, draft);
    const error = await rejection(writeJournal(dir, draft));
    expect([error.code, error.exitCode]).to.deep.equal(["FD236", 2]);
    expect(error.message).to.match(/already exists/);
  });

  it("refuses to chain onto a damaged head file as bad input (exit 2); --verify names the file", async () => {
    await writeThree();
    await writeFile(join(dir, HEAD_FILE), "not JSON\n");
    const error = await rejection(writeJournal(dir, makeJournalDraft({ seed: 99 })));
    expect([error.code, error.exitCode]).to.deep.equal(["FD235", 2]);
    const report = await verifyJournalDir(dir);
    expect(report.problems[0]).to.include({ file: HEAD_FILE, message: `${join(dir, HEAD_FILE)} is damaged` });
  });

  it("a journal directory that cannot be written is firedrill's own failure (exit 4)", async () => {
    const notDir = join(dir, "a-file");
    await writeFile(notDir, "");
    const error = await rejection(writeJournal(notDir, makeJournalDraft()));
    expect([error.code, error.exitCode]).to.deep.equal(["FD510", 4]);
    expect(error.message).to.include(notDir);
  });

  describe("parseJournal names what is wrong", () => {
    const parseError = (text: string): FiredrillError => {
      try {
        parseJournal(text, "reports/x.journal.json");
      } catch (error) {
        expect(error).to.be.instanceOf(FiredrillError);
        return error as FiredrillError;
      }
      throw new Error("parseJournal accepted bad input");
    };

    it("not JSON", () => {
      const error = parseError("hello, auditor");
      expect(error.message).to.match(/^reports\/x\.journal\.json: not JSON/);
      expect(error.exitCode).to.equal(2);
    });

    it("truncated", async () => {
      const { path } = await writeJournal(dir, makeJournalDraft());
      const text = await readFile(path, "utf8");
      const error = parseError(text.slice(0, Math.floor(text.length / 2)));
      expect(error.message).to.match(/truncated/);
      expect(error.exitCode).to.equal(2);
    });

    it("a newer format version", () => {
      const error = parseError(JSON.stringify({ version: 7, id: "x" }));
      expect(error.message).to.match(/format version 7 is newer than this firedrill reads \(2\)/);
    });

    it("a JSON document that is not a journal", () => {
      const error = parseError(JSON.stringify({ version: 1, id: "x" }));
      expect(error.message).to.match(/not a valid firedrill journal: scenario/);
    });
  });

  it("reads and verifies a version 1 journal, whose replay compression was called time_factor", async () => {
    const { journal } = await writeJournal(dir, makeJournalDraft({ seed: 5 }));
    const { replay_compression, integrity, ...rest } = journal;
    const { clock_speedup: _, ...lab } = rest.lab;
    const body = { ...rest, version: 1, time_factor: replay_compression, lab };
    const v1Integrity = {
      algorithm: integrity.algorithm,
      sequence: integrity.sequence,
      previous: integrity.previous,
    };
    // Hashed the way a version 1 firedrill hashed it: its own fields, canonical JSON.
    const sha256 = createHash("sha256")
      .update(canonicalJson({ ...body, integrity: v1Integrity }))
      .digest("hex");
    const text = JSON.stringify({ ...body, integrity: { ...v1Integrity, sha256 } });
    const read = parseJournal(text, "old.journal.json");
    expect(read.version).to.equal(1);
    expect(read.replay_compression).to.equal(replay_compression);
    expect(read.lab.clock_speedup).to.equal(undefined);
    expect(journalHashMatches(read)).to.equal(true);
    expect(journalHashMatches({ ...read, replay_compression: replay_compression + 1 })).to.equal(false);
  });

  it("the fixture journals match the schema", () => {
    const draft = makeJournalDraft({ seed: 3, fail: true });
    const sealed = {
      ...draft,
      integrity: { algorithm: "sha256", sequence: 1, previous: null, sha256: "0".repeat(64) },
    };
    expect(JournalSchema.safeParse(sealed).success).to.equal(true);
    expect(draft.verdicts.some((v) => !v.passed)).to.equal(true);
  });
});
