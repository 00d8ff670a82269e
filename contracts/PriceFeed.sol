// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title PriceFeed
/// @notice A Chainlink AggregatorV3-compatible price feed written by an authorised
/// transmitter (the lab's keeper). Every transmission is a complete round: it starts and is
/// answered in the same block, so `startedAt == updatedAt` and `answeredInRound == roundId`.
contract PriceFeed is AggregatorV3Interface, AccessControl {
    /// @notice Role allowed to transmit answers.
    bytes32 public constant TRANSMITTER_ROLE = keccak256("TRANSMITTER_ROLE");

    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    uint8 private immutable _decimals;
    string private _description;
    uint80 private _latestRoundId;
    mapping(uint80 roundId => Round) private _rounds;

    /// @notice A new answer was recorded (same event as Chainlink's aggregators).
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    /// @notice A new round started (same event as Chainlink's aggregators).
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    /// @notice No round has been transmitted yet.
    error NoDataPresent();
    /// @notice `roundId` was never transmitted.
    error RoundNotFound(uint80 roundId);

    /// @param decimals_ Decimals of the answers (Chainlink USD feeds use 8).
    /// @param description_ Name of the pair, e.g. "ETH / USD".
    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants TRANSMITTER_ROLE.
    constructor(uint8 decimals_, string memory description_, address admin) {
        _decimals = decimals_;
        _description = description_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Records `answer` as a new round at the current block's time.
    /// @param answer The price, scaled by `decimals()`.
    function transmit(int256 answer) external onlyRole(TRANSMITTER_ROLE) {
        uint80 roundId = _latestRoundId + 1;
        _latestRoundId = roundId;
        _rounds[roundId] = Round({answer: answer, startedAt: uint64(block.timestamp), updatedAt: uint64(block.timestamp)});
        emit NewRound(roundId, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (roundId == 0 || roundId > _latestRoundId) revert RoundNotFound(roundId);
        return _round(roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (_latestRoundId == 0) revert NoDataPresent();
        return _round(_latestRoundId);
    }

    function _round(uint80 roundId) private view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage r = _rounds[roundId];
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }
}
