// The shop: products and their prices (Salesforce, through the API's snapshot).
import type { Product, ProductDetail } from "./api.js";
import { type PortalClient, expectBody } from "./client.js";
import { money } from "./format.js";

export interface CatalogPage {
    products: Product[];
    nextCursor: string | undefined;
    /** The API served its last good snapshot because Salesforce did not answer: show a notice. */
    stale: boolean;
}

export async function products(
    api: PortalClient,
    family?: string,
    cursor?: string,
): Promise<CatalogPage> {
    const page = expectBody(
        await api.GET("/api/v1/catalog/products", {
            params: {
                query: {
                    ...(family !== undefined ? { family } : {}),
                    ...(cursor !== undefined ? { cursor } : {}),
                },
            },
        }),
    );
    return { products: page.items, nextCursor: page.next_cursor ?? undefined, stale: page.stale };
}

export async function product(api: PortalClient, sku: string): Promise<ProductDetail> {
    return expectBody(await api.GET("/api/v1/catalog/products/{sku}", { params: { path: { sku } } }));
}

export function productCard(product: Product): { sku: string; title: string; price: string; sim: boolean } {
    const cycle = product.billing_cycle === "one_time" ? "" : ` / ${product.billing_cycle === "monthly" ? "month" : "year"}`;
    return {
        sku: product.sku,
        title: product.name,
        price: `${money(product.price)}${cycle}`,
        sim: product.sim !== undefined && product.sim !== null,
    };
}
