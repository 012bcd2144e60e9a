// Support cases and their comments (Salesforce cases behind the API).
import type { CaseComment, CaseDetail, CaseSummary, CreateCaseRequest } from "./api.js";
import { type PortalClient, expectBody } from "./client.js";

export async function cases(
    api: PortalClient,
    options: { open?: boolean; cursor?: string } = {},
): Promise<{ cases: CaseSummary[]; next: string | undefined }> {
    const page = expectBody(
        await api.GET("/api/v1/support/cases", {
            params: {
                query: {
                    ...(options.open !== undefined ? { status: options.open ? "open" : "closed" } : {}),
                    ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
                },
            },
        }),
    );
    return { cases: page.items, next: page.next_cursor ?? undefined };
}

export async function supportCase(api: PortalClient, id: string): Promise<CaseDetail> {
    return expectBody(await api.GET("/api/v1/support/cases/{id}", { params: { path: { id } } }));
}

export async function openCase(api: PortalClient, request: CreateCaseRequest): Promise<CaseDetail> {
    return expectBody(await api.POST("/api/v1/support/cases", { body: request }));
}

export async function comment(api: PortalClient, caseId: string, body: string): Promise<CaseComment> {
    return expectBody(
        await api.POST("/api/v1/support/cases/{id}/comments", { params: { path: { id: caseId } }, body: { body } }),
    );
}

export interface Thread {
    title: string;
    closed: boolean;
    messages: { fromUs: boolean; text: string; at: string }[];
}

export function thread(detail: CaseDetail): Thread {
    return {
        title: `${detail.case_number}: ${detail.subject}`,
        closed: detail.status === "closed",
        messages: [
            { fromUs: false, text: detail.description, at: detail.created_at },
            ...detail.comments.map((c) => ({ fromUs: c.author === "support", text: c.body, at: c.created_at })),
        ],
    };
}
