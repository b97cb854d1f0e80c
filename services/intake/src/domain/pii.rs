//! Personal data at rest (个人信息加密存储): the platform's cipher, shared with notification (which stores the
//! numbers it texts the same way and receives them from intake encrypted). See [`bangban_platform::pii`].

pub use bangban_platform::pii::*;
