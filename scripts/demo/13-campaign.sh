#!/usr/bin/env bash
# Issue 13, Done when (first half): a marketer of a demo brand creates a template, launches a campaign to a
# segment and watches the counts reach completion with suppressions explained.
#   ./scripts/run            # in another terminal
#   scripts/demo/13-campaign.sh
# The seed leaves maison's "Winter collection (demo)" campaign in draft: the first run points it at this run's
# template and segment and launches it; later runs create a campaign of their own the same way.
# Quiet hours (21:00–08:00 in the recipient's time zone, marketing only) would hold the message until morning:
# the recipient who may be e-mailed lives in a time zone where it is day now (the `timezone` attribute).
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison
CRM="/brands/$BRAND/crm"
TAG="walk13-$RUN"
SEEDED_CAMPAIGN="Winter collection (demo)"
ZONE="$(daytime_zone Europe/Paris)"

step "the marketer of $BRAND signs in"
login marketer@concierge.test concierge-marketer

step "create an e-mail template, French and English"
call POST "$CRM/templates" "$(jq -nc --arg name "Private viewing $RUN" '{
  name: $name, channel: "email", purpose: "marketing", fallback_language: "en",
  variants: [
    {language: "en", subject: "{{ profile.first_name }}, a private viewing for you",
     body: "<p>Dear {{ profile.first_name }},</p><p>{{ brand.name }} invites you to a private viewing.</p>"},
    {language: "fr", subject: "{{ profile.first_name }}, une présentation privée",
     body: "<p>Chère {{ profile.first_name }},</p><p>{{ brand.name }} vous invite à une présentation privée.</p>"}]}')"
expect 201
TEMPLATE="$(j .id)"
ok "template $TEMPLATE, version $(j .version)"
call POST "$CRM/templates" "$(jq -nc --arg name "Broken $RUN" '{
  name: $name, channel: "email", purpose: "marketing", fallback_language: "en",
  variants: [{language: "en", subject: "Hi", body: "{{ profile.password }}"}]}')"
expect 422
check '.errors[0].field == "variants/0/body" and .errors[0].code == "unknown_placeholder"' \
    "an unknown placeholder is refused: $(j '.errors[0].message')"

step "four customers of the private viewing (tag $TAG), each a different case"
profile() { # first email-or-empty consent(granted|denied|none) [timezone]
    local first="$1" email="$2" consent="$3" zone="${4:-}"
    local identifiers attrs
    if [ -n "$email" ]; then
        identifiers="$(jq -nc --arg e "$email" '[{kind: "email", value: $e}]')"
    else
        identifiers="$(jq -nc --arg v "$first-$RUN" '[{kind: "scl_member", value: $v}]')"
    fi
    attrs="$(jq -nc --arg f "$first" --arg tag "$TAG" '{first_name: $f, last_name: "Walk", tags: [$tag]}')"
    call POST "$CRM/profiles" "$(jq -nc --argjson a "$attrs" --argjson i "$identifiers" '{attributes: $a, identifiers: $i}')"
    expect 201
    local id
    id="$(j .profile.id)"
    if [ -n "$zone" ]; then
        call PATCH "$CRM/profiles/$id" "$(jq -nc --arg z "$zone" '{custom: {timezone: $z}}')"
        expect 200
    fi
    if [ "$consent" != none ]; then
        call PUT "$CRM/profiles/$id/consents/email/marketing" "$(jq -nc --arg s "$consent" '{status: $s, source: "walk-13"}')"
        expect 200
    fi
    printf '%s' "$id"
}
call GET "$CRM/attributes"
expect 200
check '[.items[].name] | index("timezone") != null' "the brand declares the \`timezone\` attribute the send path reads"
ANNA="$(profile Anna "anna.$RUN@example.com" granted "$ZONE")"
note "Anna $ANNA: e-mail, consents, lives in $ZONE (day there now) → sent"
BRUNO="$(profile Bruno "bruno.$RUN@example.com" denied)"
note "Bruno $BRUNO: e-mail, said no → suppressed consent_denied"
CHLOE="$(profile Chloé "chloe.$RUN@example.com" none)"
note "Chloé $CHLOE: e-mail, never asked → suppressed no_consent"
DENIS="$(profile Denis "" granted)"
note "Denis $DENIS: consents, but no e-mail address → suppressed no_address"

step "preview the template for Anna"
call POST "$CRM/templates/$TEMPLATE/preview" "$(jq -nc --arg p "$ANNA" '{profile_id: $p}')"
expect 200
check '.language == "fr" and .subject == "Anna, une présentation privée"' "no locale: the brand's (fr-FR) → “$(j .subject)”"
call POST "$CRM/templates/$TEMPLATE/preview" "$(jq -nc --arg p "$ANNA" '{profile_id: $p, language: "en"}')"
expect 200
check '.subject == "Anna, a private viewing for you" and (.body | contains("Maison invites you"))' "in English: “$(j .subject)”"

step "the audience: a segment of the viewing's guests"
call POST "$CRM/segments" "$(jq -nc --arg slug "$TAG" --arg tag "$TAG" '{slug: $slug, name: "Private viewing \($slug)",
  kind: "dynamic", rule: {attribute: "tags", op: "contains", value: $tag}}')"
expect 201
SEGMENT="$(j .id)"
call POST "$CRM/segments/$SEGMENT/refresh" ''
expect 200
call GET "$CRM/segments/$SEGMENT/members"
expect 200
check '.items | length == 4' "segment $SEGMENT has the four guests"

step "the campaign: the seeded draft when it is still one, else a new draft"
DRAFT="$(jq -nc --arg name "Private viewing $RUN" --arg s "$SEGMENT" --arg t "$TEMPLATE" \
    '{name: $name, segment_id: $s, template_id: $t, channel: "email", purpose: "marketing", throttle_per_sec: 5}')"
call GET "$CRM/campaigns?status=draft&limit=100"
expect 200
CAMPAIGN="$(j --arg n "$SEEDED_CAMPAIGN" '[.items[] | select(.name == $n)][0].id // empty')"
if [ -n "$CAMPAIGN" ]; then
    call PUT "$CRM/campaigns/$CAMPAIGN" "$DRAFT"
    expect 200
    ok "the seeded draft “$SEEDED_CAMPAIGN” ($CAMPAIGN) now sends this run's template to this run's segment"
else
    call POST "$CRM/campaigns" "$DRAFT"
    expect 201
    CAMPAIGN="$(j .id)"
    ok "the seeded draft was launched by an earlier run: new draft $CAMPAIGN"
fi
check '.status == "draft"' "a draft"

step "launch it (Idempotency-Key), and the same launch again is a replay"
KEY="walk13-launch-$RUN"
call POST "$CRM/campaigns/$CAMPAIGN/launch" '' -H "Idempotency-Key: $KEY"
expect 200 201 202
check '.status == "scheduled" or .status == "sending" or .status == "completed"' "launched: $(j .status)"
call POST "$CRM/campaigns/$CAMPAIGN/launch" '' -H "Idempotency-Key: $KEY"
expect 200 201 202
[ "$(header Idempotent-Replayed)" = "true" ] || fail "the repeated launch was not a replay"
ok "the repeat answers the first launch again (Idempotent-Replayed: true)"

step "watch the counts until the campaign completes"
completed() {
    call GET "$CRM/campaigns/$CAMPAIGN"
    [ "$STATUS" = 200 ] || return 1
    note "$(j '"\(.status): " + (.counts // {} | "total \(.total // 0), queued \(.queued // 0), deferred \(.deferred // 0), sent \(.sent // 0), suppressed \(.suppressed // 0) \(.suppressed_by_reason // {} | tostring), failed \(.failed // 0)")')"
    [ "$(j .status)" = completed ]
}
wait_for 120 "the campaign is completed" completed
check '.counts.total == 4 and .counts.sent == 1 and .counts.suppressed == 3 and .counts.failed == 0 and .counts.queued == 0 and .counts.deferred == 0' \
    "every recipient is settled: 1 sent, 3 suppressed"
check '.counts.suppressed_by_reason == {"consent_denied": 1, "no_address": 1, "no_consent": 1}' \
    "suppressions explained: $(j -c .counts.suppressed_by_reason)"

step "the recipients, each with its status and reason"
call GET "$CRM/campaigns/$CAMPAIGN/recipients?limit=100"
expect 200
printf '%s' "$BODY" | jq -r '.items[] | "    \(.profile_id) \(.status) \(.reason // "")"' >&2
check '[.items[] | select(.profile_id == "'"$ANNA"'")][0].status == "sent"' "Anna: sent"
check '[.items[] | select(.profile_id == "'"$BRUNO"'")][0].reason == "consent_denied"' "Bruno: consent_denied"
check '[.items[] | select(.profile_id == "'"$CHLOE"'")][0].reason == "no_consent"' "Chloé: no_consent"
check '[.items[] | select(.profile_id == "'"$DENIS"'")][0].reason == "no_address"' "Denis: no_address"

step "the messaging stand-in got exactly one message, Anna's"
call GET "$SANDBOX_URL/__sandbox/messaging/messages?to=anna.$RUN@example.com"
expect 200
check 'length == 1 and (.[0].subject == "Anna, une présentation privée")' "one e-mail to Anna: “$(j '.[0].subject')”"
for who in bruno chloe; do
    call GET "$SANDBOX_URL/__sandbox/messaging/messages?to=$who.$RUN@example.com"
    expect 200
    check 'length == 0' "nothing to $who"
done

step "Anna's timeline records the send"
call GET "$CRM/profiles/$ANNA/activities?type=message_sent"
expect 200
check '.items | length == 1' "message_sent on Anna's timeline"

printf '\n\033[1;32missue 13 campaign walk-through passed\033[0m (run %s)\n' "$RUN" >&2
