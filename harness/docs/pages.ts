/**
 * The generated pages of docs/, each rendered in memory from the code it documents.
 * `npm run docs` writes them; test/docs.test.ts fails when a file in docs/ differs.
 */
import { renderErrorsPage } from "../errors.ts";
import { renderBcpPage } from "./bcp.ts";
import { renderScenariosPage } from "./scenarios.ts";
import { renderSutContractPage } from "./sut-contract.ts";

export interface GeneratedPage {
  /** Path from the repository root. */
  file: string;
  render(): string;
}

export const PAGES: readonly GeneratedPage[] = [
  { file: "docs/scenarios.md", render: renderScenariosPage },
  { file: "docs/sut-contract.md", render: renderSutContractPage },
  { file: "docs/errors.md", render: renderErrorsPage },
  { file: "docs/bcp.md", render: renderBcpPage },
];
