// The generated contract (`../generated/api.ts`, written from docs/openapi.json by openapi-typescript) and
// short names for the schemas the portal uses. Nothing here is written by hand except the aliases.
import type { components, paths } from "../generated/api.js";

export type { components, paths };

export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

export type TokenResponse = Schema<"TokenResponse">;
export type User = Schema<"User">;
export type Profile = Schema<"Profile">;
export type UpdateProfileRequest = Schema<"UpdateProfileRequest">;
export type ProfileUpdate = Schema<"ProfileUpdate">;
export type Invoice = Schema<"Invoice">;
export type InvoiceDetail = Schema<"InvoiceDetail">;
export type InvoiceStatus = Schema<"InvoiceStatus">;
export type InvoiceFilter = Schema<"InvoiceFilter">;
export type PaymentResult = Schema<"PaymentResult">;
export type Money = Schema<"Money">;
export type Product = Schema<"ProductView">;
export type ProductDetail = Schema<"ProductDetail">;
export type CreateOrderRequest = Schema<"CreateOrderRequest">;
export type Order = Schema<"Order">;
export type OrderStatus = Schema<"OrderStatus">;
export type Subscription = Schema<"Subscription">;
export type SimLine = Schema<"SimLine">;
export type SimActionResult = Schema<"SimActionResult">;
export type CaseSummary = Schema<"CaseSummary">;
export type CaseDetail = Schema<"CaseDetail">;
export type CaseComment = Schema<"CaseComment">;
export type CreateCaseRequest = Schema<"CreateCaseRequest">;
export type Problem = Schema<"Problem">;
export type ErrorCode = Schema<"ErrorCode">;

/** What the order status stream sends as each event's `data`, straight from the operation's 200 response. */
export type OrderStreamEvent =
    paths["/api/v1/orders/{id}/events"]["get"]["responses"][200]["content"]["text/event-stream"];
