/**
 * Time of `deployStack` (locally signed, batched, explicit nonces) against the anchor: the
 * same contract set deployed the usual way with ethers (ContractFactory, each transaction
 * awaited), both on fresh anvil chains started in the same run.
 *   node bench/deploy.ts [--runs 5]
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ContractFactory, id, JsonRpcProvider, MaxUint256, NonceManager, Wallet } from "ethers";
import { type ContractName, loadArtifact } from "../harness/lab/contracts.ts";
import { type DeployOptions, deployStack, type LabAccounts, labAccounts } from "../harness/lab/deploy.ts";
import { startProcess } from "../harness/process.ts";
import { median } from "../harness/stats.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const require = createRequire(import.meta.url);
const ANVIL = join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");

const OPTIONS: DeployOptions = {
  ethUsd: 3000,
  usdcUsd: 1,
  minCollateralRatio: 1.5,
  maxPriceAgeSeconds: 3600,
  withSequencerFeed: true,
  initialCollateralUsdc: 10_000_000n * 10n ** 6n,
  initialSupply: 5_000_000n * 10n ** 18n,
};

/** The anchor: one awaited transaction after another, as a Hardhat script would do it. */
async function sequentialDeploy(url: string, accounts: LabAccounts): Promise<void> {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const signer = (account: { privateKey: string }) =>
    new NonceManager(new Wallet(account.privateKey, provider));
  const deployer = signer(accounts.deployer);
  const deploy = async (name: ContractName, args: unknown[]) => {
    const { abi, bytecode } = loadArtifact(name);
    const contract = await new ContractFactory(abi, bytecode, deployer).deploy(...args);
    await contract.waitForDeployment();
    return contract;
  };
  const wait = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();
  const admin = accounts.deployer.address;
  const usdc = await deploy("MockUSDC", [admin]);
  const stablecoin = await deploy("Stablecoin", [admin]);
  const usdcFeed = await deploy("PriceFeed", [8, "USDC / USD", admin]);
  const ethFeed = await deploy("PriceFeed", [8, "ETH / USD", admin]);
  const sequencer = await deploy("SequencerUptimeFeed", [admin]);
  const vault = await deploy("CollateralVault", [
    admin,
    await stablecoin.getAddress(),
    await usdc.getAddress(),
    await usdcFeed.getAddress(),
    await ethFeed.getAddress(),
    15n * 10n ** 17n,
    3600n,
  ]);
  const vaultAddress = await vault.getAddress();
  await wait(stablecoin.getFunction("grantRole")(id("VAULT_ROLE"), vaultAddress));
  await wait(vault.getFunction("grantRole")(id("OPERATOR_ROLE"), accounts.operator.address));
  await wait(vault.getFunction("grantRole")(id("GUARDIAN_ROLE"), accounts.guardian.address));
  for (const feed of [usdcFeed, ethFeed, sequencer]) {
    await wait(feed.getFunction("grantRole")(id("TRANSMITTER_ROLE"), accounts.keeper.address));
  }
  await wait(usdc.getFunction("mint")(accounts.treasury.address, 20_000_000n * 10n ** 6n));
  for (const user of accounts.users) await wait(usdc.getFunction("mint")(user.address, 10n ** 12n));
  const keeper = signer(accounts.keeper);
  await wait((usdcFeed.connect(keeper) as typeof usdcFeed).getFunction("transmit")(10n ** 8n));
  await wait((ethFeed.connect(keeper) as typeof ethFeed).getFunction("transmit")(3000n * 10n ** 8n));
  const treasury = signer(accounts.treasury);
  await wait((usdc.connect(treasury) as typeof usdc).getFunction("approve")(vaultAddress, MaxUint256));
  await wait(
    (vault.connect(treasury) as typeof vault).getFunction("depositCollateral")(OPTIONS.initialCollateralUsdc),
  );
  for (const user of accounts.users) {
    const c = stablecoin.connect(signer(user)) as typeof stablecoin;
    await wait(c.getFunction("approve")(vaultAddress, MaxUint256));
  }
  const operator = vault.connect(signer(accounts.operator)) as typeof vault;
  for (const [i, user] of accounts.users.entries()) {
    await wait(operator.getFunction("mint")(id(`bench/${i}`), user.address, OPTIONS.initialSupply / 5n));
  }
  provider.destroy();
}

async function timeOnFreshAnvil(deploy: (url: string) => Promise<unknown>): Promise<number> {
  const anvil = await startProcess({
    name: "bench-anvil",
    command: ANVIL,
    args: ["--port", "0", "--host", "127.0.0.1", "--chain-id", "1"],
    ready: /Listening on 127\.0\.0\.1:(\d+)/,
  });
  try {
    const url = `http://127.0.0.1:${anvil.readyMatch?.[1]}`;
    const started = performance.now();
    await deploy(url);
    return performance.now() - started;
  } finally {
    await anvil.stop();
  }
}

const accounts = labAccounts();
const batched: number[] = [];
const sequential: number[] = [];
for (let i = 0; i < runs; i++) {
  batched.push(await timeOnFreshAnvil((url) => deployStack(url, accounts, OPTIONS)));
  sequential.push(await timeOnFreshAnvil((url) => sequentialDeploy(url, accounts)));
}
const b = median(batched);
const s = median(sequential);
console.log(`deployStack (batched)        median ${b.toFixed(1)} ms over ${runs} runs`);
console.log(`anchor: sequential ethers    median ${s.toFixed(1)} ms over ${runs} runs`);
console.log(`deployStack / sequential: ${(b / s).toFixed(2)}x`);
