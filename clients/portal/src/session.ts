// Sign-in, token refresh and the signed-in user: the portal keeps the access token in memory and refreshes
// it shortly before `expires_in` runs out.
import type { TokenResponse, User } from "./api.js";
import { type PortalClient, type Session, expectBody, expectNoContent } from "./client.js";

export class MemorySession implements Session {
    private token: string | undefined;
    private refreshToken: string | undefined;
    private expiresAt = 0;

    accessToken(): string | undefined {
        return this.token;
    }

    /** Seconds until the access token runs out (negative once it has). */
    secondsLeft(now: number = Date.now()): number {
        return (this.expiresAt - now) / 1000;
    }

    storedRefreshToken(): string | undefined {
        return this.refreshToken;
    }

    store(tokens: TokenResponse, now: number = Date.now()): User {
        if (tokens.token_type.toLowerCase() !== "bearer") {
            throw new Error(`unexpected token type ${tokens.token_type}`);
        }
        this.token = tokens.access_token;
        this.refreshToken = tokens.refresh_token;
        this.expiresAt = now + tokens.expires_in * 1000;
        return tokens.user;
    }

    clear(): void {
        this.token = undefined;
        this.refreshToken = undefined;
        this.expiresAt = 0;
    }
}

export async function login(
    api: PortalClient,
    session: MemorySession,
    email: string,
    password: string,
): Promise<User> {
    const answer = await api.POST("/api/v1/auth/login", { body: { email, password } });
    return session.store(expectBody(answer));
}

/** Rotates the refresh token: the browser's cookie, or the stored token for the portal's server. */
export async function refresh(api: PortalClient, session: MemorySession): Promise<User> {
    const stored = session.storedRefreshToken();
    const answer = await api.POST("/api/v1/auth/refresh", {
        body: stored === undefined ? {} : { refresh_token: stored },
    });
    return session.store(expectBody(answer));
}

/** Refreshes when less than `margin` seconds are left. */
export async function ensureFresh(
    api: PortalClient,
    session: MemorySession,
    margin = 30,
): Promise<void> {
    if (session.accessToken() !== undefined && session.secondsLeft() > margin) {
        return;
    }
    await refresh(api, session);
}

export async function currentUser(api: PortalClient): Promise<User> {
    return expectBody(await api.GET("/api/v1/auth/me"));
}

export async function logout(api: PortalClient, session: MemorySession): Promise<void> {
    expectNoContent(await api.POST("/api/v1/auth/logout"));
    session.clear();
}

/** The header's greeting: "Hanako Yamada", or the e-mail before the profile is filled in. */
export function displayName(user: User): string {
    const name = `${user.first_name} ${user.last_name}`.trim();
    return name === "" ? user.email : name;
}
