//! The messaging client. (To be filled in.)
