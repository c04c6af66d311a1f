//! The vehicle file and its sale (交车). A vehicle's file is keyed by dealer and
//! VIN; a sale of an unknown vehicle opens its file in the same append, and a sale
//! to a new owner moves the ownership with it.

use jiff::civil::Date;

use super::FieldError;
use super::given::Aggregate;
use super::vin::Vin;

#[derive(Clone, Debug, PartialEq)]
pub struct Sale {
    pub sale_id: String,
    pub buyer: String,
    pub consultant: String,
    pub sold_on: Date,
    pub price_fen: i64,
    pub referrer: Option<String>,
    pub model: String,
}

/// A sale as entered, before validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SaleInput {
    pub vin: String,
    pub buyer: String,
    pub consultant: String,
    pub sold_on: Option<Date>,
    pub price_fen: i64,
    pub referrer: String,
    pub model: String,
}

impl SaleInput {
    /// `today` in the dealer's time zone: a sale cannot be dated after it.
    pub fn validate(&self, today: Date) -> Result<(Vin, Sale), Vec<FieldError>> {
        let mut errors = Vec::new();
        let vin = Vin::parse(&self.vin)
            .map_err(|e| errors.push(FieldError::new("vin", e.to_string())))
            .ok();
        let buyer = self.buyer.trim().to_owned();
        if buyer.is_empty() {
            errors.push(FieldError::new("buyer_customer_id", "is required"));
        }
        if self.consultant.trim().is_empty() {
            errors.push(FieldError::new("sales_consultant", "is required"));
        }
        match self.sold_on {
            None => errors.push(FieldError::new("sold_on", "is required")),
            Some(d) if d > today => {
                errors.push(FieldError::new("sold_on", format!("{d} is in the future")))
            }
            _ => {}
        }
        if self.price_fen < 0 {
            errors.push(FieldError::new(
                "price",
                format!("{} fen is negative", self.price_fen),
            ));
        }
        let referrer = Some(self.referrer.trim().to_owned()).filter(|r| !r.is_empty());
        if referrer.as_deref() == Some(buyer.as_str()) {
            errors.push(FieldError::new(
                "referrer_customer_id",
                "the buyer cannot refer themselves",
            ));
        }
        match (vin, self.sold_on) {
            (Some(vin), Some(sold_on)) if errors.is_empty() => {
                let sale_id = sale_id(&vin, sold_on, &buyer);
                Ok((
                    vin,
                    Sale {
                        sale_id,
                        buyer,
                        consultant: self.consultant.trim().to_owned(),
                        sold_on,
                        price_fen: self.price_fen,
                        referrer,
                        model: self.model.trim().to_owned(),
                    },
                ))
            }
            _ => Err(errors),
        }
    }
}

/// One vehicle sold to one buyer on one day is one sale, however often it is sent.
fn sale_id(vin: &Vin, sold_on: Date, buyer: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("sale/{vin}/{sold_on}/{buyer}").as_bytes(),
    )
    .to_string()
}

#[derive(Clone, Debug, PartialEq)]
pub enum VehicleEvent {
    Registered {
        vehicle_id: String,
        vin: Vin,
        plate: Option<String>,
        model: String,
        owner: Option<String>,
        purchase_date: Option<Date>,
        selling_dealer: Option<String>,
        insurance_expiry: Option<Date>,
    },
    Sold {
        vehicle_id: String,
        vin: Vin,
        sale: Sale,
    },
    OwnershipTransferred {
        vehicle_id: String,
        from: Option<String>,
        to: String,
        on: Date,
    },
    /// The file as it is now: plate, model and insurance expiry (not a patch).
    Updated {
        vehicle_id: String,
        plate: Option<String>,
        model: String,
        insurance_expiry: Option<Date>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum VehicleCommand {
    /// `vehicle_id` and `dealer` come from the caller (derived from dealer + VIN).
    RecordSale {
        vehicle_id: String,
        dealer: String,
        vin: Vin,
        sale: Sale,
    },
    TransferOwnership {
        to: String,
        on: Date,
    },
    /// A car first entered at the service desk (bought elsewhere, or before the
    /// dealer used this system). The plate is already normalised.
    Register {
        vehicle_id: String,
        vin: Vin,
        plate: Option<String>,
        model: String,
        owner: Option<String>,
        purchase_date: Option<Date>,
        insurance_expiry: Option<Date>,
    },
    /// A new plate, a renewed insurance, a corrected model.
    Update {
        plate: Option<String>,
        model: String,
        insurance_expiry: Option<Date>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleRejection {
    AlreadyRegistered,
    NotRegistered,
    SameOwner,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vehicle {
    pub id: Option<String>,
    pub vin: Option<Vin>,
    pub owner: Option<String>,
    pub sales: Vec<String>,
    /// Plate, model, insurance expiry: what an update may change.
    pub details: (Option<String>, String, Option<Date>),
}

impl Aggregate for Vehicle {
    type Command = VehicleCommand;
    type Event = VehicleEvent;
    type Rejection = VehicleRejection;

    fn decide(&self, command: VehicleCommand) -> Result<Vec<VehicleEvent>, VehicleRejection> {
        match command {
            VehicleCommand::RecordSale {
                vehicle_id,
                dealer,
                vin,
                sale,
            } => {
                if self.sales.contains(&sale.sale_id) {
                    return Ok(vec![]);
                }
                let mut events = Vec::new();
                if self.id.is_none() {
                    events.push(VehicleEvent::Registered {
                        vehicle_id: vehicle_id.clone(),
                        vin: vin.clone(),
                        plate: None,
                        model: sale.model.clone(),
                        owner: None,
                        purchase_date: Some(sale.sold_on),
                        selling_dealer: Some(dealer),
                        insurance_expiry: None,
                    });
                }
                let (buyer, on) = (sale.buyer.clone(), sale.sold_on);
                events.push(VehicleEvent::Sold {
                    vehicle_id: vehicle_id.clone(),
                    vin,
                    sale,
                });
                if self.owner.as_deref() != Some(buyer.as_str()) {
                    events.push(VehicleEvent::OwnershipTransferred {
                        vehicle_id,
                        from: self.owner.clone(),
                        to: buyer,
                        on,
                    });
                }
                Ok(events)
            }
            VehicleCommand::Register {
                vehicle_id,
                vin,
                plate,
                model,
                owner,
                purchase_date,
                insurance_expiry,
            } => {
                if self.id.is_some() {
                    // The same registration again (a client retrying after a
                    // lost answer) changes nothing and is answered as recorded;
                    // a different one is refused.
                    let same = self.owner == owner
                        && self.details == (plate.clone(), model.clone(), insurance_expiry);
                    return if same {
                        Ok(Vec::new())
                    } else {
                        Err(VehicleRejection::AlreadyRegistered)
                    };
                }
                Ok(vec![VehicleEvent::Registered {
                    vehicle_id,
                    vin,
                    plate,
                    model,
                    owner,
                    purchase_date,
                    selling_dealer: None,
                    insurance_expiry,
                }])
            }
            VehicleCommand::Update {
                plate,
                model,
                insurance_expiry,
            } => {
                let Some(id) = &self.id else {
                    return Err(VehicleRejection::NotRegistered);
                };
                if self.details == (plate.clone(), model.clone(), insurance_expiry) {
                    return Ok(vec![]);
                }
                Ok(vec![VehicleEvent::Updated {
                    vehicle_id: id.clone(),
                    plate,
                    model,
                    insurance_expiry,
                }])
            }
            VehicleCommand::TransferOwnership { to, on } => {
                let Some(id) = &self.id else {
                    return Err(VehicleRejection::NotRegistered);
                };
                if self.owner.as_deref() == Some(to.as_str()) {
                    return Err(VehicleRejection::SameOwner);
                }
                Ok(vec![VehicleEvent::OwnershipTransferred {
                    vehicle_id: id.clone(),
                    from: self.owner.clone(),
                    to,
                    on,
                }])
            }
        }
    }

    fn evolve(mut self, event: &VehicleEvent) -> Vehicle {
        match event {
            VehicleEvent::Registered {
                vehicle_id,
                vin,
                owner,
                plate,
                model,
                insurance_expiry,
                ..
            } => {
                self.id = Some(vehicle_id.clone());
                self.vin = Some(vin.clone());
                self.owner = owner.clone();
                self.details = (plate.clone(), model.clone(), *insurance_expiry);
            }
            VehicleEvent::Updated {
                plate,
                model,
                insurance_expiry,
                ..
            } => {
                self.details = (plate.clone(), model.clone(), *insurance_expiry);
            }
            VehicleEvent::Sold { sale, .. } => self.sales.push(sale.sale_id.clone()),
            VehicleEvent::OwnershipTransferred { to, .. } => self.owner = Some(to.clone()),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::given::given;
    use super::*;

    fn today() -> Date {
        jiff::civil::date(2026, 11, 26)
    }

    fn input() -> SaleInput {
        SaleInput {
            vin: "LSVAG2186E2100001".into(),
            buyer: "c-buyer".into(),
            consultant: "赵磊".into(),
            sold_on: Some(jiff::civil::date(2026, 1, 15)),
            price_fen: 15_980_000,
            referrer: "c-friend".into(),
            model: "Cruze".into(),
        }
    }

    fn sale_command() -> VehicleCommand {
        let (vin, sale) = input().validate(today()).expect("valid");
        VehicleCommand::RecordSale {
            vehicle_id: "v-1".into(),
            dealer: "D001".into(),
            vin,
            sale,
        }
    }

    #[test]
    fn a_sale_of_an_unknown_vehicle_opens_its_file_and_gives_it_an_owner() {
        let events = given::<Vehicle>(&[]).when(sale_command()).expect("decided");
        assert!(
            matches!(&events[0], VehicleEvent::Registered { selling_dealer: Some(d), .. } if d == "D001")
        );
        assert!(
            matches!(&events[1], VehicleEvent::Sold { sale, .. } if sale.referrer.as_deref() == Some("c-friend"))
        );
        assert!(
            matches!(&events[2], VehicleEvent::OwnershipTransferred { from: None, to, .. } if to == "c-buyer")
        );
    }

    #[test]
    fn the_same_sale_sent_again_records_nothing() {
        let first = given::<Vehicle>(&[]).when(sale_command()).expect("decided");
        assert_eq!(given::<Vehicle>(&first).when(sale_command()), Ok(vec![]));
    }

    #[test]
    fn transfers_need_a_file_and_a_new_owner() {
        let transfer = |to: &str| VehicleCommand::TransferOwnership {
            to: to.into(),
            on: today(),
        };
        assert_eq!(
            given::<Vehicle>(&[]).when(transfer("c-2")),
            Err(VehicleRejection::NotRegistered)
        );
        let sold = given::<Vehicle>(&[]).when(sale_command()).expect("decided");
        assert_eq!(
            given::<Vehicle>(&sold).when(transfer("c-buyer")),
            Err(VehicleRejection::SameOwner)
        );
        let moved = given::<Vehicle>(&sold)
            .when(transfer("c-2"))
            .expect("transferred");
        assert!(
            matches!(&moved[0], VehicleEvent::OwnershipTransferred { from: Some(f), to, .. } if f == "c-buyer" && to == "c-2")
        );
    }

    #[test]
    fn a_car_from_elsewhere_is_registered_once_and_can_then_be_sold_here() {
        let vin = Vin::parse("LSVAG2186E2100001").expect("valid");
        let register = VehicleCommand::Register {
            vehicle_id: "v-1".into(),
            vin,
            plate: Some("沪A12345".into()),
            model: "Malibu".into(),
            owner: Some("c-owner".into()),
            purchase_date: None,
            insurance_expiry: Some(jiff::civil::date(2027, 3, 1)),
        };
        let registered = given::<Vehicle>(&[])
            .when(register.clone())
            .expect("registered");
        assert_eq!(
            given::<Vehicle>(&registered).when(register.clone()),
            Ok(Vec::new()),
            "the same registration again changes nothing"
        );
        let VehicleCommand::Register {
            vehicle_id,
            vin,
            plate,
            model,
            purchase_date,
            insurance_expiry,
            ..
        } = register.clone()
        else {
            unreachable!("a registration")
        };
        let other_owner = VehicleCommand::Register {
            vehicle_id,
            vin,
            plate,
            model,
            owner: Some("c-other".into()),
            purchase_date,
            insurance_expiry,
        };
        assert_eq!(
            given::<Vehicle>(&registered).when(other_owner),
            Err(VehicleRejection::AlreadyRegistered)
        );
        let sold = given::<Vehicle>(&registered)
            .when(sale_command())
            .expect("sold");
        assert!(
            matches!(&sold[0], VehicleEvent::Sold { .. }),
            "no second file"
        );
        assert!(
            matches!(&sold[1], VehicleEvent::OwnershipTransferred { from: Some(f), .. } if f == "c-owner")
        );
    }

    #[test]
    fn an_update_records_only_changes() {
        let sold = given::<Vehicle>(&[]).when(sale_command()).expect("sold");
        let renew = |year| VehicleCommand::Update {
            plate: Some("沪A12345".into()),
            model: "Cruze".into(),
            insurance_expiry: Some(jiff::civil::date(year, 1, 15)),
        };
        let renewed = given::<Vehicle>(&sold).when(renew(2027)).expect("renewed");
        assert_eq!(renewed.len(), 1);
        let history: Vec<_> = sold.iter().chain(&renewed).cloned().collect();
        assert_eq!(
            given::<Vehicle>(&history).when(renew(2027)),
            Ok(vec![]),
            "nothing changed"
        );
        assert_eq!(
            given::<Vehicle>(&[]).when(renew(2027)),
            Err(VehicleRejection::NotRegistered)
        );
    }

    #[test]
    fn a_bad_sale_names_every_field() {
        let bad = SaleInput {
            vin: "X".into(),
            buyer: "c-1".into(),
            consultant: " ".into(),
            sold_on: Some(jiff::civil::date(2027, 1, 1)),
            price_fen: -5,
            referrer: "c-1".into(),
            model: String::new(),
        };
        let errors = bad.validate(today()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "vin",
                "sales_consultant",
                "sold_on",
                "price",
                "referrer_customer_id"
            ]
        );
    }
}
