//! Typed service operations (服务操作): each operation of `bb.svc.<service>.<operation>` is a type that
//! pairs its request with its reply, so a caller and the service that answers cannot disagree on either.
//!
//! Operations are declared with [`operations!`](crate::operations) in each service's contract module
//! (`bangban_contracts::deadline::ops`, …); [`ALL`] lists every one of them for the catalogue.

use serde::{Serialize, de::DeserializeOwned};

use crate::subjects::service_subject;

/// One operation of a service on the bus: its name, request and reply.
pub trait Operation: Send + Sync + 'static {
    /// The service that answers (`deadline`).
    const SERVICE: &'static str;
    /// The operation's name within the service (`clock.get`).
    const NAME: &'static str;
    /// What is sent.
    type Request: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What comes back.
    type Response: Serialize + DeserializeOwned + Send + 'static;

    /// `bb.svc.<service>.<operation>`.
    fn subject() -> String {
        service_subject(Self::SERVICE, Self::NAME)
    }
}

/// An operation as the catalogue lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    pub service: &'static str,
    pub name: &'static str,
    /// The marker type (`deadline::ops::ClockGet`).
    pub marker: &'static str,
    /// The request and reply types as written in the contract.
    pub request: &'static str,
    pub response: &'static str,
    /// Its documentation (the lines joined).
    pub doc: &'static str,
}

impl OperationInfo {
    /// `bb.svc.<service>.<operation>`.
    pub fn subject(&self) -> String {
        service_subject(self.service, self.name)
    }
}

/// Declares a service's operations: one marker type per operation implementing [`Operation`], and
/// `pub const ALL: &[OperationInfo]` listing them.
///
/// ```ignore
/// bangban_contracts::operations! { service = super::SERVICE, module = "deadline";
///     /// One task's clock.
///     ClockGet = "clock.get": super::GetClock => super::ClockView;
/// }
/// ```
#[macro_export]
macro_rules! operations {
    (service = $svc:expr, module = $module:literal;
        $( #[doc = $doc:literal] $(#[doc = $more:literal])* $name:ident = $op:literal : $req:ty => $resp:ty ; )*
    ) => {
        $crate::operations! { service = $svc, module = $module, path = $module;
            $( #[doc = $doc] $(#[doc = $more])* $name = $op : $req => $resp ; )*
        }
    };
    (service = $svc:expr, module = $module:literal, path = $path:literal;
        $( #[doc = $doc:literal] $(#[doc = $more:literal])* $name:ident = $op:literal : $req:ty => $resp:ty ; )*
    ) => {
        $(
            #[doc = $doc] $(#[doc = $more])*
            #[doc = ""]
            #[doc = concat!("`bb.svc.", $module, ".", $op, "`: [`", stringify!($req), "`] → `", stringify!($resp), "`")]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct $name;
            impl $crate::operation::Operation for $name {
                const SERVICE: &'static str = $svc;
                const NAME: &'static str = $op;
                type Request = $req;
                type Response = $resp;
            }
        )*
        /// Every operation of this module, for the catalogue.
        pub const ALL: &[$crate::operation::OperationInfo] = &[
            $( $crate::operation::OperationInfo {
                service: $svc,
                name: $op,
                marker: concat!($path, "::ops::", stringify!($name)),
                request: stringify!($req),
                response: stringify!($resp),
                doc: concat!($doc $(, $more)*),
            }, )*
        ];
    };
}

/// Every operation of every service.
pub fn all() -> Vec<OperationInfo> {
    [
        crate::intake::ops::ALL,
        crate::intake::consultation::ops::ALL,
        crate::intake::results::ops::ALL,
        crate::planning::ops::ALL,
        crate::routing::ops::ALL,
        crate::deadline::ops::ALL,
        crate::notification::ops::ALL,
        crate::evaluation::ops::ALL,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subject_is_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for op in all() {
            assert!(seen.insert(op.subject()), "operation {} declared twice", op.subject());
            assert!(
                op.name.split('.').all(crate::subjects::is_lower_snake),
                "operation name {:?} is not dotted lower_snake words",
                op.name
            );
            assert!(!op.doc.trim().is_empty(), "{} has no documentation", op.subject());
        }
        assert!(seen.len() > 80, "{} operations", seen.len());
    }

    #[test]
    fn a_marker_knows_its_subject() {
        assert_eq!(crate::deadline::ops::ClockGet::subject(), "bb.svc.deadline.clock.get");
        let record = all().into_iter().find(|o| o.name == "consultation.record" && o.service == "intake").unwrap();
        assert_eq!(record.marker, "intake::consultation::ops::ConsultationRecord");
    }
}
