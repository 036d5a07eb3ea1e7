"""The users service: accounts, login (JWT), profiles and subscriptions."""
