// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title Stablecoin
/// @notice Firedrill USD (fdUSD), a fiat-backed stablecoin with 18 decimals. Only the
/// collateral vault (VAULT_ROLE) creates and destroys supply, so the vault's books and
/// the token's supply cannot drift apart.
contract Stablecoin is ERC20, AccessControl {
    /// @notice Role of the vault: the only minter and burner.
    bytes32 public constant VAULT_ROLE = keccak256("VAULT_ROLE");

    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants VAULT_ROLE to the vault.
    constructor(address admin) ERC20("Firedrill USD", "fdUSD") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Creates `amount` fdUSD for `to`.
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in 18-decimal units.
    function mint(address to, uint256 amount) external onlyRole(VAULT_ROLE) {
        _mint(to, amount);
    }

    /// @notice Destroys `amount` fdUSD held by `from`.
    /// @dev The vault burns only what it holds itself (it pulls redeemed tokens first with
    /// `transferFrom`, which spends the holder's allowance).
    /// @param from Holder of the tokens to destroy.
    /// @param amount Amount in 18-decimal units.
    function burn(address from, uint256 amount) external onlyRole(VAULT_ROLE) {
        _burn(from, amount);
    }
}
