// The "my details" page: GET /me and PATCH /me.
import type { Profile, ProfileUpdate, UpdateProfileRequest } from "./api.js";
import { type PortalClient, expectBody } from "./client.js";

export async function myProfile(api: PortalClient): Promise<Profile> {
    return expectBody(await api.GET("/api/v1/me"));
}

export interface ProfileChangeOutcome {
    update: ProfileUpdate;
    /** 202: recorded, but at least one system has not taken it yet; the page shows "being updated". */
    pending: boolean;
}

export async function updateProfile(
    api: PortalClient,
    change: UpdateProfileRequest,
): Promise<ProfileChangeOutcome> {
    const answer = await api.PATCH("/api/v1/me", { body: change });
    const update = expectBody(answer);
    return { update, pending: answer.response.status === 202 };
}

export interface ProfileView {
    name: string;
    email: string;
    phone: string;
    address: string[];
    customerNumber: string;
    /** Sources that did not answer: the page says which details may be out of date. */
    partial: boolean;
    updating: boolean;
}

export function profileView(profile: Profile): ProfileView {
    const address = profile.address;
    return {
        name: `${profile.first_name} ${profile.last_name}`.trim(),
        email: profile.email,
        phone: profile.phone ?? "",
        address: address
            ? [address.line1, address.line2 ?? "", `${address.postcode} ${address.city}`, address.country].filter(
                  (line) => line.trim() !== "",
              )
            : [],
        customerNumber: profile.customer_number ?? "",
        partial: profile.unavailable.length > 0,
        updating: profile.pending_update !== undefined && profile.pending_update !== null,
    };
}
