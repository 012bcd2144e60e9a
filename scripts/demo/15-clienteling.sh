#!/usr/bin/env bash
# Issue 15, Done when: the demo advisor finds a client by a misspelt name, logs a WhatsApp product share of two
# SKUs, sees it enriched with the products' names and prices, edits it, reads its history with both versions,
# and sees the Task in the Salesforce sandbox.
#   ./scripts/run            # in another terminal
#   scripts/demo/15-clienteling.sh
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison
CL="/brands/$BRAND/clienteling"
MISSPELT="${MISSPELT:-Elodei Dupond}"

step "the demo advisor (maison, Paris) signs in"
login advisor@concierge.test concierge-advisor

step "find a client by a misspelt name: “$MISSPELT”"
call GET "$CL/clients?q=$(jq -rn --arg q "$MISSPELT" '$q | @uri')"
expect 200
printf '%s' "$BODY" | jq -r '.items[] | "    \(.first_name) \(.last_name) <\(.email)> \(.store)"' >&2
check '.items[0].first_name == "Élodie" and .items[0].last_name == "Dupont"' "the first match is Élodie Dupont"
CLIENT="$(j '.items[0].id')"

step "two products of the maison catalogue for the share"
call GET "$CL/products?active=true&limit=10"
expect 200
check '[.items[] | select(.price != null)] | length >= 2' "the catalogue has priced products"
SKUS="$(j -c '[.items[] | select(.price != null)][:2] | map(.sku)')"
NAMES="$(j -c '[.items[] | select(.price != null)][:2] | map(.name)')"
PRICES="$(j -c '[.items[] | select(.price != null)][:2] | map(.price)')"
note "SKUs $SKUS: $NAMES at $PRICES"

step "log a WhatsApp product share of the two SKUs"
call POST "$CL/clients/$CLIENT/interactions" "$(jq -nc --argjson skus "$SKUS" --arg run "$RUN" '{
  channel: "whatsapp", context: "product_share", subject: "Two pieces for the winter (\($run))",
  metadata: {skus: $skus, message: "Bonjour Élodie, these two arrived today."}}')"
expect 201
INTERACTION="$(j .id)"
check '.version == 1 and .channel == "whatsapp" and .context == "product_share"' "interaction $INTERACTION, version 1, enrichment $(j .enrichment_status)"
call POST "$CL/clients/$CLIENT/interactions" '{"channel": "whatsapp", "context": "product_share", "metadata": {"skus": []}}'
expect 422
ok "a share of no SKU is refused: $(j -c '[.errors[] | "\(.field) \(.code)"]')"

step "it is enriched with the products' names and prices (a job, at write time)"
enriched() {
    call GET "$CL/interactions/$INTERACTION"
    [ "$STATUS" = 200 ] && [ "$(j .enrichment_status)" = enriched ]
}
wait_for 60 "enrichment_status enriched" enriched
printf '%s' "$BODY" | jq -r '.enrichment.products[] | "    \(.sku): \(.name) \(.price) \(.currency)"' >&2
check '([.enrichment.products[].name] | sort) == ('"$NAMES"' | sort)' "the products' names"
# The enrichment spells a price as `price` and `currency` side by side; the catalogue as Money {amount, currency}.
check '([.enrichment.products[] | {amount: .price, currency}] | sort_by(.amount)) == ('"$PRICES"' | sort_by(.amount))' "and their prices"
ETAG="$(header ETag)"
[ -n "$ETAG" ] || fail "no ETag on the interaction"
ok "ETag $ETAG"

step "edit it (If-Match), then a stale edit is refused"
call PATCH "$CL/interactions/$INTERACTION" '{"note": "She will come on Saturday to try them."}' -H "If-Match: $ETAG"
expect 200
check '.note == "She will come on Saturday to try them." and .version > 1' "edited: version $(j .version)"
call PATCH "$CL/interactions/$INTERACTION" '{"note": "A stale edit"}' -H "If-Match: \"1\""
expect 412
ok "a stale If-Match is a 412 $(j .type)"

step "its history: both versions"
call GET "$CL/interactions/$INTERACTION/history"
expect 200
printf '%s' "$BODY" | jq -r '.items[] | "    v\(.version) \(.type) by \(.actor) at \(.recorded_at)"' >&2
check '[.items[].type] | (index("created") != null and index("updated") != null and index("enriched") != null)' \
    "created, enriched and updated events"
check '[.items[] | select(.type == "created")][0].payload.metadata.skus == '"$SKUS"'' "the created event holds the SKUs"
check '[.items[] | select(.type == "updated")][0].payload.note == "She will come on Saturday to try them."' "the updated event holds the note"
call GET "$CL/interactions/$INTERACTION?as_of=$(jq -rn --arg t "$(j '[.items[] | select(.type == "created")][0].recorded_at')" '$t | @uri')"
expect 200
check '.note == null and .version == 1' "as_of the creation: the first version, without the note"

step "the Task in the Salesforce sandbox"
mirrored() {
    call GET "$CL/interactions/$INTERACTION"
    [ "$STATUS" = 200 ] && [ "$(j '.mirror.status // empty')" = mirrored ] \
        && [ "$(j '.mirror.content_version // 0')" -ge 2 ] 2>/dev/null
}
wait_for 60 "the interaction is mirrored at its edited version" mirrored
TASK_ID="$(j .mirror.task_id)"
call GET "$SANDBOX_URL/__sandbox/salesforce/records/Task"
expect 200
BODY="$(printf '%s' "$BODY" | jq -c --arg id "$INTERACTION" '[.[] | select(.Concierge_Interaction_Id__c == $id)]')"
printf '%s' "$BODY" | jq -r '.[] | "    \(.Id) WhoId \(.WhoId) “\(.Subject)” \(.Description // "" | gsub("\n"; " ") | .[0:100])"' >&2
check 'length == 1' "exactly one Task for the interaction ($TASK_ID)"
check '.[0].Id == "'"$TASK_ID"'" and (.[0].Subject | contains("Two pieces for the winter"))' "its subject"
# The demo clients are linked to the sandbox's contacts (`salesforce_contact`), so the Task is on Élodie's.
check '.[0].WhoId == "003SBLUX0000001AAA"' "WhoId $(j '.[0].WhoId // empty'): Élodie's contact"
check '(.[0].Description // "") | contains("She will come on Saturday")' "the Task has the edit"

step "another store's advisor cannot see the interaction"
login advisor.tokyo@concierge.test concierge-advisor
call GET "$CL/interactions/$INTERACTION"
expect 404
ok "Tokyo's advisor: 404"

printf '\n\033[1;32missue 15 walk-through passed\033[0m (run %s)\n' "$RUN" >&2
