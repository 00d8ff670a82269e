// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title SequencerUptimeFeed
/// @notice An L2 sequencer uptime feed like Chainlink's: `answer` is 0 while the sequencer
/// is up and 1 while it is down, and `startedAt` is the time of the last status change, so
/// that consumers can wait out a grace period after the sequencer comes back.
/// @dev As in Chainlink's feed, a report that repeats the current status starts no new
/// round: it only refreshes `updatedAt` of the latest round.
contract SequencerUptimeFeed is AggregatorV3Interface, AccessControl {
    /// @notice Role allowed to report the sequencer status.
    bytes32 public constant TRANSMITTER_ROLE = keccak256("TRANSMITTER_ROLE");

    struct Round {
        bool down;
        uint64 startedAt;
        uint64 updatedAt;
    }

    uint80 private _latestRoundId;
    mapping(uint80 roundId => Round) private _rounds;

    /// @notice The status changed and a new round started (answer 0 up, 1 down).
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    /// @notice The status was reported again unchanged; the latest round's `updatedAt` moved.
    event RoundUpdated(int256 status, uint64 updatedAt);

    /// @notice `roundId` was never recorded.
    error RoundNotFound(uint80 roundId);

    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants TRANSMITTER_ROLE.
    /// @dev The feed starts with round 1: sequencer up since deployment.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _record(false);
    }

    /// @notice Reports the sequencer status.
    /// @param down True when the sequencer is down.
    function updateStatus(bool down) external onlyRole(TRANSMITTER_ROLE) {
        Round storage latest = _rounds[_latestRoundId];
        if (latest.down == down) {
            latest.updatedAt = uint64(block.timestamp);
            emit RoundUpdated(_answer(down), uint64(block.timestamp));
        } else {
            _record(down);
        }
    }

    /// @notice Decimals of the answer (a status, so 0).
    function decimals() external pure returns (uint8) {
        return 0;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external pure returns (string memory) {
        return "L2 Sequencer Uptime Status Feed";
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
        return _round(_latestRoundId);
    }

    function _record(bool down) private {
        uint80 roundId = _latestRoundId + 1;
        _latestRoundId = roundId;
        _rounds[roundId] = Round({down: down, startedAt: uint64(block.timestamp), updatedAt: uint64(block.timestamp)});
        emit AnswerUpdated(_answer(down), roundId, block.timestamp);
    }

    function _round(uint80 roundId) private view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage r = _rounds[roundId];
        return (roundId, _answer(r.down), r.startedAt, r.updatedAt, roundId);
    }

    function _answer(bool down) private pure returns (int256) {
        return down ? int256(1) : int256(0);
    }
}
