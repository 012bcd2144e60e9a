#!/usr/bin/env bash
# Issue 11, Done when: a marketer of a demo brand ingests events for two identities, sees them merge, reads the
# merged timeline, unmerges and gets both profiles back as they were.
#   ./scripts/run            # in another terminal
#   scripts/demo/11-merge-unmerge.sh
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison
CRM="/brands/$BRAND/crm"
WEB="jeanne.$RUN@example.com"
MEMBER="SCL-$RUN"
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

step "the marketer of $BRAND signs in"
login marketer@concierge.test concierge-marketer

step "two identities arrive as events: a web visitor (e-mail) and a store purchase (loyalty card)"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg web "$WEB" --arg member "$MEMBER" --arg now "$NOW" '[
  {id: "walk11-\($run)-1", type: "page_view", occurred_at: $now,
   identifiers: [{kind: "email", value: $web}],
   traits: {first_name: "Jeanne", city: "Lyon", tags: ["web"]},
   properties: {url: "https://maison.example/winter", title: "Winter collection"}},
  {id: "walk11-\($run)-2", type: "purchase", occurred_at: $now,
   identifiers: [{kind: "scl_member", value: $member}],
   traits: {first_name: "Jeanne", last_name: "Moreau", tier: "gold", tags: ["store"]},
   properties: {order_id: "POS-\($run)", amount: "420.00", currency: "EUR", store: "paris-1"}}
]')"
expect 200
check '.accepted == 2 and ([.results[].resolution] == ["created", "created"])' "both events accepted, each created its own profile"
WEB_ID="$(j '.results[0].profile_id')"
STORE_ID="$(j '.results[1].profile_id')"
note "web profile $WEB_ID, store profile $STORE_ID"

step "the same batch sent again changes nothing (the senders' ids de-duplicate)"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg web "$WEB" --arg now "$NOW" '[
  {id: "walk11-\($run)-1", type: "page_view", occurred_at: $now,
   identifiers: [{kind: "email", value: $web}],
   properties: {url: "https://maison.example/winter"}}]')"
expect 200
check '.duplicates == 1 and .accepted == 0' "a replayed event is a duplicate"

step "both profiles as they are before the merge"
call GET "$CRM/profiles/$WEB_ID"
expect 200
WEB_BEFORE="$BODY"
call GET "$CRM/profiles/$STORE_ID"
expect 200
STORE_BEFORE="$BODY"
# What "as they were" compares: everything a marketer sees of a profile but its scores (recomputed on every
# event, and time-dependent) and the survivor's counters, which keep the activity that arrived after the merge.
shape='{id, attributes, custom, identifiers: (.identifiers | sort_by(.kind, .value)), first_seen_at, created_at, counters}'

step "the customer signs up for the newsletter in store with both: the event names both identities"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg web "$WEB" --arg member "$MEMBER" --arg now "$NOW" '[
  {id: "walk11-\($run)-3", type: "newsletter_signup", occurred_at: $now,
   identifiers: [{kind: "email", value: $web}, {kind: "scl_member", value: $member}],
   properties: {store: "paris-1"}}]')"
expect 200
check '.accepted == 1 and .results[0].resolution == "merged" and (.results[0].merge_id != null)' "the event merged the two profiles"
MERGE_ID="$(j '.results[0].merge_id')"
SURVIVOR="$(j '.results[0].profile_id')"
[ "$SURVIVOR" = "$WEB_ID" ] || [ "$SURVIVOR" = "$STORE_ID" ] || fail "the survivor $SURVIVOR is neither profile"
ABSORBED="$WEB_ID"
[ "$SURVIVOR" = "$WEB_ID" ] && ABSORBED="$STORE_ID"
note "merge $MERGE_ID: $ABSORBED absorbed into $SURVIVOR (the oldest profile survives)"

step "the merge's ledger"
call GET "$CRM/merges/$MERGE_ID"
expect 200
check '.survivor_id == "'"$SURVIVOR"'" and .absorbed_ids == ["'"$ABSORBED"'"] and .activities_moved.total == 1' \
    "the ledger names survivor and absorbed profile and the one activity moved"
check '[.identifiers_moved[] | tostring] | any(test("scl_member|'"$WEB"'"))' "the ledger lists the identifiers moved"
check '.attribute_decisions | length > 0' "the ledger lists each attribute decision"

step "the absorbed id now answers with the survivor"
call GET "$CRM/profiles/$ABSORBED"
expect 200
check '.id == "'"$SURVIVOR"'"' "GET of the absorbed id shows the survivor"
[ -n "$(header Content-Location)" ] && ok "Content-Location: $(header Content-Location)"
check '(.identifiers | map(.kind + ":" + .value) | sort) == (["email:'"$WEB"'", "scl_member:'"$MEMBER"'"] | sort)' "the survivor holds both identifiers"
check '.attributes.last_name == "Moreau" and .attributes.city == "Lyon" and ((.attributes.tags | sort) == ["store", "web"])' \
    "attributes merged: last name from the store, city from the web, tags united"

step "the merged timeline: all three activities, newest first"
call GET "$CRM/profiles/$SURVIVOR/activities?limit=50"
expect 200
check '([.items[].type] | sort) == ["newsletter_signup", "page_view", "purchase"]' "page view, purchase and newsletter signup on one timeline"

step "unmerge, first as a dry run (writes nothing)"
call POST "$CRM/merges/$MERGE_ID/unmerge" '{"dry_run": true}'
expect 200
check '.dry_run == true' "the dry run answers what would be restored"
call GET "$CRM/merges/$MERGE_ID"
expect 200
check '.unmerged_at == null' "still merged after the dry run"

step "unmerge"
call POST "$CRM/merges/$MERGE_ID/unmerge" '{}'
expect 200
check '.dry_run == false and .merge.unmerged_at != null' "unmerged"
call POST "$CRM/merges/$MERGE_ID/unmerge" '{}'
expect 409
ok "a second unmerge is a 409 $(j .type)"

step "both profiles are back as they were"
call GET "$CRM/profiles/$ABSORBED"
expect 200
check '.id == "'"$ABSORBED"'"' "the absorbed id is its own profile again"
AFTER="$BODY"
BEFORE="$STORE_BEFORE"
[ "$ABSORBED" = "$WEB_ID" ] && BEFORE="$WEB_BEFORE"
diff <(printf '%s' "$BEFORE" | jq -S "$shape") <(printf '%s' "$AFTER" | jq -S "$shape") >&2 \
    || fail "the absorbed profile differs from before the merge (above)"
ok "the absorbed profile is exactly as before: attributes, identifiers, counters"
call GET "$CRM/profiles/$SURVIVOR"
expect 200
AFTER="$BODY"
BEFORE="$WEB_BEFORE"
[ "$SURVIVOR" = "$STORE_ID" ] && BEFORE="$STORE_BEFORE"
survivor_shape="$(printf '%s' "$shape" | sed 's/, counters}/}/')"
diff <(printf '%s' "$BEFORE" | jq -S "$survivor_shape") <(printf '%s' "$AFTER" | jq -S "$survivor_shape") >&2 \
    || fail "the survivor differs from before the merge (above)"
ok "the survivor is as before: attributes and identifiers"
check '.counters.activity_counts == (('"$BEFORE"').counters.activity_counts + {newsletter_signup: 1})' \
    "its counters are as before plus the newsletter signup that arrived after the merge (it stays, documented)"

step "the timelines are apart again"
call GET "$CRM/profiles/$ABSORBED/activities"
expect 200
ABSORBED_TYPES="$(j '[.items[].type] | sort | join(",")')"
call GET "$CRM/profiles/$SURVIVOR/activities"
expect 200
SURVIVOR_TYPES="$(j '[.items[].type] | sort | join(",")')"
note "absorbed: $ABSORBED_TYPES; survivor: $SURVIVOR_TYPES"
case "$ABSORBED_TYPES|$SURVIVOR_TYPES" in
    "purchase|newsletter_signup,page_view" | "page_view|newsletter_signup,purchase") ok "each activity is back on its profile" ;;
    *) fail "unexpected timelines after the unmerge" ;;
esac

step "another brand's marketer cannot reach these profiles"
login atelier.marketer@concierge.test concierge-marketer
call GET "$CRM/profiles/$SURVIVOR"
expect 404
ok "atelier's marketer gets $STATUS on maison's profile"

printf '\n\033[1;32missue 11 walk-through passed\033[0m (run %s)\n' "$RUN" >&2
