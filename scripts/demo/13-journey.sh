#!/usr/bin/env bash
# Issue 13, Done when (second half): a marketer publishes a journey that sends a welcome message after a
# `signup` event and a reminder two days later, visible in the enrollment's history with a shortened wait.
#   ./scripts/run            # in another terminal
#   scripts/demo/13-journey.sh
# The journey is maison's seeded "Welcome and reminder" (SMS): each run publishes it again (a new version) and
# follows one new customer through it. `[crm.journeys] time_scale` (0.001 in config/development.toml) makes
# the two-day wait about three minutes; the script waits for it (WAIT_LIMIT seconds, default 600).
source "$(dirname "$0")/lib.sh"
ensure_server
BRAND=maison
CRM="/brands/$BRAND/crm"
JOURNEY_NAME="Welcome and reminder"
ZONE="$(daytime_zone Europe/Paris)"
PHONE="+3361$(printf '%07d' $(( (RANDOM * 32768 + RANDOM) % 10000000 )))"
EMAIL="zoe.$RUN@example.com"

step "the marketer of $BRAND signs in"
login marketer@concierge.test concierge-marketer

step "the journey “$JOURNEY_NAME”"
call GET "$CRM/journeys"
expect 200
JOURNEY="$(j --arg n "$JOURNEY_NAME" '[.items[] | select(.name == $n)][0].id // empty')"
[ -n "$JOURNEY" ] || fail "maison has no journey named “$JOURNEY_NAME”: run ./scripts/run (it seeds it)"
call GET "$CRM/journeys/$JOURNEY"
expect 200
printf '%s' "$BODY" | jq -r '(.draft // .published).steps[] | "    \(.id): \(.type) \(.duration_secs // "" | tostring) → \(.next // .yes // "end")"' >&2
check '(.draft // .published) as $d | $d.trigger.type == "event" and $d.trigger.event == "signup"
       and ([$d.steps[].type] == ["send", "wait", "send"]) and ($d.steps[1].duration_secs == 172800)' \
    "on signup: welcome SMS, wait two days, reminder SMS"

step "publish it (a new version; running enrollments stay on theirs)"
BEFORE="$(j '.published_version // 0')"
call POST "$CRM/journeys/$JOURNEY/publish" ''
expect 200 201
check '.published_version == '"$((BEFORE + 1))"'' "version $(j .published_version) published"
if [ "$(j .status)" = paused ]; then
    call POST "$CRM/journeys/$JOURNEY/resume" ''
    expect 200
fi
check '.status == "active"' "the journey is active"
VERSION="$(j .published_version)"

step "a new customer, Zoé, who agreed to marketing SMS when she registered (lives in $ZONE: day there now)"
call POST "$CRM/profiles" "$(jq -nc --arg e "$EMAIL" --arg p "$PHONE" \
    '{attributes: {first_name: "Zoé", last_name: "Walk", email: $e, phone: $p}, identifiers: [{kind: "email", value: $e}]}')"
expect 201
ZOE="$(j .profile.id)"
call PATCH "$CRM/profiles/$ZOE" "$(jq -nc --arg z "$ZONE" '{custom: {timezone: $z}}')"
expect 200
call PUT "$CRM/profiles/$ZOE/consents/sms/marketing" '{"status": "granted", "source": "walk-13-signup-form"}'
expect 200
ok "profile $ZOE, phone $PHONE, sms/marketing granted"

step "dry run: the path Zoé would take now (nothing is sent)"
call POST "$CRM/journeys/$JOURNEY/dry-run" "$(jq -nc --arg p "$ZOE" '{profile_id: $p}')"
expect 200
printf '%s' "$BODY" | jq -r '.steps[] | "    \(.step_id): \(.outcome)"' >&2
check '[.steps[].step_id] == ["welcome", "two-days", "reminder"] and .steps[0].outcome == "would_send"' "welcome would be sent"

step "Zoé signs up: the signup event"
call POST "$CRM/events" "$(jq -nc --arg run "$RUN" --arg e "$EMAIL" --arg now "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '[{id: "walk13-signup-\($run)", type: "signup", occurred_at: $now, identifiers: [{kind: "email", value: $e}],
       properties: {source: "web"}}]')"
expect 200
check '.accepted == 1 and .results[0].profile_id == "'"$ZOE"'"' "accepted on Zoé's profile"

step "her enrollment"
enrolled() {
    call GET "$CRM/journeys/$JOURNEY/enrollments?limit=100"
    [ "$STATUS" = 200 ] || return 1
    ENROLLMENT="$(j --arg p "$ZOE" '[.items[] | select(.profile_id == $p)][0].id // empty')"
    # Enrollments are listed oldest first: look further on until hers shows up.
    while [ -z "$ENROLLMENT" ] && [ "$(j '.next_cursor // empty')" != "" ]; do
        call GET "$CRM/journeys/$JOURNEY/enrollments?limit=100&cursor=$(j .next_cursor)"
        ENROLLMENT="$(j --arg p "$ZOE" '[.items[] | select(.profile_id == $p)][0].id // empty')"
    done
    [ -n "$ENROLLMENT" ]
}
wait_for 30 "Zoé is enrolled" enrolled
waiting() {
    call GET "$CRM/enrollments/$ENROLLMENT"
    [ "$STATUS" = 200 ] && [ "$(j .status)" = waiting ]
}
wait_for 60 "the welcome is sent and the enrollment waits" waiting
check '.version == '"$VERSION"' and .steps[0].step_id == "welcome" and .steps[0].outcome == "sent" and .current_step == "two-days" and .wake_at != null' \
    "on version $VERSION: welcome sent, waiting at two-days until $(j .wake_at)"
printf '%s' "$BODY" | jq -r '.steps[] | "    \(.seq) \(.at) \(.step_id): \(.outcome)"' >&2
WAKE="$(j .wake_at)"
WAIT_SECS="$(python3 -c 'import sys,datetime; w=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")); print(max(0,int((w-datetime.datetime.now(datetime.timezone.utc)).total_seconds())))' "$WAKE")"
note "two days × time_scale: the reminder is due in about ${WAIT_SECS}s"

call GET "$SANDBOX_URL/__sandbox/messaging/messages?to=$PHONE"
expect 200
check 'length == 1 and (.[0].body | contains("welcome, Zoé"))' "the stand-in has the welcome SMS: “$(j '.[0].body')”"

step "wait for the reminder"
completed() {
    call GET "$CRM/enrollments/$ENROLLMENT"
    [ "$STATUS" = 200 ] || return 1
    case "$(j .status)" in
        completed) return 0 ;;
        failed | exited) fail "the enrollment ended $(j .status): $(j .reason)" ;;
    esac
    return 1
}
wait_for "${WAIT_LIMIT:-600}" "the enrollment is completed" completed
printf '%s' "$BODY" | jq -r '.steps[] | "    \(.seq) \(.at) \(.step_id): \(.outcome)"' >&2
check '[.steps[] | "\(.step_id):\(.outcome)"] == ["welcome:sent", "two-days:waited", "reminder:sent"]' \
    "the history: welcome sent, waited two (shortened) days, reminder sent"
check '(.steps[2].at | sub("\\.[0-9]+";"") | fromdateiso8601) - (.steps[0].at | sub("\\.[0-9]+";"") | fromdateiso8601) >= 100' \
    "the reminder came about 173 s (2 days × 0.001) after the welcome"

call GET "$SANDBOX_URL/__sandbox/messaging/messages?to=$PHONE"
expect 200
check 'length == 2 and (.[1].body | contains("your first visit is waiting"))' "the stand-in has the reminder: “$(j '.[1].body')”"
call GET "$CRM/profiles/$ZOE/activities?type=message_sent"
expect 200
check '.items | length == 2' "two message_sent activities on Zoé's timeline"

printf '\n\033[1;32missue 13 journey walk-through passed\033[0m (run %s)\n' "$RUN" >&2
