//! The dashboard's SQL: one statement per figure, each grouped by advisor and in total (`GROUPING SETS`),
//! each carrying the brand and the subject's scope in its `WHERE` clause: an advisor's own rows (theirs by
//! advisor, assignee or assignment), or the rows of a manager's stores (the client's book store, or the
//! interaction's and appointment's own store).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Whose figures.
#[derive(Debug, Clone)]
pub struct Subject {
    pub brand_id: Uuid,
    /// An advisor's own figures; `None`: the stores'.
    pub advisor: Option<Uuid>,
    pub brand_wide: bool,
    /// Empty for an advisor (their rows are theirs wherever the client's book is).
    pub stores: Vec<String>,
}

/// One figure of one advisor, or the total (`advisor` `None`).
pub struct Row<T> {
    pub advisor: Option<Uuid>,
    pub value: T,
}

fn row<T>(total: bool, advisor: Option<Uuid>, value: T) -> Option<Row<T>> {
    match (total, advisor) {
        (true, _) => Some(Row {
            advisor: None,
            value,
        }),
        (false, Some(advisor)) => Some(Row {
            advisor: Some(advisor),
            value,
        }),
        // A client with no advisor counts in the total only.
        (false, None) => None,
    }
}

/// Clients in book: an advisor's current assignments; the clients of the stores' books, and per advisor
/// their assigned clients there.
pub async fn clients_in_book(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Vec<Row<i64>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.advisor_id AS "advisor_id?", GROUPING(a.advisor_id) = 1 AS "total!",
                  count(DISTINCT c.profile_id) AS "clients!"
           FROM clienteling_clients c
           LEFT JOIN clienteling_assignments a
                  ON a.brand_id = c.brand_id AND a.profile_id = c.profile_id AND a.ended_at IS NULL
           WHERE c.brand_id = $1 AND ($2::uuid IS NULL OR a.advisor_id = $2)
             AND ($3 OR c.store_code = ANY($4) OR a.advisor_id = $2)
           GROUP BY GROUPING SETS ((a.advisor_id), ())"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| row(r.total, r.advisor_id, r.clients))
        .collect())
}

/// The interactions of the period: how many, with how many clients, by channel and by context.
pub struct InteractionRow {
    pub advisor: Option<Uuid>,
    pub channel: Option<String>,
    pub context: Option<String>,
    pub interactions: i64,
    pub clients: i64,
}

pub async fn interactions(
    conn: &mut PgConnection,
    subject: &Subject,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<InteractionRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.advisor_id AS "advisor_id?", i.channel AS "channel?", i.context AS "context?",
                  GROUPING(i.advisor_id) = 1 AS "all_advisors!",
                  count(*) AS "interactions!", count(DISTINCT i.client_id) AS "clients!"
           FROM clienteling_interactions i
           WHERE i.brand_id = $1 AND i.deleted_at IS NULL AND i.occurred_at >= $5 AND i.occurred_at <= $6
             AND ($2::uuid IS NULL OR i.advisor_id = $2)
             AND ($3 OR i.store_code = ANY($4) OR i.advisor_id = $2)
           GROUP BY GROUPING SETS ((i.advisor_id), (i.advisor_id, i.channel), (i.advisor_id, i.context),
                                   (), (i.channel), (i.context))"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InteractionRow {
            advisor: if r.all_advisors { None } else { r.advisor_id },
            channel: r.channel,
            context: r.context,
            interactions: r.interactions,
            clients: r.clients,
        })
        .collect())
}

/// Outreach of the period, `(sent, suppressed)`, by the advisor who sent it (stores: the client's book).
pub async fn outreach(
    conn: &mut PgConnection,
    subject: &Subject,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Row<(i64, i64)>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT o.advisor_id AS "advisor_id?", GROUPING(o.advisor_id) = 1 AS "total!",
                  count(*) FILTER (WHERE o.status = 'sent') AS "sent!",
                  count(*) FILTER (WHERE o.status = 'suppressed') AS "suppressed!"
           FROM clienteling_outreach o
           JOIN clienteling_clients c ON c.brand_id = o.brand_id AND c.profile_id = o.profile_id
           WHERE o.brand_id = $1 AND o.created_at >= $5 AND o.created_at <= $6
             AND ($2::uuid IS NULL OR o.advisor_id = $2)
             AND ($3 OR c.store_code = ANY($4) OR o.advisor_id = $2)
           GROUP BY GROUPING SETS ((o.advisor_id), ())"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| row(r.total, r.advisor_id, (r.sent, r.suppressed)))
        .collect())
}

/// Tasks `(done in the period, open past their due time)`, by assignee (stores: the client's book).
pub async fn tasks(
    conn: &mut PgConnection,
    subject: &Subject,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Row<(i64, i64)>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.assignee_id AS "advisor_id?", GROUPING(t.assignee_id) = 1 AS "total!",
                  count(*) FILTER (WHERE t.status = 'done') AS "done!",
                  count(*) FILTER (WHERE t.status = 'open') AS "overdue!"
           FROM clienteling_tasks t
           JOIN clienteling_clients c ON c.brand_id = t.brand_id AND c.profile_id = t.profile_id
           WHERE t.brand_id = $1
             AND ((t.status = 'done' AND t.completed_at >= $5 AND t.completed_at <= $6)
                  OR (t.status = 'open' AND t.due_at < $6))
             AND ($2::uuid IS NULL OR t.assignee_id = $2)
             AND ($3 OR c.store_code = ANY($4) OR t.assignee_id = $2)
           GROUP BY GROUPING SETS ((t.assignee_id), ())"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| row(r.total, r.advisor_id, (r.done, r.overdue)))
        .collect())
}

/// Appointments `(booked and not started, completed that started in the period)`, by advisor (stores: the
/// appointment's store).
pub async fn appointments(
    conn: &mut PgConnection,
    subject: &Subject,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Row<(i64, i64)>>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.advisor_id AS "advisor_id?", GROUPING(a.advisor_id) = 1 AS "total!",
                  count(*) FILTER (WHERE a.status = 'booked') AS "upcoming!",
                  count(*) FILTER (WHERE a.status = 'completed') AS "completed!"
           FROM clienteling_appointments a
           WHERE a.brand_id = $1
             AND ((a.status = 'booked' AND a.starts_at > $6)
                  OR (a.status = 'completed' AND a.starts_at >= $5 AND a.starts_at <= $6))
             AND ($2::uuid IS NULL OR a.advisor_id = $2)
             AND ($3 OR a.store_code = ANY($4) OR a.advisor_id = $2)
           GROUP BY GROUPING SETS ((a.advisor_id), ())"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| row(r.total, r.advisor_id, (r.upcoming, r.completed)))
        .collect())
}

/// Interactions with clients of the subject's book since `since`: `(client, occurred_at, advisor)`, the
/// contacts purchases are attributed to.
pub struct Contacts {
    pub clients: Vec<Uuid>,
    pub at: Vec<DateTime<Utc>>,
    pub advisors: Vec<Uuid>,
}

pub async fn book_contacts(
    conn: &mut PgConnection,
    subject: &Subject,
    since: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Contacts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.client_id, i.occurred_at, i.advisor_id
           FROM clienteling_interactions i
           JOIN clienteling_clients c ON c.brand_id = i.brand_id AND c.profile_id = i.client_id
           WHERE i.brand_id = $1 AND i.deleted_at IS NULL AND i.occurred_at >= $5 AND i.occurred_at <= $6
             AND ($2::uuid IS NULL OR i.advisor_id = $2)
             AND ($3 OR c.store_code = ANY($4) OR EXISTS (
                 SELECT 1 FROM clienteling_assignments a
                 WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id AND a.ended_at IS NULL
                   AND a.advisor_id = $2))"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores,
        since,
        to
    )
    .fetch_all(conn)
    .await?;
    let mut contacts = Contacts {
        clients: Vec::with_capacity(rows.len()),
        at: Vec::with_capacity(rows.len()),
        advisors: Vec::with_capacity(rows.len()),
    };
    for row in rows {
        contacts.clients.push(row.client_id);
        contacts.at.push(row.occurred_at);
        contacts.advisors.push(row.advisor_id);
    }
    Ok(contacts)
}

/// A client of the subject's book, with their last contact.
pub struct BookClient {
    pub client_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub last_contacted_at: Option<DateTime<Utc>>,
}

pub async fn book(
    conn: &mut PgConnection,
    subject: &Subject,
) -> Result<Vec<BookClient>, sqlx::Error> {
    sqlx::query_as!(
        BookClient,
        r#"SELECT c.profile_id AS client_id, c.first_name, c.last_name, c.last_contacted_at
           FROM clienteling_clients c
           WHERE c.brand_id = $1
             AND ($2::uuid IS NULL OR EXISTS (
                 SELECT 1 FROM clienteling_assignments a
                 WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id AND a.ended_at IS NULL
                   AND a.advisor_id = $2))
             AND ($3 OR c.store_code = ANY($4) OR $2 IS NOT NULL)"#,
        subject.brand_id,
        subject.advisor,
        subject.brand_wide,
        &subject.stores
    )
    .fetch_all(conn)
    .await
}
