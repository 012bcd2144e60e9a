#!/usr/bin/env bash
# Issue 16, Done when: the demo advisor opens a client's 360 with only `header,kpis`, then the whole page while
# the Salesforce sandbox is slowed (that part degraded, the rest on time), sends a WhatsApp product share to a
# client who consented and is refused for one who did not, books an appointment and is refused a double
# booking, and sees all of it on the dashboard.
#   ./scripts/run            # in another terminal
#   scripts/demo/16-clienteling.sh
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison
CL="/brands/$BRAND/clienteling"
now_ms() { date +%s%3N; }

# The sandbox's Salesforce is slowed for this walk only; never leave it slowed.
clear_salesforce_faults() { curl -sS -X DELETE "$SANDBOX_URL/__sandbox/faults/salesforce" >/dev/null || true; }
trap clear_salesforce_faults EXIT

step "the demo advisor (maison, Paris) signs in"
login advisor@concierge.test concierge-advisor
call GET /auth/me
expect 200
ME="$(j .id)"
ok "advisor $ME"

find_client() {
    call GET "$CL/clients?q=$(jq -rn --arg q "$1" '$q | @uri')"
    expect 200
    j --arg email "$2" '[.items[] | select(.email == $email)][0].id // empty'
}
ELODIE="$(find_client "Élodie Dupont" elodie.dupont@example.com)"
MARC="$(find_client "Marc Lefèvre" marc.lefevre@example.com)"
[ -n "$ELODIE" ] && [ -n "$MARC" ] || fail "the demo clients Élodie Dupont and Marc Lefèvre are not in the book (run ./scripts/run to seed)"
ok "Élodie Dupont $ELODIE, Marc Lefèvre $MARC"

step "Élodie's 360 with only the header and the KPI cards"
started="$(now_ms)"
call GET "$CL/clients/$ELODIE/360?fields=header,kpis"
elapsed=$(( $(now_ms) - started ))
expect 200
check '(keys - ["client_id", "generated_at"] | sort) == ["header", "kpis"]' "only header and kpis came back (${elapsed} ms)"
check '.header.status == "ok" and .kpis.status == "ok"' "both parts ok"
check '.kpis.data.purchases >= 2 and .kpis.data.last_purchase_at != null' "her purchases are on the KPI cards"
note "$(j '"\(.header.data.first_name) \(.header.data.last_name), \(.header.data.tier), store \(.header.data.store); lifetime spend \(.kpis.data.lifetime_spend) \(.kpis.data.currency), \(.kpis.data.purchases) purchases"')"
call GET "$CL/clients/$ELODIE/360?fields=header,wishlist"
expect 400
ok "an unknown part is a 400: $(j .detail)"

step "the whole page, Salesforce answering normally"
call GET "$CL/clients/$ELODIE/360"
expect 200
check '[.header, .kpis, .timeline, .scores, .consent, .salesforce, .tasks, .appointments] | all(.status == "ok")' "all eight parts ok"
check '.salesforce.data.found == true and .salesforce.data.contact.id == "003SBLUX0000001AAA"' "her live Salesforce contact $(j .salesforce.data.contact.id)"
note "account $(j .salesforce.data.account.name) ($(j .salesforce.data.account.customer_number)); open cases: $(j -c '[.salesforce.data.open_cases[] | "\(.case_number) \(.subject)"]')"

step "the whole page while the Salesforce sandbox is slowed by 2 s"
call PUT "$SANDBOX_URL/__sandbox/faults/salesforce" '{"operation": "/query", "latency_ms": 2000}'
expect 200 201 204
ok "Salesforce queries now take 2 s more"
started="$(now_ms)"
call GET "$CL/clients/$ELODIE/360"
elapsed=$(( $(now_ms) - started ))
expect 200
check '.salesforce.status == "degraded" and .salesforce.reason == "timeout"' "the Salesforce part is degraded: $(j .salesforce.reason)"
check '[.header, .kpis, .timeline, .scores, .consent, .tasks, .appointments] | all(.status == "ok")' "the seven other parts are ok"
[ "$elapsed" -lt 1500 ] || fail "the page took ${elapsed} ms: the slow part held it up"
ok "the page answered in ${elapsed} ms, not 2 s (each part has its own time-out, 300 ms by default)"
clear_salesforce_faults

step "a WhatsApp product share to Élodie (she consented to outreach on WhatsApp)"
call GET "$CL/outreach/templates?channel=whatsapp"
expect 200
note "the brand's WhatsApp outreach templates: $(j -c '[.items[] | "\(.name) (\(.languages | join("/")))"]')"
TEMPLATE="$(j '[.items[] | select(.name == "Product share")][0].id // empty')"
[ -n "$TEMPLATE" ] || fail "the demo outreach template \"Product share\" is missing (run ./scripts/run to seed)"
call GET "$CL/products?active=true&limit=10"
expect 200
SKUS="$(j -c '[.items[] | select(.price != null)][:2] | map(.sku)')"
call POST "$CL/clients/$ELODIE/outreach/preview" "$(jq -nc --arg t "$TEMPLATE" '{template_id: $t}')"
expect 200
note "preview ($(j .language)): $(j .body)"
KEY="walk-16-$RUN"
BODY_JSON="$(jq -nc --arg t "$TEMPLATE" --argjson skus "$SKUS" '{channel: "whatsapp", template_id: $t, skus: $skus}')"
call POST "$CL/clients/$ELODIE/outreach" "$BODY_JSON" -H "Idempotency-Key: $KEY"
expect 201
MESSAGE="$(j .message_id)"
SHARE="$(j .interaction_id)"
check '.status == "sent" and .channel == "whatsapp"' "sent: message $MESSAGE, logged as interaction $SHARE"
call POST "$CL/clients/$ELODIE/outreach" "$BODY_JSON" -H "Idempotency-Key: $KEY"
expect 200 201
check '.message_id == "'"$MESSAGE"'" and .interaction_id == "'"$SHARE"'"' "the same key again: the same message and interaction, nothing sent twice"
call GET "$CL/interactions/$SHARE"
expect 200
check '.context == "product_share" and .channel == "whatsapp" and (.metadata.skus == '"$SKUS"')' "the interaction is a WhatsApp product_share of $SKUS"
call GET "$SANDBOX_URL/__sandbox/messaging/messages?to=$(jq -rn '"+33612345001" | @uri')"
expect 200
BODY="$(printf '%s' "$BODY" | jq -c --arg key "$KEY" '[.[] | select(.channel == "whatsapp" and (.idempotency_key | contains($key)))]')"
check 'length == 1' "the messaging sandbox holds exactly one WhatsApp message for it"
note "to $(j '.[0].to'): $(j '.[0].body')"

step "the same share to Marc is refused: he never agreed to outreach on WhatsApp"
call POST "$CL/clients/$MARC/outreach" "$(jq -nc --arg t "$TEMPLATE" --argjson skus "$SKUS" '{channel: "whatsapp", template_id: $t, skus: $skus}')" \
    -H "Idempotency-Key: walk-16-marc-$RUN"
expect 409
check '(.type | endswith("consent-required")) and (.detail | test("whatsapp"; "i"))' "409 consent-required: $(j .detail)"

step "book an appointment with Élodie, then the same slot for Marc"
FROM="$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)"
TO="$(date -u -d '+8 days' +%Y-%m-%dT00:00:00Z)"
call GET "$CL/advisors/$ME/availability?store=paris-1&from=$FROM&to=$TO"
expect 200
check '.slots | length > 0' "$(j '.slots | length') free slots in $(j .store) ($(j .timezone)) this week"
STARTS="$(j '.slots[0].starts_at')"
ENDS="$(python3 -c 'import sys, datetime as d
s = d.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")); e = d.datetime.fromisoformat(sys.argv[2].replace("Z", "+00:00"))
print(min(s + d.timedelta(minutes=45), e).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$STARTS" "$(j '.slots[0].ends_at')")"
call POST "$CL/appointments" "$(jq -nc --arg c "$ELODIE" --arg s "$STARTS" --arg e "$ENDS" \
    '{client_id: $c, store: "paris-1", starts_at: $s, ends_at: $e, kind: "in_store", notes: "Trying on the two pieces shared on WhatsApp"}')"
expect 201
APPOINTMENT="$(j .id)"
ok "booked $APPOINTMENT: $STARTS – $ENDS, in store"
call POST "$CL/appointments" "$(jq -nc --arg c "$MARC" --arg s "$STARTS" --arg e "$ENDS" \
    '{client_id: $c, store: "paris-1", starts_at: $s, ends_at: $e, kind: "phone"}')"
expect 409
check '.type | endswith("appointment-conflict")' "the advisor is not double-booked: 409 $(j .type)"
call GET "$CL/advisors/$ME/availability?store=paris-1&from=$FROM&to=$TO"
expect 200
check '[.slots[] | select(.starts_at <= "'"$STARTS"'" and .ends_at > "'"$STARTS"'")] | length == 0' "the slot is no longer free"

step "Élodie's 360 shows the share and the appointment"
call GET "$CL/clients/$ELODIE/360?fields=timeline,appointments"
expect 200
check '[.timeline.data.items[] | select(.id == "'"$SHARE"'")] | length == 1' "the product share is on her timeline"
check '[.appointments.data.items[] | select(.id == "'"$APPOINTMENT"'")] | length == 1' "the appointment is in her upcoming appointments"

step "the advisor's dashboard for today"
call GET "$CL/dashboard?period=1d"
expect 200
printf '%s' "$BODY" | jq -r '.figures | "    book \(.clients_in_book) clients, contacted \(.clients_contacted); outreach sent \(.outreach_sent), suppressed \(.outreach_suppressed); appointments upcoming \(.appointments_upcoming); by context \([.interactions_by_context[] | "\(.key) \(.count)"] | join(", "))"' >&2
check '.scope == "advisor" and .figures.clients_in_book >= 2' "the advisor's own book"
check '.figures.outreach_sent >= 1 and .figures.outreach_suppressed >= 1' "the share sent and the refusal counted"
check '[.figures.interactions_by_context[] | select(.key == "product_share" and .count >= 1)] | length == 1' "the product share among the interactions"
check '.figures.appointments_upcoming >= 1' "the appointment among the upcoming ones"
check '.keep_in_touch | length >= 1' "keep in touch: $(j -c '[.keep_in_touch[] | "\(.first_name) \(.last_name): spent \(.lifetime_spend), last purchase \(.days_since_last_purchase // "–") d ago, last contact \(if .days_since_last_contact == null then "never" else "\(.days_since_last_contact) d ago" end)"]')"

step "another store's advisor cannot open Élodie's 360"
login advisor.tokyo@concierge.test concierge-advisor
call GET "$CL/clients/$ELODIE/360?fields=header"
expect 404
ok "Tokyo's advisor: 404"

printf '\n\033[1;32missue 16 walk-through passed\033[0m (run %s)\n' "$RUN" >&2
