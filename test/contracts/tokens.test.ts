import { expect } from "chai";
import { as, deployStack, snapshotFixture, USDC, WAD } from "./fixture.ts";

const fixture = snapshotFixture(deployStack);

describe("MockUSDC", () => {
  it("is Mock USD Coin (USDC) with 6 decimals", async () => {
    const { usdc } = await fixture();
    expect(await usdc.name()).to.equal("Mock USD Coin");
    expect(await usdc.symbol()).to.equal("USDC");
    expect(await usdc.decimals()).to.equal(6n);
  });

  it("lets the owner mint and adds to the supply", async () => {
    const { usdc, stranger } = await fixture();
    const supply: bigint = await usdc.totalSupply();
    await expect(usdc.mint(stranger.address, 5n * USDC))
      .to.emit(usdc, "Transfer")
      .withArgs("0x0000000000000000000000000000000000000000", stranger.address, 5n * USDC);
    expect(await usdc.balanceOf(stranger.address)).to.equal(5n * USDC);
    expect(await usdc.totalSupply()).to.equal(supply + 5n * USDC);
  });

  it("reverts a mint by anyone else with OwnableUnauthorizedAccount", async () => {
    const { usdc, stranger } = await fixture();
    await expect(as(usdc, stranger).mint(stranger.address, 1n))
      .to.be.revertedWithCustomError(usdc, "OwnableUnauthorizedAccount")
      .withArgs(stranger.address);
  });
});

describe("Stablecoin", () => {
  it("is Firedrill USD (fdUSD) with 18 decimals", async () => {
    const { stablecoin } = await fixture();
    expect(await stablecoin.name()).to.equal("Firedrill USD");
    expect(await stablecoin.symbol()).to.equal("fdUSD");
    expect(await stablecoin.decimals()).to.equal(18n);
  });

  it("lets only VAULT_ROLE mint and burn", async () => {
    const { stablecoin, admin, stranger, role } = await fixture();
    for (const who of [admin, stranger]) {
      await expect(as(stablecoin, who).mint(who.address, WAD))
        .to.be.revertedWithCustomError(stablecoin, "AccessControlUnauthorizedAccount")
        .withArgs(who.address, role("VAULT_ROLE"));
      await expect(as(stablecoin, who).burn(who.address, WAD))
        .to.be.revertedWithCustomError(stablecoin, "AccessControlUnauthorizedAccount")
        .withArgs(who.address, role("VAULT_ROLE"));
    }
  });

  it("mints and burns for a holder of VAULT_ROLE", async () => {
    const { stablecoin, admin, stranger, role } = await fixture();
    await stablecoin.grantRole(role("VAULT_ROLE"), admin.address);
    await stablecoin.mint(stranger.address, 3n * WAD);
    await stablecoin.burn(stranger.address, WAD);
    expect(await stablecoin.balanceOf(stranger.address)).to.equal(2n * WAD);
    expect(await stablecoin.totalSupply()).to.equal(2n * WAD);
  });
});
