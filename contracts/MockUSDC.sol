// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title MockUSDC
/// @notice A stand-in for USDC in the lab: 6 decimals like the real token, freely minted by its owner.
contract MockUSDC is ERC20, Ownable {
    /// @param initialOwner The account allowed to mint.
    constructor(address initialOwner) ERC20("Mock USD Coin", "USDC") Ownable(initialOwner) {}

    /// @notice USDC has 6 decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Creates `amount` (6 decimals) for `to`.
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in 6-decimal units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
