// Invoices and paying them (WHMCS behind the API).
import type { Invoice, InvoiceDetail, InvoiceFilter as StatusFilter, InvoiceStatus, PaymentResult } from "./api.js";
import { type PortalClient, expectBody, newIdempotencyKey } from "./client.js";
import { money, unreachable } from "./format.js";

export interface InvoiceFilter {
    /** `unpaid` includes the overdue ones. */
    status?: StatusFilter;
    limit?: number;
}

/** Every page of the customer's invoices, newest first, following `next_cursor`. */
export async function* invoices(api: PortalClient, filter: InvoiceFilter = {}): AsyncGenerator<Invoice> {
    let cursor: string | undefined;
    do {
        const page = expectBody(
            await api.GET("/api/v1/billing/invoices", {
                params: {
                    query: {
                        ...(filter.status !== undefined ? { status: filter.status } : {}),
                        ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
                        ...(cursor !== undefined ? { cursor } : {}),
                    },
                },
            }),
        );
        yield* page.items;
        cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
}

export async function invoice(api: PortalClient, id: number): Promise<InvoiceDetail> {
    return expectBody(await api.GET("/api/v1/billing/invoices/{id}", { params: { path: { id } } }));
}

export interface InvoiceRow {
    id: number;
    number: string;
    issued: string;
    due: string;
    total: string;
    balance: string;
    label: string;
    payable: boolean;
}

export function invoiceRow(invoice: Invoice): InvoiceRow {
    return {
        id: invoice.id,
        number: invoice.number,
        issued: invoice.issued_on,
        due: invoice.due_on,
        total: money(invoice.total),
        balance: money(invoice.balance),
        label: statusLabel(invoice.status),
        payable: invoice.status === "unpaid" || invoice.status === "overdue",
    };
}

function statusLabel(status: InvoiceStatus): string {
    switch (status) {
        case "unpaid":
            return "Due";
        case "overdue":
            return "Overdue";
        case "paid":
            return "Paid";
        case "cancelled":
            return "Cancelled";
        case "refunded":
            return "Refunded";
        case "collections":
            return "In collections";
        case "payment_pending":
            return "Payment in progress";
        default:
            return unreachable(status);
    }
}

export type PaymentChoice = { kind: "stored"; payMethodId: number } | { kind: "link" };

export type PaymentOutcome =
    | { kind: "paid"; invoice: InvoiceDetail | undefined }
    | { kind: "pending" }
    | { kind: "redirect"; url: string; expiresAt: string | undefined };

/**
 * Pays an invoice with a stored method, or asks for a payment page to send the customer to. Pass the same
 * `idempotencyKey` to retry after a network error or a 5xx; a fresh one otherwise.
 */
export async function payInvoice(
    api: PortalClient,
    invoiceId: number,
    choice: PaymentChoice,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<PaymentOutcome> {
    const answer = await api.POST("/api/v1/billing/invoices/{id}/payments", {
        params: { path: { id: invoiceId }, header: { "Idempotency-Key": idempotencyKey } },
        body: choice.kind === "stored" ? { method: "stored", pay_method_id: choice.payMethodId } : { method: "link" },
    });
    return paymentOutcome(expectBody(answer));
}

function paymentOutcome(result: PaymentResult): PaymentOutcome {
    if (result.method === "link") {
        if (result.payment_url === undefined || result.payment_url === null) {
            throw new Error(`invoice ${result.invoice_id}: a payment link without a URL`);
        }
        return { kind: "redirect", url: result.payment_url, expiresAt: result.expires_at ?? undefined };
    }
    switch (result.status) {
        case "paid":
            return { kind: "paid", invoice: result.invoice ?? undefined };
        case "pending":
            return { kind: "pending" };
        default:
            return unreachable(result.status);
    }
}

export interface PaymentMethodOption {
    id: number;
    label: string;
    preselected: boolean;
}

/** The stored methods to offer, the default one preselected. */
export async function paymentMethods(api: PortalClient): Promise<PaymentMethodOption[]> {
    const list = expectBody(await api.GET("/api/v1/billing/payment-methods"));
    return list.items.map((method) => ({
        id: method.id,
        label:
            method.description ??
            `${method.type === "card" ? (method.brand ?? "Card") : "Bank account"} ${method.last_four ?? ""}`.trim(),
        preselected: method.is_default,
    }));
}

export async function billingSummary(api: PortalClient): Promise<{ outstanding: string; overdue: number }> {
    const summary = expectBody(await api.GET("/api/v1/billing/summary"));
    return { outstanding: money(summary.outstanding_balance), overdue: summary.overdue_count };
}
