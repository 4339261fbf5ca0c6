// palisade.v1 WatchRequest -> a predicate over hub entries. Filters combine with
// AND, values within one field with OR, an empty field does not filter (watch.proto).
// Fields an event kind does not have (Severity, PolicyName, Action on a Log; all
// of them on a Message) never match a non-empty filter on that field.
import { EventKind, type WatchRequest } from '../../proto/gen/palisade/v1/watch.js';
import { parseLabels } from '../enrich/identity.js';
import type { HubEntry } from '../hub/hub.js';
import { matchesSelector, parseLabelSelector } from './label-selector.js';

export type FilterResult = { ok: true; value: (e: HubEntry) => boolean } | { ok: false; error: string };

const set = (xs: readonly string[]): ReadonlySet<string> | undefined => (xs.length > 0 ? new Set(xs) : undefined);

export function labelsOf(e: HubEntry): ReadonlyMap<string, string> {
  if (!e.labels) e.labels = e.ev.body.$case === 'message' ? new Map() : parseLabels(e.ev.body.value.Labels);
  return e.labels;
}

export function compileWatchFilter(req: WatchRequest, allowedNamespaces?: ReadonlySet<string>): FilterResult {
  const sel = parseLabelSelector(req.podSelector);
  if (!sel.ok) return sel;
  const kinds = new Set(req.kinds.length > 0 ? req.kinds : [EventKind.EVENT_KIND_ALERT, EventKind.EVENT_KIND_LOG]);
  for (const k of kinds) if (k !== EventKind.EVENT_KIND_ALERT && k !== EventKind.EVENT_KIND_LOG && k !== EventKind.EVENT_KIND_MESSAGE) return { ok: false, error: `kinds: unknown kind ${k}` };
  const wantAlert = kinds.has(EventKind.EVENT_KIND_ALERT);
  const wantLog = kinds.has(EventKind.EVENT_KIND_LOG);
  const wantMsg = kinds.has(EventKind.EVENT_KIND_MESSAGE);
  const ns = set(req.namespaces);
  const ops = set(req.operations);
  const sevs = set(req.severities);
  const policies = set(req.policyNames);
  const actions = set(req.actions);
  const hosts = set(req.hostNames);
  const minSev = req.minSeverity;
  const selector = sel.value;
  return {
    ok: true,
    value: (e) => {
      const b = e.ev.body;
      if (b.$case === 'message') {
        if (!wantMsg || ns || allowedNamespaces || ops || sevs || policies || actions || minSev > 0 || selector.length > 0) return false;
        return !hosts || hosts.has(b.value.HostName);
      }
      if (b.$case === 'alert' ? !wantAlert : !wantLog) return false;
      const v = b.value;
      if (allowedNamespaces && !allowedNamespaces.has(v.NamespaceName)) return false;
      if (ns && !ns.has(v.NamespaceName)) return false;
      if (ops && !ops.has(v.Operation)) return false;
      if (hosts && !hosts.has(v.HostName)) return false;
      if (b.$case === 'alert') {
        const a = b.value;
        if (sevs && !sevs.has(a.Severity)) return false;
        if (minSev > 0 && !(Number(a.Severity) >= minSev)) return false;
        if (policies && !policies.has(a.PolicyName)) return false;
        if (actions && !actions.has(a.Action)) return false;
      } else if (sevs || minSev > 0 || policies || actions) return false;
      return selector.length === 0 || matchesSelector(selector, labelsOf(e));
    },
  };
}
