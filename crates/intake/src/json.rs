//! Repair orders in JSON, for integrators who cannot send protobuf. The proto is
//! the schema: field names in snake_case or the proto3 JSON lowerCamelCase,
//! timestamps in RFC 3339, money as `{"fen": …}` (or `labour_fen`), the kind by
//! name (`maintenance`, `VISIT_KIND_MAINTENANCE`, `保养`) or number.

use aftercare_eventstore::DealerId;
use aftercare_proto::edge;
use serde_json::{Map, Value};

use crate::domain::FieldError;
use crate::domain::visit::{RepairOrder, VisitKind};

fn field<'a>(object: &'a Map<String, Value>, snake: &str) -> Option<&'a Value> {
    object.get(snake).or_else(|| {
        let mut camel = String::with_capacity(snake.len());
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                camel.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                camel.push(c);
            }
        }
        object.get(&camel)
    })
}

struct Reader<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    fn text(&mut self, name: &str) -> String {
        match field(self.object, name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be a string, not {other}"),
                ));
                String::new()
            }
        }
    }

    fn integer(&mut self, name: &str, value: Option<&Value>) -> i64 {
        match value {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
            // proto3 JSON writes 64-bit integers as strings.
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                s.trim().parse().unwrap_or_default()
            }
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be a whole number, not {other}"),
                ));
                0
            }
        }
    }

    fn fen(&mut self, name: &str) -> i64 {
        match field(self.object, name) {
            Some(Value::Object(money)) => self.integer(name, money.get("fen")),
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be {{\"fen\": …}}, not {other}"),
                ));
                0
            }
            None => {
                let flat = format!("{name}_fen");
                let value = field(self.object, &flat).cloned();
                self.integer(&flat, value.as_ref())
            }
        }
    }

    fn time(&mut self, name: &str) -> Option<jiff::Timestamp> {
        match field(self.object, name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match s.parse::<jiff::Timestamp>() {
                Ok(at) => Some(at),
                Err(e) => {
                    self.errors.push(FieldError::new(
                        name,
                        format!("{s:?} is not an RFC 3339 time: {e}"),
                    ));
                    None
                }
            },
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be an RFC 3339 string, not {other}"),
                ));
                None
            }
        }
    }

    fn kind(&mut self) -> Option<VisitKind> {
        use aftercare_proto::intake::v1::VisitKind as Pb;
        match field(self.object, "kind") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| Pb::try_from(n as i32).ok())
                .and_then(crate::events::visit_kind),
            Some(Value::String(s)) => Pb::from_str_name(s)
                .and_then(crate::events::visit_kind)
                .or_else(|| VisitKind::parse(s)),
            Some(_) => None,
        }
    }
}

/// The JSON object of a record sent on `dealer`'s subject, once every string in
/// it passed the edge check and the `dealer` it names (if any) is the subject's.
fn record_object(bytes: &[u8], dealer: &DealerId) -> Result<Map<String, Value>, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| vec![FieldError::new("body", format!("is not JSON: {e}"))])?;
    let mut errors: Vec<FieldError> = edge::check_json(&value)
        .into_iter()
        .map(|v| FieldError::new(v.field, v.reason))
        .collect();
    let Value::Object(object) = value else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    // A record may name its dealer (as RecordVisitRequest does); the subject's
    // dealer is the one that counts, so a record naming another is refused.
    let named = match object.get("dealer") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(Value::Object(d)) => d.get("value").and_then(Value::as_str).map(str::to_owned),
        Some(_) => Some(String::new()),
    };
    if let Some(named) = named
        && named != dealer.as_str()
    {
        errors.push(FieldError::new(
            "dealer",
            format!(
                "names dealer {:?}, but the record was sent on dealer {dealer}'s subject; send it on aftercare.in.<its dealer>.… with that dealer's credential",
                named.chars().take(64).collect::<String>()
            ),
        ));
    }
    if errors.is_empty() {
        Ok(object)
    } else {
        Err(errors)
    }
}

/// Reads a repair order sent on `dealer`'s subject; any field of the wrong shape
/// is reported, and the domain's own validation follows for the rest.
pub fn repair_order(bytes: &[u8], dealer: &DealerId) -> Result<RepairOrder, Vec<FieldError>> {
    let object = &record_object(bytes, dealer)?;
    let mut r = Reader {
        object,
        errors: Vec::new(),
    };
    let mileage = field(object, "mileage_km").cloned();
    let codes = match field(object, "fault_codes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_owned())
            .collect(),
        Some(other) => {
            r.errors.push(FieldError::new(
                "fault_codes",
                format!("must be a list of strings, not {other}"),
            ));
            Vec::new()
        }
    };
    let order = RepairOrder {
        repair_order: r.text("repair_order"),
        vin: r.text("vin"),
        customer_id: r.text("customer_id"),
        opened_at: r.time("opened_at"),
        closed_at: r.time("closed_at"),
        mileage_km: r.integer("mileage_km", mileage.as_ref()),
        kind: r.kind(),
        labour_fen: r.fen("labour"),
        parts_fen: r.fen("parts"),
        service_advisor: r.text("service_advisor"),
        advisor_group: r.text("advisor_group"),
        fault_codes: codes,
    };
    if r.errors.is_empty() {
        Ok(order)
    } else {
        Err(r.errors)
    }
}

/// Reads an opened repair order (`aftercare.in.<dealer>.repair-orders`).
pub fn opened_order(
    bytes: &[u8],
    dealer: &DealerId,
) -> Result<crate::domain::visit::OpenedOrder, Vec<FieldError>> {
    let object = &record_object(bytes, dealer)?;
    let mut r = Reader {
        object,
        errors: Vec::new(),
    };
    let order = crate::domain::visit::OpenedOrder {
        repair_order: r.text("repair_order"),
        vin: r.text("vin"),
        customer_id: r.text("customer_id"),
        opened_at: r.time("opened_at"),
        promised_at: r.time("promised_at"),
        kind: r.kind(),
        service_advisor: r.text("service_advisor"),
        advisor_group: r.text("advisor_group"),
    };
    if r.errors.is_empty() {
        Ok(order)
    } else {
        Err(r.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_snake_and_camel_case_alike() {
        let snake = r#"{"repair_order":"RO-1","vin":"LSVAG2186E2100001","opened_at":"2026-09-01T01:00:00Z",
            "closed_at":"2026-09-01T06:00:00+08:00","mileage_km":12000,"kind":"maintenance",
            "labour_fen":20000,"parts":{"fen":"35000"},"service_advisor":"李娜","fault_codes":["P0301"]}"#;
        let camel = r#"{"repairOrder":"RO-1","vin":"LSVAG2186E2100001","openedAt":"2026-09-01T01:00:00Z",
            "closedAt":"2026-08-31T22:00:00Z","mileageKm":"12000","kind":"VISIT_KIND_MAINTENANCE",
            "labour":{"fen":20000},"partsFen":35000,"serviceAdvisor":"李娜","faultCodes":["P0301"]}"#;
        let a = repair_order(snake.as_bytes(), &d001()).expect("snake case");
        let b = repair_order(camel.as_bytes(), &d001()).expect("camel case");
        assert_eq!(a, b);
        assert_eq!(a.kind, Some(VisitKind::Maintenance));
        assert_eq!(
            (a.labour_fen, a.parts_fen, a.mileage_km),
            (20_000, 35_000, 12_000)
        );
    }

    #[test]
    fn wrong_shapes_are_named() {
        let errors = repair_order(
            br#"{"vin":17,"mileage_km":"far","closed_at":"yesterday","labour":12}"#,
            &d001(),
        )
        .expect_err("bad shapes");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["vin", "closed_at", "mileage_km", "labour"]);
        assert_eq!(
            repair_order(b"[1,2]", &d001()).expect_err("array")[0].field,
            "body"
        );
        assert_eq!(
            repair_order(b"{not json", &d001()).expect_err("garbage")[0].field,
            "body"
        );
    }

    fn d001() -> DealerId {
        DealerId::parse("D001").expect("valid")
    }

    #[test]
    fn a_record_naming_another_dealer_is_refused_with_both_named() {
        let body = br#"{"dealer":"D002","repair_order":"RO-1","vin":"LSVAG2186E2100001"}"#;
        let errors = repair_order(body, &d001()).expect_err("other dealer");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "dealer");
        assert!(
            errors[0].reason.contains("D002") && errors[0].reason.contains("D001"),
            "{}",
            errors[0].reason
        );
        let nested = br#"{"dealer":{"value":"D002"},"repair_order":"RO-1"}"#;
        assert_eq!(
            opened_order(nested, &d001()).expect_err("nested")[0].field,
            "dealer"
        );
        let same = br#"{"dealer":"D001","repair_order":"RO-1","vin":"LSVAG2186E2100001"}"#;
        assert!(repair_order(same, &d001()).is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_the_field_named() {
        let body = "{\"repair_order\":\"RO-1\",\"service_advisor\":\"李\\u0000娜\",\"fault_codes\":[\"P0301\",\"P\\u0007\"]}";
        let errors = repair_order(body.as_bytes(), &d001()).expect_err("control characters");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fault_codes[1]", "service_advisor"], "{errors:?}");
        assert!(errors[1].reason.contains("U+0000"), "{}", errors[1].reason);
    }
}
