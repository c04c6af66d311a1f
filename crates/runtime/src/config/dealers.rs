//! Per-dealer rules: `[dealers.default]` applies to every dealer, and a
//! `[dealers.<dealer id>]` table overrides single values for one dealer:
//!
//! ```toml
//! [dealers.default]
//! time_zone = "Asia/Shanghai"
//! language = "zh-CN"   # or "en": the texts people read (forms, warnings, timelines)
//! churn_months = 12
//!
//! [dealers.D042]
//! churn_months = 8   # this dealer calls a vehicle churned after 8 months
//! ```
//!
//! The runtime reads two keys of its own, the dealer's `time_zone` (every service
//! counts days and months at the dealer) and `language` (`zh-CN`, the default, or
//! `en`; what the system writes for people is written in it). Every other key belongs to a service,
//! which declares its section (a [`DealerSection`]: its rules type, the keys it
//! owns, how its values are checked) and reads it with
//! [`DealersConfig::section`]. A key no section claims is an error.

use std::collections::BTreeMap;

use aftercare_kernel::Language;
use jiff::tz::TimeZone;
use serde::de::DeserializeOwned;

/// A service's part of every dealer's table.
pub trait DealerSection:
    DeserializeOwned + Default + Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static
{
    /// The keys of a `[dealers.<id>]` table this section owns; the section is
    /// read from a table of just these keys, so its type names them as fields.
    const KEYS: &'static [&'static str];

    /// Adds every bad value to `errors`, each naming its key under `key`
    /// (`dealers.D042`).
    fn check(&self, key: &str, errors: &mut Vec<String>);
}

/// One dealer's rules of a section, with the dealer's clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Dealer<T> {
    /// Calendar days and months (visit months, deadlines) are the dealer's.
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    /// What the system writes for the dealer's people is in this language.
    pub language: Language,
    pub rules: T,
}

/// A dealer's rules read as the section's own (`dealer.churn_months`), beside
/// its clock (`dealer.time_zone`).
impl<T> std::ops::Deref for Dealer<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.rules
    }
}

/// The rules of a section for every dealer: the default and the overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Dealers<T> {
    default: Dealer<T>,
    by_dealer: BTreeMap<String, Dealer<T>>,
}

impl<T> Dealers<T> {
    pub fn rules(&self, dealer: &str) -> &Dealer<T> {
        self.by_dealer.get(dealer).unwrap_or(&self.default)
    }

    /// The default and every dealer with rules of its own.
    pub fn all(&self) -> impl Iterator<Item = &Dealer<T>> {
        std::iter::once(&self.default).chain(self.by_dealer.values())
    }

    /// Every dealer with a table of its own, by id.
    pub fn named(&self) -> impl Iterator<Item = (&str, &Dealer<T>)> {
        self.by_dealer
            .iter()
            .map(|(id, rules)| (id.as_str(), rules))
    }

    /// The default's rules (every dealer without a table of its own).
    pub fn default_rules(&self) -> &Dealer<T> {
        &self.default
    }
}

impl<T: Default> Default for Dealers<T> {
    fn default() -> Self {
        Self {
            default: Dealer {
                time_zone: china_standard_time(),
                time_zone_name: "Asia/Shanghai".to_owned(),
                language: Language::default(),
                rules: T::default(),
            },
            by_dealer: BTreeMap::new(),
        }
    }
}

/// China Standard Time, where every dealer so far is (UTC+8, no daylight saving).
fn china_standard_time() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
}

/// The `[dealers]` tables: each dealer's time zone, and the tables as written
/// for the services' sections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DealersConfig {
    zones: Dealers<()>,
    /// `default` and each dealer's table, without `time_zone` and `language`.
    tables: BTreeMap<String, toml::Table>,
}

const DEFAULT: &str = "default";

impl DealersConfig {
    /// A dealer's clock.
    pub fn rules(&self, dealer: &str) -> &Dealer<()> {
        self.zones.rules(dealer)
    }

    /// The `[dealers]` tables of a TOML document, as the configuration reads
    /// them (for tests and tools that need dealers without a whole file).
    pub fn from_toml(text: &str) -> Result<Self, Vec<String>> {
        let mut document: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| vec![format!("dealers: {}", e.message().trim())])?;
        let mut errors = Vec::new();
        let dealers = Self::from_table(document.remove("dealers"), &mut errors);
        if errors.is_empty() {
            Ok(dealers)
        } else {
            Err(errors)
        }
    }

    /// A service's section for every dealer: the default table over the
    /// section's own defaults, and each dealer's table over that, value by
    /// value. Every bad value is added to `errors`, naming its key.
    pub fn section<T: DealerSection>(&self, errors: &mut Vec<String>) -> Dealers<T> {
        let empty = toml::Table::new();
        let own = |table: &toml::Table| -> toml::Table {
            table
                .iter()
                .filter(|(k, _)| T::KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let base = own(self.tables.get(DEFAULT).unwrap_or(&empty));
        let read = |table: toml::Table, key: &str, errors: &mut Vec<String>| -> T {
            match toml::Value::Table(table).try_into::<T>() {
                Ok(rules) => {
                    rules.check(key, errors);
                    rules
                }
                Err(e) => {
                    errors.push(format!("{key}: {}", e.message().trim()));
                    T::default()
                }
            }
        };
        let default = Dealer {
            time_zone: self.zones.default.time_zone.clone(),
            time_zone_name: self.zones.default.time_zone_name.clone(),
            language: self.zones.default.language,
            rules: read(base.clone(), "dealers.default", errors),
        };
        let by_dealer = self
            .zones
            .by_dealer
            .iter()
            .map(|(dealer, zone)| {
                let mut merged = base.clone();
                merge(&mut merged, own(self.tables.get(dealer).unwrap_or(&empty)));
                let rules = read(merged, &format!("dealers.{dealer}"), errors);
                (
                    dealer.clone(),
                    Dealer {
                        time_zone: zone.time_zone.clone(),
                        time_zone_name: zone.time_zone_name.clone(),
                        language: zone.language,
                        rules,
                    },
                )
            })
            .collect();
        Dealers { default, by_dealer }
    }

    /// Adds an error for every key of a dealer's table that none of `known`
    /// (the keys of every service's section) claims.
    pub fn check_keys(&self, known: &[&str], errors: &mut Vec<String>) {
        for (dealer, table) in &self.tables {
            for key in table.keys() {
                if !known.contains(&key.as_str()) {
                    errors.push(format!("dealers.{dealer}.{key}: unknown key"));
                }
            }
        }
    }

    /// Reads the `[dealers]` table, adding each bad value to `errors` by its key.
    pub(super) fn from_table(table: Option<toml::Value>, errors: &mut Vec<String>) -> Self {
        let mut tables: BTreeMap<String, toml::Table> = match table {
            None => BTreeMap::new(),
            Some(value) => value.try_into().unwrap_or_else(|e: toml::de::Error| {
                errors.push(format!("dealers: {}", e.message().trim()));
                BTreeMap::new()
            }),
        };
        let mut zones = Dealers::<()>::default();
        if let Some(table) = tables.get_mut(DEFAULT) {
            zones.default = zone_of(table, "dealers.default", &zones.default, errors);
        }
        let default = zones.default.clone();
        let mut kept = BTreeMap::new();
        for (dealer, mut table) in tables {
            if dealer != DEFAULT {
                if aftercare_eventstore::DealerId::parse(dealer.as_str()).is_err() {
                    errors.push(format!(
                        "dealers.{dealer}: not a dealer id (letters, digits, '-' and '_', at most 64)"
                    ));
                    continue;
                }
                let zone = zone_of(&mut table, &format!("dealers.{dealer}"), &default, errors);
                zones.by_dealer.insert(dealer.clone(), zone);
            }
            kept.insert(dealer, table);
        }
        Self {
            zones,
            tables: kept,
        }
    }
}

/// The time zone and language a dealer's table sets (taken out of it), or
/// `base`'s.
fn zone_of(
    table: &mut toml::Table,
    key: &str,
    base: &Dealer<()>,
    errors: &mut Vec<String>,
) -> Dealer<()> {
    let mut zone = base.clone();
    match table.remove("time_zone") {
        None => {}
        Some(toml::Value::String(name)) => match TimeZone::get(&name) {
            Ok(tz) => {
                zone.time_zone = tz;
                zone.time_zone_name = name;
            }
            Err(_) => errors.push(format!(
                "{key}.time_zone: {name:?} is not an IANA time zone (e.g. \"Asia/Shanghai\")"
            )),
        },
        Some(other) => errors.push(format!(
            "{key}.time_zone: must be a string like \"Asia/Shanghai\", not {}",
            other.type_str()
        )),
    }
    match table.remove("language") {
        None => {}
        Some(toml::Value::String(tag)) => match Language::parse(&tag) {
            Some(language) => zone.language = language,
            None => errors.push(format!(
                "{key}.language: {tag:?} is not a language aftercare writes; use \"zh-CN\" or \"en\""
            )),
        },
        Some(other) => errors.push(format!(
            "{key}.language: must be a string, \"zh-CN\" or \"en\", not {}",
            other.type_str()
        )),
    }
    zone
}

/// `over`'s values replace `base`'s, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
