/**
 * The resilience score, computed from journals alone. Each system's score is its latest
 * drill's result, losing weight as it ages:
 *
 *   score = 100 x result x 0.75 ^ (age / 30 days)
 *
 * where a passed drill's result is 1, a failed or aborted one's 0.5, and a system never
 * drilled scores 0. An interrupted drill is no result: nothing was judged. The decay is the
 * public anchor of the field (a result loses 25% of its weight every 30 days), so a system
 * drilled and passed monthly stays above 75. A drill counts for the systems it targets, not
 * for every system in its blast radius. The overall score is the mean of the systems'
 * scores weighted by tier: tier 1 counts 3, tier 2 counts 2, tier 3 and below 1.
 */
import { type Journal, journalPassed } from "../runner/journal.ts";

/** A result keeps this share of its weight per `DECAY_PERIOD_MS` of age. */
export const DECAY_KEEP = 0.75;
export const DECAY_PERIOD_MS = 30 * 86_400_000;

/** How much a system of each tier weighs in the overall score. */
export function tierWeight(tier: number): number {
  return tier <= 1 ? 3 : tier === 2 ? 2 : 1;
}

/** 1 for a passed drill, 0.5 for a failed or aborted one, null for one interrupted. */
export function resultValue(journal: Journal): number | null {
  if (journal.status === "interrupted") return null;
  return journalPassed(journal) ? 1 : 0.5;
}

/** The weight a result of age `ageMs` keeps (1 when new, 0.75 after 30 days). */
export function ageWeight(ageMs: number): number {
  return DECAY_KEEP ** (Math.max(0, ageMs) / DECAY_PERIOD_MS);
}

export interface SystemScore {
  name: string;
  tier: number;
  /** 0..100, one decimal. */
  score: number;
  /** The latest drill that targeted it and was judged; null when none was. */
  last: { at: string; scenario: string; passed: boolean; mttr_ms: number | null } | null;
  /** Judged drills that targeted it. */
  drills: number;
}

/**
 * Every system's score at `nowMs`, from the journals that ended by then. `systems` adds
 * systems no journal targeted (they score 0); without it only targeted systems are listed.
 */
export function systemScores(
  journals: readonly Journal[],
  nowMs: number,
  systems: readonly { name: string; tier: number }[] = [],
): SystemScore[] {
  const out = new Map<string, SystemScore>();
  for (const system of systems)
    out.set(system.name, { name: system.name, tier: system.tier, score: 0, last: null, drills: 0 });
  const judged = journals
    .filter((j) => resultValue(j) !== null && Date.parse(j.ended_at) <= nowMs)
    .sort((a, b) => a.ended_at.localeCompare(b.ended_at));
  for (const journal of judged) {
    const value = resultValue(journal)!;
    for (const touched of journal.systems.touched) {
      if (touched.via !== "target") continue;
      const entry = out.get(touched.name) ?? {
        name: touched.name,
        tier: touched.tier,
        score: 0,
        last: null,
        drills: 0,
      };
      entry.drills += 1;
      entry.last = {
        at: journal.ended_at,
        scenario: journal.scenario.name,
        passed: value === 1,
        mttr_ms: journal.mttr_ms,
      };
      entry.score = round1(100 * value * ageWeight(nowMs - Date.parse(journal.ended_at)));
      out.set(touched.name, entry);
    }
  }
  return [...out.values()].sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name));
}

/** The tier-weighted mean of the systems' scores; null when there is no system. */
export function overallScore(scores: readonly SystemScore[]): number | null {
  const weight = scores.reduce((sum, s) => sum + tierWeight(s.tier), 0);
  if (weight === 0) return null;
  return round1(scores.reduce((sum, s) => sum + tierWeight(s.tier) * s.score, 0) / weight);
}

/** The overall score right after each journal ended, oldest first: its history. */
export function scoreHistory(
  journals: readonly Journal[],
  systems: readonly { name: string; tier: number }[] = [],
): { at: string; score: number }[] {
  const ends = [...new Set(journals.map((j) => j.ended_at))].sort();
  return ends.flatMap((at) => {
    const score = overallScore(systemScores(journals, Date.parse(at), systems));
    return score === null ? [] : [{ at, score }];
  });
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
