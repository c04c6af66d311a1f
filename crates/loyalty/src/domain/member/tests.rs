use aftercare_kernel::aggregate::{given, replay};
use jiff::civil::date;

use super::*;

fn terms(today: Date) -> Terms {
    Terms {
        at: Timestamp::UNIX_EPOCH,
        today,
        rules: LoyaltyRules::default(),
    }
}

fn who() -> Identity {
    Identity {
        member_id: "m-1".into(),
        customer_id: "c-1".into(),
    }
}

fn owner() -> Vec<Event> {
    vec![
        Event::Joined {
            member_id: "m-1".into(),
            customer_id: "c-1".into(),
            card: Card::Green,
            at: Timestamp::UNIX_EPOCH,
        },
        Event::VehicleLinked {
            vehicle_id: "v-1".into(),
            at: Timestamp::UNIX_EPOCH,
        },
    ]
}

fn earn(entry: &str, points: i64, from_spend: bool, on: Date) -> Command {
    Command::Earn {
        who: who(),
        entry_id: entry.into(),
        source: Source::Visit,
        reference: entry.into(),
        points,
        from_spend,
        note: String::new(),
        terms: terms(on),
    }
}

fn redeem(key: &str, points: i64) -> Command {
    Command::Redeem {
        entry_id: format!("redeem/{key}"),
        points,
        item: "洗车".into(),
        partner_id: String::new(),
        key: key.into(),
        by: "经理".into(),
        value_fen: 5_000,
        terms: terms(date(2026, 12, 1)),
    }
}

fn after(events: &[Event], command: Command) -> Vec<Event> {
    let mut all = events.to_vec();
    all.extend(given::<Member>(events).when(command).expect("decided"));
    all
}

#[test]
fn an_owner_joins_green_with_their_vehicle() {
    let events = given::<Member>(&[])
        .when(Command::LinkVehicle {
            who: who(),
            vehicle_id: "v-1".into(),
            terms: terms(date(2026, 12, 1)),
        })
        .expect("decided");
    assert_eq!(events, owner());
    // The same vehicle again changes nothing.
    assert_eq!(
        given::<Member>(&owner()).when(Command::LinkVehicle {
            who: who(),
            vehicle_id: "v-1".into(),
            terms: terms(date(2026, 12, 1)),
        }),
        Ok(vec![])
    );
}

#[test]
fn a_second_vehicle_makes_gold_with_the_reason() {
    let events = given::<Member>(&owner())
        .when(Command::LinkVehicle {
            who: who(),
            vehicle_id: "v-2".into(),
            terms: terms(date(2026, 12, 1)),
        })
        .expect("decided");
    assert_eq!(
        events.last(),
        Some(&Event::TierChanged {
            from: Card::Green,
            to: Card::Gold,
            reason: "2 vehicles on file".into(),
            at: Timestamp::UNIX_EPOCH,
        })
    );
}

#[test]
fn the_third_referred_buyer_gives_the_first_star() {
    let mut events = owner();
    for sale in ["s-1", "s-2"] {
        events = after(
            &events,
            Command::Referral {
                who: who(),
                sale_id: sale.into(),
                points: 1_000,
                terms: terms(date(2026, 12, 1)),
            },
        );
    }
    assert_eq!(replay::<Member>(&events).card, Some(Card::Green));
    let third = given::<Member>(&events)
        .when(Command::Referral {
            who: who(),
            sale_id: "s-3".into(),
            points: 1_000,
            terms: terms(date(2026, 12, 1)),
        })
        .expect("decided");
    assert!(matches!(
        third.last(),
        Some(Event::TierChanged {
            to: Card::GreenOneStar,
            ..
        })
    ));
    // The same sale again counts nothing.
    let events = after(
        &events,
        Command::Referral {
            who: who(),
            sale_id: "s-3".into(),
            points: 1_000,
            terms: terms(date(2026, 12, 1)),
        },
    );
    assert_eq!(
        given::<Member>(&events).when(Command::Referral {
            who: who(),
            sale_id: "s-3".into(),
            points: 1_000,
            terms: terms(date(2026, 12, 1)),
        }),
        Ok(vec![])
    );
    assert_eq!(replay::<Member>(&events).balance, 3_000);
}

#[test]
fn a_redemption_never_overdraws_and_a_key_redeems_once() {
    let events = after(&owner(), earn("visit-1", 500, true, date(2026, 11, 1)));
    assert_eq!(
        given::<Member>(&events).when(redeem("k-1", 501)),
        Err(Rejection::Insufficient {
            balance: 500,
            asked: 501
        })
    );
    let events = after(&events, redeem("k-1", 300));
    assert_eq!(replay::<Member>(&events).balance, 200);
    assert_eq!(
        given::<Member>(&events).when(redeem("k-1", 300)),
        Ok(vec![]),
        "a retry"
    );
    assert_eq!(
        given::<Member>(&events).when(redeem("k-1", 100)),
        Err(Rejection::KeyReused { key: "k-1".into() })
    );
    assert_eq!(
        given::<Member>(&events).when(redeem("k-2", 0)),
        Err(Rejection::NotPositive)
    );
    assert_eq!(
        given::<Member>(&[]).when(redeem("k-3", 1)),
        Err(Rejection::NotMember)
    );
}

#[test]
fn an_earning_is_entered_once() {
    let events = after(&owner(), earn("visit-1", 500, true, date(2026, 11, 1)));
    assert_eq!(
        given::<Member>(&events).when(earn("visit-1", 500, true, date(2026, 11, 1))),
        Ok(vec![])
    );
}

#[test]
fn gold_by_points_stays_unless_the_dealer_downgrades() {
    let mut events = owner();
    events = after(&events, earn("v-a", 10_000, true, date(2024, 12, 1)));
    events = after(&events, earn("v-b", 20_000, false, date(2025, 6, 1)));
    assert_eq!(replay::<Member>(&events).card, Some(Card::Gold));
    // On 1 December 2026 the first 10,000 points leave the window.
    let kept = given::<Member>(&events).when(Command::Reevaluate {
        terms: terms(date(2026, 12, 1)),
    });
    assert_eq!(kept, Ok(vec![]), "no downgrades by default");
    let mut downgrading = terms(date(2026, 12, 1));
    downgrading.rules.downgrades = true;
    let lost = given::<Member>(&events)
        .when(Command::Reevaluate { terms: downgrading })
        .expect("decided");
    assert!(matches!(
        lost.as_slice(),
        [Event::TierChanged {
            from: Card::Gold,
            to: Card::Green,
            ..
        }]
    ));
}

#[test]
fn a_prospect_who_buys_becomes_green() {
    let prospect = vec![Event::Joined {
        member_id: "m-1".into(),
        customer_id: "c-1".into(),
        card: Card::Prospect,
        at: Timestamp::UNIX_EPOCH,
    }];
    let events = given::<Member>(&prospect)
        .when(Command::LinkVehicle {
            who: who(),
            vehicle_id: "v-1".into(),
            terms: terms(date(2026, 12, 1)),
        })
        .expect("decided");
    assert!(matches!(
        events.last(),
        Some(Event::TierChanged {
            from: Card::Prospect,
            to: Card::Green,
            ..
        })
    ));
}

#[test]
fn unused_points_lapse_oldest_first_on_the_day_they_reach_the_expiry() {
    let mut events = after(&owner(), earn("v-old", 1_000, true, date(2024, 1, 10)));
    events = after(&events, earn("v-new", 500, true, date(2025, 6, 1)));
    events = after(&events, redeem("k-1", 300));
    let expiring = |today: Date| {
        let mut t = terms(today);
        t.rules.expiry_months = Some(24);
        Command::Reevaluate { terms: t }
    };
    // The day before: nothing lapses.
    assert_eq!(
        given::<Member>(&events).when(expiring(date(2026, 1, 9))),
        Ok(vec![])
    );
    // 1,000 earned two years ago, 300 of them redeemed: 700 lapse.
    let lapsed = given::<Member>(&events)
        .when(expiring(date(2026, 1, 10)))
        .expect("decided");
    assert_eq!(
        lapsed,
        vec![Event::Expired {
            entry_id: "expiry/2026-01-10".into(),
            points: 700,
            at: Timestamp::UNIX_EPOCH
        }]
    );
    events.extend(lapsed);
    assert_eq!(replay::<Member>(&events).balance, 500);
    assert_eq!(
        given::<Member>(&events).when(expiring(date(2026, 1, 11))),
        Ok(vec![]),
        "lapsed once"
    );
    // Without an expiry nothing ever lapses.
    assert_eq!(
        given::<Member>(&events).when(Command::Reevaluate {
            terms: terms(date(2030, 1, 1))
        }),
        Ok(vec![])
    );
}
