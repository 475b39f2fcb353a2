//! The one error shape of the API, `{"error": {"code", "message", "details"}}`, and the whole
//! mapping from library errors to HTTP statuses and codes. Every handler returns
//! `Result<_, ApiError>`; 500s log their full cause chain and send no paths or internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use dat_actors::cleanup::CleanupError;
use dat_actors::datasets::DatasetError;
use dat_actors::profiles::ProfileCatalogError;
use dat_actors::{RunError, StageError, WorkspaceError};
use dat_contracts::{InputError, UnknownStage};
use dat_events::Rejection;
use dat_store::{AppendError, ArtifactError};
use serde_json::{json, Value};

/// An API error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), details: json!({}) }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl ToString) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message.to_string())
    }

    /// A 500: logs `cause` with its chain, tells the client only that it happened.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the daemon log has the cause")
    }

    /// The body could not be read as JSON.
    pub fn invalid_json(e: serde_json::Error) -> Self {
        Self::bad_request("invalid_json", format!("request body is not valid JSON: {e}"))
    }

    /// A run ID that cannot exist.
    pub fn run_not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "run_not_found", format!("run {id} not found"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        }))
    }
}

impl From<WorkspaceError> for ApiError {
    fn from(e: WorkspaceError) -> Self {
        StageError::Workspace(e).into()
    }
}

impl From<dat_contracts::PathOutsideWorkspace> for ApiError {
    fn from(e: dat_contracts::PathOutsideWorkspace) -> Self {
        InputError::PathOutside(e).into()
    }
}

impl From<UnknownStage> for ApiError {
    fn from(e: UnknownStage) -> Self {
        Self::bad_request("unknown_stage", &e).with_details(json!({ "stage": e.0 }))
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::PathOutside(p) => {
                Self::bad_request("path_outside_workspace", &p).with_details(json!({ "path": p.path }))
            }
            InputError::Invalid { .. } => Self::bad_request("invalid_input", e),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let message = r.to_string();
        match r {
            Rejection::RunNotFound => Self::new(StatusCode::NOT_FOUND, "run_not_found", message),
            Rejection::RunAlreadyExists => Self::new(StatusCode::CONFLICT, "run_exists", message),
            Rejection::StageNotInGraph { stage } => {
                Self::bad_request("stage_not_in_graph", message).with_details(json!({ "stage": stage }))
            }
            Rejection::GateNotMet { stage, needs, completed } => Self::bad_request("gate_not_met", message)
                .with_details(json!({ "stage": stage, "needs": needs, "needs_completed": completed })),
            Rejection::NotOptional { stage } => {
                Self::bad_request("stage_not_optional", message).with_details(json!({ "stage": stage }))
            }
            Rejection::IdCollision { stage_id } => {
                Self::new(StatusCode::CONFLICT, "id_collision", message).with_details(json!({ "stage_id": stage_id }))
            }
            Rejection::StageRunning { stage } => {
                Self::new(StatusCode::CONFLICT, "stage_running", message).with_details(json!({ "stage": stage }))
            }
            Rejection::NothingRunning => Self::new(StatusCode::CONFLICT, "nothing_running", message),
            Rejection::StaleWork { .. } => Self::internal(&r),
            Rejection::StageNotLocked { stage } => {
                Self::new(StatusCode::CONFLICT, "stage_not_locked", message).with_details(json!({ "stage": stage }))
            }
        }
    }
}

impl From<ArtifactError> for ApiError {
    fn from(e: ArtifactError) -> Self {
        match e {
            ArtifactError::Collision { stage_id } => Rejection::IdCollision { stage_id }.into(),
            ArtifactError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "artifact_not_found", e.to_string()),
            ArtifactError::Io { .. } | ArtifactError::Corrupt { .. } => Self::internal(&e),
        }
    }
}

impl From<StageError> for ApiError {
    fn from(e: StageError) -> Self {
        match e {
            StageError::Workspace(WorkspaceError::Outside(p)) => InputError::PathOutside(p).into(),
            StageError::Workspace(w @ WorkspaceError::NotFound(_)) => Self::bad_request("path_not_found", w),
            StageError::Workspace(w @ WorkspaceError::Io { .. }) => Self::bad_request("path_unreadable", w),
            StageError::Invalid(message) => Self::bad_request("invalid_input", message),
            StageError::Artifact(a) => a.into(),
            io @ (StageError::Io(_) | StageError::Inconsistent(_)) => Self::internal(&io),
        }
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NotFound(run) => Self::run_not_found(&run.to_string()),
            RunError::Rejected(r) => r.into(),
            RunError::Input(i) => i.into(),
            RunError::Stage(s) => s.into(),
            RunError::NoArtifact(stage) => Self::new(StatusCode::NOT_FOUND, "artifact_not_found", e.to_string())
                .with_details(json!({ "stage": stage })),
            RunError::Append(AppendError::Conflict { .. }) => {
                Self::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            RunError::Artifact(a) => a.into(),
            RunError::Cleanup(CleanupError::Running(stage)) => {
                Self::new(StatusCode::CONFLICT, "stage_running", e.to_string()).with_details(json!({ "stage": stage }))
            }
            RunError::Cleanup(CleanupError::Io(_)) => Self::internal(&e),
            RunError::Unavailable => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()),
            RunError::Append(_) | RunError::Read(_) | RunError::Internal(_) => Self::internal(&e),
        }
    }
}

impl From<DatasetError> for ApiError {
    fn from(e: DatasetError) -> Self {
        match e {
            DatasetError::NotFound(id) => {
                Self::new(StatusCode::NOT_FOUND, "dataset_not_found", format!("dataset {id} not found"))
                    .with_details(json!({ "dataset_id": id }))
            }
            DatasetError::Unreadable { .. } => Self::internal(&e),
        }
    }
}

impl From<ProfileCatalogError> for ApiError {
    fn from(e: ProfileCatalogError) -> Self {
        let message = e.to_string();
        match e {
            ProfileCatalogError::Invalid(invalid) => Self::bad_request(
                "invalid_profile",
                "the profile is invalid; details.problems lists every problem by path",
            )
            .with_details(json!({ "problems": invalid.problems })),
            ProfileCatalogError::NotFound(id) => {
                Self::new(StatusCode::NOT_FOUND, "profile_not_found", message).with_details(json!({ "profile_id": id }))
            }
            ProfileCatalogError::Exists(id) => {
                Self::new(StatusCode::CONFLICT, "profile_exists", message).with_details(json!({ "profile_id": id }))
            }
            ProfileCatalogError::ReadOnly(id) => {
                Self::new(StatusCode::CONFLICT, "profile_read_only", message).with_details(json!({ "profile_id": id }))
            }
            ProfileCatalogError::IdMismatch { .. } => Self::bad_request("profile_id_mismatch", message),
            ProfileCatalogError::Append(AppendError::Conflict { .. }) => {
                Self::new(StatusCode::CONFLICT, "conflict", message)
            }
            ProfileCatalogError::Append(a) => Self::internal(&a),
            ProfileCatalogError::Read(r) => Self::internal(&r),
        }
    }
}

/// A blocking task (file work kept off the async workers) that could not finish.
impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(&e)
    }
}
