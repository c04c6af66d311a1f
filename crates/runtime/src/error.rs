//! Rejections and failures, and the one table that maps them to gRPC codes.

use aftercare_eventstore::StoreError;
use aftercare_kernel::Language;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One bad field of a request: which, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub reason: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Everything a service call can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request itself is malformed; every bad field is listed.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    /// A domain rule refuses the command in the aggregate's current state.
    #[error("{0}")]
    Rejected(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// Concurrent writers kept winning; the client may retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The read model has not reached the requested position in time.
    #[error("read model {projection} is at {at}, not yet at {wanted}")]
    NotCaughtUp {
        projection: String,
        at: u64,
        wanted: u64,
    },
    /// Infrastructure (event store, database) is down or slow; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldViolation::new(field, reason)])
    }

    /// The gRPC code of each kind: the only place this mapping is made.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::Invalid(_) => Code::InvalidArgument,
            ServiceError::Rejected(_) => Code::FailedPrecondition,
            ServiceError::NotFound(_) => Code::NotFound,
            ServiceError::PermissionDenied(_) => Code::PermissionDenied,
            ServiceError::Conflict(_) => Code::Aborted,
            ServiceError::NotCaughtUp { .. } => Code::Unavailable,
            ServiceError::Unavailable(_) => Code::Unavailable,
            ServiceError::Internal(_) => Code::Internal,
        }
    }
}

impl ServiceError {
    /// The error as the person reading it says it: in Chinese, sentence by
    /// sentence from the catalogue (`Language::say`), the field names as the
    /// API spells them; in English, the message itself.
    pub fn said_in(&self, language: Language) -> String {
        if language == Language::English {
            return self.to_string();
        }
        let say = |text: &str| language.say(text);
        match self {
            ServiceError::Invalid(violations) => format!(
                "请求有误：{}",
                violations
                    .iter()
                    .map(|v| format!("{}：{}", v.field, say(&v.reason)))
                    .collect::<Vec<_>>()
                    .join("；")
            ),
            ServiceError::Rejected(text) | ServiceError::PermissionDenied(text) => say(text),
            ServiceError::NotFound(what) => format!("找不到{}", say(what)),
            ServiceError::Conflict(_) => "记录正被同时修改，请重试".to_owned(),
            ServiceError::NotCaughtUp { .. } => "数据仍在更新，请稍后再试".to_owned(),
            ServiceError::Unavailable(_) => "服务暂时不可用，请稍后再试".to_owned(),
            ServiceError::Internal(_) => "服务器内部错误".to_owned(),
        }
    }
}

impl From<ServiceError> for Status {
    /// The message stays in English (for developers and logs); when the
    /// request's dealer writes in Chinese, a `LocalizedMessage` says it in
    /// Chinese for the person at the counter.
    fn from(err: ServiceError) -> Status {
        let code = err.code();
        let reader = crate::i18n::reader();
        let mut details = ErrorDetails::new();
        let detailed = reader != Language::English || matches!(err, ServiceError::Invalid(_));
        let message = match err {
            // The details (SQL, file names, the database's words) go to the log
            // under a reference; the caller gets the reference only.
            ServiceError::Internal(reason) => {
                let reference = uuid::Uuid::now_v7();
                tracing::error!(%reference, error = %reason, "internal error");
                if reader != Language::English {
                    details.set_localized_message(
                        reader.tag(),
                        format!("服务器内部错误；服务器日志中的编号为 {reference}"),
                    );
                }
                format!(
                    "internal error; the server log has the details under reference {reference}"
                )
            }
            // However many fields are bad, the answer stays small: the first
            // few and how many more.
            ServiceError::Invalid(violations) => {
                let violations: Vec<FieldViolation> = aftercare_proto::edge::summarize(
                    violations
                        .into_iter()
                        .map(|v| aftercare_proto::edge::Violation {
                            field: v.field,
                            reason: v.reason,
                        })
                        .collect(),
                )
                .into_iter()
                .map(|v| FieldViolation::new(v.field, v.reason))
                .collect();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.reason.clone());
                }
                localize(&mut details, reader, ServiceError::Invalid(violations))
            }
            other => localize(&mut details, reader, other),
        };
        if detailed {
            Status::with_error_details(code, message, details)
        } else {
            Status::new(code, message)
        }
    }
}

/// `err`'s English message, with its words for a reader of another language
/// added to `details`.
fn localize(details: &mut ErrorDetails, reader: Language, err: ServiceError) -> String {
    if reader != Language::English {
        details.set_localized_message(reader.tag(), err.said_in(reader));
    }
    err.to_string()
}

impl<R: std::fmt::Debug> crate::command::CommandError<R> {
    /// The one mapping of a failed command: the domain's rejection in the
    /// service's words (`rejected`), everything else by the table above —
    /// writers that kept winning are `Aborted`, an unreadable stored event is
    /// internal, the store's failures are its own.
    pub fn into_service_error(self, rejected: impl FnOnce(R) -> ServiceError) -> ServiceError {
        use crate::command::CommandError;
        match self {
            CommandError::Rejected(r) => rejected(r),
            CommandError::Store(e) => e.into(),
            other @ CommandError::Contended { .. } => ServiceError::Conflict(other.to_string()),
            other @ CommandError::Corrupt { .. } => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InvalidInput { field, reason } => ServiceError::invalid(field, reason),
            StoreError::Conflict { .. } => ServiceError::Conflict(err.to_string()),
            StoreError::Unavailable(_) => ServiceError::Unavailable(err.to_string()),
            StoreError::Misconfigured(_) | StoreError::Corrupt { .. } => {
                ServiceError::Internal(err.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => ServiceError::NotFound("row".to_owned()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                ServiceError::Unavailable(format!("database: {err}"))
            }
            other => ServiceError::Internal(format!("database: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status made while answering a request for `dealer`, where D001 keeps
    /// the default language (Chinese) and D002 writes in English.
    async fn answered_for(dealer: &'static str, err: ServiceError) -> Status {
        let dealers =
            crate::config::DealersConfig::from_toml("[dealers.D002]\nlanguage = \"en\"\n")
                .expect("dealers");
        crate::i18n::scope(std::sync::Arc::new(dealers), async move {
            crate::i18n::reading_for(dealer);
            Status::from(err)
        })
        .await
    }

    #[tokio::test]
    async fn a_chinese_dealers_errors_also_read_in_chinese() {
        let invalid = || {
            ServiceError::Invalid(vec![
                FieldViolation::new("vin", "must be 17 characters, not 9"),
                FieldViolation::new("sold_on", "2999-01-01 is in the future"),
            ])
        };
        let status = answered_for("D001", invalid()).await;
        assert!(
            status.message().contains("must be 17 characters"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let localized = details.localized_message().expect("localized");
        assert_eq!(localized.locale, "zh-CN");
        assert_eq!(
            localized.message,
            "请求有误：vin：须为17位，现为9位；sold_on：2999-01-01是将来的时间"
        );
        assert_eq!(
            details
                .bad_request()
                .expect("fields")
                .field_violations
                .len(),
            2
        );
        let missing = answered_for(
            "D001",
            ServiceError::NotFound("complaint T-1 at dealer D001".into()),
        )
        .await;
        assert_eq!(
            missing
                .get_details_localized_message()
                .expect("localized")
                .message,
            "找不到经销商D001的投诉单T-1"
        );
        let english = answered_for("D002", invalid()).await;
        assert!(english.get_details_localized_message().is_none());
        assert!(english.message().contains("must be 17 characters"));
        // Outside a request (no dealer named), English only.
        assert!(
            Status::from(invalid())
                .get_details_localized_message()
                .is_none()
        );
    }

    #[test]
    fn invalid_argument_lists_every_field() {
        let err = ServiceError::Invalid(vec![
            FieldViolation::new("vin", "check digit is 7, not X"),
            FieldViolation::new("mileage", "must not be negative"),
        ]);
        let status = Status::from(err);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["vin", "mileage"]);
        assert!(status.message().contains("vin: check digit is 7, not X"));
    }

    #[test]
    fn internal_details_stay_in_the_log_and_violations_are_capped() {
        let status = Status::from(ServiceError::Internal(
            "database: error returned from database: OFFSET must not be negative".into(),
        ));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("OFFSET"), "{}", status.message());
        assert!(
            status.message().contains("reference"),
            "{}",
            status.message()
        );

        let many = (0..5_000)
            .map(|i| FieldViolation::new(format!("fault_codes[{i}]"), "is not a fault code"))
            .collect();
        let status = Status::from(ServiceError::Invalid(many));
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        assert_eq!(bad.field_violations.len(), 21);
        assert!(
            status.message().contains("and 4980 more"),
            "{}",
            status.message()
        );
        assert!(status.message().len() < 4_000);
    }

    #[test]
    fn each_kind_has_its_code() {
        assert_eq!(
            Status::from(ServiceError::Rejected("closed".into())).code(),
            Code::FailedPrecondition
        );
        assert_eq!(
            Status::from(ServiceError::Conflict("v".into())).code(),
            Code::Aborted
        );
        assert_eq!(
            Status::from(ServiceError::Unavailable("nats".into())).code(),
            Code::Unavailable
        );
        let store = StoreError::InvalidInput {
            field: "dealer",
            reason: "empty".into(),
        };
        assert_eq!(
            Status::from(ServiceError::from(store)).code(),
            Code::InvalidArgument
        );
    }
}
