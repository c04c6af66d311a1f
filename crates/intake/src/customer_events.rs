//! The customer file's events as stored (`aftercare.intake.v1` messages).

use aftercare_eventstore::{EventData, RecordedEvent};
use aftercare_proto::common::v1::Date;
use aftercare_proto::intake::v1 as pb;
use aftercare_runtime::command::EventCodec;
use prost::Message;

use crate::domain::customer::{Channel, CustomerEvent, CustomerType, Profile};
use crate::domain::phone::{Phone, PhoneKind};

pub use aftercare_proto::event_types::intake::{
    CONTACT_CONSENT_CHANGED as CONSENT_CHANGED, CUSTOMER_REGISTERED, CUSTOMER_UPDATED,
    PHONE_REPORTED_WRONG,
};

pub struct CustomerCodec;

fn channel_to(channel: Channel) -> pb::ContactChannel {
    match channel {
        Channel::Phone => pb::ContactChannel::Phone,
        Channel::Sms => pb::ContactChannel::Sms,
        Channel::WeChat => pb::ContactChannel::Wechat,
    }
}

fn channel_from(value: i32) -> Result<Channel, String> {
    match pb::ContactChannel::try_from(value) {
        Ok(pb::ContactChannel::Phone) => Ok(Channel::Phone),
        Ok(pb::ContactChannel::Sms) => Ok(Channel::Sms),
        Ok(pb::ContactChannel::Wechat) => Ok(Channel::WeChat),
        _ => Err(format!("unknown contact channel {value}")),
    }
}

pub fn channel_of(value: i32) -> Option<Channel> {
    channel_from(value).ok()
}

fn profile_to(profile: &Profile) -> pb::CustomerProfile {
    pb::CustomerProfile {
        name: profile.name.clone(),
        phones: profile
            .phones
            .iter()
            .map(|p| pb::Phone {
                number: p.as_str().to_owned(),
                kind: match p.kind() {
                    PhoneKind::Mobile => pb::PhoneKind::Mobile,
                    PhoneKind::Landline => pb::PhoneKind::Landline,
                } as i32,
            })
            .collect(),
        gender: pb::Gender::Unspecified as i32,
        birthday: profile.birthday.map(|d| Date {
            year: i32::from(d.year()),
            month: d.month() as u32,
            day: d.day() as u32,
        }),
        district: profile.district.clone(),
        customer_type: match profile.customer_type {
            CustomerType::Private => pb::CustomerType::Private,
            CustomerType::Corporate => pb::CustomerType::Corporate,
            CustomerType::Government => pb::CustomerType::Government,
        } as i32,
    }
}

fn profile_from(profile: Option<pb::CustomerProfile>) -> Result<Profile, String> {
    let profile = profile.ok_or("no profile")?;
    let phones = profile
        .phones
        .iter()
        .map(|p| Phone::parse(&p.number))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("stored phone: {e}"))?;
    let birthday = profile
        .birthday
        .map(|d| aftercare_proto::calendar::date(&d))
        .transpose()
        .map_err(|e| format!("stored birthday: {e}"))?;
    let customer_type = match pb::CustomerType::try_from(profile.customer_type) {
        Ok(pb::CustomerType::Corporate) => CustomerType::Corporate,
        Ok(pb::CustomerType::Government) => CustomerType::Government,
        _ => CustomerType::Private,
    };
    Ok(Profile {
        name: profile.name,
        phones,
        district: profile.district,
        customer_type,
        birthday,
    })
}

impl EventCodec<CustomerEvent> for CustomerCodec {
    fn encode(&self, event: &CustomerEvent) -> EventData {
        match event {
            CustomerEvent::Registered {
                customer_id,
                profile,
                consents,
            } => EventData::new(
                CUSTOMER_REGISTERED,
                pb::CustomerRegistered {
                    customer_id: customer_id.clone(),
                    profile: Some(profile_to(profile)),
                    consents: consents
                        .iter()
                        .map(|&(c, granted)| pb::Consent {
                            channel: channel_to(c) as i32,
                            granted,
                        })
                        .collect(),
                }
                .encode_to_vec(),
            ),
            CustomerEvent::Updated {
                customer_id,
                profile,
            } => EventData::new(
                CUSTOMER_UPDATED,
                pb::CustomerUpdated {
                    customer_id: customer_id.clone(),
                    profile: Some(profile_to(profile)),
                }
                .encode_to_vec(),
            ),
            CustomerEvent::ConsentChanged {
                customer_id,
                channel,
                granted,
            } => EventData::new(
                CONSENT_CHANGED,
                pb::ContactConsentChanged {
                    customer_id: customer_id.clone(),
                    consent: Some(pb::Consent {
                        channel: channel_to(*channel) as i32,
                        granted: *granted,
                    }),
                }
                .encode_to_vec(),
            ),
            CustomerEvent::PhoneReportedWrong {
                customer_id,
                number,
                by,
                task_id,
                at,
            } => EventData::new(
                PHONE_REPORTED_WRONG,
                pb::PhoneReportedWrong {
                    customer_id: customer_id.clone(),
                    number: number.clone(),
                    reported_by: by.clone(),
                    task_id: task_id.clone(),
                    at: Some(aftercare_proto::calendar::timestamp(*at)),
                }
                .encode_to_vec(),
            )
            .occurred_at(*at),
        }
    }

    fn decode(&self, recorded: &RecordedEvent) -> Result<CustomerEvent, String> {
        let bytes = recorded.data.payload.as_ref();
        match recorded.data.event_type.as_str() {
            CUSTOMER_REGISTERED => {
                let e = pb::CustomerRegistered::decode(bytes).map_err(|e| e.to_string())?;
                let consents = e
                    .consents
                    .iter()
                    .map(|c| channel_from(c.channel).map(|ch| (ch, c.granted)))
                    .collect::<Result<_, _>>()?;
                Ok(CustomerEvent::Registered {
                    customer_id: e.customer_id,
                    profile: profile_from(e.profile)?,
                    consents,
                })
            }
            CUSTOMER_UPDATED => {
                let e = pb::CustomerUpdated::decode(bytes).map_err(|e| e.to_string())?;
                Ok(CustomerEvent::Updated {
                    customer_id: e.customer_id,
                    profile: profile_from(e.profile)?,
                })
            }
            CONSENT_CHANGED => {
                let e = pb::ContactConsentChanged::decode(bytes).map_err(|e| e.to_string())?;
                let consent = e.consent.ok_or("no consent")?;
                Ok(CustomerEvent::ConsentChanged {
                    customer_id: e.customer_id,
                    channel: channel_from(consent.channel)?,
                    granted: consent.granted,
                })
            }
            PHONE_REPORTED_WRONG => {
                let e = pb::PhoneReportedWrong::decode(bytes).map_err(|e| e.to_string())?;
                Ok(CustomerEvent::PhoneReportedWrong {
                    customer_id: e.customer_id,
                    number: e.number,
                    by: e.reported_by,
                    task_id: e.task_id,
                    at: e
                        .at
                        .as_ref()
                        .and_then(aftercare_proto::calendar::read_instant)
                        .unwrap_or(recorded.data.occurred_at),
                })
            }
            other => Err(format!("{other} is not a customer event")),
        }
    }
}
