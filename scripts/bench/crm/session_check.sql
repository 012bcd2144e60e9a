-- What every authenticated request runs before its handler (auth::repo::check_session): the session still
-- stands, its user is enabled, and who the user is now. $1 session id, $2 user id.
SELECT (s.revoked_at IS NOT NULL OR s.expires_at <= now()) AS revoked, (u.disabled_at IS NOT NULL) AS disabled,
       u.kind, u.roles, u.brand_id, u.store_ids
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = $1::uuid AND s.user_id = $2::uuid
