// A customer's visit, call by call, as the portal makes them: sign in, look at the account, pay, shop and
// follow the order, manage a SIM, ask for help. It exists to be typechecked against the generated contract
// (and can be run against a live API with any `fetch`).
import { myProfile, profileView, updateProfile } from "./account.js";
import * as billing from "./billing.js";
import * as catalog from "./catalog.js";
import { ApiProblem, createPortalClient } from "./client.js";
import * as orders from "./orders.js";
import { currentUser, displayName, ensureFresh, login, logout, MemorySession, refresh } from "./session.js";
import * as subscriptions from "./subscriptions.js";
import * as support from "./support.js";

export async function journey(baseUrl: string, email: string, password: string, log: (line: string) => void) {
    const session = new MemorySession();
    const api = createPortalClient({ baseUrl, session });

    const user = await login(api, session, email, password);
    log(`signed in as ${displayName(user)} (${user.kind})`);
    await refresh(api, session);
    await ensureFresh(api, session);
    log(`me: ${(await currentUser(api)).email}`);

    const profile = profileView(await myProfile(api));
    log(`profile: ${profile.name}, ${profile.address.join(", ")}${profile.partial ? " (partial)" : ""}`);
    try {
        const change = await updateProfile(api, { phone: "+81 90 1234 5678" });
        log(`profile change ${change.update.id}: ${change.update.status}${change.pending ? " (pending)" : ""}`);
    } catch (error) {
        if (error instanceof ApiProblem && error.code === "validation-failed") {
            for (const [field, message] of error.fieldErrors()) log(`  ${field}: ${message}`);
        } else {
            throw error;
        }
    }

    const summary = await billing.billingSummary(api);
    log(`outstanding ${summary.outstanding}, ${summary.overdue} overdue`);
    let payable: billing.InvoiceRow | undefined;
    for await (const invoice of billing.invoices(api, { limit: 20 })) {
        const row = billing.invoiceRow(invoice);
        log(`invoice ${row.number}: ${row.total} ${row.label}`);
        payable ??= row.payable ? row : undefined;
    }
    if (payable !== undefined) {
        const detail = await billing.invoice(api, payable.id);
        log(`invoice ${detail.number}: ${detail.items.length} lines, tax ${detail.tax.amount}`);
        const methods = await billing.paymentMethods(api);
        const method = methods.find((m) => m.preselected) ?? methods[0];
        const outcome = await billing.payInvoice(
            api,
            payable.id,
            method !== undefined ? { kind: "stored", payMethodId: method.id } : { kind: "link" },
        );
        log(outcome.kind === "redirect" ? `pay at ${outcome.url}` : `payment ${outcome.kind}`);
    }

    const shop = await catalog.products(api);
    if (shop.stale) log("prices may be out of date");
    const first = shop.products[0];
    if (first !== undefined) {
        const detail = await catalog.product(api, first.sku);
        log(`product ${catalog.productCard(detail).title} at ${catalog.productCard(detail).price}`);
        const placed = await orders.placeOrder(api, {
            items: [{ sku: detail.sku, quantity: 1 }],
            ...(detail.sim ? { sim: { type: "esim" }, activation: { type: "immediate" } } : {}),
        });
        log(`order ${placed.id}: ${orders.statusLabel(placed.status)}`);
        for await (const change of orders.orderStatusStream(api, placed.id)) {
            log(`  #${change.event.sequence} ${orders.statusLabel(change.event.status)} at ${change.event.at}`);
        }
        const finished = await orders.order(api, placed.id);
        log(`order ${finished.id}: ${finished.items.map((item) => item.name).join(", ")}`);
    }
    log(`${(await orders.orders(api)).orders.length} orders`);

    for (const service of await subscriptions.subscriptions(api)) {
        log(`service ${service.id} ${service.product_name}: ${service.status}`);
        if (service.phone_number === undefined || service.phone_number === null || service.status !== "active") {
            continue;
        }
        const card = subscriptions.simCard(await subscriptions.simLine(api, service.id));
        log(`  ${card.number}: ${card.remaining}`);
        log(`  ${subscriptions.confirmation(await subscriptions.topUp(api, service.id, 1000))}`);
        const nextMonth = new Date();
        nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1, 1);
        const effective = nextMonth.toISOString().slice(0, 10);
        log(`  ${subscriptions.confirmation(await subscriptions.changePlan(api, service.id, card.plan, effective))}`);
        if (card.canSuspend) {
            log(`  ${subscriptions.confirmation(await subscriptions.suspend(api, service.id))}`);
            log(`  ${subscriptions.confirmation(await subscriptions.resume(api, service.id))}`);
        }
    }

    const opened = await support.openCase(api, {
        category: "sim",
        subject: "eSIM profile",
        description: "The QR code will not scan.",
    });
    await support.comment(api, opened.id, "It is an iPhone 15.");
    log(support.thread(await support.supportCase(api, opened.id)).title);
    log(`${(await support.cases(api, { open: true })).cases.length} open cases`);

    await logout(api, session);
}
