//! Repair orders in JSON, for integrators who cannot send protobuf. The proto is
//! the schema: field names in snake_case or the proto3 JSON lowerCamelCase,
//! timestamps in RFC 3339, money as `{"fen": …}` (or `labour_fen`), the kind by
//! name (`maintenance`, `VISIT_KIND_MAINTENANCE`, `保养`) or number.

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

/// Reads a repair order; any field of the wrong shape is reported, and the
/// domain's own validation follows for the rest.
pub fn repair_order(bytes: &[u8]) -> Result<RepairOrder, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| vec![FieldError::new("body", format!("is not JSON: {e}"))])?;
    let Value::Object(object) = &value else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
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
pub fn opened_order(bytes: &[u8]) -> Result<crate::domain::visit::OpenedOrder, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| vec![FieldError::new("body", format!("is not JSON: {e}"))])?;
    let Value::Object(object) = &value else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
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
        let a = repair_order(snake.as_bytes()).expect("snake case");
        let b = repair_order(camel.as_bytes()).expect("camel case");
        assert_eq!(a, b);
        assert_eq!(a.kind, Some(VisitKind::Maintenance));
        assert_eq!(
            (a.labour_fen, a.parts_fen, a.mileage_km),
            (20_000, 35_000, 12_000)
        );
    }

    #[test]
    fn wrong_shapes_are_named() {
        let errors =
            repair_order(br#"{"vin":17,"mileage_km":"far","closed_at":"yesterday","labour":12}"#)
                .expect_err("bad shapes");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["vin", "closed_at", "mileage_km", "labour"]);
        assert_eq!(repair_order(b"[1,2]").expect_err("array")[0].field, "body");
        assert_eq!(
            repair_order(b"{not json").expect_err("garbage")[0].field,
            "body"
        );
    }
}
