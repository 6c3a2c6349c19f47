/** The connector registry: one module per provider. */
import type { Connector, ProviderId } from "./types";
import { genericCrm } from "./generic-crm";
import { hubspot } from "./hubspot";
import { salesforce } from "./salesforce";
import { slack } from "./slack";

export const CONNECTORS: Record<ProviderId, Connector<Record<string, string>>> = {
  salesforce: salesforce as unknown as Connector<Record<string, string>>,
  hubspot: hubspot as unknown as Connector<Record<string, string>>,
  slack: slack as unknown as Connector<Record<string, string>>,
  "generic-crm": genericCrm as unknown as Connector<Record<string, string>>,
};

export { PROVIDERS as PROVIDER_IDS } from "../../contract/permissions";

export function connectorFor(provider: string): Connector<Record<string, string>> | null {
  return (CONNECTORS as Record<string, Connector<Record<string, string>>>)[provider] ?? null;
}
