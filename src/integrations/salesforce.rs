//! The salesforce client. (To be filled in.)
