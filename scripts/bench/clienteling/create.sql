-- `POST …/clienteling/clients/{id}/interactions` (a WhatsApp product share of two SKUs), the statements the
-- endpoint runs in its transaction: the client through the advisor's scope, the `created` event, the
-- projection, the client's last contact, the outbox event and the enrichment and mirror jobs.
-- $1 brand id, $2 client id, $3 advisor (user) id, $4 the advisor's stores ('{paris-1}'), $5 the new
-- interaction's id, $6 the outbox event's id, $7 and $8 the jobs' ids, $9 the SKUs (a JSON array), $10 the store.
SELECT c.profile_id, c.store_code, c.preferences, c.important_dates, c.notes, c.last_contacted_at, c.created_at,
       c.updated_at
FROM clienteling_clients c
WHERE c.brand_id = $1::uuid AND c.profile_id = $2::uuid
  AND (false OR c.store_code = ANY ($4::text[]) OR EXISTS (
      SELECT 1 FROM clienteling_assignments a
      WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id AND a.advisor_id = $3::uuid
        AND a.ended_at IS NULL))
;;
INSERT INTO clienteling_interaction_events
    (brand_id, stream_id, version, type, schema_version, payload, actor, request_id)
VALUES ($1::uuid, $5::uuid, 1, 'created', 1,
        jsonb_build_object('client_id', $2::uuid, 'store', $10::text, 'advisor_id', $3::uuid, 'channel', 'whatsapp',
                           'context', 'product_share', 'subject', NULL::text, 'note', 'Two pieces for the gala.',
                           'metadata', jsonb_build_object('skus', $9::jsonb, 'message', 'Pensé à vous.'),
                           'enrichment_status', 'pending', 'occurred_at', now()),
        'user:' || $3::text, 'bench')
RETURNING recorded_at
;;
INSERT INTO clienteling_interactions
    (id, brand_id, client_id, store_code, advisor_id, channel, context, subject, note, metadata,
     enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at, updated_at)
VALUES ($5::uuid, $1::uuid, $2::uuid, $10::text, $3::uuid, 'whatsapp', 'product_share', NULL,
        'Two pieces for the gala.', jsonb_build_object('skus', $9::jsonb, 'message', 'Pensé à vous.'), 'pending',
        NULL, NULL, 1, now(), NULL, now(), now())
ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version
WHERE clienteling_interactions.brand_id = EXCLUDED.brand_id
;;
UPDATE clienteling_clients
SET last_contacted_at = (SELECT max(i.occurred_at) FROM clienteling_interactions i
                         WHERE i.brand_id = $1::uuid AND i.client_id = $2::uuid AND i.deleted_at IS NULL)
WHERE brand_id = $1::uuid AND profile_id = $2::uuid
;;
INSERT INTO outbox_events (id, topic, aggregate_type, aggregate_id, payload, traceparent, tracestate)
VALUES ($6::uuid, 'clienteling.interaction.created', 'clienteling_interaction', $5::text,
        jsonb_build_object('brand', 'maison', 'brand_id', $1::uuid, 'interaction_id', $5::uuid,
                           'client_id', $2::uuid, 'version', 1, 'channel', 'whatsapp', 'context', 'product_share',
                           'occurred_at', now(), 'advisor_id', $3::uuid, 'store', $10::text,
                           'enrich', jsonb_build_object('skus', $9::jsonb, 'order_number', NULL)),
        NULL, NULL)
;;
INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority)
VALUES ($7::text, 'clienteling.interaction.enrich',
        convert_to(jsonb_build_object('brand_id', $1::uuid, 'brand', 'maison', 'interaction_id', $5::uuid,
                                      'version', 1)::text, 'UTF8'),
        'Pending', 0, 25, now(), 0)
;;
INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority)
VALUES ($8::text, 'clienteling.interaction.mirror',
        convert_to(jsonb_build_object('brand_id', $1::uuid, 'interaction_id', $5::uuid, 'version', 1)::text,
                   'UTF8'),
        'Pending', 0, 25, now(), 0)
