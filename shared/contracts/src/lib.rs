//! The contracts every Bangban service shares (契约): subjects, stream names, the CloudEvents
//! envelope over NATS headers, the event-type registry, event payloads and service operations.
//!
//! Subjects, stream names, event types and payload structs live here and nowhere else.

pub mod clock;
pub mod deadline;
pub mod envelope;
pub mod evaluation;
pub mod events;
pub mod intake;
pub mod notification;
pub mod office;
pub mod operation;
pub mod page;
pub mod pii;
pub mod planning;
pub mod project;
pub mod routing;
pub mod state;
pub mod subjects;

pub use envelope::{CloudEvent, EnvelopeError};
pub use events::{Event, EventType};
pub use operation::Operation;
