// Services and SIM lines, and the SIM changes a customer makes themselves. Every change carries an
// `Idempotency-Key`: pass the same key to retry a change after a network error or a 5xx.
import type { SimActionResult, SimLine, Subscription } from "./api.js";
import { type PortalClient, expectBody, newIdempotencyKey } from "./client.js";
import { money, unreachable } from "./format.js";

export async function subscriptions(api: PortalClient): Promise<Subscription[]> {
    return expectBody(await api.GET("/api/v1/subscriptions")).items;
}

export async function subscription(api: PortalClient, id: number): Promise<Subscription> {
    return expectBody(await api.GET("/api/v1/subscriptions/{id}", { params: { path: { id } } }));
}

export async function simLine(api: PortalClient, subscriptionId: number): Promise<SimLine> {
    return expectBody(
        await api.GET("/api/v1/subscriptions/{id}/sim", { params: { path: { id: subscriptionId } } }),
    );
}

export async function topUp(
    api: PortalClient,
    subscriptionId: number,
    quotaMb: number,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<SimActionResult> {
    return expectBody(
        await api.POST("/api/v1/subscriptions/{id}/sim/top-ups", {
            params: { path: { id: subscriptionId }, header: { "Idempotency-Key": idempotencyKey } },
            body: { quota_mb: quotaMb },
        }),
    );
}

/** `effectiveDate` is a calendar date, `YYYY-MM-DD`. */
export async function changePlan(
    api: PortalClient,
    subscriptionId: number,
    planCode: string,
    effectiveDate: string,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<SimActionResult> {
    return expectBody(
        await api.POST("/api/v1/subscriptions/{id}/sim/plan-changes", {
            params: { path: { id: subscriptionId }, header: { "Idempotency-Key": idempotencyKey } },
            body: { plan_code: planCode, effective_date: effectiveDate },
        }),
    );
}

export async function suspend(
    api: PortalClient,
    subscriptionId: number,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<SimActionResult> {
    return expectBody(
        await api.POST("/api/v1/subscriptions/{id}/sim/suspend", {
            params: { path: { id: subscriptionId }, header: { "Idempotency-Key": idempotencyKey } },
        }),
    );
}

export async function resume(
    api: PortalClient,
    subscriptionId: number,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<SimActionResult> {
    return expectBody(
        await api.POST("/api/v1/subscriptions/{id}/sim/resume", {
            params: { path: { id: subscriptionId }, header: { "Idempotency-Key": idempotencyKey } },
        }),
    );
}

export interface SimCard {
    number: string;
    plan: string;
    remaining: string;
    usedPercent: number;
    canSuspend: boolean;
    canResume: boolean;
    scheduledPlan: string | undefined;
}

export function simCard(line: SimLine): SimCard {
    const usage = line.data;
    const total = usage.quota_mb + usage.added_mb;
    return {
        number: line.phone_number,
        plan: line.plan_code,
        remaining: `${usage.remaining_mb} MB left in ${usage.month}`,
        usedPercent: total > 0 ? Math.min(100, Math.round((usage.used_mb / total) * 100)) : 0,
        canSuspend: line.status === "active",
        canResume: line.status === "suspended",
        scheduledPlan: line.pending_plan_change
            ? `${line.pending_plan_change.plan_code} from ${line.pending_plan_change.effective_date}`
            : undefined,
    };
}

/** The confirmation shown after a SIM change. */
export function confirmation(result: SimActionResult): string {
    const charged = result.charged ? ` (charged ${money(result.charged)})` : "";
    const when = result.outcome === "scheduled" ? "scheduled" : "done";
    switch (result.action) {
        case "top_up":
            return `Top-up ${when}${charged}`;
        case "plan_change":
            return `Plan change ${when}${charged}`;
        case "suspend":
            return `Line suspended${charged}`;
        case "resume":
            return `Line resumed${charged}`;
        default:
            return unreachable(result.action);
    }
}
