// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ControlledAggregator
/// @notice An aggregator that answers whatever its owner records, with the full
/// AggregatorV2V3 surface a Chainlink `AggregatorProxy` reads. To drill a price fault on a
/// real proxy, firedrill puts one of these behind it (as the proxy's owner would), starting
/// from the proxy's latest round, and puts the original aggregator back on heal.
contract ControlledAggregator {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    address public immutable owner;
    uint8 public immutable decimals;
    uint256 public immutable version;
    string public description;
    uint80 public latestRound;
    mapping(uint256 roundId => Round) private _rounds;

    /// @notice A new answer was recorded (same event as Chainlink's aggregators).
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    /// @notice A new round started (same event as Chainlink's aggregators).
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error NotOwner();
    error NoDataPresent();

    constructor(uint8 decimals_, string memory description_, uint256 version_, address owner_) {
        decimals = decimals_;
        description = description_;
        version = version_;
        owner = owner_;
    }

    /// @notice Records a round with the times given (a copy of another feed's round keeps its age).
    function record(int256 answer, uint256 startedAt, uint256 updatedAt) external {
        if (msg.sender != owner) revert NotOwner();
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round({answer: answer, startedAt: uint64(startedAt), updatedAt: uint64(updatedAt)});
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    /// @notice Records `answer` as a new round at the current block's time.
    function transmit(int256 answer) external {
        if (msg.sender != owner) revert NotOwner();
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round({answer: answer, startedAt: uint64(block.timestamp), updatedAt: uint64(block.timestamp)});
        emit NewRound(roundId, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }

    function getAnswer(uint256 roundId) external view returns (int256) {
        return _rounds[roundId].answer;
    }

    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return _rounds[roundId].updatedAt;
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage r = _rounds[roundId];
        if (r.updatedAt == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        if (latestRound == 0) revert NoDataPresent();
        Round storage r = _rounds[latestRound];
        return (latestRound, r.answer, r.startedAt, r.updatedAt, latestRound);
    }
}
