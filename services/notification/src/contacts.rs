//! Who a notice goes to (联系人解析): recipients come by reference and are resolved here — applicants and
//! staff from intake (`contact.resolve`, numbers encrypted under the platform's PII key), units from routing's
//! directory (`unit.list`, cached: it changes only when the directory is reloaded).

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use bangban_contracts::{
    intake::{self, ResolveContacts, ResolvedContacts},
    notification::Recipient,
    pii::mobile_number,
    routing::{self, ListUnits, UnitContact, UnitView},
};
use bangban_platform::{
    pii::PiiCipher,
    rpc::{self, CallError},
};
use uuid::Uuid;

use crate::error::{NotificationError, Result};

/// How long the unit directory is trusted before it is read again.
const UNITS_TTL: Duration = Duration::from_secs(300);

/// Where a recipient can be texted, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The number, encrypted (`v1:…`); `None`: no mobile number on record.
    pub phone_enc: Option<String>,
}

/// The lookups notification makes, with the unit directory cached.
pub struct Directory {
    client: async_nats::Client,
    timeout: Duration,
    pii: PiiCipher,
    units: RwLock<Option<(Instant, HashMap<String, UnitView>)>>,
}

fn unavailable(e: CallError) -> NotificationError {
    NotificationError::Unavailable(e.to_string())
}

impl Directory {
    pub fn new(client: async_nats::Client, timeout: Duration, pii: PiiCipher) -> Self {
        Self { client, timeout, pii, units: RwLock::new(None) }
    }

    /// A value another service encrypted for us under the platform's PII key (an evaluation link).
    pub fn reveal(&self, stored: &str) -> Result<String> {
        self.pii
            .decrypt(stored)
            .map_err(|e| NotificationError::Event(format!("an encrypted field could not be read: {e}")))
    }

    /// Applicants' and staff's contacts, one round trip.
    pub async fn people(&self, applicants: &[Uuid], staff: &[String]) -> Result<ResolvedContacts> {
        if applicants.is_empty() && staff.is_empty() {
            return Ok(ResolvedContacts::default());
        }
        let req = ResolveContacts { applicant_ids: applicants.to_vec(), staff_ids: staff.to_vec() };
        rpc::call::<intake::ops::ContactResolve>(&self.client, &req, self.timeout).await.map_err(unavailable)
    }

    /// A unit of the directory (read from routing at most every five minutes, and again on a miss).
    pub async fn unit(&self, code: &str) -> Result<Option<UnitView>> {
        if let Ok(cache) = self.units.read()
            && let Some((at, units)) = cache.as_ref()
            && at.elapsed() < UNITS_TTL
            && let Some(u) = units.get(code)
        {
            return Ok(Some(u.clone()));
        }
        let units = rpc::call::<routing::ops::UnitList>(&self.client, &ListUnits::default(), self.timeout)
            .await
            .map_err(unavailable)?;
        let map: HashMap<String, UnitView> = units.into_iter().map(|u| (u.code.clone(), u)).collect();
        let found = map.get(code).cloned();
        if let Ok(mut cache) = self.units.write() {
            *cache = Some((Instant::now(), map));
        }
        Ok(found)
    }

    /// Where each recipient can be texted (unknown ones: no number). `known` holds contacts already fetched
    /// for this event: intake is asked only for the others, in one call.
    pub async fn reach(
        &self,
        recipients: &[Recipient],
        mut people: ResolvedContacts,
    ) -> Result<HashMap<Recipient, Reach>> {
        let mut applicants = Vec::new();
        let mut staff = Vec::new();
        for r in recipients {
            match r {
                Recipient::Applicant { applicant_id }
                    if !people.applicants.iter().any(|a| a.applicant_id == *applicant_id) =>
                {
                    applicants.push(*applicant_id)
                }
                Recipient::Staff { sub } if !people.staff.iter().any(|s| s.id == *sub) => staff.push(sub.clone()),
                _ => {}
            }
        }
        let more = self.people(&applicants, &staff).await?;
        people.applicants.extend(more.applicants);
        people.staff.extend(more.staff);
        let mut out = HashMap::new();
        for r in recipients {
            let phone_enc = match r {
                Recipient::Applicant { applicant_id } => {
                    people.applicants.iter().find(|a| a.applicant_id == *applicant_id).and_then(|a| a.phone_enc.clone())
                }
                Recipient::Staff { sub } => {
                    people.staff.iter().find(|s| s.id == *sub && s.active).and_then(|s| s.phone_enc.clone())
                }
                Recipient::UnitOfficer { unit_code } => self
                    .unit(unit_code)
                    .await?
                    .and_then(|u| pick(&u.contacts, &["联络", "经办", "窗口"]).and_then(|c| mobile_number(&c.phone)))
                    .map(|m| self.pii.encrypt(&m)),
                Recipient::UnitHead { unit_code } => self
                    .unit(unit_code)
                    .await?
                    .and_then(|u| {
                        pick(&u.contacts, &["负责人", "主任", "局长", "主管"]).and_then(|c| mobile_number(&c.phone))
                    })
                    .map(|m| self.pii.encrypt(&m)),
            };
            out.insert(r.clone(), Reach { phone_enc });
        }
        Ok(out)
    }
}

/// The contact whose position names one of `roles` first, else the unit's first contact.
fn pick<'a>(contacts: &'a [UnitContact], roles: &[&str]) -> Option<&'a UnitContact> {
    roles.iter().find_map(|r| contacts.iter().find(|c| c.position.contains(r))).or_else(|| contacts.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_officers_are_picked_by_position() {
        let c = |position: &str, phone: &str| UnitContact {
            name: "x".into(),
            position: position.into(),
            phone: phone.into(),
        };
        let contacts = vec![c("联络员", "13800000001"), c("分管负责人", "13800000002")];
        assert_eq!(pick(&contacts, &["负责人"]).unwrap().phone, "13800000002");
        assert_eq!(pick(&contacts, &["联络"]).unwrap().phone, "13800000001");
        assert_eq!(pick(&contacts[..1], &["负责人"]).unwrap().phone, "13800000001");
    }
}
