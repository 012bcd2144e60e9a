// The portal's HTTP client: openapi-fetch typed by the generated `paths`, a bearer token from the session,
// and one way of turning every non-2xx answer into an `ApiProblem`.
//
// Failures are read as `unknown` and narrowed at run time on purpose: the API documents more problem
// responses over time (401, 403, 415, …), and adding one must not break the portal. Success bodies, request
// bodies and parameters are typed strictly: a change there is a change the portal has to follow.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { ErrorCode, Problem, paths } from "./api.js";

export type PortalClient = Client<paths, "application/json">;

export interface Session {
    accessToken(): string | undefined;
}

export interface PortalClientOptions {
    /** e.g. `https://api.example.com`; paths in the document already start with `/api/v1`. */
    baseUrl: string;
    session: Session;
    fetch?: (request: Request) => Promise<Response>;
    /** The portal's server forwards its own trace context and request id. */
    headers?: Record<string, string>;
}

export function createPortalClient(options: PortalClientOptions): PortalClient {
    const client = createClient<paths, "application/json">({
        baseUrl: options.baseUrl,
        headers: options.headers ?? {},
        // Browsers send the refresh cookie; the portal's server passes the token in the body instead.
        credentials: "include",
        ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const bearer: Middleware = {
        onRequest({ request }) {
            const token = options.session.accessToken();
            if (token !== undefined && !request.headers.has("authorization")) {
                request.headers.set("authorization", `Bearer ${token}`);
            }
            return request;
        },
    };
    client.use(bearer);
    return client;
}

/** A non-2xx answer. `problem` is set when the body is an RFC 9457 problem, as every error of ours is. */
export class ApiProblem extends Error {
    readonly status: number;
    readonly problem: Problem | undefined;

    constructor(status: number, problem: Problem | undefined) {
        super(problem ? `${status} ${problem.code}: ${problem.title}` : `HTTP ${status}`);
        this.name = "ApiProblem";
        this.status = status;
        this.problem = problem;
    }

    get code(): ErrorCode | undefined {
        return this.problem?.code;
    }

    /** The messages to show next to form fields, keyed by the problem's JSON-pointer–style `field`. */
    fieldErrors(): Map<string, string> {
        const fields = new Map<string, string>();
        for (const error of this.problem?.errors ?? []) {
            fields.set(error.field, error.message);
        }
        return fields;
    }
}

function isProblem(body: unknown): body is Problem {
    if (typeof body !== "object" || body === null) {
        return false;
    }
    const candidate = body as Record<string, unknown>;
    return (
        typeof candidate["code"] === "string" &&
        typeof candidate["status"] === "number" &&
        typeof candidate["title"] === "string" &&
        typeof candidate["type"] === "string"
    );
}

interface Answer<T> {
    data?: T;
    error?: unknown;
    response: Response;
}

/** The body of a 2xx answer with content; throws `ApiProblem` otherwise. */
export function expectBody<T>(answer: Answer<T>): T {
    if (answer.response.ok && answer.data !== undefined) {
        return answer.data;
    }
    throw failure(answer);
}

/** For 204 answers: succeeds on any 2xx, throws `ApiProblem` otherwise. */
export function expectNoContent(answer: Answer<unknown>): void {
    if (!answer.response.ok) {
        throw failure(answer);
    }
}

function failure(answer: Answer<unknown>): ApiProblem {
    return new ApiProblem(answer.response.status, isProblem(answer.error) ? answer.error : undefined);
}

/** A fresh `Idempotency-Key` for a POST with external effects; reuse it only to retry the same request. */
export function newIdempotencyKey(): string {
    return crypto.randomUUID();
}
