// Placing orders, listing them, and following one's provisioning over the server-sent status stream.
import type { CreateOrderRequest, Order, OrderStatus, OrderStreamEvent } from "./api.js";
import { type PortalClient, ApiProblem, expectBody, newIdempotencyKey } from "./client.js";
import { unreachable } from "./format.js";

export async function placeOrder(
    api: PortalClient,
    order: CreateOrderRequest,
    idempotencyKey: string = newIdempotencyKey(),
): Promise<Order> {
    const answer = await api.POST("/api/v1/orders", {
        params: { header: { "Idempotency-Key": idempotencyKey } },
        body: order,
    });
    return expectBody(answer);
}

export async function orders(api: PortalClient, cursor?: string): Promise<{ orders: Order[]; next: string | undefined }> {
    const page = expectBody(
        await api.GET("/api/v1/orders", { params: { query: cursor !== undefined ? { cursor } : {} } }),
    );
    return { orders: page.items, next: page.next_cursor ?? undefined };
}

export async function order(api: PortalClient, id: string): Promise<Order> {
    return expectBody(await api.GET("/api/v1/orders/{id}", { params: { path: { id } } }));
}

/** Whether the stream ends after this status (the API closes it after `active` or `failed`). */
export function isFinal(status: OrderStatus): boolean {
    switch (status) {
        case "pending_review":
        case "approved":
        case "provisioning":
            return false;
        case "active":
        case "failed":
            return true;
        default:
            return unreachable(status);
    }
}

export function statusLabel(status: OrderStatus): string {
    switch (status) {
        case "pending_review":
            return "Being reviewed";
        case "approved":
            return "Approved";
        case "provisioning":
            return "Setting up";
        case "active":
            return "Ready";
        case "failed":
            return "Could not be completed";
        default:
            return unreachable(status);
    }
}

export interface StatusChange {
    /** Pass as `lastEventId` to resume after a dropped connection: the event's sequence number. */
    id: number | undefined;
    event: OrderStreamEvent;
}

/**
 * The order's status changes, history first, until a final status. `lastEventId` resumes a dropped stream
 * (sent as `Last-Event-ID`, so the API replays only what came after it).
 */
export async function* orderStatusStream(
    api: PortalClient,
    orderId: string,
    options: { lastEventId?: number; signal?: AbortSignal } = {},
): AsyncGenerator<StatusChange> {
    const answer = await api.GET("/api/v1/orders/{id}/events", {
        params: {
            path: { id: orderId },
            header: options.lastEventId !== undefined ? { "Last-Event-ID": options.lastEventId } : {},
        },
        headers: { accept: "text/event-stream" },
        parseAs: "stream",
        signal: options.signal ?? null,
    });
    if (!answer.response.ok || answer.data === undefined || answer.data === null) {
        throw new ApiProblem(answer.response.status, undefined);
    }
    for await (const message of serverSentEvents(answer.data)) {
        if (message.event !== "status") {
            continue;
        }
        const event = JSON.parse(message.data) as OrderStreamEvent;
        const id = message.id === undefined ? undefined : Number(message.id);
        yield { id: id !== undefined && Number.isSafeInteger(id) ? id : undefined, event };
        if (isFinal(event.status)) {
            return;
        }
    }
}

interface SseMessage {
    event: string;
    data: string;
    id: string | undefined;
}

/** A minimal `text/event-stream` reader (the WHATWG rules for `event`, `data`, `id` and comments). */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data: string[] = [];
    let id: string | undefined;
    for (;;) {
        const chunk = await reader.read();
        if (chunk.done) {
            return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        let newline = buffer.search(/\r\n|\r|\n/);
        while (newline >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
            if (line === "") {
                if (data.length > 0) {
                    yield { event, data: data.join("\n"), id };
                }
                event = "message";
                data = [];
            } else if (!line.startsWith(":")) {
                const colon = line.indexOf(":");
                const field = colon < 0 ? line : line.slice(0, colon);
                const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
                if (field === "event") {
                    event = value;
                } else if (field === "data") {
                    data.push(value);
                } else if (field === "id") {
                    id = value;
                }
            }
            newline = buffer.search(/\r\n|\r|\n/);
        }
    }
}
