//! One customer's subscriptions at WHMCS and their SIM lines at Freebit. Every WHMCS call is scoped by the
//! customer's linked client id and every answer is checked against it: another client's service is "not
//! found". A SIM line is only ever reached through a service the customer owns.

use std::time::Duration;

use chrono::{NaiveDate, Utc};

use super::Subscriptions;
use super::domain::{SimActionOutcome, SimLine, Subscription, SubscriptionStatus};
use super::error::{LineConflict, SubscriptionError};
use super::freebit::FreebitLine;
use super::plans;
use super::whmcs::ServiceInCurrency;
use crate::integrations::ProviderError;
use crate::integrations::freebit::raw::LineStatus;
use crate::integrations::whmcs::{ClientProductsQuery, ClientRef, ProductUpgrade, raw};
use crate::types::Currency;

/// How long a client's currency is cached (it practically never changes).
const CURRENCY_TTL: Duration = Duration::from_secs(3600);
/// GetClientsProducts page size when listing every service.
const PAGE: u64 = 100;
/// A customer with more services than this is not a portal customer; the list stops there.
const MAX_SERVICES: u64 = 1000;

// Freebit result codes for refusals that are the line's state, not a failure.
const NOT_IN_SERVICE: &str = "400-356";
const ALREADY_SUSPENDED: &str = "400-401";
const NOT_SUSPENDED: &str = "400-402";
const UNKNOWN_PLAN: &str = "400-210";
const QUOTA_OUT_OF_RANGE: &str = "400-301";

/// A change to a SIM line, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimCommand {
    TopUp {
        quota_mb: u32,
    },
    PlanChange {
        plan_code: String,
        effective_date: NaiveDate,
    },
    Suspend,
    Resume,
}

pub struct SubscriptionAccount<'a> {
    subscriptions: &'a Subscriptions,
    client_id: u64,
}

fn rejected_code(error: &ProviderError) -> Option<&str> {
    match error {
        ProviderError::Rejected { code, .. } => Some(code.as_str()),
        _ => None,
    }
}

/// A failure after which the change may or may not have happened at the provider.
fn is_ambiguous(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Unavailable { .. } | ProviderError::Malformed { .. }
    )
}

impl<'a> SubscriptionAccount<'a> {
    pub fn new(
        subscriptions: &'a Subscriptions,
        whmcs_client_id: i64,
    ) -> Result<Self, SubscriptionError> {
        let client_id = u64::try_from(whmcs_client_id)
            .map_err(|_| anyhow::anyhow!("WHMCS client id {whmcs_client_id} is negative"))?;
        Ok(Self {
            subscriptions,
            client_id,
        })
    }

    /// Every service of the customer, by id.
    #[tracing::instrument(name = "subscriptions.list", skip_all, fields(client_id = self.client_id))]
    pub async fn list(&self) -> Result<Vec<Subscription>, SubscriptionError> {
        let mut raw_services = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .subscriptions
                .whmcs
                .get_clients_products(&ClientProductsQuery {
                    clientid: Some(self.client_id),
                    limitstart: Some(offset),
                    limitnum: Some(PAGE),
                    ..Default::default()
                })
                .await?;
            let received = page.products.len() as u64;
            raw_services.extend(page.products);
            offset += received;
            if received == 0 || offset >= page.totalresults || offset >= MAX_SERVICES {
                break;
            }
        }
        let currency = self.currency().await?;
        let mut items = Vec::with_capacity(raw_services.len());
        for raw in raw_services {
            if let Some(subscription) = self.map_owned(raw, &currency)? {
                items.push(subscription);
            }
        }
        items.sort_by_key(|s| s.id);
        items.dedup_by_key(|s| s.id);
        Ok(items)
    }

    /// One of the customer's services.
    #[tracing::instrument(name = "subscriptions.get", skip_all, fields(client_id = self.client_id, service_id))]
    pub async fn get(&self, service_id: u64) -> Result<Subscription, SubscriptionError> {
        Ok(self.get_with_raw(service_id).await?.0)
    }

    /// One of the customer's services, mapped and as WHMCS sent it (its product id, cycle, gateway).
    async fn get_with_raw(
        &self,
        service_id: u64,
    ) -> Result<(Subscription, raw::ClientProduct), SubscriptionError> {
        let page = self
            .subscriptions
            .whmcs
            .get_clients_products(&ClientProductsQuery {
                clientid: Some(self.client_id),
                serviceid: Some(service_id),
                ..Default::default()
            })
            .await?;
        let Some(raw) = page.products.into_iter().find(|raw| raw.id == service_id) else {
            return Err(SubscriptionError::NotFound);
        };
        let currency = self.currency().await?;
        let subscription = self
            .map_owned(raw.clone(), &currency)?
            .ok_or(SubscriptionError::NotFound)?;
        Ok((subscription, raw))
    }

    /// What a plan change of one of the customer's lines needs, checked: the service takes changes, the
    /// line takes a plan change, the plan is one the service's WHMCS product may move to, and WHMCS quotes
    /// the upgrade (UpgradeProduct with `calconly`, which changes nothing).
    #[tracing::instrument(name = "subscriptions.prepare_plan_change", skip_all, fields(client_id = self.client_id, service_id))]
    pub async fn prepare_plan_change(
        &self,
        service_id: u64,
        plan_code: &str,
    ) -> Result<PlanTarget, SubscriptionError> {
        let (subscription, raw) = self.get_with_raw(service_id).await?;
        check_service(subscription.status)?;
        let number = subscription.phone_number.ok_or(SubscriptionError::NotSim)?;
        let detail = self.subscriptions.freebit.account_detail(&number).await?;
        let command = SimCommand::PlanChange {
            plan_code: plan_code.to_owned(),
            effective_date: Utc::now().date_naive(),
        };
        check_line(detail.status, &command)?;
        let to_product =
            plans::target_product(raw.pid, plan_code).map_err(SubscriptionError::PlanNotAllowed)?;
        let billing_cycle = raw
            .billingcycle
            .to_ascii_lowercase()
            .replace([' ', '-'], "");
        let upgrade = ProductUpgrade {
            serviceid: service_id,
            newproductid: to_product,
            newproductbillingcycle: billing_cycle.clone(),
            paymentmethod: gateway_of(&raw),
        };
        match self
            .subscriptions
            .whmcs
            .upgrade_product(&upgrade, true)
            .await
        {
            Ok(_) => {}
            Err(ProviderError::Rejected { message, .. }) => {
                return Err(SubscriptionError::UpgradeRefused(message));
            }
            Err(error) => return Err(error.into()),
        }
        Ok(PlanTarget {
            client_id: self.client_id,
            number,
            from_product: raw.pid,
            to_product,
            billing_cycle,
        })
    }

    /// A service mapped, or `None` when it is another client's (should WHMCS ever ignore the filter).
    fn map_owned(
        &self,
        raw: raw::ClientProduct,
        currency: &str,
    ) -> Result<Option<Subscription>, SubscriptionError> {
        if raw.clientid != self.client_id {
            tracing::error!(
                service_id = raw.id,
                "GetClientsProducts returned another client's service; dropped"
            );
            return Ok(None);
        }
        Subscription::try_from(ServiceInCurrency {
            raw,
            currency: currency.to_owned(),
        })
        .map(Some)
        .map_err(|error| SubscriptionError::mapping("whmcs", error))
    }

    /// The client's currency (GetClientsProducts does not say it), cached.
    async fn currency(&self) -> Result<String, SubscriptionError> {
        let key = format!("subscriptions:currency:{}", self.client_id);
        let whmcs = &self.subscriptions.whmcs;
        let client_id = self.client_id;
        self.subscriptions
            .cache
            .get_or_load(&key, CURRENCY_TTL, || async move {
                let details = whmcs
                    .get_clients_details(ClientRef::Id(client_id), false)
                    .await?;
                Currency::parse(&details.currency_code)
                    .map(Currency::into_string)
                    .ok_or_else(|| {
                        SubscriptionError::mapping(
                            "whmcs",
                            format!("client {client_id} has no currency code"),
                        )
                    })
            })
            .await
    }

    /// A SIM service of the customer and its phone number.
    pub async fn sim_subscription(
        &self,
        service_id: u64,
    ) -> Result<(Subscription, String), SubscriptionError> {
        let subscription = self.get(service_id).await?;
        let number = subscription
            .phone_number
            .clone()
            .ok_or(SubscriptionError::NotSim)?;
        Ok((subscription, number))
    }

    /// The SIM line of one of the customer's services: detail and traffic, read concurrently.
    #[tracing::instrument(name = "subscriptions.sim", skip_all, fields(client_id = self.client_id, service_id))]
    pub async fn sim(&self, service_id: u64) -> Result<SimLine, SubscriptionError> {
        let (_, number) = self.sim_subscription(service_id).await?;
        let freebit = &self.subscriptions.freebit;
        let (detail, traffic) = tokio::try_join!(
            freebit.account_detail(&number),
            freebit.traffic_info(&number)
        )?;
        SimLine::try_from(FreebitLine {
            subscription_id: service_id,
            detail,
            traffic,
        })
        .map_err(|error| SubscriptionError::mapping("freebit", error))
    }

    /// A SIM service of the customer that takes changes: Active at WHMCS (a closed one is
    /// `subscription-closed`, a Pending or Suspended one `subscription-not-active`).
    pub async fn changeable_sim(
        &self,
        service_id: u64,
    ) -> Result<(Subscription, String), SubscriptionError> {
        let (subscription, number) = self.sim_subscription(service_id).await?;
        check_service(subscription.status)?;
        Ok((subscription, number))
    }

    /// What a paid top-up of one of the customer's lines needs, checked: the service takes changes, the
    /// line takes a top-up, and the default pay method (the one WHMCS charges) is a card.
    #[tracing::instrument(name = "subscriptions.prepare_top_up", skip_all, fields(client_id = self.client_id, service_id))]
    pub async fn prepare_top_up(&self, service_id: u64) -> Result<TopUpTarget, SubscriptionError> {
        let (_, number) = self.changeable_sim(service_id).await?;
        let detail = self.subscriptions.freebit.account_detail(&number).await?;
        check_line(detail.status, &SimCommand::TopUp { quota_mb: 1 })?;
        let methods = self
            .subscriptions
            .whmcs
            .get_pay_methods(self.client_id)
            .await?;
        if !methods
            .paymethods
            .first()
            .is_some_and(|method| method.kind.ends_with("CreditCard"))
        {
            return Err(SubscriptionError::NoCard);
        }
        Ok(TopUpTarget {
            client_id: self.client_id,
            number,
            currency: self.currency().await?,
        })
    }

    /// Suspends or resumes the SIM line of one of the customer's services (top-ups and plan changes run in
    /// their journals). Sent to Freebit once: after an ambiguous failure (timeout, 5xx, an unreadable answer)
    /// the line is read back, and a change found applied is a success. `own_suspension` says whether the
    /// line's suspension is one the customer made (recorded); only such a suspension can be resumed.
    #[tracing::instrument(name = "subscriptions.sim_change", skip_all, fields(client_id = self.client_id, service_id))]
    pub async fn change_sim(
        &self,
        service_id: u64,
        command: &SimCommand,
        own_suspension: bool,
    ) -> Result<Applied, SubscriptionError> {
        let (_, number) = self.changeable_sim(service_id).await?;
        let freebit = &self.subscriptions.freebit;
        let detail = freebit.account_detail(&number).await?;
        check_line(detail.status, command)?;
        if *command == SimCommand::Resume && !own_suspension {
            return Err(SubscriptionError::NotCustomerSuspension);
        }
        let sent = match command {
            SimCommand::Suspend => freebit.suspend(&number).await,
            SimCommand::Resume => freebit.resume(&number).await,
            // Never sent from here: a top-up is paid first and a plan change billed first, each in its
            // journal (`top_up`, `plan_change`).
            SimCommand::TopUp { .. } | SimCommand::PlanChange { .. } => {
                return Err(
                    anyhow::anyhow!("top-ups and plan changes run in their journals").into(),
                );
            }
        };
        let confirmed_by_read_back = match sent {
            Ok(()) => false,
            Err(error) => {
                if let Some(refusal) = refusal(&error) {
                    return Err(refusal);
                }
                if !is_ambiguous(&error) {
                    return Err(error.into());
                }
                tracing::warn!(
                    error = %error,
                    "ambiguous failure of a SIM change; reading the line back"
                );
                if !self
                    .suspended_is(&number, *command == SimCommand::Suspend)
                    .await
                {
                    return Err(error.into());
                }
                true
            }
        };
        Ok(Applied {
            outcome: SimActionOutcome::Applied,
            confirmed_by_read_back,
        })
    }

    /// Whether the line reads as suspended (`true`) or active (`false`); false when it cannot be read.
    async fn suspended_is(&self, number: &str, suspended: bool) -> bool {
        let wanted = if suspended {
            LineStatus::Suspended
        } else {
            LineStatus::Active
        };
        self.subscriptions
            .freebit
            .account_detail(number)
            .await
            .is_ok_and(|detail| detail.status == wanted)
    }
}

/// The service's gateway (WHMCS system name) as GetClientsProducts says it, `stripe` when it says none.
fn gateway_of(raw: &raw::ClientProduct) -> String {
    let gateway = raw.paymentmethod.trim();
    if gateway.is_empty() {
        "stripe"
    } else {
        gateway
    }
    .to_owned()
}

/// The gateway of one of `client_id`'s services, for an upgrade the job sends.
pub async fn service_gateway(
    subscriptions: &Subscriptions,
    client_id: u64,
    service_id: u64,
) -> Result<String, ProviderError> {
    let page = subscriptions
        .whmcs
        .get_clients_products(&ClientProductsQuery {
            clientid: Some(client_id),
            serviceid: Some(service_id),
            ..Default::default()
        })
        .await?;
    Ok(page
        .products
        .iter()
        .find(|p| p.id == service_id && p.clientid == client_id)
        .map_or_else(|| "stripe".to_owned(), gateway_of))
}

/// Where a plan change goes: the line, and the WHMCS product it moves from and to.
pub struct PlanTarget {
    pub client_id: u64,
    pub number: String,
    pub from_product: u64,
    pub to_product: u64,
    /// As WHMCS takes it in requests (`monthly`).
    pub billing_cycle: String,
}

/// The line a paid top-up goes to.
pub struct TopUpTarget {
    pub client_id: u64,
    pub number: String,
    pub currency: String,
}

/// The result of an applied change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub outcome: SimActionOutcome,
    /// The provider's answer was lost; the line showed the change when read back.
    pub confirmed_by_read_back: bool,
}

/// Only an Active service takes changes: a Pending one is not provisioned yet, a Suspended one was
/// suspended by billing (unpaid, fraud) and must not be worked around at the network.
fn check_service(status: SubscriptionStatus) -> Result<(), SubscriptionError> {
    match status {
        SubscriptionStatus::Active => Ok(()),
        SubscriptionStatus::Cancelled | SubscriptionStatus::Terminated => {
            Err(SubscriptionError::Closed(status))
        }
        SubscriptionStatus::Pending | SubscriptionStatus::Suspended => {
            Err(SubscriptionError::NotActive(status))
        }
    }
}

/// The line's state allows the change, or the conflict that forbids it.
fn check_line(status: LineStatus, command: &SimCommand) -> Result<(), SubscriptionError> {
    match (status, command) {
        (LineStatus::Cancelled, _) => Err(SubscriptionError::LineState(
            LineConflict::NotInService,
            "The SIM line is cancelled; it cannot be changed.",
        )),
        (LineStatus::Activating, _) => Err(SubscriptionError::LineState(
            LineConflict::Activating,
            "The SIM line is still being activated; try again once it is active.",
        )),
        (LineStatus::Unknown, _) => Err(SubscriptionError::LineState(
            LineConflict::NotInService,
            "The SIM line is in a state that does not allow changes; contact support.",
        )),
        (LineStatus::Suspended, SimCommand::Suspend) => Err(SubscriptionError::LineState(
            LineConflict::AlreadySuspended,
            "The SIM line is already suspended.",
        )),
        (LineStatus::Active, SimCommand::Resume) => Err(SubscriptionError::LineState(
            LineConflict::NotSuspended,
            "The SIM line is not suspended.",
        )),
        _ => Ok(()),
    }
}

/// A Freebit refusal that is an answer for the customer (the line's state, a value), not a failure.
fn refusal(error: &ProviderError) -> Option<SubscriptionError> {
    Some(match rejected_code(error)? {
        NOT_IN_SERVICE => SubscriptionError::LineState(
            LineConflict::NotInService,
            "The SIM line is not in service (cancelled or still activating).",
        ),
        ALREADY_SUSPENDED => SubscriptionError::LineState(
            LineConflict::AlreadySuspended,
            "The SIM line is already suspended.",
        ),
        NOT_SUSPENDED => SubscriptionError::LineState(
            LineConflict::NotSuspended,
            "The SIM line is not suspended.",
        ),
        UNKNOWN_PLAN => SubscriptionError::Refused {
            field: "plan_code",
            message: "The network does not offer this plan.",
        },
        QUOTA_OUT_OF_RANGE => SubscriptionError::Refused {
            field: "quota_mb",
            message: "Use 1 to 512000 MB.",
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_state_decides_which_changes_are_allowed() {
        assert!(check_line(LineStatus::Active, &SimCommand::Suspend).is_ok());
        assert!(check_line(LineStatus::Suspended, &SimCommand::Resume).is_ok());
        assert!(check_line(LineStatus::Suspended, &SimCommand::TopUp { quota_mb: 1 }).is_ok());
        assert!(check_line(LineStatus::Suspended, &SimCommand::Suspend).is_err());
        assert!(check_line(LineStatus::Active, &SimCommand::Resume).is_err());
        assert!(check_line(LineStatus::Cancelled, &SimCommand::TopUp { quota_mb: 1 }).is_err());
    }

    #[test]
    fn only_an_active_service_takes_changes() {
        assert!(check_service(SubscriptionStatus::Active).is_ok());
        for status in [SubscriptionStatus::Pending, SubscriptionStatus::Suspended] {
            assert!(matches!(
                check_service(status),
                Err(SubscriptionError::NotActive(_))
            ));
        }
        for status in [
            SubscriptionStatus::Cancelled,
            SubscriptionStatus::Terminated,
        ] {
            assert!(matches!(
                check_service(status),
                Err(SubscriptionError::Closed(_))
            ));
        }
    }

    #[test]
    fn state_refusals_are_conflicts_and_other_codes_are_failures() {
        let rejected = |code: &str| ProviderError::rejected("freebit", Some(200), code, "no");
        assert!(matches!(
            refusal(&rejected("400-401")),
            Some(SubscriptionError::LineState(
                LineConflict::AlreadySuspended,
                _
            ))
        ));
        assert!(matches!(
            refusal(&rejected("400-210")),
            Some(SubscriptionError::Refused {
                field: "plan_code",
                ..
            })
        ));
        assert!(refusal(&rejected("500-999")).is_none());
    }
}
