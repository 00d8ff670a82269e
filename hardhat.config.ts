import { createRequire } from "node:module";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatEthersChaiMatchers from "@nomicfoundation/hardhat-ethers-chai-matchers";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);
// Compile with the compiler shipped in the npm package `solc`: no download, works offline.
const solcVersion: string = require("solc/package.json").version;
const TEST_JOBS = Number(process.env.FIREDRILL_TEST_JOBS ?? 1);

export default defineConfig({
  plugins: [hardhatEthers, hardhatEthersChaiMatchers, hardhatMocha],
  solidity: {
    version: solcVersion,
    path: require.resolve("solc/soljson.js"),
    settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 } },
  },
  paths: { tests: { mocha: "test" } },
  // FIREDRILL_TEST_JOBS=N runs the test files on N workers; by default (1) they run in this
  // process, one after another.
  test: {
    mocha: {
      timeout: 120_000,
      ...(TEST_JOBS > 1 ? { parallel: true, jobs: TEST_JOBS } : {}),
    },
  },
});
