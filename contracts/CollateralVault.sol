// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {MockUSDC} from "./MockUSDC.sol";
import {PriceFeed} from "./PriceFeed.sol";
import {Stablecoin} from "./Stablecoin.sol";

/// @title CollateralVault
/// @notice Holds the collateral behind fdUSD (USDC and ETH), mints fdUSD against a minimum
/// collateral ratio valued with the price feeds, and redeems fdUSD for USDC at par.
/// @dev Two pause levels, as in the operations runbook: `pauseNonCritical()` stops minting
/// but never redemption (holders can always exit), while the guardian's full `pause()` stops
/// every state change (deposits, mints and redemptions). Mint and redemption ids are
/// processed at most once, so an operator can retry a request whose receipt was lost.
contract CollateralVault is AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role of the ops gateway: mints and redeems for users, may pause non-critical operations.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role of the guardian: both pause levels.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @dev fdUSD has 18 decimals and USDC 6: one USDC unit is 1e12 fdUSD units.
    uint256 private constant USDC_TO_WAD = 1e12;
    uint256 private constant WAD = 1e18;

    /// @notice The stablecoin this vault mints and burns.
    Stablecoin public immutable stablecoin;
    /// @notice The USDC collateral token.
    MockUSDC public immutable usdc;
    /// @notice USDC/USD price feed.
    AggregatorV3Interface public immutable usdcUsdFeed;
    /// @notice ETH/USD price feed.
    AggregatorV3Interface public immutable ethUsdFeed;

    uint256 private immutable _usdcPriceScale;
    uint256 private immutable _ethPriceScale;

    /// @notice Minimum collateral ratio after a mint, 1e18-scaled (1.5e18 is 150%).
    uint256 public minCollateralRatio;
    /// @notice A mint reverts when a feed's latest answer is older than this.
    uint256 public maxPriceAgeSeconds;
    /// @notice True while non-critical operations (minting) are paused.
    bool public nonCriticalPaused;
    /// @notice True for every mint and redemption id already processed.
    mapping(bytes32 id => bool done) public processed;

    /// @notice fdUSD was minted for mint request `id`.
    event Minted(bytes32 indexed id, address indexed to, uint256 amount);
    /// @notice `amount` fdUSD of `holder` was burned and `payout` USDC paid to `payTo`.
    event Redeemed(bytes32 indexed id, address indexed holder, address payTo, uint256 amount, uint256 payout);
    /// @notice Collateral came in; `asset` is the USDC address, or address(0) for ETH.
    event CollateralDeposited(address indexed from, address asset, uint256 amount);
    /// @notice Minting was paused by `by`.
    event NonCriticalPaused(address by);
    /// @notice Minting was resumed by `by`.
    event NonCriticalResumed(address by);
    /// @notice The minimum collateral ratio changed.
    event MinCollateralRatioUpdated(uint256 previous, uint256 current);
    /// @notice The maximum price age changed.
    event MaxPriceAgeUpdated(uint256 previous, uint256 current);

    /// @notice The id was already used by a mint or a redemption.
    error AlreadyProcessed(bytes32 id);
    /// @notice The mint would leave the collateral ratio below the minimum.
    error BelowMinimumCollateralRatio(uint256 ratioAfter, uint256 minimum);
    /// @notice The feed's latest answer is older than `maxPriceAgeSeconds`.
    error StalePrice(address feed);
    /// @notice The feed's latest answer is zero or negative.
    error InvalidPrice(address feed, int256 answer);
    /// @notice Minting is paused by `pauseNonCritical()`.
    error NonCriticalOperationsPaused();
    /// @notice `resumeNonCritical()` while non-critical operations are not paused.
    error NonCriticalOperationsNotPaused();
    /// @notice The caller has neither GUARDIAN_ROLE nor OPERATOR_ROLE.
    error UnauthorizedPauser(address account);
    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice The zero address where an account is needed.
    error ZeroAddress();
    /// @notice A redemption below one USDC unit (1e12 fdUSD) would pay nothing.
    error RedemptionTooSmall(uint256 amount);
    /// @notice The vault holds less USDC than the redemption pays.
    error InsufficientLiquidity(uint256 available, uint256 required);
    /// @notice A minimum collateral ratio below 100%.
    error InvalidCollateralRatio(uint256 ratio);
    /// @notice A maximum price age of zero.
    error InvalidMaxPriceAge();
    /// @notice A feed with more than 18 decimals.
    error UnsupportedFeedDecimals(address feed, uint8 decimals);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param stablecoin_ The fdUSD token (this vault needs its VAULT_ROLE).
    /// @param usdc_ The USDC collateral token.
    /// @param usdcUsd USDC/USD feed.
    /// @param ethUsd ETH/USD feed.
    /// @param minCollateralRatio_ 1e18-scaled, at least 1e18.
    /// @param maxPriceAgeSeconds_ Seconds after which a feed answer is stale for minting.
    constructor(
        address admin,
        Stablecoin stablecoin_,
        MockUSDC usdc_,
        PriceFeed usdcUsd,
        PriceFeed ethUsd,
        uint256 minCollateralRatio_,
        uint256 maxPriceAgeSeconds_
    ) {
        if (
            admin == address(0) || address(stablecoin_) == address(0) || address(usdc_) == address(0)
                || address(usdcUsd) == address(0) || address(ethUsd) == address(0)
        ) revert ZeroAddress();
        if (minCollateralRatio_ < WAD) revert InvalidCollateralRatio(minCollateralRatio_);
        if (maxPriceAgeSeconds_ == 0) revert InvalidMaxPriceAge();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        stablecoin = stablecoin_;
        usdc = usdc_;
        usdcUsdFeed = usdcUsd;
        ethUsdFeed = ethUsd;
        _usdcPriceScale = _scaleOf(usdcUsd);
        _ethPriceScale = _scaleOf(ethUsd);
        minCollateralRatio = minCollateralRatio_;
        maxPriceAgeSeconds = maxPriceAgeSeconds_;
    }

    /// @notice ETH sent without data is deposited as collateral.
    receive() external payable {
        _depositEth();
    }

    // ----------------------------------------------------------------- collateral

    /// @notice Deposits `usdcAmount` USDC (6 decimals) from the caller, who has approved the vault.
    function depositCollateral(uint256 usdcAmount) external whenNotPaused nonReentrant {
        if (usdcAmount == 0) revert ZeroAmount();
        IERC20(address(usdc)).safeTransferFrom(msg.sender, address(this), usdcAmount);
        emit CollateralDeposited(msg.sender, address(usdc), usdcAmount);
    }

    /// @notice Deposits the ETH sent with the call.
    function depositEth() external payable {
        _depositEth();
    }

    function _depositEth() private whenNotPaused nonReentrant {
        if (msg.value == 0) revert ZeroAmount();
        emit CollateralDeposited(msg.sender, address(0), msg.value);
    }

    // ----------------------------------------------------------------- mint and redeem

    /// @notice Mints `amount` fdUSD to `to` for the mint request `mintId`.
    /// @dev Reverts when paused at either level, on a repeated id, on a stale or invalid
    /// price, and when the ratio after the mint would fall below `minCollateralRatio`.
    /// @param mintId Idempotency key of the request.
    /// @param to Receiver of the fdUSD.
    /// @param amount fdUSD amount, 18 decimals.
    function mint(bytes32 mintId, address to, uint256 amount)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        nonReentrant
    {
        if (nonCriticalPaused) revert NonCriticalOperationsPaused();
        if (processed[mintId]) revert AlreadyProcessed(mintId);
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 value = _collateralValueUsd(true);
        uint256 ratioAfter = Math.mulDiv(value, WAD, stablecoin.totalSupply() + amount);
        if (ratioAfter < minCollateralRatio) revert BelowMinimumCollateralRatio(ratioAfter, minCollateralRatio);
        processed[mintId] = true;
        stablecoin.mint(to, amount);
        emit Minted(mintId, to, amount);
    }

    /// @notice Redeems `amount` fdUSD of `holder` for USDC at par, paid to `payTo`.
    /// @dev Pulls the fdUSD with `transferFrom` (the holder has approved the vault), burns it
    /// and pays `amount / 1e12` USDC; the remainder below one USDC unit is burned unpaid.
    /// Works while non-critical operations are paused; reverts under the full pause.
    /// @param redemptionId Idempotency key of the request.
    /// @param holder Owner of the fdUSD.
    /// @param payTo Receiver of the USDC.
    /// @param amount fdUSD amount, 18 decimals.
    function redeem(bytes32 redemptionId, address holder, address payTo, uint256 amount)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        nonReentrant
    {
        if (processed[redemptionId]) revert AlreadyProcessed(redemptionId);
        if (holder == address(0) || payTo == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 payout = amount / USDC_TO_WAD;
        if (payout == 0) revert RedemptionTooSmall(amount);
        uint256 available = usdc.balanceOf(address(this));
        if (available < payout) revert InsufficientLiquidity(available, payout);
        processed[redemptionId] = true;
        IERC20(address(stablecoin)).safeTransferFrom(holder, address(this), amount);
        stablecoin.burn(address(this), amount);
        IERC20(address(usdc)).safeTransfer(payTo, payout);
        emit Redeemed(redemptionId, holder, payTo, amount, payout);
    }

    // ----------------------------------------------------------------- views

    /// @notice Collateral value over fdUSD supply, 1e18-scaled; `type(uint256).max` with no supply.
    /// @dev Uses the feeds' latest answers without a staleness check, so monitors can read it
    /// during an oracle outage; a non-positive answer values that asset at zero.
    function collateralRatio() external view returns (uint256) {
        uint256 supply = stablecoin.totalSupply();
        if (supply == 0) return type(uint256).max;
        return Math.mulDiv(_collateralValueUsd(false), WAD, supply);
    }

    /// @notice USD value of the USDC and ETH held, 1e18-scaled, at the feeds' latest answers.
    function collateralValueUsd() external view returns (uint256) {
        return _collateralValueUsd(false);
    }

    // ----------------------------------------------------------------- pauses

    /// @notice Stops minting; redemption goes on. GUARDIAN_ROLE or OPERATOR_ROLE.
    function pauseNonCritical() external {
        _checkPauser();
        if (nonCriticalPaused) revert NonCriticalOperationsPaused();
        nonCriticalPaused = true;
        emit NonCriticalPaused(msg.sender);
    }

    /// @notice Resumes minting. GUARDIAN_ROLE or OPERATOR_ROLE.
    function resumeNonCritical() external {
        _checkPauser();
        if (!nonCriticalPaused) revert NonCriticalOperationsNotPaused();
        nonCriticalPaused = false;
        emit NonCriticalResumed(msg.sender);
    }

    /// @notice Full emergency pause: stops deposits, minting and redemption. GUARDIAN_ROLE.
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @notice Lifts the full emergency pause. GUARDIAN_ROLE.
    function unpause() external onlyRole(GUARDIAN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------- parameters

    /// @notice Sets the minimum collateral ratio (1e18-scaled, at least 1e18). DEFAULT_ADMIN_ROLE.
    function setMinCollateralRatio(uint256 ratio) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (ratio < WAD) revert InvalidCollateralRatio(ratio);
        emit MinCollateralRatioUpdated(minCollateralRatio, ratio);
        minCollateralRatio = ratio;
    }

    /// @notice Sets the maximum price age in seconds (non-zero). DEFAULT_ADMIN_ROLE.
    function setMaxPriceAgeSeconds(uint256 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (seconds_ == 0) revert InvalidMaxPriceAge();
        emit MaxPriceAgeUpdated(maxPriceAgeSeconds, seconds_);
        maxPriceAgeSeconds = seconds_;
    }

    // ----------------------------------------------------------------- internals

    function _checkPauser() private view {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(OPERATOR_ROLE, msg.sender)) {
            revert UnauthorizedPauser(msg.sender);
        }
    }

    function _collateralValueUsd(bool strict) private view returns (uint256) {
        uint256 usdcValue =
            Math.mulDiv(usdc.balanceOf(address(this)) * USDC_TO_WAD, _price(usdcUsdFeed, _usdcPriceScale, strict), WAD);
        uint256 ethValue = Math.mulDiv(address(this).balance, _price(ethUsdFeed, _ethPriceScale, strict), WAD);
        return usdcValue + ethValue;
    }

    /// @dev The feed's latest answer scaled to 18 decimals. `strict` (minting) rejects stale
    /// and non-positive answers; otherwise a non-positive answer counts as zero.
    function _price(AggregatorV3Interface feed, uint256 scale, bool strict) private view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        if (strict) {
            if (answer <= 0) revert InvalidPrice(address(feed), answer);
            if (block.timestamp > updatedAt && block.timestamp - updatedAt > maxPriceAgeSeconds) {
                revert StalePrice(address(feed));
            }
        }
        if (answer <= 0) return 0;
        return uint256(answer) * scale;
    }

    function _scaleOf(PriceFeed feed) private view returns (uint256) {
        uint8 d = feed.decimals();
        if (d > 18) revert UnsupportedFeedDecimals(address(feed), d);
        return 10 ** (18 - d);
    }
}
