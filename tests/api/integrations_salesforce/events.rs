//! Platform events over CometD: handshake, subscribe with replay ids, connect, and recovery.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use concierge::integrations::ProviderError;
use concierge::integrations::salesforce::replay::store_replay_id;
use concierge::integrations::salesforce::{
    CometdSubscriber, PlatformEventSubscriber, ReplayFrom, SalesforceClient,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{TOKEN_PATH, client_for, error_array, mount_token, order_id, token_body};
use crate::helpers;

const CHANNEL: &str = "/event/OrderProvisionRequested__e";
const COMETD: &str = "/cometd/60.0";

/// One Bayeux message as the fake received it, with the headers that matter.
#[derive(Debug, Clone)]
struct Received {
    message: Value,
    authorization: String,
    cookie: Option<String>,
}

#[derive(Default)]
struct Script {
    received: Vec<Received>,
    handshakes: usize,
    handshake_replies: VecDeque<Value>,
    subscribe_replies: VecDeque<Value>,
    connect_replies: VecDeque<Value>,
    set_cookie: Option<&'static str>,
}

/// A CometD endpoint: handshakes and subscriptions succeed and connects come back empty, unless the test
/// scripted the next reply.
#[derive(Clone, Default)]
struct FakeCometd {
    script: Arc<Mutex<Script>>,
}

impl FakeCometd {
    fn on_handshake(&self, reply: Value) -> &Self {
        self.script
            .lock()
            .unwrap()
            .handshake_replies
            .push_back(reply);
        self
    }

    fn on_subscribe(&self, reply: Value) -> &Self {
        self.script
            .lock()
            .unwrap()
            .subscribe_replies
            .push_back(reply);
        self
    }

    fn on_connect(&self, reply: Value) -> &Self {
        self.script.lock().unwrap().connect_replies.push_back(reply);
        self
    }

    fn received(&self, channel: &str) -> Vec<Received> {
        self.script
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|received| received.message["channel"] == channel)
            .cloned()
            .collect()
    }

    async fn mount(&self, server: &MockServer) {
        Mock::given(method("POST"))
            .and(path(COMETD))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }
}

impl Respond for FakeCometd {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let messages: Vec<Value> = request.body_json().expect("a JSON array of messages");
        let message = messages[0].clone();
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        let mut script = self.script.lock().unwrap();
        script.received.push(Received {
            message: message.clone(),
            authorization: header("authorization").unwrap_or_default(),
            cookie: header("cookie"),
        });
        let channel = message["channel"].as_str().unwrap_or_default();
        let reply = match channel {
            "/meta/handshake" => {
                script.handshakes += 1;
                let client_id = format!("client-{}", script.handshakes);
                script.handshake_replies.pop_front().unwrap_or_else(|| {
                    json!([{
                        "channel": "/meta/handshake", "successful": true, "clientId": client_id,
                        "version": "1.0", "supportedConnectionTypes": ["long-polling"],
                        "ext": {"replay": true, "payload.format": true},
                        "advice": {"reconnect": "retry", "interval": 0, "timeout": 110000}
                    }])
                })
            }
            "/meta/subscribe" => script.subscribe_replies.pop_front().unwrap_or_else(|| {
                json!([{"channel": "/meta/subscribe", "successful": true,
                        "clientId": message["clientId"], "subscription": message["subscription"]}])
            }),
            "/meta/connect" => script
                .connect_replies
                .pop_front()
                .unwrap_or_else(|| json!([{"channel": "/meta/connect", "successful": true}])),
            _ => json!([{"channel": channel, "successful": true}]),
        };
        let mut response = ResponseTemplate::new(200).set_body_json(reply);
        if channel == "/meta/handshake"
            && let Some(cookie) = script.set_cookie
        {
            response = response.insert_header("set-cookie", cookie);
        }
        response
    }
}

fn event(replay_id: i64, order: &str) -> Value {
    json!({
        "data": {
            "schema": "dffQ2QLzDNHqwB8_sHMxdA",
            "payload": {"CreatedDate": "2026-11-21T10:31:40Z", "CreatedById": "005RO000000abcdYAA", "OrderId__c": order},
            "event": {"EventUuid": format!("uuid-{replay_id}"), "replayId": replay_id}
        },
        "channel": CHANNEL
    })
}

fn connected() -> Value {
    json!({"channel": "/meta/connect", "successful": true,
           "advice": {"reconnect": "retry", "interval": 0, "timeout": 110000}})
}

fn subscriber(client: SalesforceClient, from: ReplayFrom) -> CometdSubscriber {
    CometdSubscriber::new(client, CHANNEL, from).unwrap()
}

#[tokio::test]
async fn the_subscriber_handshakes_subscribes_and_delivers_events_with_replay_ids() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.on_connect(json!([
        event(5, order_id()),
        event(6, "801RO00000A1b2dYAB"),
        connected()
    ]));
    cometd.mount(&server).await;
    // Consumers hold the interface, so a Pub/Sub implementation can replace CometD.
    let mut subscriber: Box<dyn PlatformEventSubscriber> =
        Box::new(subscriber(client_for(&server), ReplayFrom::New));

    let events = subscriber.next_events().await.unwrap();

    assert_eq!(events.len(), 2);
    assert_eq!(events[0].channel, CHANNEL);
    assert_eq!(events[0].replay_id, 5);
    assert_eq!(events[0].payload["OrderId__c"], order_id());
    assert_eq!(events[0].event_uuid.as_deref(), Some("uuid-5"));
    assert_eq!(events[1].replay_id, 6);
    assert_eq!(subscriber.channel(), CHANNEL);

    let handshake = &cometd.received("/meta/handshake")[0];
    assert_eq!(handshake.authorization, "Bearer token-1");
    assert_eq!(handshake.message["version"], "1.0");
    assert_eq!(
        handshake.message["supportedConnectionTypes"],
        json!(["long-polling"])
    );
    assert_eq!(handshake.message["ext"]["replay"], true);
    let subscribe = &cometd.received("/meta/subscribe")[0].message;
    assert_eq!(subscribe["clientId"], "client-1");
    assert_eq!(subscribe["subscription"], CHANNEL);
    assert_eq!(subscribe["ext"]["replay"], json!({CHANNEL: -1}));
    let connect = &cometd.received("/meta/connect")[0].message;
    assert_eq!(connect["clientId"], "client-1");
    assert_eq!(connect["connectionType"], "long-polling");

    let quiet = subscriber.next_events().await.unwrap();
    assert!(quiet.is_empty(), "a quiet long poll is no events");
    assert_eq!(
        cometd.received("/meta/handshake").len(),
        1,
        "the session is kept"
    );
}

#[tokio::test]
async fn a_subscription_starts_after_the_given_replay_id() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::After(41));

    subscriber.next_events().await.unwrap();

    let subscribe = &cometd.received("/meta/subscribe")[0].message;
    assert_eq!(subscribe["ext"]["replay"], json!({CHANNEL: 41}));
}

#[tokio::test]
async fn advice_to_handshake_again_resubscribes_after_the_last_delivered_event() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd
        .on_connect(json!([event(7, order_id()), connected()]))
        .on_connect(json!([{"channel": "/meta/connect", "successful": false,
                            "error": "403::Unknown client", "advice": {"reconnect": "handshake", "interval": 0}}]))
        .on_connect(json!([event(9, order_id()), connected()]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let first = subscriber.next_events().await.unwrap();
    let second = subscriber.next_events().await.unwrap();

    assert_eq!(first[0].replay_id, 7);
    assert_eq!(second[0].replay_id, 9);
    assert_eq!(cometd.received("/meta/handshake").len(), 2);
    let subscribes = cometd.received("/meta/subscribe");
    assert_eq!(subscribes[0].message["ext"]["replay"], json!({CHANNEL: -1}));
    assert_eq!(subscribes[1].message["ext"]["replay"], json!({CHANNEL: 7}));
    assert_eq!(subscribes[1].message["clientId"], "client-2");
    assert_eq!(subscriber.replay_from(), ReplayFrom::After(9));
}

#[tokio::test]
async fn an_invalid_replay_id_falls_back_to_every_retained_event() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd
        .on_subscribe(json!([{"channel": "/meta/subscribe", "successful": false, "subscription": CHANNEL,
            "error": "400::The replayId {5} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."}]))
        .on_connect(json!([event(3, order_id()), connected()]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::After(5));

    let events = subscriber.next_events().await.unwrap();

    let subscribes = cometd.received("/meta/subscribe");
    assert_eq!(subscribes.len(), 2);
    assert_eq!(subscribes[0].message["ext"]["replay"], json!({CHANNEL: 5}));
    assert_eq!(subscribes[1].message["ext"]["replay"], json!({CHANNEL: -2}));
    assert_eq!(events[0].replay_id, 3);
}

#[tokio::test]
async fn an_authentication_error_inside_cometd_renews_the_session_and_handshakes_again() {
    let server = MockServer::start().await;
    let tokens = Arc::new(AtomicUsize::new(0));
    let instance = server.uri();
    let counter = tokens.clone();
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(token_body(&format!("token-{n}"), &instance))
        })
        .mount(&server)
        .await;
    let cometd = FakeCometd::default();
    cometd
        .on_connect(json!([{"channel": "/meta/connect", "successful": false,
                            "error": "401::Authentication invalid", "advice": {"reconnect": "none"}}]))
        .on_connect(json!([event(12, order_id()), connected()]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let events = subscriber.next_events().await.unwrap();

    assert_eq!(events[0].replay_id, 12);
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    let handshakes = cometd.received("/meta/handshake");
    assert_eq!(handshakes.len(), 2);
    assert_eq!(handshakes[1].authorization, "Bearer token-2");
}

#[tokio::test]
async fn an_expired_token_on_the_cometd_endpoint_is_renewed_transparently() {
    let server = MockServer::start().await;
    let tokens = Arc::new(AtomicUsize::new(0));
    let instance = server.uri();
    let counter = tokens.clone();
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(token_body(&format!("token-{n}"), &instance))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMETD))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_array(
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        )))
        .with_priority(1)
        .mount(&server)
        .await;
    let cometd = FakeCometd::default();
    cometd.on_connect(json!([event(1, order_id()), connected()]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let events = subscriber.next_events().await.unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cookies_set_by_the_cometd_server_are_sent_back() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.script.lock().unwrap().set_cookie =
        Some("BAYEUX_BROWSER=4c1a9; Path=/; Secure; HttpOnly");
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    subscriber.next_events().await.unwrap();

    assert_eq!(cometd.received("/meta/handshake")[0].cookie, None);
    assert_eq!(
        cometd.received("/meta/subscribe")[0].cookie.as_deref(),
        Some("BAYEUX_BROWSER=4c1a9")
    );
    assert_eq!(
        cometd.received("/meta/connect")[0].cookie.as_deref(),
        Some("BAYEUX_BROWSER=4c1a9")
    );
}

#[tokio::test]
async fn unreadable_events_are_skipped_and_the_others_delivered() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.on_connect(json!([
        {"channel": CHANNEL, "data": {"payload": {"OrderId__c": order_id()}, "event": {}}},
        {"channel": CHANNEL, "data": "garbage"},
        event(21, order_id()),
        connected()
    ]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let events = subscriber.next_events().await.unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(events[0].replay_id, 21);
}

#[tokio::test]
async fn a_denied_handshake_is_a_rejection() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.on_handshake(json!([{"channel": "/meta/handshake", "successful": false,
                                "error": "403::Handshake denied", "advice": {"reconnect": "none"}}]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let error = subscriber.next_events().await.unwrap_err();

    assert!(
        matches!(&error, ProviderError::Rejected { status: Some(403), code, .. } if code == "COMETD_HANDSHAKE_REFUSED"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_cometd_answer_that_is_not_bayeux_is_malformed() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(COMETD))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"not": "an array"})))
        .mount(&server)
        .await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let error = subscriber.next_events().await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_channel_that_is_not_a_channel_name_is_refused() {
    let server = MockServer::start().await;

    let error = CometdSubscriber::new(client_for(&server), "/event/X,/meta/x", ReplayFrom::New)
        .unwrap_err();

    assert!(matches!(error, ProviderError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn a_resumed_subscriber_subscribes_after_the_stored_replay_id() {
    let database = helpers::fresh_database().await;
    let pool = PgPool::connect(&helpers::database_url(&database))
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    store_replay_id(&mut conn, CHANNEL, 77).await.unwrap();
    drop(conn);
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let cometd = FakeCometd::default();
    cometd.mount(&server).await;

    let mut subscriber = CometdSubscriber::resume(client_for(&server), CHANNEL, &pool)
        .await
        .unwrap();
    subscriber.next_events().await.unwrap();
    subscriber.close().await;

    let subscribe = &cometd.received("/meta/subscribe")[0].message;
    assert_eq!(subscribe["ext"]["replay"], json!({CHANNEL: 77}));
    assert_eq!(cometd.received("/meta/disconnect").len(), 1);
    pool.close().await;
}

#[tokio::test]
async fn a_subscription_that_failed_is_made_again_before_the_next_connect() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(COMETD))
        .and(|request: &Request| String::from_utf8_lossy(&request.body).contains("/meta/subscribe"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    let cometd = FakeCometd::default();
    cometd.on_connect(json!([event(4, order_id()), connected()]));
    cometd.mount(&server).await;
    let mut subscriber = subscriber(client_for(&server), ReplayFrom::New);

    let outage = subscriber.next_events().await.unwrap_err();
    let events = subscriber.next_events().await.unwrap();

    assert!(outage.is_transient(), "{outage:?}");
    assert_eq!(events[0].replay_id, 4);
    assert_eq!(cometd.received("/meta/handshake").len(), 2);
    assert_eq!(cometd.received("/meta/subscribe").len(), 1);
    assert_eq!(cometd.received("/meta/connect").len(), 1);
}
