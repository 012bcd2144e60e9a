//! The whmcs client. (To be filled in.)
