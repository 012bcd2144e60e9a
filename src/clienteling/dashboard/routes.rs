//! `GET …/clienteling/dashboard?period=`: the figures of the period ending now.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{AdvisorFigures, Count, Dashboard, Figures, KeepInTouch, Sales};
use super::repo::{self, Row, Subject};
use crate::auth::Role;
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::scope::Scope;
use crate::crm::purchases;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

/// A purchase counts as following an interaction this long after it.
const ATTRIBUTION_DAYS: i64 = 30;
/// The "keep in touch" list: of this many biggest spenders …
const TOP_SPENDERS: i64 = 20;
/// … this many, oldest contact first.
const KEEP_IN_TOUCH: usize = 10;
const MAX_PERIOD_DAYS: i64 = 365;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    /// The period ending now, in days: `7d`, `30d`, `90d` … (1–365 days). Default `30d`.
    #[param(example = "30d")]
    pub period: Option<String>,
}

/// The days of `period` (`{n}d`, 1–365), or a 422 naming it.
fn period_days(period: &str) -> Result<i64, ApiError> {
    let days = period
        .strip_suffix('d')
        .filter(|digits| !digits.is_empty() && digits.len() <= 3)
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<i64>().ok())
        .filter(|days| (1..=MAX_PERIOD_DAYS).contains(days));
    days.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "period",
            "invalid_period",
            "A number of days from 1 to 365 followed by `d`, such as `7d`, `30d` or `90d`.",
        )])
    })
}

fn days_since(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    at.map(|at| (now - at).num_days().max(0))
}

/// Figures per advisor (`Some`) and in total (`None`).
type Board = BTreeMap<Option<Uuid>, Figures>;

fn fill<T>(board: &mut Board, rows: Vec<Row<T>>, set: impl Fn(&mut Figures, T)) {
    for row in rows {
        set(board.entry(row.advisor).or_default(), row.value);
    }
}

fn sort_counts(counts: &mut [Count]) {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/dashboard", tag = "clienteling",
    operation_id = "clienteling_dashboard", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), DashboardParams),
    responses(
        (status = 200, description = "An advisor's own figures, or a manager's stores' with a per-advisor breakdown", body = Dashboard),
        (status = 400, description = "An unknown query parameter", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn dashboard(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<DashboardParams>,
) -> Result<HttpResponse, ApiError> {
    let period = query.period.clone().unwrap_or_else(|| "30d".to_owned());
    let days = period_days(&period)?;
    let to = Utc::now();
    let from = to - Duration::days(days);
    let brand = &in_brand.brand;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let manages = in_brand.is_admin() || in_brand.user.has_role(Role::Manager);
    let subject = if manages {
        Subject {
            brand_id: brand.id,
            advisor: None,
            brand_wide: scope.brand_wide,
            stores: if scope.brand_wide {
                Vec::new()
            } else {
                scope.stores.clone()
            },
        }
    } else {
        Subject {
            brand_id: brand.id,
            advisor: Some(scope.user_id),
            brand_wide: false,
            stores: Vec::new(),
        }
    };

    let mut board = Board::new();
    board.insert(None, Figures::default());
    if let Some(me) = subject.advisor {
        board.insert(Some(me), Figures::default());
    }
    fill(
        &mut board,
        repo::clients_in_book(&mut conn, &subject).await?,
        |f, n| f.clients_in_book = n,
    );
    for row in repo::interactions(&mut conn, &subject, from, to).await? {
        let figures = board.entry(row.advisor).or_default();
        match (row.channel, row.context) {
            (Some(key), _) => figures.interactions_by_channel.push(Count {
                key,
                count: row.interactions,
            }),
            (None, Some(key)) => figures.interactions_by_context.push(Count {
                key,
                count: row.interactions,
            }),
            (None, None) => {
                figures.interactions = row.interactions;
                figures.clients_contacted = row.clients;
            }
        }
    }
    fill(
        &mut board,
        repo::outreach(&mut conn, &subject, from, to).await?,
        |f, (sent, suppressed)| {
            f.outreach_sent = sent;
            f.outreach_suppressed = suppressed;
        },
    );
    fill(
        &mut board,
        repo::tasks(&mut conn, &subject, from, to).await?,
        |f, (done, overdue)| {
            f.tasks_done = done;
            f.tasks_overdue = overdue;
        },
    );
    fill(
        &mut board,
        repo::appointments(&mut conn, &subject, from, to).await?,
        |f, (upcoming, completed)| {
            f.appointments_upcoming = upcoming;
            f.appointments_completed = completed;
        },
    );
    let window = Duration::days(ATTRIBUTION_DAYS);
    let contacts = repo::book_contacts(&mut conn, &subject, from - window, to).await?;
    let sales = purchases::after_contacts(
        &mut conn,
        brand.id,
        &brand.currency,
        purchases::Contacts {
            profiles: &contacts.clients,
            at: &contacts.at,
            keys: &contacts.advisors,
        },
        from,
        to,
        window,
    )
    .await?;
    for attributed in sales {
        board.entry(attributed.key).or_default().sales = Sales {
            purchases: attributed.purchases,
            amount: attributed.amount,
        };
    }
    for figures in board.values_mut() {
        sort_counts(&mut figures.interactions_by_channel);
        sort_counts(&mut figures.interactions_by_context);
    }

    let book = repo::book(&mut conn, &subject).await?;
    let ids: Vec<Uuid> = book.iter().map(|client| client.client_id).collect();
    let spenders = purchases::top_spenders(&mut conn, brand.id, &ids, TOP_SPENDERS).await?;
    drop(conn);
    let cards: BTreeMap<Uuid, &repo::BookClient> = book
        .iter()
        .map(|client| (client.client_id, client))
        .collect();
    let mut keep_in_touch: Vec<KeepInTouch> = spenders
        .into_iter()
        .filter_map(|spender| {
            let card = cards.get(&spender.profile_id)?;
            Some(KeepInTouch {
                client_id: spender.profile_id,
                first_name: card.first_name.clone(),
                last_name: card.last_name.clone(),
                lifetime_spend: spender.lifetime_value,
                last_purchase_at: spender.last_purchase_at,
                days_since_last_purchase: days_since(spender.last_purchase_at, to),
                last_contact_at: card.last_contacted_at,
                days_since_last_contact: days_since(card.last_contacted_at, to),
            })
        })
        .collect();
    // Never contacted first, then the longest silence; the stable sort keeps the bigger spender first.
    keep_in_touch.sort_by_key(|client| client.last_contact_at);
    keep_in_touch.truncate(KEEP_IN_TOUCH);

    let total = board.remove(&None).unwrap_or_default();
    let advisors = if subject.advisor.is_some() {
        None
    } else {
        let mut advisors = Vec::new();
        for (advisor, figures) in board {
            let Some(advisor_id) = advisor else { continue };
            let name = crate::auth::account(&state.db, advisor_id)
                .await?
                .map(|account| format!("{} {}", account.first_name, account.last_name));
            advisors.push(AdvisorFigures {
                advisor_id,
                name,
                figures,
            });
        }
        advisors.sort_by(|a, b| a.name.cmp(&b.name).then(a.advisor_id.cmp(&b.advisor_id)));
        Some(advisors)
    };
    Ok(HttpResponse::Ok().json(Dashboard {
        period,
        from,
        to,
        scope: if subject.advisor.is_some() {
            "advisor"
        } else {
            "stores"
        }
        .to_owned(),
        stores: subject.stores,
        brand_wide: subject.brand_wide,
        currency: brand.currency.clone(),
        figures: total,
        advisors,
        keep_in_touch,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_one_to_365_days() {
        assert_eq!(period_days("7d").unwrap(), 7);
        assert_eq!(period_days("90d").unwrap(), 90);
        assert_eq!(period_days("365d").unwrap(), 365);
        for bad in [
            "", "d", "0d", "366d", "30", "1w", "-7d", "+7d", " 7d", "7D", "0007d",
        ] {
            assert!(period_days(bad).is_err(), "{bad}");
        }
    }
}
