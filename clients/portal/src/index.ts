// The portal's calls to the Concierge API. `journey.ts` strings them together the way the portal's pages do.
export * from "./account.js";
export * from "./api.js";
export * as billing from "./billing.js";
export * as catalog from "./catalog.js";
export * from "./client.js";
export * as orders from "./orders.js";
export * from "./session.js";
export * as subscriptions from "./subscriptions.js";
export * as support from "./support.js";
export { journey } from "./journey.js";
