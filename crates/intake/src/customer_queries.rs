//! The customer file, read: `GetCustomer` and `SearchCustomers` (by phone or
//! name, a page at a time), masked as the caller may see it. Another dealer's
//! customer is simply not found: every read is filtered by the dealer.

use aftercare_eventstore::DealerId;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::paging::Page;
use aftercare_runtime::{PersonalData, Principal, ServiceError};

use crate::api::IntakeApi;
use crate::customer_api;

pub async fn get(
    api: &IntakeApi,
    principal: &Principal,
    dealer: &DealerId,
    body: &pb::GetCustomerRequest,
) -> Result<pb::CustomerFile, ServiceError> {
    let id = uuid::Uuid::parse_str(&body.customer_id)
        .map_err(|_| ServiceError::invalid("customer_id", "is not a customer id"))?;
    // The file lists the customer's vehicles: both read models catch up.
    for progress in [&api.customers, &api.vehicles] {
        customer_api::wait(
            progress.as_ref(),
            body.consistency.as_ref(),
            api.read_timeout,
        )
        .await?;
    }
    let personal = PersonalData::for_principal(principal);
    customer_api::files(&api.db, dealer, personal, &[id.to_string()])
        .await?
        .pop()
        .ok_or_else(|| ServiceError::NotFound(format!("customer {id} at dealer {dealer}")))
}

pub async fn search(
    api: &IntakeApi,
    principal: &Principal,
    dealer: &DealerId,
    body: &pb::SearchCustomersRequest,
) -> Result<pb::SearchCustomersResponse, ServiceError> {
    for progress in [&api.customers, &api.vehicles] {
        customer_api::wait(
            progress.as_ref(),
            body.consistency.as_ref(),
            api.read_timeout,
        )
        .await?;
    }
    let page = Page::of(body.page.as_ref(), 20, 100)?;
    let (ids, total) =
        customer_api::search(&api.db, dealer, &body.query, page.fetch(), page.offset).await?;
    let found = ids.len();
    let ids: Vec<String> = ids.into_iter().take(page.size as usize).collect();
    let personal = PersonalData::for_principal(principal);
    let customers = customer_api::files(&api.db, dealer, personal, &ids).await?;
    Ok(pb::SearchCustomersResponse {
        customers,
        page: Some(page.response(found, total)),
    })
}
