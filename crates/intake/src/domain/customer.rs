//! The customer file (客户档案): who the customer is and how they may be contacted.
//! Pure: `decide` and `evolve` only; ids and times come in with the command.

use super::FieldError;
use super::given::Aggregate;
use super::phone::Phone;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Phone,
    Sms,
    WeChat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerType {
    Private,
    Corporate,
    Government,
}

/// A profile as typed at the service desk, before validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileInput {
    pub name: String,
    pub phones: Vec<String>,
    pub district: String,
    pub customer_type: CustomerType,
    pub birthday: Option<jiff::civil::Date>,
}

/// A validated profile: a name, at least one normalised phone number.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub phones: Vec<Phone>,
    pub district: String,
    pub customer_type: CustomerType,
    pub birthday: Option<jiff::civil::Date>,
}

impl ProfileInput {
    /// `today` in the dealer's time zone: a birthday cannot be after it.
    pub fn validate(&self, today: jiff::civil::Date) -> Result<Profile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1–100 characters"));
        }
        let mut phones: Vec<Phone> = Vec::new();
        for (i, raw) in self.phones.iter().enumerate() {
            match Phone::parse(raw) {
                Ok(phone) if !phones.contains(&phone) => phones.push(phone),
                Ok(_) => {}
                Err(reason) => errors.push(FieldError::new(format!("phones[{i}]"), reason)),
            }
        }
        if self.phones.is_empty() {
            errors.push(FieldError::new(
                "phones",
                "at least one phone number is needed to reach the customer",
            ));
        }
        if let Some(birthday) = self.birthday
            && birthday > today
        {
            errors.push(FieldError::new(
                "birthday",
                format!("{birthday} is in the future"),
            ));
        }
        if errors.is_empty() {
            Ok(Profile {
                name,
                phones,
                district: self.district.trim().to_owned(),
                customer_type: self.customer_type,
                birthday: self.birthday,
            })
        } else {
            Err(errors)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CustomerEvent {
    Registered {
        customer_id: String,
        profile: Profile,
        consents: Vec<(Channel, bool)>,
    },
    Updated {
        customer_id: String,
        profile: Profile,
    },
    ConsentChanged {
        customer_id: String,
        channel: Channel,
        granted: bool,
    },
    PhoneReportedWrong {
        customer_id: String,
        number: String,
        by: String,
        task_id: String,
        at: jiff::Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum CustomerCommand {
    Register {
        customer_id: String,
        profile: Profile,
        consents: Vec<(Channel, bool)>,
    },
    Update {
        profile: Profile,
    },
    SetConsent {
        channel: Channel,
        granted: bool,
    },
    /// A callback reached someone else on `number`.
    ReportWrongPhone {
        number: String,
        by: String,
        task_id: String,
        at: jiff::Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerRejection {
    AlreadyRegistered,
    NotRegistered,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Customer {
    pub id: Option<String>,
    pub profile: Option<Profile>,
    pub consents: Vec<(Channel, bool)>,
    /// Numbers a callback found wrong.
    pub wrong_numbers: Vec<String>,
}

impl Customer {
    /// Only customers who consented to a channel are contacted on it.
    pub fn may_contact(&self, channel: Channel) -> bool {
        self.consents
            .iter()
            .any(|&(c, granted)| c == channel && granted)
    }
}

impl Aggregate for Customer {
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Rejection = CustomerRejection;

    fn decide(&self, command: CustomerCommand) -> Result<Vec<CustomerEvent>, CustomerRejection> {
        match (&self.id, command) {
            (Some(_), CustomerCommand::Register { .. }) => {
                Err(CustomerRejection::AlreadyRegistered)
            }
            (
                None,
                CustomerCommand::Register {
                    customer_id,
                    profile,
                    mut consents,
                },
            ) => {
                consents.dedup_by_key(|(channel, _)| *channel);
                Ok(vec![CustomerEvent::Registered {
                    customer_id,
                    profile,
                    consents,
                }])
            }
            (None, _) => Err(CustomerRejection::NotRegistered),
            (Some(id), CustomerCommand::Update { profile }) => {
                // An update that changes nothing records nothing.
                if self.profile.as_ref() == Some(&profile) {
                    Ok(vec![])
                } else {
                    Ok(vec![CustomerEvent::Updated {
                        customer_id: id.clone(),
                        profile,
                    }])
                }
            }
            (
                Some(id),
                CustomerCommand::ReportWrongPhone {
                    number,
                    by,
                    task_id,
                    at,
                },
            ) => {
                // A number no longer on the file, or already reported, changes nothing.
                let on_file = self
                    .profile
                    .as_ref()
                    .is_some_and(|p| p.phones.iter().any(|phone| phone.as_str() == number));
                if !on_file || self.wrong_numbers.contains(&number) {
                    Ok(vec![])
                } else {
                    Ok(vec![CustomerEvent::PhoneReportedWrong {
                        customer_id: id.clone(),
                        number,
                        by,
                        task_id,
                        at,
                    }])
                }
            }
            (Some(id), CustomerCommand::SetConsent { channel, granted }) => {
                if self.may_contact(channel) == granted {
                    Ok(vec![])
                } else {
                    Ok(vec![CustomerEvent::ConsentChanged {
                        customer_id: id.clone(),
                        channel,
                        granted,
                    }])
                }
            }
        }
    }

    fn evolve(mut self, event: &CustomerEvent) -> Customer {
        match event {
            CustomerEvent::Registered {
                customer_id,
                profile,
                consents,
            } => {
                self.id = Some(customer_id.clone());
                self.profile = Some(profile.clone());
                self.consents = consents.clone();
            }
            CustomerEvent::Updated { profile, .. } => self.profile = Some(profile.clone()),
            CustomerEvent::ConsentChanged {
                channel, granted, ..
            } => {
                self.consents.retain(|(c, _)| c != channel);
                self.consents.push((*channel, *granted));
            }
            CustomerEvent::PhoneReportedWrong { number, .. } => {
                self.wrong_numbers.push(number.clone());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::given::given;
    use super::*;

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 11, 26)
    }

    fn input() -> ProfileInput {
        ProfileInput {
            name: " 刘洋 ".into(),
            phones: vec![
                "+86 138-1234-1234".into(),
                "13812341234".into(),
                "021 62345678".into(),
            ],
            district: "浦东新区".into(),
            customer_type: CustomerType::Private,
            birthday: Some(jiff::civil::date(1985, 4, 12)),
        }
    }

    fn registered() -> CustomerEvent {
        CustomerEvent::Registered {
            customer_id: "c-1".into(),
            profile: input().validate(today()).expect("valid"),
            consents: vec![(Channel::Phone, true), (Channel::Sms, false)],
        }
    }

    #[test]
    fn a_profile_is_normalised_and_deduplicated() {
        let profile = input().validate(today()).expect("valid");
        assert_eq!(profile.name, "刘洋");
        let phones: Vec<_> = profile.phones.iter().map(Phone::as_str).collect();
        assert_eq!(
            phones,
            ["13812341234", "021-62345678"],
            "the same mobile typed twice is kept once"
        );
    }

    #[test]
    fn a_bad_profile_names_every_field() {
        let bad = ProfileInput {
            name: "".into(),
            phones: vec!["12345".into()],
            birthday: Some(jiff::civil::date(2027, 1, 1)),
            ..input()
        };
        let errors = bad.validate(today()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "phones[0]", "birthday"]);
    }

    #[test]
    fn registering_twice_is_refused() {
        let command = CustomerCommand::Register {
            customer_id: "c-1".into(),
            profile: input().validate(today()).expect("valid"),
            consents: vec![],
        };
        assert_eq!(
            given::<Customer>(&[registered()]).when(command),
            Err(CustomerRejection::AlreadyRegistered)
        );
    }

    #[test]
    fn an_unknown_customer_cannot_be_updated() {
        let update = CustomerCommand::Update {
            profile: input().validate(today()).expect("valid"),
        };
        assert_eq!(
            given::<Customer>(&[]).when(update),
            Err(CustomerRejection::NotRegistered)
        );
    }

    #[test]
    fn updates_record_only_changes() {
        let same = CustomerCommand::Update {
            profile: input().validate(today()).expect("valid"),
        };
        assert_eq!(given::<Customer>(&[registered()]).when(same), Ok(vec![]));
        let moved = ProfileInput {
            district: "闵行区".into(),
            ..input()
        }
        .validate(today())
        .expect("valid");
        let events = given::<Customer>(&[registered()]).when(CustomerCommand::Update {
            profile: moved.clone(),
        });
        assert_eq!(
            events,
            Ok(vec![CustomerEvent::Updated {
                customer_id: "c-1".into(),
                profile: moved
            }])
        );
    }

    #[test]
    fn a_wrong_number_on_the_file_is_reported_once() {
        let report = |number: &str| CustomerCommand::ReportWrongPhone {
            number: number.into(),
            by: "王芳".into(),
            task_id: "t-1".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
        };
        let reported = CustomerEvent::PhoneReportedWrong {
            customer_id: "c-1".into(),
            number: "021-62345678".into(),
            by: "王芳".into(),
            task_id: "t-1".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
        };
        assert_eq!(
            given::<Customer>(&[registered()]).when(report("021-62345678")),
            Ok(vec![reported.clone()])
        );
        assert_eq!(
            given::<Customer>(&[registered(), reported]).when(report("021-62345678")),
            Ok(vec![]),
            "already reported"
        );
        assert_eq!(
            given::<Customer>(&[registered()]).when(report("13900001111")),
            Ok(vec![]),
            "not a number on the file (it was changed since the call)"
        );
        assert_eq!(
            given::<Customer>(&[]).when(report("13812341234")),
            Err(CustomerRejection::NotRegistered)
        );
    }

    #[test]
    fn consent_is_recorded_per_channel() {
        let grant = CustomerCommand::SetConsent {
            channel: Channel::Sms,
            granted: true,
        };
        let events = given::<Customer>(&[registered()])
            .when(grant)
            .expect("decided");
        assert_eq!(
            events,
            vec![CustomerEvent::ConsentChanged {
                customer_id: "c-1".into(),
                channel: Channel::Sms,
                granted: true
            }]
        );
        let customer = super::super::given::replay::<Customer>(&[registered(), events[0].clone()]);
        assert!(customer.may_contact(Channel::Sms) && customer.may_contact(Channel::Phone));
        assert!(
            !customer.may_contact(Channel::WeChat),
            "no consent recorded means no contact"
        );
        let again = CustomerCommand::SetConsent {
            channel: Channel::Phone,
            granted: true,
        };
        assert_eq!(
            given::<Customer>(&[registered()]).when(again),
            Ok(vec![]),
            "already granted"
        );
    }
}
