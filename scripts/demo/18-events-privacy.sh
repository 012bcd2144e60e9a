#!/usr/bin/env bash
# Issue 18, Done when: a marketer of a demo brand invites a segment to an event, a guest accepts through the
# link, another is waitlisted and promoted after a decline; then a newly registered (and verified) portal
# customer exports their data and erases their account, and the request shows receipts from Salesforce, WHMCS
# and the messaging service.
#   ./scripts/run            # in another terminal
#   scripts/demo/18-events-privacy.sh
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison

# The newest message the messaging sandbox holds for ADDRESS whose body contains TEXT.
message_to() {
    curl -fsS "$SANDBOX_URL/__sandbox/messaging/messages?to=$(jq -rn --arg a "$1" '$a | @uri')" \
        | jq -c --arg t "$2" '[.[] | select(.body | contains($t))] | last // empty'
}

step "the demo marketer (maison) signs in"
login marketer@concierge.test concierge-marketer
MARKETER="$TOKEN"

step "Élodie and Aiko agree to hear about events by e-mail"
guest_profile() {
    call GET "/brands/$BRAND/crm/profiles?identifier=email:$1"
    expect 200
    j '.items[0].id'
}
ELODIE="$(guest_profile elodie.dupont@example.com)"
AIKO="$(guest_profile aiko.tanaka@example.com)"
for profile in "$ELODIE" "$AIKO"; do
    call PUT "/brands/$BRAND/crm/profiles/$profile/consents/email/events" '{"status": "granted", "source": "walk-18"}'
    expect 200 201
done
ok "consent granted: Élodie $ELODIE, Aiko $AIKO"

step "a static segment of the two guests, an event for one, and the templates"
call POST "/brands/$BRAND/crm/segments" "$(jq -nc --arg run "$RUN" '{name: "Soirée guests \($run)", slug: "soiree-\($run | ascii_downcase | gsub("[^a-z0-9]"; "-"))", kind: "static"}')"
expect 201
SEGMENT="$(j .id)"
call POST "/brands/$BRAND/crm/segments/$SEGMENT/members" "$(jq -nc --arg a "$ELODIE" --arg b "$AIKO" '{add: [$a, $b]}')"
expect 200 201 202
call GET "/brands/$BRAND/crm/templates"
expect 200
INVITATION_TEMPLATE="$(j '[.items[] | select(.name == "Event invitation")][0].id // empty')"
[ -n "$INVITATION_TEMPLATE" ] || fail "the demo template \"Event invitation\" is missing (run ./scripts/run to seed)"
call POST "/brands/$BRAND/crm/templates" "$(jq -nc --arg run "$RUN" '{name: "Place confirmed by e-mail \($run)", channel: "email", purpose: "events", fallback_language: "en",
  variants: [{language: "en", subject: "A place opened at {{ event.name }}", body: "<p>Dear {{ profile.first_name }}, a place opened at {{ event.name }} ({{ event.starts_at }}): you are confirmed.</p>"}]}')"
expect 201
PROMOTION_TEMPLATE="$(j .id)"
STARTS="$(date -u -d '+14 days' +%Y-%m-%dT18:00:00Z)"
ENDS="$(date -u -d '+14 days' +%Y-%m-%dT21:00:00Z)"
call POST "/brands/$BRAND/events" "$(jq -nc --arg s "$STARTS" --arg e "$ENDS" --arg p "$PROMOTION_TEMPLATE" --arg run "$RUN" \
    '{name: "Winter soirée \($run)", description: "Champagne and the new collection.", store: "paris-1", venue: "The first-floor salon",
      starts_at: $s, ends_at: $e, capacity: 1, promotion_template_id: $p}')"
expect 201
EVENT="$(j .id)"
call POST "/brands/$BRAND/events/$EVENT/open"
expect 200
ok "event $EVENT open, one place"

step "invite the segment: its members are frozen into invitations and messaged"
call POST "/brands/$BRAND/events/$EVENT/invitations/segment" "$(jq -nc --arg s "$SEGMENT" --arg t "$INVITATION_TEMPLATE" '{segment_id: $s, channel: "email", template_id: $t}')"
expect 202
ok "$(j -c .)"
sent() {
    call GET "/brands/$BRAND/events/$EVENT/guests"
    [ "$STATUS" = 200 ] && [ "$(j '[.items[] | select(.invitation.status == "sent")] | length')" = 2 ]
}
wait_for 60 "both invitations sent through the send path" sent
printf '%s' "$BODY" | jq -r '.items[] | "    \(.first_name) \(.last_name): \(.status), message \(.invitation.status)"' >&2

link_of() {
    local message
    message="$(message_to "$1" "$EVENT")"
    [ -n "$message" ] || fail "no invitation with an RSVP link reached $1"
    # The e-mail is HTML: the link's characters are entity-escaped in its href, as a mail client reads them.
    printf '%s' "$message" | jq -r '.body' | python3 -c 'import html, sys; print(html.unescape(sys.stdin.read()))' \
        | grep -oE 'https?://[^"<> ]+/rsvp/[A-Za-z0-9._~-]+' | head -1
}
ELODIE_LINK="$(link_of elodie.dupont@example.com)"
AIKO_LINK="$(link_of aiko.tanaka@example.com)"
ok "Élodie's link: ${ELODIE_LINK:0:80}…"

step "Élodie accepts through her link (no login); Aiko accepts after her and is waitlisted"
SAVED="$TOKEN"
TOKEN=""
call GET "$ELODIE_LINK"
expect 200
note "the link shows: $(j -c '{event: .event.name, status: .guest_status, open: .rsvp_open}')"
call POST "$ELODIE_LINK" '{"response": "accept"}'
expect 200
check '.guest_status == "confirmed"' "Élodie confirmed"
call POST "$AIKO_LINK" '{"response": "accept"}'
expect 200
check '.guest_status == "waitlisted"' "Aiko waitlisted: the one place is taken"
call POST "${ELODIE_LINK%?}x" '{"response": "decline"}'
expect 400 403
ok "a tampered link is refused ($STATUS $(j .type))"

step "Élodie declines: Aiko is promoted and told"
call POST "$ELODIE_LINK" '{"response": "decline"}'
expect 200
check '.guest_status == "declined"' "Élodie declined"
TOKEN="$SAVED"
call GET "/brands/$BRAND/events/$EVENT/guests"
expect 200
check '[.items[] | select(.profile_id == "'"$AIKO"'")][0].status == "confirmed"' "Aiko confirmed from the waitlist"
told() { [ -n "$(message_to aiko.tanaka@example.com "a place opened")" ]; }
wait_for 60 "Aiko was told by e-mail" told
note "counts: $(j -c .counts)"

step "a new portal customer registers and verifies their e-mail"
EMAIL="walk18.$RUN@example.com"
PASSWORD="walk-18-a-long-passphrase"
TOKEN=""
call POST /auth/register "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{email: $e, password: $p, first_name: "Wren", last_name: "Walker"}')"
expect 202
verification() { [ -n "$(message_to "$EMAIL" "token=")" ]; }
wait_for 30 "the verification e-mail" verification
VERIFY_TOKEN="$(message_to "$EMAIL" "token=" | jq -r .body | python3 -c 'import html, sys; print(html.unescape(sys.stdin.read()))' | grep -oE 'token=[A-Za-z0-9._~-]+' | head -1 | cut -d= -f2)"
login "$EMAIL" "$PASSWORD"
call POST /auth/email/verify "$(jq -nc --arg t "$VERIFY_TOKEN" '{token: $t}')"
expect 200 204
ok "e-mail verified"
linked() { call GET /me; [ "$STATUS" = 200 ]; }
wait_for 90 "linked to WHMCS and Salesforce (GET /me answers)" linked

step "they export their data (password asked again)"
call POST /me/privacy/export '{"password": "not-my-password"}'
expect 401
ok "a wrong password is refused"
call POST /me/privacy/export "$(jq -nc --arg p "$PASSWORD" '{password: $p}')"
expect 202
EXPORT="$(j .id)"
exported() { call GET "/me/privacy/requests/$EXPORT"; [ "$STATUS" = 200 ] && [ "$(j .status)" = completed ]; }
wait_for 120 "the export completed" exported
DOWNLOAD="$(j .download.url)"
ZIP="$(mktemp --suffix .zip)"
curl -fsS -o "$ZIP" "$DOWNLOAD" || fail "the download link did not answer"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print("    files: " + ", ".join(sorted(z.namelist())))' "$ZIP" >&2
python3 -c 'import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); m = json.loads(z.read("manifest.json")); sys.exit(0 if m["request_id"] == sys.argv[2] else 1)' "$ZIP" "$EXPORT" \
    || fail "the archive's manifest names another request"
ok "the archive's manifest is this request's"
rm -f "$ZIP"

step "they erase their account"
call POST /me/privacy/erase "$(jq -nc --arg p "$PASSWORD" '{password: $p}')"
expect 202
ERASURE="$(j .id)"
erased() { call GET "/me/privacy/requests/$ERASURE"; [ "$STATUS" = 200 ] && [ "$(j .status)" = completed ]; }
if ! erased; then
    # The session ends with the account: read the request as the portal brand's admin instead.
    login admin@concierge.test concierge-admin
    PORTAL_BRAND="$(curl -fsS "$API/brands" -H "Authorization: Bearer $TOKEN" 2>/dev/null | jq -r '.items[]? | select(.slug == "mobile") | .slug' || true)"
    erased() { call GET "/brands/${PORTAL_BRAND:-mobile}/crm/privacy/requests/$ERASURE"; [ "$STATUS" = 200 ] && [ "$(j .status)" = completed ]; }
    wait_for 120 "the erasure completed" erased
fi
printf '%s' "$BODY" | jq -r '.steps[] | "    \(.part): \(.status) — \(.receipt.system // "-") \(.receipt.reference // "-") \(.receipt.status // "-") \(.receipt.at // "")"' >&2
for system in salesforce whmcs messaging; do
    check '[.steps[] | select(.receipt.system == "'"$system"'" and .status == "completed")] | length >= 1' "a receipt from $system"
done
TOKEN=""
call POST /auth/login "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{email: $e, password: $p}')"
expect 401
ok "their login is refused: the account is closed"

printf '\n\033[1;32missue 18 walk-through passed\033[0m (run %s)\n' "$RUN" >&2
