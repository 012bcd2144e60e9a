-- The clienteling benchmark's data (scripts/bench/clienteling.sh): `:clients` CRM profiles of the brand filed
-- in its book (60 % in its first store by code, the rest spread over the others), each assigned to a client
-- advisor of its store, and `:interactions` interactions spread over them: one client in 50 is a heavy one
-- with up to 100 (their timeline pages are full pages), the rest share the remainder. Each interaction is a
-- stream of two events (`created`, then `enriched` two seconds later) and its projection, as the API and the
-- enrichment job write them, with the contexts' typed metadata in a realistic mix and SKUs of the brand's
-- synced catalogue. Multi-row INSERT … SELECT in one transaction; indexes, foreign keys and the append-only
-- trigger stay in place. Variables: brand_id, clients, interactions.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.15) \gset
BEGIN;

CREATE TEMP TABLE bench_store ON COMMIT DROP AS
SELECT s.code, s.name, (row_number() OVER (ORDER BY s.code))::int AS n,
       (SELECT u.id FROM users u
        WHERE u.kind = 'staff' AND u.brand_id = b.slug AND s.code = ANY (u.store_ids)
          AND 'client_advisor' = ANY (u.roles) AND u.disabled_at IS NULL
        ORDER BY u.email LIMIT 1) AS advisor,
       (SELECT u.first_name || ' ' || u.last_name FROM users u
        WHERE u.kind = 'staff' AND u.brand_id = b.slug AND s.code = ANY (u.store_ids)
          AND 'client_advisor' = ANY (u.roles) AND u.disabled_at IS NULL
        ORDER BY u.email LIMIT 1) AS advisor_name
FROM stores s JOIN brands b ON b.id = s.brand_id
WHERE s.brand_id = :'brand_id';
SELECT count(*) AS nstores FROM bench_store \gset
SELECT id AS admin_id FROM users WHERE 'admin' = ANY (roles) ORDER BY email LIMIT 1 \gset

CREATE TEMP TABLE bench_client ON COMMIT DROP AS
SELECT p.id AS profile_id, p.first_name, p.last_name, p.email, p.phone, p.tier, p.tags,
       (row_number() OVER (ORDER BY p.id))::int AS k
FROM crm_profiles p
WHERE p.brand_id = :'brand_id' AND p.merged_into IS NULL
  AND NOT EXISTS (SELECT 1 FROM clienteling_clients c WHERE c.brand_id = p.brand_id AND c.profile_id = p.id)
ORDER BY p.id
LIMIT :clients;
ALTER TABLE bench_client ADD COLUMN store_n int;
UPDATE bench_client
SET store_n = CASE WHEN :nstores = 1 OR k % 10 < 6 THEN 1 ELSE 2 + (k % 10) % (:nstores - 1) END;

INSERT INTO clienteling_clients
    (brand_id, profile_id, store_code, preferences, important_dates, notes, first_name, last_name, email, phone,
     tier, tags, search_text, created_by, created_at, updated_at)
SELECT :'brand_id', c.profile_id, s.code,
       jsonb_build_object('sizes', jsonb_build_object('ring', 52 + c.k % 6), 'categories', jsonb_build_array('Bags'),
                          'colours', jsonb_build_array('Noir'), 'materials', jsonb_build_array('Cuir')),
       '[]', '', c.first_name, c.last_name, c.email, c.phone, c.tier, c.tags,
       lower(concat_ws(' ', c.first_name, c.last_name, c.email, c.phone, array_to_string(c.tags, ' '))),
       coalesce(s.advisor, :'admin_id'), now() - interval '2 years', now() - interval '2 years'
FROM bench_client c JOIN bench_store s ON s.n = c.store_n;

INSERT INTO clienteling_assignments (id, brand_id, profile_id, advisor_id, role, assigned_by, assigned_at)
SELECT gen_random_uuid(), :'brand_id', c.profile_id, s.advisor, 'primary', s.advisor, now() - interval '2 years'
FROM bench_client c JOIN bench_store s ON s.n = c.store_n
WHERE s.advisor IS NOT NULL;

-- Heavy clients (one in 50) get `heavy_each` interactions, the others share what is left.
SELECT count(*) FILTER (WHERE k % 50 = 0) AS heavy, count(*) FILTER (WHERE k % 50 <> 0) AS light
FROM bench_client \gset
SELECT least(100, :interactions / greatest(2 * :heavy, 1)) AS heavy_each \gset
CREATE TEMP TABLE bench_heavy ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY k))::int - 1 AS i, profile_id, store_n, first_name, last_name, tier
FROM bench_client WHERE k % 50 = 0;
CREATE TEMP TABLE bench_light ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY k))::int - 1 AS i, profile_id, store_n, first_name, last_name, tier
FROM bench_client WHERE k % 50 <> 0;
CREATE INDEX ON bench_heavy (i);
CREATE INDEX ON bench_light (i);

CREATE TEMP TABLE bench_product ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY sku))::int - 1 AS i, sku,
       jsonb_build_object('sku', sku, 'name', name, 'image_url', image_url,
                          'price', (price_hundredths / 100.0)::numeric(18, 2)::text, 'currency', currency,
                          'active', active) AS j
FROM clienteling_products WHERE brand_id = :'brand_id' AND active;
SELECT count(*) AS nproducts FROM bench_product \gset

-- The projections first, everything drawn once per interaction; the streams' events are then written from
-- them (the same values, so `?as_of=` folds to what the projection shows).
INSERT INTO clienteling_interactions
    (id, brand_id, client_id, store_code, advisor_id, channel, context, subject, note, metadata,
     enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at, updated_at)
WITH drawn AS (
    SELECT n, random() AS r_context, random() AS r_channel, random() AS r_time, random() AS r_a, random() AS r_b,
           floor(random() * :nproducts)::int AS p1, floor(random() * :nproducts)::int AS p2,
           floor(random() * :nproducts)::int AS p3
    FROM generate_series(1, :interactions) AS n
), placed AS (
    SELECT d.*, coalesce(h.profile_id, l.profile_id) AS client_id, coalesce(h.store_n, l.store_n) AS store_n,
           coalesce(h.first_name, l.first_name) AS first_name, coalesce(h.last_name, l.last_name) AS last_name,
           coalesce(h.tier, l.tier) AS tier,
           now() - (d.r_time * interval '730 days') AS occurred_at,
           least(now(), now() - (d.r_time * interval '730 days') + (d.r_b * interval '2 hours')) AS created_at,
           CASE WHEN d.r_context < 0.12 THEN 'generic' WHEN d.r_context < 0.34 THEN 'store_visit'
                WHEN d.r_context < 0.52 THEN 'product_share' WHEN d.r_context < 0.60 THEN 'appointment'
                WHEN d.r_context < 0.67 THEN 'order' WHEN d.r_context < 0.70 THEN 'pay_by_link'
                WHEN d.r_context < 0.75 THEN 'curation' WHEN d.r_context < 0.80 THEN 'gift'
                WHEN d.r_context < 0.85 THEN 'event_invitation' WHEN d.r_context < 0.90 THEN 'after_sales'
                WHEN d.r_context < 0.95 THEN 'consultation' ELSE 'wishlist' END AS context
    FROM drawn d
    LEFT JOIN bench_heavy h ON d.n <= :heavy * :heavy_each AND h.i = (d.n - 1) / :heavy_each
    LEFT JOIN bench_light l ON d.n > :heavy * :heavy_each AND l.i = (d.n - 1 - :heavy * :heavy_each) % :light
), shaped AS (
SELECT p.n, p.client_id, s.code AS store, s.name AS store_name, coalesce(s.advisor, :'admin_id') AS advisor_id,
       s.advisor_name, p.context, p.occurred_at, p.created_at,
       concat_ws(' ', p.first_name, p.last_name) AS client_name, p.tier,
       CASE p.context
           WHEN 'store_visit' THEN 'action' WHEN 'appointment' THEN 'call' WHEN 'consultation' THEN 'call'
           WHEN 'after_sales' THEN 'action' WHEN 'order' THEN 'email' WHEN 'event_invitation' THEN 'email'
           WHEN 'curation' THEN 'email' WHEN 'pay_by_link' THEN 'sms'
           ELSE (ARRAY['whatsapp', 'whatsapp', 'whatsapp', 'sms', 'email', 'wechat', 'line', 'kakao', 'call',
                       'lineworks'])[1 + floor(p.r_channel * 10)::int] END AS channel,
       CASE p.context
           WHEN 'generic' THEN jsonb_build_object('topic', 'Follow-up')
           WHEN 'store_visit' THEN jsonb_build_object('store', s.code, 'duration_minutes', 10 + floor(p.r_a * 80)::int,
                                                      'purchased', p.r_b < 0.35)
           WHEN 'product_share' THEN jsonb_build_object('skus', jsonb_build_array(a.sku, b.sku),
                                                        'message', 'Pensé à vous en voyant ces pièces.')
           WHEN 'appointment' THEN jsonb_build_object('starts_at', p.occurred_at + interval '2 days', 'purpose', 'fitting')
           WHEN 'order' THEN jsonb_build_object('order_number', 'BENCH-' || p.n)
           WHEN 'pay_by_link' THEN jsonb_build_object('amount', '450.00', 'currency', 'EUR', 'link_ref', 'PBL-' || p.n)
           WHEN 'curation' THEN jsonb_build_object('skus', jsonb_build_array(a.sku, b.sku, c.sku), 'title', 'Sélection')
           WHEN 'gift' THEN jsonb_build_object('occasion', 'birthday', 'skus', jsonb_build_array(a.sku), 'budget', '1500.00')
           WHEN 'event_invitation' THEN jsonb_build_object('event_name', 'Private viewing',
                                                           'event_date', (p.occurred_at + interval '14 days')::date,
                                                           'rsvp', 'yes')
           WHEN 'after_sales' THEN jsonb_build_object('sku', a.sku, 'issue', 'Strap worn', 'repair_ref', 'R-' || p.n)
           WHEN 'consultation' THEN jsonb_build_object('topic', 'Wardrobe')
           ELSE jsonb_build_object('skus', jsonb_build_array(a.sku)) END AS metadata,
       CASE p.context
           WHEN 'product_share' THEN jsonb_build_array(a.j, b.j) WHEN 'curation' THEN jsonb_build_array(a.j, b.j, c.j)
           WHEN 'gift' THEN jsonb_build_array(a.j) WHEN 'after_sales' THEN jsonb_build_array(a.j)
           WHEN 'wishlist' THEN jsonb_build_array(a.j) END AS products,
       CASE WHEN p.r_b < 0.4 THEN 'Suivi client' END AS subject,
       CASE WHEN p.r_a < 0.6 THEN 'Cliente ravie, à rappeler avant la prochaine collection.' END AS note
FROM placed p
JOIN bench_store s ON s.n = p.store_n
JOIN bench_product a ON a.i = p.p1
JOIN bench_product b ON b.i = p.p2
JOIN bench_product c ON c.i = p.p3
)
-- Ids as the API makes them: UUIDv7 of the write time.
SELECT encode(overlay(uuid_send(gen_random_uuid())
           PLACING substring(int8send((extract(epoch FROM x.created_at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
           'hex')::uuid,
       :'brand_id', x.client_id, x.store, x.advisor_id, x.channel, x.context, x.subject, x.note, x.metadata,
       'enriched',
       jsonb_build_object(
           'for_version', 1,
           'advisor', jsonb_build_object('id', x.advisor_id, 'name', x.advisor_name),
           'store', jsonb_build_object('code', x.store, 'name', x.store_name),
           'client', jsonb_build_object('name', x.client_name, 'tier', x.tier),
           'order', CASE WHEN x.context = 'order' THEN jsonb_build_object('order_number', x.metadata ->> 'order_number',
                                                                           'found', false) END,
           'products', x.products,
           'unresolved_skus', CASE WHEN x.products IS NOT NULL THEN '[]'::jsonb END,
           'enriched_at', x.created_at + interval '2 seconds'),
       NULL, 2, x.occurred_at, NULL, x.created_at, x.created_at + interval '2 seconds'
FROM shaped x;

INSERT INTO clienteling_interaction_events
    (brand_id, stream_id, version, type, schema_version, payload, actor, request_id, recorded_at)
SELECT i.brand_id, i.id, 1, 'created', 1,
       jsonb_build_object('client_id', i.client_id, 'store', i.store_code, 'advisor_id', i.advisor_id,
                          'channel', i.channel, 'context', i.context, 'subject', i.subject, 'note', i.note,
                          'metadata', i.metadata, 'enrichment_status', 'pending', 'occurred_at', i.occurred_at),
       'user:' || i.advisor_id, 'bench-seed', i.created_at
FROM clienteling_interactions i
WHERE i.brand_id = :'brand_id'
  AND NOT EXISTS (SELECT 1 FROM clienteling_interaction_events e WHERE e.stream_id = i.id)
UNION ALL
SELECT i.brand_id, i.id, 2, 'enriched', 1, i.enrichment, 'job:enrichment', NULL, i.updated_at
FROM clienteling_interactions i
WHERE i.brand_id = :'brand_id'
  AND NOT EXISTS (SELECT 1 FROM clienteling_interaction_events e WHERE e.stream_id = i.id);

UPDATE clienteling_clients c SET last_contacted_at = l.at
FROM (SELECT client_id, max(occurred_at) AS at FROM clienteling_interactions
      WHERE brand_id = :'brand_id' AND deleted_at IS NULL GROUP BY client_id) l
WHERE c.brand_id = :'brand_id' AND c.profile_id = l.client_id;

COMMIT;
