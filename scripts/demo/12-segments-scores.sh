#!/usr/bin/env bash
# Issue 12, Done when: a marketer of a demo brand previews a rule, saves it, sees its members, ingests an event
# that moves a profile in, sees the entry in the history and the outbox event, and reads a profile's scores
# with their reasons.
#   ./scripts/run            # in another terminal
#   scripts/demo/12-segments-scores.sh
# The outbox event is read where consumers read it: the Redis stream `{redis.key_prefix}{outbox.redis_stream}`
# (REDIS_URL, default redis://127.0.0.1:56379; STREAM, default concierge:events).
source "$(dirname "$0")/lib.sh"
ensure_server
command -v redis-cli >/dev/null || fail "this walk reads the outbox stream with redis-cli"
REDIS_URL="${REDIS_URL:-${CONCIERGE__REDIS__URL:-redis://127.0.0.1:56379}}"
STREAM="${STREAM:-${CONCIERGE__REDIS__KEY_PREFIX:-concierge:}events}"
BRAND=maison
CRM="/brands/$BRAND/crm"
TAG="walk-$RUN"
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

step "the marketer of $BRAND signs in"
login marketer@concierge.test concierge-marketer

step "two customers of the winter preview (tag $TAG): one spent 800 EUR this month, the other 200"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg tag "$TAG" --arg now "$NOW" '[
  {id: "walk12-\($run)-1", type: "purchase", occurred_at: $now,
   identifiers: [{kind: "email", value: "big.spender.\($run)@example.com"}],
   traits: {first_name: "Inès", last_name: "Garnier", tags: [$tag]},
   properties: {order_id: "W12-\($run)-1", amount: "800.00", currency: "EUR", store: "paris-1"}},
  {id: "walk12-\($run)-2", type: "purchase", occurred_at: $now,
   identifiers: [{kind: "email", value: "small.spender.\($run)@example.com"}],
   traits: {first_name: "Paul", last_name: "Girard", tags: [$tag]},
   properties: {order_id: "W12-\($run)-2", amount: "200.00", currency: "EUR", store: "paris-1"}}
]')"
expect 200
check '.accepted == 2' "both purchases accepted"
BIG="$(j '.results[0].profile_id')"
SMALL="$(j '.results[1].profile_id')"

RULE="$(jq -nc --arg tag "$TAG" '{all: [
  {attribute: "tags", op: "contains", value: $tag},
  {activity: "purchase", sum: {property: "amount", gte: 500}, within: {days: 30}}]}')"

step "a rule with a mistake is refused with a field error pointing into the tree"
call POST "$CRM/segments/preview" '{"rule": {"all": [{"attribute": "tier", "op": "gt", "value": {"days": 3}}]}}'
expect 422
check '[.errors[].field] | any(startswith("rule/all/0"))' "422 naming $(j '[.errors[].field] | join(", ")')"

step "preview the rule: at least 500 EUR of purchases in 30 days, among the preview's customers"
call POST "$CRM/segments/preview" "$(jq -nc --argjson rule "$RULE" '{rule: $rule}')"
expect 200
check '.count == 1 and [.sample[].id] == ["'"$BIG"'"]' "count 1, the sample is Inès ($(j .took_ms) ms)"

step "save it as a dynamic segment"
call POST "$CRM/segments" "$(jq -nc --arg slug "$TAG" --arg name "Winter preview big spenders $RUN" --argjson rule "$RULE" \
    '{slug: $slug, name: $name, kind: "dynamic", rule: $rule}')"
expect 201
SEGMENT="$(j .id)"
check '.version == 1 and .kind == "dynamic"' "segment $SEGMENT saved, version 1"

step "refresh it and see its members"
call POST "$CRM/segments/$SEGMENT/refresh" ''
expect 200
note "$(printf '%s' "$BODY" | jq -c '.')"
call GET "$CRM/segments/$SEGMENT/members"
expect 200
check '[.items[].profile_id] == ["'"$BIG"'"]' "one member: Inès"

step "Paul buys again for 400 EUR: the event moves him in"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg now "$NOW" '[
  {id: "walk12-\($run)-3", type: "purchase", occurred_at: $now,
   identifiers: [{kind: "email", value: "small.spender.\($run)@example.com"}],
   properties: {order_id: "W12-\($run)-3", amount: "400.00", currency: "EUR", store: "paris-1"}}]')"
expect 200
check '.accepted == 1 and .results[0].profile_id == "'"$SMALL"'"' "the purchase landed on Paul's profile"
call GET "$CRM/segments/$SEGMENT/members"
expect 200
check '([.items[].profile_id] | sort) == (["'"$BIG"'", "'"$SMALL"'"] | sort)' "two members now, at once (no refresh)"

step "the entry in the segment's history"
call GET "$CRM/segments/$SEGMENT/history?profile=$SMALL"
expect 200
check '.items[0].change == "entered" and .items[0].reason == "event" and .items[0].version == 1' \
    "Paul entered by event under version 1 at $(j '.items[0].at')"
call GET "$CRM/profiles/$SMALL/segments"
expect 200
check '[.items[].segment_id] | index("'"$SEGMENT"'") != null' "the profile lists the segment"

step "the outbox event on the Redis stream $STREAM"
outbox_event() {
    redis-cli -u "$REDIS_URL" --json XREVRANGE "$STREAM" + - COUNT 2000 2>/dev/null | python3 -c '
import json, sys
segment, profile = sys.argv[1], sys.argv[2]
for _id, fields in json.load(sys.stdin):
    event = dict(zip(fields[::2], fields[1::2]))
    if event.get("topic") != "crm.segment.membership.changed":
        continue
    payload = json.loads(event["payload"])
    if payload.get("segment_id") == segment and profile in payload.get("entered", []):
        print(json.dumps({"id": event["id"], "topic": event["topic"], "payload": payload}))
        sys.exit(0)
sys.exit(1)' "$SEGMENT" "$SMALL" > /tmp/walk12-outbox.$$ 
}
wait_for 30 "crm.segment.membership.changed with Paul in entered" outbox_event
BODY="$(cat /tmp/walk12-outbox.$$)"
rm -f /tmp/walk12-outbox.$$
note "$(printf '%s' "$BODY" | jq -c '.')"
check '.payload.reason == "event" and .payload.exited == []' "reason event, nobody exited"

step "Paul's scores, each with its reasons"
call GET "$CRM/profiles/$SMALL/scores"
expect 200
check '.scores.engagement.value >= 0 and (.scores.engagement.reasons | length) > 0' \
    "engagement $(j .scores.engagement.value): $(j '[.scores.engagement.reasons[] | "\(.factor)=\(.value) (+\(.contribution))"] | join(", ")')"
check '.scores.churn_risk.value >= 0 and (.scores.churn_risk.reasons | type) == "array"' \
    "churn risk $(j .scores.churn_risk.value): $(j '[.scores.churn_risk.reasons[] | "\(.factor)=\(.value) (+\(.contribution))"] | join(", ")')"
call GET "$CRM/profiles/$SMALL"
expect 200
check '.scores.engagement != null' "the scores are in the profile view too"

step "an advisor cannot use the marketer's segments; another brand's marketer cannot see this one"
login advisor@concierge.test concierge-advisor
call GET "$CRM/segments/$SEGMENT"
expect 403
ok "advisor: 403"
login atelier.marketer@concierge.test concierge-marketer
call GET "$CRM/segments/$SEGMENT"
expect 404
ok "atelier's marketer: 404"

printf '\n\033[1;32missue 12 walk-through passed\033[0m (run %s)\n' "$RUN" >&2
