"""The account portal (hosted pages under ``/t/{tenant}/account``) and the account API (the same paths with a
bearer token): the user's profile, password, devices, activity, consents, data export and deletion."""
