#!/bin/sh
# The --sut command of the Prometheus example: Prometheus, the blackbox exporter and
# Alertmanager, configured from the environment firedrill gives a system under test.
#   firedrill run scenarios/rpc-primary-outage.yml --sut examples/prometheus/sut.sh \
#     --alerts examples/prometheus/alerts.yml
exec node "$(dirname "$0")/start.mjs"
