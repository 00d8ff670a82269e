/**
 * The table of standard events for the generated pages, in the order of the standard list,
 * from the meanings the contract gives them.
 */
import { ALERT_EVENTS, EVENT_MEANINGS } from "./contract-sources.ts";
import { code, table } from "./markdown.ts";

/** The standard events in the order of the standard list, with meaning and usual phase. */
export function eventTable(header = "event"): string {
  return table(
    [header, "meaning", "usual phase"],
    ALERT_EVENTS.map((event) => [code(event), EVENT_MEANINGS[event].meaning, EVENT_MEANINGS[event].phase]),
  );
}
