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
    compilers: [
      {
        version: solcVersion,
        path: require.resolve("solc/soljson.js"),
        settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 } },
      },
      // Chainlink's price feed proxy is written for exactly 0.6.6.
      {
        version: require("solc-0.6.6/package.json").version,
        path: require.resolve("solc-0.6.6/soljson.js"),
        settings: { optimizer: { enabled: true, runs: 200 } },
      },
    ],
    // Chainlink's own contracts, for the tests' "mainnet-like" node: a team's real deployment.
    npmFilesToBuild: [
      "@chainlink/contracts/src/v0.6/EACAggregatorProxy.sol",
      "@chainlink/contracts/src/v0.8/l2ep/dev/arbitrum/ArbitrumSequencerUptimeFeed.sol",
      "@chainlink/contracts/src/v0.8/dev/Flags.sol",
      "@chainlink/contracts/src/v0.8/shared/access/SimpleWriteAccessController.sol",
    ],
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
