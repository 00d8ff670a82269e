/**
 * The report's charts, rendered to SVG on the server by ECharts (no browser, no
 * script in the page), so a report is one static file that prints the same way.
 */
import * as echarts from "echarts";
import { type Journal, journalPassed, type LoadScenario } from "../runner/journal.ts";
import { fmtMs, PALETTE } from "./format.ts";

/** An ECharts option object; loosely typed because the option types clash with exactOptionalPropertyTypes. */
type Option = Record<string, unknown>;

const BASE: Option = {
  animation: false,
  backgroundColor: "transparent",
  textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" },
};

/** Renders an ECharts option to an SVG string of the given size in CSS pixels. */
export function renderSvg(option: Option, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption({ ...BASE, ...option } as echarts.EChartsOption);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const PHASE_COLORS = {
  detection: "#d97706",
  response: "#2563eb",
  mitigation: "#7c3aed",
  recovery: "#059669",
} as const;

/** The smallest 1, 2, 2.5 or 5 times a power of ten at or above `x`, so axes end on a round number. */
function niceCeil(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= x - 1e-9) ?? 10) * p;
}

const LEGEND = [
  "fault active",
  "injected",
  "proof",
  "healed",
  "alert",
  "probe ok",
  "probe failed",
  "load start/end",
];

/** Injections, heals, proofs, alerts, probes and the four phases on one time axis, with the RTO line when it fits. */
export function timelineChart(journal: Journal, width = 900): string {
  const sec = (ms: number): number => Math.round(ms) / 1000;
  const faultLanes = journal.faults.map((f, i) => `F${i + 1} ${f.type}`);
  const lanes = [...faultLanes, "alerts", "probes", ...(journal.load ? ["load"] : [])];
  const events = journal.timeline;
  const tMin = Math.min(0, ...events.map((e) => e.t_ms));
  const tMax = Math.max(1000, ...events.map((e) => e.t_ms));
  const rtoMs = journal.systems.rto_seconds * 1000;
  const rtoFits = rtoMs <= tMax * 3;
  const xMax = rtoFits ? Math.max(tMax, rtoMs) * 1.04 : tMax * 1.04;
  const first = journal.first_injection_at === null ? null : Date.parse(journal.first_injection_at);
  const tOf = (at: string | null): number | null =>
    at === null || first === null ? null : Date.parse(at) - first;
  const series: unknown[] = [];
  journal.faults.forEach((fault, i) => {
    const from = tOf(fault.injected_at);
    const to = tOf(fault.healed_at) ?? tMax;
    if (from === null) return;
    series.push({
      type: "line",
      name: "fault active",
      data: [
        [sec(from), faultLanes[i]],
        [sec(to), faultLanes[i]],
      ],
      symbol: "none",
      lineStyle: { width: 12, color: "#dc2626", opacity: 0.75, cap: "butt" },
      color: "#dc2626",
      silent: true,
    });
  });
  const scatter = (
    name: string,
    kind: string,
    lane: (e: (typeof events)[number]) => string,
    color: string,
    symbol: string,
  ) => {
    const data = events.filter((e) => e.kind === kind).map((e) => [sec(e.t_ms), lane(e)]);
    if (data.length > 0)
      series.push({ type: "scatter", name, data, symbol, symbolSize: 10, color, itemStyle: { color } });
  };
  const faultLane = (e: (typeof events)[number]): string => faultLanes[e.fault ?? 0] ?? "alerts";
  scatter("injected", "fault.injected", faultLane, "#7f1d1d", "triangle");
  scatter("proof", "fault.proof", faultLane, "#111827", "diamond");
  scatter("healed", "fault.healed", faultLane, "#16a34a", "rect");
  scatter("alert", "alert.received", () => "alerts", "#ea580c", "pin");
  scatter("probe ok", "probe.ok", () => "probes", "#16a34a", "circle");
  scatter("probe failed", "probe.failed", () => "probes", "#dc2626", "emptyCircle");
  if (journal.load) {
    scatter("load start/end", "load.started", () => "load", "#0891b2", "arrow");
    scatter("load start/end", "load.ended", () => "load", "#0891b2", "arrow");
  }
  const marks: Array<Record<string, unknown>> = [];
  for (const phase of ["detection", "response", "mitigation", "recovery"] as const) {
    const at = journal.phases[`${phase}_ms`];
    if (at === null) continue;
    marks.push({
      xAxis: sec(at),
      name: phase,
      lineStyle: { color: PHASE_COLORS[phase], type: "dashed", width: 1.5 },
      label: {
        formatter: `${phase} ${fmtMs(at)}`,
        color: PHASE_COLORS[phase],
        fontSize: 10,
        position: "insideEndTop",
      },
    });
  }
  if (rtoFits) {
    marks.push({
      xAxis: sec(rtoMs),
      name: "RTO",
      lineStyle: { color: "#b91c1c", type: "solid", width: 2.5 },
      label: {
        formatter: `RTO ${fmtMs(rtoMs)}`,
        color: "#b91c1c",
        fontWeight: "bold",
        position: "insideEndTop",
      },
    });
  }
  series.push({
    type: "line",
    name: "phases",
    data: [],
    markLine: { symbol: "none", silent: true, data: marks as never, label: { position: "end" } },
  });
  const subtitle = rtoFits
    ? ""
    : `RTO ${fmtMs(rtoMs)} lies beyond the right edge${
        journal.phases.recovery_ms === null
          ? ""
          : `: recovery used ${((100 * journal.phases.recovery_ms) / rtoMs).toFixed(1)} % of it`
      }`;
  return renderSvg(
    {
      title: {
        text: "Timeline (seconds since the first injection)",
        subtext: subtitle,
        left: 0,
        textStyle: { fontSize: 13 },
        subtextStyle: { color: "#b91c1c", fontSize: 11 },
      },
      legend: {
        top: 50,
        left: 0,
        itemWidth: 12,
        textStyle: { fontSize: 10 },
        data: LEGEND.filter((name) => series.some((x) => (x as { name?: string }).name === name)),
      },
      grid: { left: 140, right: 36, top: 94, bottom: 38 },
      xAxis: {
        type: "value",
        min: Math.floor(sec(tMin)),
        max: niceCeil(sec(xMax)),
        name: "s",
        nameGap: 4,
        splitLine: { lineStyle: { color: "#eee" } },
      },
      yAxis: { type: "category", data: lanes, inverse: true, axisLabel: { fontSize: 11 } },
      series,
    },
    width,
    Math.max(240, 120 + lanes.length * 34),
  );
}

/** The four phase segments stacked from the first injection, against the phase limits and the RTO when it fits. */
export function phaseChart(journal: Journal, width = 900): string {
  const p = journal.phases;
  const points = [p.detection_ms, p.response_ms, p.mitigation_ms, p.recovery_ms];
  const names = ["detection", "response", "mitigation", "recovery"] as const;
  let prev = 0;
  const segments = names.map((name, i) => {
    const at = points[i] ?? null;
    if (at === null) return { name, value: 0 };
    const value = Math.max(0, at - prev);
    prev = at;
    return { name, value };
  });
  const limits = names
    .map((name) => ({ name, ms: journal.phase_limits_ms[name] }))
    .filter((l): l is { name: (typeof names)[number]; ms: number } => l.ms !== null);
  const rtoMs = journal.systems.rto_seconds * 1000;
  const reach = Math.max(prev, ...limits.map((l) => l.ms), 1000);
  const rtoFits = rtoMs <= reach * 3;
  const marks: Array<Record<string, unknown>> = limits.map((l) => ({
    xAxis: l.ms / 1000,
    lineStyle: { color: PHASE_COLORS[l.name], type: "dashed", width: 2 },
    label: { formatter: `${l.name} limit ${fmtMs(l.ms)}`, color: PHASE_COLORS[l.name], fontSize: 10 },
  }));
  if (rtoFits) {
    marks.push({
      xAxis: rtoMs / 1000,
      lineStyle: { color: "#b91c1c", width: 2.5 },
      label: { formatter: `RTO ${fmtMs(rtoMs)}`, color: "#b91c1c", fontWeight: "bold" },
    });
  }
  const series = segments.map((s, i) => ({
    type: "bar" as const,
    name: s.name,
    stack: "phases",
    barWidth: 28,
    data: [Number((s.value / 1000).toFixed(3))],
    itemStyle: { color: PHASE_COLORS[s.name] },
    label: { show: s.value > 0, formatter: fmtMs(s.value), color: "#fff", fontSize: 10 },
    ...(i === 0
      ? { markLine: { symbol: "none", silent: true, data: marks as never, label: { position: "end" } } }
      : {}),
  }));
  return renderSvg(
    {
      title: {
        text: `Phases from the first injection; MTTR ${journal.mttr_ms === null ? "not reached" : fmtMs(journal.mttr_ms)}`,
        subtext: rtoFits
          ? ""
          : `RTO ${fmtMs(rtoMs)} is off scale (${((reach / rtoMs) * 100).toFixed(1)} % of it shown)`,
        left: 0,
        textStyle: { fontSize: 13 },
        subtextStyle: { color: "#b91c1c", fontSize: 11 },
      },
      legend: { top: 2, right: 0, textStyle: { fontSize: 10 } },
      grid: { left: 20, right: 40, top: 76, bottom: 30 },
      xAxis: {
        type: "value",
        name: "s",
        max: niceCeil(((rtoFits ? Math.max(reach, rtoMs) : reach) * 1.05) / 1000),
      },
      yAxis: { type: "category", data: ["drill"], axisLabel: { show: false } },
      series,
    },
    width,
    190,
  );
}

/** p50/p95/p99 per load scenario, with each scenario's p95 budget as a marker. */
export function latencyChart(scenarios: readonly LoadScenario[], width = 440): string {
  const names = scenarios.map((s) => s.name);
  const budget = scenarios.map((s) => s.budgets.find((b) => b.metric.endsWith("_ms"))?.limit ?? null);
  return renderSvg(
    {
      title: { text: "Latency percentiles against the budget", left: 0, textStyle: { fontSize: 13 } },
      legend: { top: 28, left: 0, textStyle: { fontSize: 10 } },
      grid: { left: 56, right: 10, top: 66, bottom: 28 },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", name: "ms", nameGap: 8 },
      series: [
        { type: "bar", name: "p50", data: scenarios.map((s) => s.p50_ms), itemStyle: { color: PALETTE[0] } },
        { type: "bar", name: "p95", data: scenarios.map((s) => s.p95_ms), itemStyle: { color: PALETTE[1] } },
        { type: "bar", name: "p99", data: scenarios.map((s) => s.p99_ms), itemStyle: { color: PALETTE[2] } },
        {
          type: "scatter",
          name: "p95 budget",
          data: budget,
          symbol: "rect",
          symbolSize: [70, 3],
          itemStyle: { color: "#b91c1c" },
          label: {
            show: true,
            position: "top",
            formatter: (v: { value: unknown }) => `budget ${fmtMs(Number(v.value))}`,
            color: "#b91c1c",
            fontSize: 10,
          },
        },
      ],
    },
    width,
    260,
  );
}

function bucketLabels(bounds: readonly number[]): string[] {
  const f = (ms: number): string => (ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`);
  return [
    ...bounds.map((b, i) => (i === 0 ? `<${f(b)}` : `${f(bounds[i - 1]!)}–${f(b)}`)),
    `≥${f(bounds.at(-1) ?? 0)}`,
  ];
}

/** A load scenario's latency histogram (bucket counts) with the bucket of its p95 budget marked. */
export function histogramChart(scenario: LoadScenario, width = 440): string {
  const labels = bucketLabels(scenario.histogram.bounds_ms);
  const budget = scenario.budgets.find((b) => b.metric.endsWith("_ms"))?.limit;
  const budgetIndex = budget === undefined ? -1 : scenario.histogram.bounds_ms.findIndex((b) => b >= budget);
  return renderSvg(
    {
      title: {
        text: `${scenario.name}: latency histogram (${scenario.requests} requests)`,
        left: 0,
        textStyle: { fontSize: 13 },
      },
      grid: { left: 48, right: 10, top: 36, bottom: 48 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: 35, fontSize: 9 } },
      yAxis: { type: "value", name: "requests", nameGap: 8 },
      series: [
        {
          type: "bar",
          data: scenario.histogram.counts,
          itemStyle: { color: PALETTE[0] },
          ...(budgetIndex >= 0 && budget !== undefined
            ? {
                markLine: {
                  symbol: "none",
                  silent: true,
                  data: [{ xAxis: labels[budgetIndex] }] as never,
                  lineStyle: { color: "#b91c1c", width: 2 },
                  label: { formatter: `p95 budget ${fmtMs(budget)}`, color: "#b91c1c", fontSize: 10 },
                },
              }
            : {}),
        },
      ],
    },
    width,
    240,
  );
}

/** Groups journals by scenario, oldest first. */
export function byScenario(journals: readonly Journal[]): Map<string, Journal[]> {
  const groups = new Map<string, Journal[]>();
  for (const j of [...journals].sort((a, b) => a.started_at.localeCompare(b.started_at))) {
    const list = groups.get(j.scenario.name) ?? [];
    list.push(j);
    groups.set(j.scenario.name, list);
  }
  return groups;
}

/** MTTR per drill over time, one line per scenario; failed drills drawn hollow and red. */
export function mttrTrendChart(journals: readonly Journal[], width = 900): string {
  const series = [...byScenario(journals)].map(([name, list], i) => ({
    type: "line" as const,
    name,
    showSymbol: true,
    symbolSize: 7,
    color: PALETTE[i % PALETTE.length],
    data: list
      .filter((j) => j.mttr_ms !== null)
      .map((j) => ({
        value: [j.started_at, Number((j.mttr_ms! / 1000).toFixed(2))],
        ...(journalPassed(j)
          ? {}
          : {
              symbol: "emptyCircle",
              symbolSize: 10,
              itemStyle: { color: "#dc2626", borderColor: "#dc2626" },
            }),
      })),
  }));
  return renderSvg(
    {
      title: {
        text: "MTTR per drill (s), by scenario; red rings are failed drills",
        left: 0,
        textStyle: { fontSize: 13 },
      },
      legend: { top: 28, left: 0, textStyle: { fontSize: 10 } },
      grid: { left: 50, right: 20, top: 78, bottom: 30 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "s", nameGap: 8 },
      series,
    },
    width,
    300,
  );
}

/** Cumulative pass rate over time, one line per scenario. */
export function passRateTrendChart(journals: readonly Journal[], width = 900): string {
  const series = [...byScenario(journals)].map(([name, list], i) => {
    let ok = 0;
    return {
      type: "line" as const,
      name,
      step: "end" as const,
      showSymbol: false,
      color: PALETTE[i % PALETTE.length],
      data: list.map((j, k) => {
        if (journalPassed(j)) ok++;
        return [j.started_at, Number(((100 * ok) / (k + 1)).toFixed(1))];
      }),
    };
  });
  return renderSvg(
    {
      title: {
        text: "Pass rate over time (%, cumulative), by scenario",
        left: 0,
        textStyle: { fontSize: 13 },
      },
      legend: { top: 28, left: 0, textStyle: { fontSize: 10 } },
      grid: { left: 50, right: 20, top: 78, bottom: 30 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0, max: 100, name: "%", nameGap: 8 },
      series,
    },
    width,
    280,
  );
}

/** The overall resilience score after each drill (0..100), as a stepped line. */
export function scoreChart(history: readonly { at: string; score: number }[], width = 900): string {
  return renderSvg(
    {
      title: {
        text: "Resilience score after each drill (0-100; a result loses 25% of its weight every 30 days)",
        left: 0,
        textStyle: { fontSize: 13 },
      },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0, max: 100 },
      series: [
        {
          type: "line" as const,
          name: "score",
          step: "end" as const,
          showSymbol: history.length <= 60,
          color: PALETTE[0],
          data: history.map((h) => [h.at, h.score]),
        },
      ],
    },
    width,
    240,
  );
}
