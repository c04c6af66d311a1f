//! Repair orders in JSON, for integrators who cannot send protobuf. The proto is
//! the schema and the proto3 JSON mapping reads it (`aftercare_proto::json`):
//! field names in snake_case or lowerCamelCase, times in RFC 3339, 64-bit
//! integers as numbers or strings, money as `{"fen": …}`. The DMS format keeps
//! two aliases of its own: money as a flat `labour_fen` / `partsFen`, and the
//! kind by its short or Chinese name (`maintenance`, `保养`) as well as
//! `VISIT_KIND_MAINTENANCE` or its number.

use aftercare_eventstore::DealerId;
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::{edge, json};
use serde_json::{Map, Value};

use crate::domain::FieldError;
use crate::domain::visit::{OpenedOrder, RepairOrder, VisitKind};

/// Rewrites the DMS aliases into the mapping's own form.
fn unalias(object: &mut Map<String, Value>) {
    for money in ["labour", "parts"] {
        let camel = format!("{money}Fen");
        for flat in [format!("{money}_fen"), camel] {
            if let Some(fen) = object.remove(&flat)
                && !object.contains_key(money)
            {
                object.insert(money.to_owned(), serde_json::json!({ "fen": fen }));
            }
        }
    }
    if let Some(Value::String(kind)) = object.get("kind")
        && pb::VisitKind::from_str_name(kind).is_none()
        && let Some(known) = VisitKind::parse(kind)
    {
        let name = pb::VisitKind::from(known).as_str_name();
        object.insert("kind".into(), Value::String(name.into()));
    }
}

/// Reads a record of type `M` sent on `dealer`'s subject.
fn record<M: prost::Message + prost::Name + Default>(
    bytes: &[u8],
    dealer: &DealerId,
) -> Result<M, Vec<FieldError>> {
    let mut object = record_object(bytes, dealer)?;
    object.remove("dealer");
    unalias(&mut object);
    json::from_json::<M>(&Value::Object(object)).map_err(|violations| {
        violations
            .into_iter()
            .map(|v| FieldError::new(v.field, v.reason))
            .collect()
    })
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

/// Reads a closed repair order (`aftercare.in.<dealer>.visits`); the domain's
/// own validation follows.
pub fn repair_order(bytes: &[u8], dealer: &DealerId) -> Result<RepairOrder, Vec<FieldError>> {
    record::<pb::RepairOrder>(bytes, dealer).map(|o| crate::events::repair_order(&o))
}

/// Reads an opened repair order (`aftercare.in.<dealer>.repair-orders`).
pub fn opened_order(bytes: &[u8], dealer: &DealerId) -> Result<OpenedOrder, Vec<FieldError>> {
    record::<pb::OpenedRepairOrder>(bytes, dealer).map(|o| crate::events::opened_order(&o))
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
